package io.havn.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VmPhaseTableTest {
    @Test
    void aWriteThatKeepsThePhaseIsAlwaysAllowed() {
        for (VmPhase p : VmPhase.values()) {
            assertTrue(VmPhaseTable.allows(p, p), p + " to itself");
        }
    }

    @Test
    void aStoppedOrRecoveringVmRunsAgainOnlyThroughAPlacementAndTheOwnersClaim() {
        assertFalse(VmPhaseTable.allows(VmPhase.STOPPED, VmPhase.RUNNING));
        assertFalse(VmPhaseTable.allows(VmPhase.RECOVERING, VmPhase.RUNNING));
        assertTrue(VmPhaseTable.allows(VmPhase.STOPPED, VmPhase.PLACED));
        assertTrue(VmPhaseTable.allows(VmPhase.PLACED, VmPhase.RUNNING));
    }

    @Test
    void onlyAFailedStartOrAGuestGivenUpLeadsToErrorAndOnlyAMoveToReleased() {
        // a failed start the leader gives up on; a running guest its owner's monitor gave up on
        assertEquals(EnumSet.of(VmPhase.START_FAILED, VmPhase.RUNNING, VmPhase.ERROR), leadingTo(VmPhase.ERROR));
        assertEquals(EnumSet.of(VmPhase.MIGRATING, VmPhase.RELOCATING, VmPhase.RELEASED), leadingTo(VmPhase.RELEASED));
    }

    @Test
    void anOperatorsStopIsReachableFromEveryPhase() {
        assertEquals(EnumSet.allOf(VmPhase.class), leadingTo(VmPhase.STOPPED));
    }

    @Test
    void aRecordIsCreatedRunningOrRecoveringAndEveryPhaseIsReachableFromThere() {
        assertEquals(EnumSet.of(VmPhase.RUNNING, VmPhase.RECOVERING), VmPhaseTable.creatable());
        Set<VmPhase> seen = EnumSet.copyOf(VmPhaseTable.creatable());
        ArrayDeque<VmPhase> todo = new ArrayDeque<>(seen);
        while (!todo.isEmpty()) {
            for (VmPhase q : VmPhaseTable.next(todo.removeFirst())) {
                if (seen.add(q)) {
                    todo.add(q);
                }
            }
        }
        assertEquals(EnumSet.allOf(VmPhase.class), seen);
    }

    private static Set<VmPhase> leadingTo(VmPhase to) {
        Set<VmPhase> from = EnumSet.noneOf(VmPhase.class);
        for (VmPhase p : VmPhase.values()) {
            if (VmPhaseTable.allows(p, to)) {
                from.add(p);
            }
        }
        return from;
    }
}
