package io.havn.common.node;

import static io.havn.common.node.OneNodeRig.MS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A disarmed cluster (nothing fenced, self-fenced or restarted elsewhere) and arming it again (a
 * host's expiry proves it dead again only once it acknowledged the arm in that session), on one
 * real node: the host's side and the leader's. Whole clusters run in the simulator's scenarios
 * ({@code disarmed-cluster-*.yaml}, {@code arm-waits-*.yaml}).
 */
class DisarmAndArmTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final VmId A = new VmId("a");
    private static final ClusterRecord KEEP = ClusterRecord.DEFAULT.disarm(ClusterRecord.Disarm.KEEP_WATCHDOGS);
    private static final ClusterRecord RELEASE = ClusterRecord.DEFAULT.disarm(ClusterRecord.Disarm.RELEASE_WATCHDOGS);

    private static VmSpec spec(String name) {
        return new VmSpec(new VmId(name), name, 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + name + "</name></domain>");
    }

    /** node1 (the node, session 7) runs a, with node2 (5) and node3 (9) heard; nobody leads here. */
    private static OneNodeRig node1RunningA() {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host("node2", null, false, 0);
        rig.host("node3", null, false, 0);
        rig.domains.put(A, DomainState.RUNNING);
        rig.vm(VmRecord.running(spec("a"), NODE1, 7), 0);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.passMs(1_000, "node2", "node3");
        return rig;
    }

    private static long lastArmed(OneNodeRig rig) {
        return rig.watchdogCalls.get(rig.watchdogCalls.size() - 1);
    }

    // ---------------------------------------------------------------- a host while disarmed

    @Test
    void aDisarmedHostWhoseLeaseLapsesKeepsItsVmAndKeepsItsWatchdogALeaseAheadWhileItsDaemonRuns() {
        OneNodeRig rig = node1RunningA();
        rig.cluster(KEEP, 0);
        assertTrue(rig.decided(Decision.Kind.DISARMED), rig.trail());
        rig.confirmsAnswered = false; // the coordination service is away for the work
        rig.passMs(30_000, "node2", "node3");
        assertFalse(rig.decided(Decision.Kind.SELF_FENCE), "nothing self-fences while disarmed\n" + rig.trail());
        assertFalse(rig.called("destroy a") || rig.called("shutdown a"), rig.trail());
        assertEquals(DomainState.RUNNING, rig.domains.get(A));
        long ahead = lastArmed(rig) - rig.clock.nanos();
        assertTrue(ahead > 0 && ahead <= Settings.defaults().leaseMs() * MS,
                "the watchdog is kept armed, at most a lease ahead, long past the lease: " + ahead / MS + " ms");
    }

    @Test
    void inReleaseModeTheWatchdogIsReleased() {
        OneNodeRig rig = node1RunningA();
        rig.cluster(RELEASE, 0);
        rig.confirmsAnswered = false;
        rig.passMs(30_000, "node2", "node3");
        assertEquals(-1L, lastArmed(rig), "released: " + rig.watchdogCalls);
        assertFalse(rig.decided(Decision.Kind.SELF_FENCE), rig.trail());
        assertEquals(DomainState.RUNNING, rig.domains.get(A));
    }

    @Test
    void armedAgainTheHostBindsOnlyOnAValidLeaseThenAcknowledgesTheArmInItsSession() {
        OneNodeRig rig = node1RunningA();
        rig.cluster(KEEP, 0);
        rig.confirmsAnswered = false;
        rig.passMs(12_000, "node2", "node3");
        rig.passMs(8_000, "node2", "node3");
        rig.cluster(KEEP.arm(), 1);
        rig.passMs(2_000, "node2", "node3");
        assertFalse(rig.decided(Decision.Kind.SELF_FENCE), "arming never self-fences at once\n" + rig.trail());
        assertFalse(rig.decided(Decision.Kind.ARMED), "not bound before a confirmation\n" + rig.trail());
        rig.confirmsAnswered = true;
        rig.newSession(8); // the work outlasted the session: a new one
        rig.passMs(2_000, "node2", "node3");
        assertTrue(rig.decided(Decision.Kind.ARMED), rig.trail());
        assertEquals(DomainState.RUNNING, rig.domains.get(A), "kept, and re-bound to the new session");
        assertTrue(rig.vms.get(A).value().names(NODE1, 8), rig.vms.get(A).toString());
        List<CoordOp> ack = rig.accepted().stream().filter(w -> w.get(0) instanceof CoordOp.PutHost p
                && p.record().armed() != null).findFirst().orElse(null);
        assertNotNull(ack, "the arm is acknowledged\n" + rig.trail());
        assertEquals(new HostRecord.ArmAck(2, 8), ((CoordOp.PutHost) ack.get(0)).record().armed());
        assertEquals(new CoordOp.CheckSessionLive(NODE1, 8), ack.get(1), "bound to the session it speaks of");
        // bound again: a lapse now self-fences, as in an armed cluster
        rig.confirmsAnswered = false;
        rig.passMs(20_000, "node2", "node3");
        assertTrue(rig.decided(Decision.Kind.SELF_FENCE), rig.trail());
    }

    // ---------------------------------------------------------------- the leader

    /** node1 leads; node2 (session 5, no fence device unless given) runs a; node3 (9). */
    private static OneNodeRig leadingWithNode2RunningA(String device, ClusterRecord cluster, HostRecord.ArmAck ack) {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host(new HostRecord(NODE2, OneNodeRig.CAPACITY, null, device, HostAdminState.ACTIVE, false, false, null,
                ack, null, null), 0);
        rig.host("node3", null, false, 0);
        if (cluster != null) {
            rig.cluster(cluster, 0);
        }
        rig.vm(VmRecord.running(spec("a"), NODE2, 5), 0);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.lead(1);
        rig.passMs(OneNodeRig.settings().settleMs() + 1_000, "node2", "node3");
        return rig;
    }

    private static boolean placedElsewhere(OneNodeRig rig) {
        return rig.accepted().stream().flatMap(List::stream).anyMatch(op -> op instanceof CoordOp.PutVm p
                && p.record().id().equals(A) && p.record().phase() == VmPhase.PLACED);
    }

    @Test
    void whileDisarmedTheLeaderNeitherFencesNorRestartsElsewhere() {
        OneNodeRig rig = leadingWithNode2RunningA("ipmi-node2", KEEP, null);
        rig.live("node2"); // node2 falls silent and its session ends
        rig.passMs(60_000, "node3");
        assertFalse(rig.called("fence node2"), rig.trail());
        assertFalse(placedElsewhere(rig), rig.trail());
        assertEquals(1, rig.decisions.stream().filter(d -> d.kind() == Decision.Kind.HOLD_OFF).count(),
                "the hold-off is said once\n" + rig.trail());
    }

    @Test
    void whileDisarmedEvenAHostRecordedOffHasItsVmsRestartedOnlyOnceTheClusterIsArmed() {
        OneNodeRig rig = leadingWithNode2RunningA(null, KEEP, null);
        rig.live("node2");
        rig.host(rig.hosts.get(NODE2).value().withOffConfirmed(true), 1); // an operator's fence confirm
        rig.passMs(30_000, "node3");
        assertFalse(placedElsewhere(rig), "disarmed: nothing is restarted elsewhere\n" + rig.trail());
        rig.cluster(KEEP.arm(), 1);
        rig.passMs(3_000, "node3");
        assertTrue(placedElsewhere(rig), "armed: the confirmation is proof, as always\n" + rig.trail());
    }

    @Test
    void afterAnArmTheExpiryOfASessionThatNeverAcknowledgedItProvesNothing() {
        ClusterRecord armed = KEEP.arm().disarm(ClusterRecord.Disarm.KEEP_WATCHDOGS).arm();
        OneNodeRig rig = leadingWithNode2RunningA(null, armed, new HostRecord.ArmAck(armed.generation() - 2, 5));
        rig.live("node2");
        rig.passMs(60_000, "node3");
        assertFalse(placedElsewhere(rig), "node2 may run a unguarded: only a fence or fence confirm proves it\n"
                + rig.trail());
    }

    @Test
    void afterAnArmTheExpiryOfASessionThatAcknowledgedItIsProofAgainWhileTheClusterStaysArmed() {
        ClusterRecord armed = KEEP.arm();
        OneNodeRig rig = leadingWithNode2RunningA(null, armed, new HostRecord.ArmAck(armed.generation(), 5));
        rig.live("node2");
        rig.passMs(30_000, "node3");
        assertTrue(placedElsewhere(rig), rig.trail());
        List<CoordOp> place = rig.accepted().stream().filter(w -> w.stream().anyMatch(op -> op instanceof CoordOp.PutVm p
                && p.record().phase() == VmPhase.PLACED)).findFirst().orElseThrow();
        assertTrue(place.contains(new CoordOp.CheckCluster(0)), "a disarm since the view was taken voids it: " + place);
    }

    @Test
    void aClusterNeverDisarmedNeedsNoAcknowledgement() {
        OneNodeRig rig = leadingWithNode2RunningA(null, null, null);
        rig.live("node2");
        rig.passMs(30_000, "node3");
        assertTrue(placedElsewhere(rig), rig.trail());
    }

    @Test
    void aDisarmSinceTheLeadersViewVoidsTheProofItWrites() {
        ClusterRecord armed = KEEP.arm();
        OneNodeRig rig = leadingWithNode2RunningA(null, armed, new HostRecord.ArmAck(armed.generation(), 5));
        rig.cluster = new io.havn.common.model.Versioned<>(armed.disarm(ClusterRecord.Disarm.KEEP_WATCHDOGS), 1);
        rig.live("node2");
        rig.passMs(30_000, "node3");
        assertFalse(placedElsewhere(rig), "the quorum refuses a proof taken against an older cluster record\n"
                + rig.trail());
    }
}
