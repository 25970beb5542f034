package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import io.havn.common.port.ViewScope;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A host of a large cluster keeps only the VM records it needs ({@link RecordScope}): those that name
 * it and those of the domains defined here. What it must never do on part of the state: lead, adopt
 * or leave alone a domain whose record has not come in, or judge an operator's request.
 */
class OwnViewTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final HostId NODE3 = new HostId("node3");
    private static final VmId A = new VmId("a");
    private static final VmId B = new VmId("b");
    /** Settings under which every host that does not lead keeps only its own records. */
    private static final Settings OWN = Settings.defaults().with(Map.of("ownViewFromHosts", 0));

    private static VmSpec spec(VmId id) {
        return new VmSpec(id, id.value(), 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + id.value() + "</name></domain>");
    }

    /**
     * node1 (the node, session 7) running {@code a}; node2 (session 5) owning {@code b}; node3 (9).
     * Nothing starts: call {@link #start}.
     */
    private static OneNodeRig cluster(Settings settings) {
        OneNodeRig rig = new OneNodeRig("node1", DomainPolicy.none(), settings);
        rig.host("node1", null, false, 0);
        rig.host("node2", null, false, 0);
        rig.host("node3", null, false, 0);
        rig.vm(VmRecord.running(spec(A), NODE1, 7), 0);
        rig.vm(VmRecord.running(spec(B), NODE2, 5), 0);
        rig.domains.put(A, DomainState.RUNNING);
        return rig;
    }

    private static void start(OneNodeRig rig) {
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.passMs(1_000, "node2", "node3");
    }

    @Test
    void aHostOfALargeClusterKeepsOnlyTheRecordsThatNameItWhileASmallClusterKeepsThemAll() {
        OneNodeRig own = cluster(OWN);
        start(own);
        assertEquals(ViewScope.OWN, own.scope, "from ownViewFromHosts hosts on, a host that does not lead asks for its own");
        assertEquals(Set.of(A), own.node.clusterState().vms().keySet(), own.trail());
        assertTrue(own.followed.contains(A), "its own record is followed, so a move missed while cut off is seen: "
                + own.followed);
        assertTrue(own.node.isReady(), own.trail());

        OneNodeRig small = cluster(Settings.defaults());
        start(small);
        assertEquals(ViewScope.WHOLE, small.scope, "three hosts are fewer than the default ownViewFromHosts");
        assertEquals(Set.of(A, B), small.node.clusterState().vms().keySet(), small.trail());
    }

    @Test
    void aRecordThatMovesAwayIsKeptWhileItsDomainIsHereAndDroppedOnceItIsGone() {
        OneNodeRig rig = cluster(OWN);
        start(rig);
        // the record of a now names node2 (as a leader's move would, had node1 been proven dead)
        rig.vm(VmRecord.running(spec(A), NODE2, 5), 1);
        assertTrue(rig.node.clusterState().vms().containsKey(A), "kept while its domain is here: " + rig.trail());
        assertTrue(rig.called("destroy a"), "a copy this host does not own is destroyed: " + rig.trail());
        rig.passMs(500, "node2", "node3");
        assertFalse(rig.domains.containsKey(A));
        assertTrue(rig.node.clusterState().vms().containsKey(A), "kept while the last listing still names it");
        rig.passMs(OWN.relistMs(), "node2", "node3"); // the next listing finds it defined no more
        assertFalse(rig.node.clusterState().vms().containsKey(A), "dropped once nothing here needs it: " + rig.trail());
        assertFalse(rig.followed.contains(A), "and followed no more: " + rig.followed);
    }

    @Test
    void anElectedHostAsksForEveryRecordAndClaimsItsEpochOnlyOnceTheyAreIn() {
        OneNodeRig rig = cluster(OWN);
        start(rig);
        rig.driver.handle(new NodeEvent.LeadershipChanged(true));
        assertEquals(ViewScope.WHOLE, rig.scope, "an elected host needs every record");
        assertFalse(rig.called("claimEpoch"), "no epoch on part of the state: " + rig.trail());
        rig.passMs(100, "node2", "node3"); // every record comes in, then the word that they are
        assertTrue(rig.called("claimEpoch"), rig.trail());
        assertEquals(Set.of(A, B), rig.node.clusterState().vms().keySet());
    }

    @Test
    void anElectedHostWhoseRecordsAreSlowToComeInClaimsNoEpochMeanwhile() {
        OneNodeRig rig = cluster(OWN);
        start(rig);
        rig.holdWhole = true;
        rig.driver.handle(new NodeEvent.LeadershipChanged(true));
        rig.passMs(3_000, "node2", "node3"); // many rounds of the node's tick, which retries a claim
        assertFalse(rig.called("claimEpoch"), rig.trail());
        assertFalse(rig.node.isLeader());
        rig.loadWhole();
        assertTrue(rig.called("claimEpoch"), "claimed as soon as every record is in: " + rig.trail());
    }

    @Test
    void aRecordThatNamesThisHostIsFollowedEvenWhenNothingOfItRunsHere() {
        OneNodeRig rig = cluster(OWN);
        VmId c = new VmId("c");
        rig.vm(VmRecord.running(spec(c), NODE1, 7), 0); // placed here, not started yet
        start(rig);
        assertTrue(rig.followed.contains(c), "a record that stops naming this host while it is cut off must still "
                + "be passed on at its next session: " + rig.followed);
    }

    @Test
    void theHostNextInLineKeepsEveryRecordSoItClaimsItsEpochAtOnceWhenItComesToLead() {
        OneNodeRig rig = cluster(OWN);
        start(rig);
        rig.driver.handle(new NodeEvent.SuccessorChanged(true));
        assertEquals(ViewScope.WHOLE, rig.scope, "the successor keeps every record before it is elected");
        rig.passMs(100, "node2", "node3");
        assertEquals(Set.of(A, B), rig.node.clusterState().vms().keySet());
        rig.holdWhole = true; // nothing more to load: were it asked again, it would wait
        rig.driver.handle(new NodeEvent.LeadershipChanged(true));
        assertTrue(rig.called("claimEpoch"), "claimed at once, with no load to wait for: " + rig.trail());

        OneNodeRig other = cluster(OWN);
        start(other);
        other.driver.handle(new NodeEvent.SuccessorChanged(true));
        other.passMs(100, "node2", "node3");
        other.driver.handle(new NodeEvent.SuccessorChanged(false));
        assertEquals(ViewScope.OWN, other.scope, "no longer next in line: back to its own records");
        assertEquals(Set.of(A), other.node.clusterState().vms().keySet());
    }

    @Test
    void aHostThatStopsLeadingGoesBackToItsOwnRecords() {
        OneNodeRig rig = cluster(OWN);
        start(rig);
        rig.lead(1);
        rig.passMs(100, "node2", "node3");
        assertTrue(rig.node.isLeader(), rig.trail());
        assertEquals(Set.of(A, B), rig.node.clusterState().vms().keySet());
        rig.driver.handle(new NodeEvent.LeadershipChanged(false));
        assertEquals(ViewScope.OWN, rig.scope);
        assertEquals(Set.of(A), rig.node.clusterState().vms().keySet(), "what it no longer needs is dropped");
    }

    @Test
    void aDomainHereWhoseRecordHasNotComeInIsNeitherDestroyedNorAdoptedAndTheHostIsNotReady() {
        OneNodeRig rig = cluster(OWN);
        rig.holdFollows = true;
        rig.domains.put(B, DomainState.RUNNING); // node2's VM runs here too (started by hand, or late)
        start(rig);
        assertFalse(rig.called("destroy b"), "its record is not known yet: " + rig.trail());
        assertFalse(rig.node.isReady(), "not ready while a domain here is not judged: " + rig.trail());
        rig.answerFollows();
        assertTrue(rig.called("destroy b"), "node2 owns it: the copy here goes at once: " + rig.trail());
        rig.passMs(1_000, "node2", "node3");
        assertTrue(rig.node.isReady(), rig.trail());
        assertFalse(rig.called("destroy a"), "its own VM is kept");
    }

    @Test
    void autostartOnADomainDefinedHereIsTurnedOffOnceItsRecordSaysItIsUnderHa() {
        OneNodeRig rig = cluster(OWN);
        rig.holdFollows = true;
        rig.domains.put(B, DomainState.SHUTOFF); // defined here, not running: the host's next boot would start it
        rig.autostartOn.add(B);
        start(rig);
        assertTrue(rig.followed.contains(B), "a domain defined here is followed even when it does not run: "
                + rig.followed);
        assertFalse(rig.called("autostart-off b"), rig.trail());
        rig.answerFollows();
        assertTrue(rig.called("autostart-off b"), "judged when the record comes in, not at the next listing: "
                + rig.trail());
    }

    @Test
    void statusSaysItShowsOnlyThisHostsVmsAndWhatIfIsRefusedNamingTheLeader() {
        OneNodeRig rig = cluster(OWN);
        start(rig);
        rig.driver.handle(new NodeEvent.EpochChanged(1, NODE3));
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.Status()));
        AdminReply status = rig.replies.get(1L);
        assertNotNull(status);
        assertTrue(status.ok() && status.partial(), status.toString());
        assertEquals(Set.of(A), status.state().vms().keySet());
        assertTrue(status.partialView().contains("keeps only the VM records it needs")
                && status.partialView().contains("node3"), status.partialView());

        rig.driver.handle(new NodeEvent.AdminRequest(2, new AdminCommand.WhatIf(List.of(NODE2))));
        AdminReply whatIf = rig.replies.get(2L);
        assertFalse(whatIf.ok());
        assertEquals("partial-view", whatIf.code());
        assertTrue(whatIf.message().contains("the leader, node3"), whatIf.message());
    }

    @Test
    void aRequestAboutAVmThisHostDoesNotKeepGoesToTheLeaderWhoChecksIt() {
        OneNodeRig rig = cluster(OWN);
        start(rig);
        rig.driver.handle(new NodeEvent.EpochChanged(1, NODE3));
        int before = rig.writes.size();
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.Migrate(B, NODE3)));
        assertEquals(null, rig.replies.get(1L), "not refused for want of a record this host does not keep");
        assertTrue(rig.writes.stream().skip(before).anyMatch(w -> w.stream().anyMatch(
                op -> op instanceof CoordOp.PutRequest p && p.record().command() instanceof AdminCommand.Migrate)),
                rig.trail());

        OneNodeRig small = cluster(Settings.defaults());
        start(small);
        small.driver.handle(new NodeEvent.EpochChanged(1, NODE3));
        small.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.Migrate(new VmId("nope"), NODE3)));
        assertNotNull(small.replies.get(1L), "on the whole state, a request is checked at once where it is taken");
        assertFalse(small.replies.get(1L).ok());
    }
}
