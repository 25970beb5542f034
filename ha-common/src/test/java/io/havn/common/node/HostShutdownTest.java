package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A clean host shutdown on one real node: the policy in force (the host's own, else the
 * cluster's), what the host writes and in which order, and what the leader does with the records it
 * leaves. Whole clusters run in the simulator's scenarios ({@code host-reboot-*.yaml}).
 */
class HostShutdownTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final VmId A = new VmId("a");
    private static final long STOP = 42;

    private static VmSpec spec(String name) {
        return new VmSpec(new VmId(name), name, 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + name + "</name></domain>");
    }

    /** node1 (the node, session 7) runs a, with node2 and node3 heard; {@code own} is its own policy. */
    private static OneNodeRig node1RunningA(ShutdownPolicy cluster, ShutdownPolicy own) {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host(new HostRecord(NODE1, OneNodeRig.CAPACITY, null, null, HostAdminState.ACTIVE, false, false, null,
                null, own, null), 0);
        rig.host("node2", null, false, 0);
        rig.host("node3", null, false, 0);
        if (cluster != null) {
            rig.cluster(ClusterRecord.DEFAULT.withShutdownPolicy(cluster), 0);
        }
        rig.domains.put(A, DomainState.RUNNING);
        rig.vm(VmRecord.running(spec("a"), NODE1, 7), 0);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.passMs(1_000, "node2", "node3");
        return rig;
    }

    private static HostRecord.HostShutdown announced(OneNodeRig rig) {
        return rig.hosts.get(NODE1).value().shutdown();
    }

    private static int indexOfWrite(OneNodeRig rig, java.util.function.Predicate<CoordOp> first) {
        for (int i = 0; i < rig.writes.size(); i++) {
            if (first.test(rig.writes.get(i).get(0))) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void failoverShutsTheVmDownThenRecordsItNotRunningBoundToTheLiveSessionThenAnswers() {
        OneNodeRig rig = node1RunningA(ShutdownPolicy.FAILOVER, null);
        rig.driver.handle(new NodeEvent.Stopping(STOP, 60_000, true));
        rig.passMs(5_000, "node2", "node3");
        assertEquals(new HostRecord.HostShutdown(7, ShutdownPolicy.FAILOVER), announced(rig), rig.trail());
        assertTrue(rig.called("shutdown a"), rig.trail());
        VmRecord r = rig.vms.get(A).value();
        assertEquals(VmPhase.NOT_RUNNING, r.phase(), rig.trail());
        int announce = indexOfWrite(rig, op -> op instanceof CoordOp.PutHost p && p.record().shutdown() != null);
        int released = indexOfWrite(rig, op -> op instanceof CoordOp.PutVm p
                && p.record().phase() == VmPhase.NOT_RUNNING);
        assertTrue(announce >= 0 && announce < released, "announced before anything is stopped: " + rig.writes);
        assertEquals(new CoordOp.CheckSessionLive(NODE1, 7), rig.writes.get(released).get(1));
        AdminReply reply = rig.replies.get(STOP);
        assertNotNull(reply, rig.trail());
        assertTrue(reply.ok(), reply.message());
    }

    @Test
    void theHostsOwnPolicyWinsOverTheClustersAndFreezeRecordsTheVmFrozen() {
        OneNodeRig rig = node1RunningA(ShutdownPolicy.FAILOVER, ShutdownPolicy.FREEZE);
        rig.driver.handle(new NodeEvent.Stopping(STOP, 60_000, true));
        rig.passMs(5_000, "node2", "node3");
        assertEquals(ShutdownPolicy.FREEZE, announced(rig).policy());
        assertEquals(VmPhase.FROZEN, rig.vms.get(A).value().phase(), rig.trail());
        assertTrue(rig.vms.get(A).value().names(NODE1, 7), "still its owner's");
        assertFalse(rig.domains.containsKey(A), "no copy runs while it is frozen");
        assertTrue(rig.replies.get(STOP).ok());
    }

    @Test
    void migrateStopsNothingAndAnswersOnceTheVmHasMovedAway() {
        OneNodeRig rig = node1RunningA(null, null);
        rig.driver.handle(new NodeEvent.Stopping(STOP, 60_000, true));
        rig.passMs(3_000, "node2", "node3");
        assertEquals(new HostRecord.HostShutdown(7, ShutdownPolicy.MIGRATE), announced(rig));
        assertTrue(rig.vms.get(A).value().phase() == VmPhase.RUNNING && !rig.called("shutdown a"), rig.trail());
        assertFalse(rig.replies.containsKey(STOP), "waits for the drain");
        // the leader migrates it away; its copy here is gone
        rig.domains.remove(A);
        rig.vm(rig.vms.get(A).value().handedOverTo(NODE2, 5), 1);
        rig.driver.handle(new NodeEvent.DomainChanged(A, null, false, "migrated out"));
        rig.passMs(1_000, "node2", "node3");
        assertTrue(rig.replies.get(STOP).ok(), rig.trail());
    }

    @Test
    void aMigrationThatDoesNotHappenInTimeFailsOverWhatIsLeft() {
        OneNodeRig rig = node1RunningA(null, null);
        rig.driver.handle(new NodeEvent.Stopping(STOP, 60_000, true));
        rig.passMs(Settings.defaults().shutdownMigrateMs() - 1_000, "node2", "node3");
        assertFalse(rig.called("shutdown a"), "still waiting for the drain\n" + rig.trail());
        rig.passMs(5_000, "node2", "node3");
        assertTrue(rig.called("shutdown a"), rig.trail());
        assertEquals(VmPhase.NOT_RUNNING, rig.vms.get(A).value().phase(), rig.trail());
        assertEquals(ShutdownPolicy.FAILOVER, announced(rig).policy(), "the leader stops draining it");
        assertTrue(rig.replies.get(STOP).ok());
    }

    @Test
    void aHostHoldingNoHaVmAnnouncesNothing() {
        OneNodeRig rig = node1RunningA(null, null);
        rig.vm(rig.vms.get(A).value().withSpec(rig.vms.get(A).value().spec().withHa(false)), 1);
        int writes = rig.writes.size();
        rig.driver.handle(new NodeEvent.Stopping(STOP, 60_000, true));
        assertEquals(writes, rig.writes.size(), rig.trail());
        assertTrue(rig.replies.get(STOP).ok());
        assertTrue(rig.replies.get(STOP).message().contains("holds no HA VM"), rig.replies.get(STOP).message());
    }

    // ---------------------------------------------------------------- what comes after

    /** node1 leads; node2 (session 5 gone) left a frozen; node3 (9). */
    private static OneNodeRig leadingWithAFrozenOnNode2(boolean node2RecordedOff) {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host(new HostRecord(NODE2, OneNodeRig.CAPACITY, null, null, HostAdminState.ACTIVE, node2RecordedOff, false,
                null, null, null, new HostRecord.HostShutdown(5, ShutdownPolicy.FREEZE)), 0);
        rig.host("node3", null, false, 0);
        rig.vm(VmRecord.running(spec("a"), NODE2, 5).withPhase(VmPhase.FROZEN, "frozen"), 0);
        rig.start(7);
        rig.live("node3", 9L);
        rig.lead(1);
        rig.passMs(OneNodeRig.settings().settleMs() + 30_000, "node3");
        return rig;
    }

    @Test
    void aFrozenVmIsLeftForItsHostAndItsHostIsNotFenced() {
        OneNodeRig rig = leadingWithAFrozenOnNode2(false);
        assertEquals(VmPhase.FROZEN, rig.vms.get(A).value().phase(), rig.trail());
        assertFalse(rig.called("fence node2"), rig.trail());
    }

    @Test
    void aFrozenVmRunsElsewhereOnceItsHostIsRecordedOff() {
        OneNodeRig rig = leadingWithAFrozenOnNode2(true);
        VmRecord r = rig.vms.get(A).value();
        assertTrue(r.phase() == VmPhase.PLACED || r.phase() == VmPhase.RUNNING, rig.trail());
        assertEquals(NODE1, r.owner(), "placed on a host that is up\n" + rig.trail());
    }

    @Test
    void itsHostBackInANewSessionStartsTheFrozenVmAgain() {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host("node2", null, false, 0);
        rig.host("node3", null, false, 0);
        rig.vm(VmRecord.running(spec("a"), NODE1, 3).withPhase(VmPhase.FROZEN, "frozen"), 0);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.passMs(3_000, "node2", "node3");
        assertTrue(rig.called("start a"), rig.trail());
        VmRecord r = rig.vms.get(A).value();
        assertEquals(VmPhase.RUNNING, r.phase());
        assertTrue(r.names(NODE1, 7), r.toString());
        List<CoordOp> claim = rig.writes.stream().filter(w -> w.get(0) instanceof CoordOp.PutVm p
                && p.record().phase() == VmPhase.RUNNING).findFirst().orElseThrow();
        assertEquals(new CoordOp.CheckSessionLive(NODE1, 7), claim.get(1), "a claim bound to its session");
    }
}
