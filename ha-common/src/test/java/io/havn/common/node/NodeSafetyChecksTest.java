package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The safety checks a node makes at the edge of what its view knows: each test lets the quorum (or
 * time) move on while the node has not heard yet, and shows that the check in the node's own
 * multi-op or callback, not luck, keeps a VM from running twice. Each pins one check of SAFETY.md
 * (the named mutants in ha-sim/mutants remove them one at a time).
 */
class NodeSafetyChecksTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final long MS = OneNodeRig.MS;

    private static VmSpec spec(String name) {
        return new VmSpec(new VmId(name), name, 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + name + "</name></domain>");
    }

    /** The leader's placement of {@code vm} on {@code host} in {@code session}: the host is to claim it. */
    private static VmRecord placed(String vm, HostId host, long session) {
        return new VmRecord(spec(vm), DesiredState.RUNNING, VmPhase.PLACED, host, session, 2, null, 0, null, 0,
                List.of(), null);
    }

    /** {@code vm} migrating from node2 (session 5) to node1 in {@code session}. */
    private static VmRecord migratingToNode1(String vm, long session) {
        return VmRecord.running(spec(vm), NODE2, 5).migratingTo(NODE1, session);
    }

    /** node1 (the node), node2 and node3, none with a fence device; node1 registered in session 7. */
    private static OneNodeRig threeHosts() {
        return OneNodeRig.threeHosts(io.havn.common.domain.DomainPolicy.none());
    }

    private static boolean hasOp(List<CoordOp> write, Class<? extends CoordOp> type) {
        return write.stream().anyMatch(type::isInstance);
    }

    // ---------------------------------------------------------------- rule 1: claims bound to the live session

    @Test
    void aClaimTheQuorumTakesAfterTheHostsSessionEndedStartsNothing() {
        OneNodeRig rig = threeHosts();
        rig.holdWrites = true;
        rig.vm(placed("a", NODE1, 7), 3); // the leader placed a here
        assertTrue(rig.writes.stream().anyMatch(w -> hasOp(w, CoordOp.PutVm.class)), "node1 claims a\n" + rig.trail());
        // node1's session is evicted at the quorum while the claim is on its way; node1 has not heard yet
        rig.endSessionQuietly("node1", 7);
        rig.releaseWrites();
        rig.holdWrites = false;
        rig.passMs(1_000, "node2", "node3");
        assertFalse(rig.called("start a"), "a claim taken after the host's session ended must not let it start the VM:"
                + " the claim is bound to the live session at the quorum\n" + rig.trail());
        assertEquals(3, rig.vms.get(new VmId("a")).version(), "the quorum refused the claim\n" + rig.trail());
    }

    @Test
    void aClaimAnsweredAfterTheLeaseLapsedStartsNothingOnAFrozenHost() {
        OneNodeRig rig = threeHosts();
        rig.holdWrites = true;
        rig.vm(placed("a", NODE1, 7), 3);
        // the quorum takes the claim, then the coordination service goes away before the answer comes back
        rig.confirmsAnswered = false;
        rig.passMs(OneNodeRig.settings().leaseMs() + 1_000, 5_000, "node2", "node3"); // the peers lost it too
        assertTrue(rig.node.isFrozen(), "node1 froze: its lease lapsed while a strict majority is freshly lost\n"
                + rig.trail());
        rig.releaseWrites(); // the claim's answer, OK, arrives now
        rig.passMs(500, 5_000, "node2", "node3");
        assertFalse(rig.called("start a"), "a frozen host changes nothing: a claim answered after its lease lapsed "
                + "gives no right to start the VM\n" + rig.trail());
        assertTrue(rig.decided(Decision.Kind.CLAIM_FAILED), rig.trail());
    }

    @Test
    void theOwnerOfAReleasedVmDestroysACopyItStillHolds() {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host("node2", null, false, 0);
        rig.host("node3", null, false, 0);
        VmId a = new VmId("a");
        rig.domains.put(a, DomainState.RUNNING); // a copy runs here (a late call, or started by hand)
        // node1 released a (a relocation): the leader may now place it anywhere, without proof
        rig.vm(VmRecord.running(spec("a"), NODE1, 7).withPhase(VmPhase.RELEASED, "stopped for relocation"), 4);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.passMs(1_000, "node2", "node3");
        assertTrue(rig.called("destroy a"), "a copy of a VM whose record is released (or failed, or given up) "
                + "may not run on its owner: the leader places it elsewhere without proof\n" + rig.trail());
        assertFalse(rig.domains.containsKey(a), rig.trail());
    }

    // ---------------------------------------------------------------- rule 6: the hand-over

    /** node1 holds the paused copy of a migration from node2 to it, and claims it (held at the quorum). */
    private static OneNodeRig handOverInFlight() {
        OneNodeRig rig = threeHosts();
        rig.holdWrites = true;
        rig.vm(migratingToNode1("a", 7), 3);
        rig.domains.put(new VmId("a"), DomainState.PAUSED);
        rig.driver.handle(new NodeEvent.DomainChanged(new VmId("a"), DomainState.PAUSED, true,
                "incoming migration complete"));
        assertTrue(rig.writes.stream().anyMatch(w -> w.stream().anyMatch(op -> op instanceof CoordOp.PutVm p
                && p.record().phase() == VmPhase.RUNNING && NODE1.equals(p.record().owner()))),
                "node1 claims the migrated copy\n" + rig.trail());
        return rig;
    }

    @Test
    void aHandOverClaimTheQuorumTakesAfterTheTargetsSessionEndedResumesNothing() {
        OneNodeRig rig = handOverInFlight();
        rig.endSessionQuietly("node1", 7);
        rig.releaseWrites();
        rig.holdWrites = false;
        rig.passMs(1_000, "node2", "node3");
        assertFalse(rig.called("resume a"), "a hand-over claim taken after the target's session ended must not let "
                + "it resume the copy: the claim is bound to the live session at the quorum\n" + rig.trail());
    }

    @Test
    void aHandOverClaimAnsweredAfterTheLeaseLapsedResumesNothingOnAFrozenHost() {
        OneNodeRig rig = handOverInFlight();
        rig.confirmsAnswered = false;
        rig.passMs(OneNodeRig.settings().leaseMs() + 1_000, 5_000, "node2", "node3");
        assertTrue(rig.node.isFrozen(), "node1 froze with the paused copy\n" + rig.trail());
        rig.releaseWrites();
        rig.passMs(500, 5_000, "node2", "node3");
        assertFalse(rig.called("resume a"), "a frozen host changes nothing: a hand-over claim answered after its "
                + "lease lapsed gives no right to resume\n" + rig.trail());
    }

    @Test
    void aMigrationTargetNamedInAnOldSessionReBindsTheRecordBeforeItClaimsTheHandOver() {
        OneNodeRig rig = threeHosts();
        VmId a = new VmId("a");
        rig.vm(migratingToNode1("a", 4), 3); // recorded under node1's previous session 4; node1 is in 7 now
        rig.domains.put(a, DomainState.PAUSED);
        rig.driver.handle(new NodeEvent.DomainChanged(a, DomainState.PAUSED, true, "incoming migration complete"));
        rig.passMs(1_000, "node2", "node3");
        List<VmRecord> puts = rig.writes.stream().flatMap(List::stream)
                .filter(op -> op instanceof CoordOp.PutVm p && p.record().id().equals(a))
                .map(op -> ((CoordOp.PutVm) op).record()).toList();
        assertFalse(puts.isEmpty(), rig.trail());
        VmRecord first = puts.get(0);
        assertTrue(first.phase() == VmPhase.MIGRATING && NODE1.equals(first.target()) && first.targetSession() == 7,
                "a record that names this host in an old session counts as its own only once re-bound to the current "
                + "session; the first write was " + first + "\n" + rig.trail());
        assertTrue(rig.called("resume a"), "then the hand-over, claimed under session 7, resumes the copy\n"
                + rig.trail());
    }

    // ---------------------------------------------------------------- rule 2: epochs

    @Test
    void aNodeWhoseClaimedEpochIsOlderThanOneItHasSeenDoesNotLead() {
        OneNodeRig rig = threeHosts();
        rig.vm(new VmRecord(spec("a"), DesiredState.RUNNING, VmPhase.RECOVERING, null, 0, 1, null, 0, null, 0,
                List.of(), "needs a host"), 0); // a leader would place it at once
        rig.driver.handle(new NodeEvent.LeadershipChanged(true));
        long token = rig.claimToken;
        rig.epoch = 3;
        rig.driver.handle(new NodeEvent.EpochChanged(3, new HostId("node2"))); // node2 claimed epoch 3 meanwhile
        rig.driver.handle(new NodeEvent.EpochClaimed(token, 2)); // node1's own claim, epoch 2, answered late
        rig.passMs(3_000, "node2", "node3");
        assertFalse(rig.node.isLeader(), "a node that knows of a newer epoch than its own must not act as leader\n"
                + rig.trail());
        assertTrue(rig.writes.stream().noneMatch(w -> hasOp(w, CoordOp.CheckEpoch.class)),
                "it sent no leader write\n" + rig.trail());
    }

    // ---------------------------------------------------------------- rule 4: proof of death

    @Test
    void aFenceDevicesOffIsNoProofWhenAHeartbeatArrivedAfterFencingBegan() {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("a");
        rig.passMs(5_000, "node3"); // node2 falls silent: suspected, and fenced
        assertTrue(rig.called("fence node2"), "the leader fences the silent node2\n" + rig.trail());
        // node2 is heard again (the device cut some other machine), and then the device says "off"
        rig.heartbeatFrom(0, "node2");
        rig.driver.handle(new NodeEvent.FenceDone(NODE2, true, null));
        rig.passMs(2_000, "node2", "node3");
        assertTrue(rig.accepted().stream().flatMap(List::stream).noneMatch(op -> op instanceof CoordOp.PutHost p
                && p.record().id().equals(NODE2) && p.record().offConfirmed()),
                "a device's \"off\" contradicted by a heartbeat after fencing began is no proof of death\n" + rig.trail());
        assertFalse(rig.called("evict node2"), rig.trail());
        assertTrue(rig.decided(Decision.Kind.ALARM), "the contradiction is an alarm\n" + rig.trail());
    }

    /** A leader node1 with node2 fenceable and running a, all settled; node2 then falls silent for {@code silentMs}. */
    private static OneNodeRig node2SilentWithItsSignal(long silentMs, HostSignal.Guard guard, int remainingMs) {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("a");
        long seq = 0;
        for (long t = 0; t < silentMs; t += 200) { // node2's daemon is silent, its signal sender is not
            rig.driver.handle(new NodeEvent.SignalReceived(new HostSignal(NODE2, 1, ++seq, guard,
                    guard == HostSignal.Guard.ARMED ? (int) Math.max(1, remainingMs - t) : 0)));
            rig.passMs(200, "node3");
        }
        return rig;
    }

    @Test
    void aSilentDaemonWhoseSignalShowsItsHostArmedIsNotFenced() {
        OneNodeRig rig = node2SilentWithItsSignal(4_000, HostSignal.Guard.ARMED, 5_000);
        assertFalse(rig.called("fence node2"), "node2's host is alive under its lease: no fence\n" + rig.trail());
        assertTrue(rig.decided(Decision.Kind.SUSPECT), "its daemon is suspected all the same\n" + rig.trail());
        assertEquals(1, rig.decisions.stream().filter(d -> d.kind() == Decision.Kind.HOLD_OFF).count(),
                "the hold-off is reported once\n" + rig.trail());
    }

    @Test
    void aSilentDaemonIsFencedOnceTheDeadlineItsSignalStatedHasPassed() {
        OneNodeRig rig = node2SilentWithItsSignal(4_000, HostSignal.Guard.ARMED, 2_500);
        assertTrue(rig.called("fence node2"), "past the deadline the watchdog enforces, node2 is fenced\n"
                + rig.trail());
    }

    @Test
    void aSilentDaemonWhoseSignalSaysItsWatchdogLapsedIsFenced() {
        OneNodeRig rig = node2SilentWithItsSignal(4_000, HostSignal.Guard.LAPSED, 0);
        assertTrue(rig.called("fence node2"), "a lapsed watchdog resets the host anyway: fence it\n" + rig.trail());
        assertFalse(rig.decided(Decision.Kind.HOLD_OFF), rig.trail());
    }

    @Test
    void aFenceDevicesOffIsNoProofWhileTheHostsSignalStillShowsItAlive() {
        OneNodeRig rig = node2SilentWithItsSignal(4_000, HostSignal.Guard.LAPSED, 0);
        assertTrue(rig.called("fence node2"), rig.trail());
        // the device reports off, yet node2's signal sender speaks on, with a lease ahead: it cut some other machine
        rig.driver.handle(new NodeEvent.SignalReceived(new HostSignal(NODE2, 1, 1_000, HostSignal.Guard.ARMED, 5_000)));
        rig.driver.handle(new NodeEvent.FenceDone(NODE2, true, null));
        rig.passMs(2_000, "node3");
        assertTrue(rig.accepted().stream().flatMap(List::stream).noneMatch(op -> op instanceof CoordOp.PutHost p
                && p.record().id().equals(NODE2) && p.record().offConfirmed()),
                "a device's \"off\" contradicted by the host's own signal is no proof of death\n" + rig.trail());
        assertTrue(rig.decided(Decision.Kind.ALARM), "the contradiction is an alarm\n" + rig.trail());
    }

    @Test
    void aRestartOnSessionExpiryIsRefusedByTheQuorumOnceTheHostRecordedAPlannedRestartTheLeaderHasNotSeen() {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host("node2", null, false, 0);
        rig.host("node3", null, false, 0);
        rig.vm(VmRecord.running(spec("a"), NODE2, 5), 0);
        rig.start(7);
        rig.live("node3", 9L); // node2's session 5 is gone
        // at the quorum node2 announced a planned restart of session 5; node1's view has not caught up
        rig.hosts.put(NODE2, new Versioned<>(rig.hosts.get(NODE2).value().withRestart(5, 60_000), 1));
        rig.lead(1);
        rig.passMs(OneNodeRig.settings().settleMs() + 2_000, "node3");
        assertTrue(rig.writes.stream().anyMatch(w -> hasOp(w, CoordOp.CheckEpoch.class)
                && w.stream().anyMatch(op -> op instanceof CoordOp.PutVm p && p.record().id().equals(new VmId("a")))),
                "the leader, trusting its view, tries to restart a on session 5's expiry\n" + rig.trail());
        assertEquals(NODE2, rig.vms.get(new VmId("a")).value().owner(), "the restart multi-op re-checks the host "
                + "record at the quorum: a planned restart recorded since voids the proof\n" + rig.trail());
    }

    @Test
    void aRestartIsRefusedByTheQuorumOnceTheHostRecordedOffHasRegisteredAgain() {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host("node2", "ipmi-node2", true, 3); // recorded off (version 3), as node1's view still has it
        rig.host("node3", null, false, 0);
        rig.vm(VmRecord.running(spec("a"), NODE2, 5), 0);
        rig.start(7);
        rig.live("node3", 9L);
        // node2 came back and cleared the flag: the quorum's record moved on; node1 has not heard yet
        rig.hosts.put(NODE2, new Versioned<>(new HostRecord(NODE2, OneNodeRig.CAPACITY, null, "ipmi-node2",
                HostAdminState.ACTIVE, false), 4));
        rig.lead(1);
        rig.passMs(OneNodeRig.settings().settleMs() + 2_000, "node3");
        assertTrue(rig.writes.stream().anyMatch(w -> hasOp(w, CoordOp.CheckEpoch.class)
                && w.stream().anyMatch(op -> op instanceof CoordOp.PutVm p && p.record().id().equals(new VmId("a")))),
                "the leader, trusting its view, tries to restart a\n" + rig.trail());
        assertEquals(NODE2, rig.vms.get(new VmId("a")).value().owner(), "the restart multi-op re-checks the host "
                + "record at the quorum: a host that registered again voids the proof\n" + rig.trail());
        assertEquals(0, rig.vms.get(new VmId("a")).version(), rig.trail());
    }
}
