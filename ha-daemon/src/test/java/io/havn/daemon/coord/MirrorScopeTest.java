package io.havn.daemon.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.ViewScope;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** What a session's mirror reads, keeps and passes on, and which of its own index entries it may delete. */
class MirrorScopeTest {
    static final HostId SELF = new HostId("node1");
    static final HostId OTHER = new HostId("node2");
    static final VmId A = new VmId("a");
    static final VmId B = new VmId("b");

    static VmRecord on(HostId host) {
        return VmRecord.running(new VmSpec(A, "a", 1, 1024, Priority.MEDIUM, true, "<domain/>"), host, 1);
    }

    static String entry(VmId vm, int seq) {
        return CoordPaths.name(CoordPaths.indexPrefix(SELF, vm)) + String.format("%010d", seq);
    }

    @Test
    void ownPassesOnEveryChangeThatNamesTheHostBeforeOrAfterAndKeepsOnlyWhatNamesItOrIsFollowed() {
        MirrorScope s = new MirrorScope(SELF, ViewScope.OWN, Set.of(B));
        VmRecord mine = on(SELF);
        VmRecord theirs = on(OTHER);
        VmRecord coming = theirs.migratingTo(SELF, 2);
        // {before, after, passed on, kept after}
        Object[][] cases = {
                {null, mine, true, true},
                {mine, theirs, true, false}, // moving away: said once more, then forgotten
                {theirs, coming, true, true}, // named as the migration target
                {theirs, theirs, false, false},
                {null, theirs, false, false},
                {mine, null, true, false},
        };
        for (Object[] c : cases) {
            VmRecord before = (VmRecord) c[0];
            VmRecord after = (VmRecord) c[1];
            assertEquals(c[2], s.passes(A, before, after), before + " -> " + after);
            assertEquals(c[3], after != null && s.keeps(A, after), "kept: " + after);
        }
        assertTrue(s.passes(B, theirs, theirs) && s.keeps(B, theirs), "a followed VM, whatever its record names");
        assertFalse(s.reads(A, false), "a record neither kept, followed nor indexed: its last watch is not set again");
        assertTrue(s.reads(A, true) && s.reads(B, false));

        assertTrue(s.set(ViewScope.WHOLE));
        assertTrue(s.passes(A, theirs, theirs) && s.keeps(A, theirs) && s.reads(A, false), "WHOLE takes every record");
        assertFalse(s.set(ViewScope.WHOLE), "no change");
    }

    @Test
    void anEntryIsSpentOnlyByAReadIssuedAfterTheListingThatShowedIt() {
        MirrorScope s = new MirrorScope(SELF, ViewScope.OWN, Set.of());
        long before = s.stamp(); // a read sent before the entry was listed
        assertEquals(List.of(A), s.listed(List.of(entry(A, 1), "not-an-entry")), "a new entry: its record is read");
        assertTrue(s.reads(A, false), "an indexed VM is read");
        assertEquals(List.of(), s.spent(A, before), "that read may predate the write that made the entry");
        long after = s.stamp();
        // an entry made by a later write, listed after the read was sent: the read says nothing of it
        assertEquals(List.of(A), s.listed(List.of(entry(A, 1), entry(A, 2))));
        assertEquals(List.of(entry(A, 1)), s.spent(A, after));
        assertEquals(List.of(), s.spent(A, after), "forgotten once spent");
        assertEquals(List.of(entry(A, 2)), s.spent(A, s.stamp()));
        assertFalse(s.reads(A, false), "no entry left");
        // one that survived its deletion is listed again, as new
        assertEquals(List.of(A), s.listed(List.of(entry(A, 1))));
        assertEquals(List.of(), s.listed(List.of(entry(A, 1))), "listed before: not read again");
        assertEquals(List.of(), s.listed(List.of()), "gone from the index: forgotten");
        assertFalse(s.reads(A, false));
    }

    @Test
    void aVmNewlyFollowedIsOwedOneAnswerAndOnlyOnceTheLoadIsOver() {
        MirrorScope s = new MirrorScope(SELF, ViewScope.OWN, Set.of(A));
        assertEquals(List.of(B), s.follow(Set.of(A, B), false));
        assertFalse(s.answered(B), "before the load is over the snapshot answers");
        assertEquals(List.of(), s.follow(Set.of(A, B), true), "the same set: nothing new");
        assertEquals(List.of(), s.follow(Set.of(A), true));
        assertEquals(List.of(B), s.follow(Set.of(A, B), true));
        assertTrue(s.answered(B));
        assertFalse(s.answered(B), "answered once");
        s.follow(Set.of(B), true);
        assertEquals(List.of(A), s.follow(Set.of(A), true));
        s.follow(Set.of(), true);
        assertFalse(s.answered(A), "no longer followed: nothing owed");
    }

    @Test
    void aSwitchToWholeIsLoadedOnceTheListingAndEveryReadItWaitsForAreBack() {
        MirrorScope s = new MirrorScope(SELF, ViewScope.WHOLE, Set.of());
        s.loadWhole();
        s.issued(CoordPaths.vm(A));
        assertFalse(s.arrived(CoordPaths.vm(A)));
        s.issued(CoordPaths.vm(B)); // issued by the listing
        assertFalse(s.arrived(CoordPaths.VMS), "b is still out");
        assertFalse(s.arrived(CoordPaths.vm(A)), "not waited for any more");
        assertTrue(s.arrived(CoordPaths.vm(B)));
        assertFalse(s.arrived(CoordPaths.vm(B)), "said once");

        s.loadWhole();
        s.set(ViewScope.OWN);
        assertFalse(s.arrived(CoordPaths.VMS), "a switch to OWN ends the loading: no ViewLoaded");
    }
}
