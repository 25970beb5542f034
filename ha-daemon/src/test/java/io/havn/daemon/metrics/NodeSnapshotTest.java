package io.havn.daemon.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.ClusterState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminReply;
import java.util.List;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** What the snapshot takes from the cluster state: {@code havn_vms_on_maintenance_hosts}, the hard rules. */
class NodeSnapshotTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");

    private static VmSpec spec(String name, boolean ha) {
        return new VmSpec(new VmId(name), name, 1, 512, Priority.MEDIUM, ha, "<domain type='kvm'/>");
    }

    @Test
    void theHaVmsAHostInMaintenanceStillHoldsAreCountedAndNothingElse() {
        TreeMap<HostId, HostRecord> hosts = new TreeMap<>();
        hosts.put(NODE1, new HostRecord(NODE1, new HostCapacity(8, 16384), null, null, HostAdminState.MAINTENANCE,
                false));
        hosts.put(NODE2, new HostRecord(NODE2, new HostCapacity(8, 16384), null, null, HostAdminState.ACTIVE, false));
        TreeMap<VmId, VmRecord> vms = new TreeMap<>();
        VmRecord running = VmRecord.running(spec("a", true), NODE1, 5);
        vms.put(new VmId("a"), running); // not moved yet: counted
        vms.put(new VmId("b"), VmRecord.running(spec("b", true), NODE1, 5).migratingTo(NODE2, 9)); // still there
        vms.put(new VmId("c"), VmRecord.running(spec("c", true), NODE2, 9)); // on an active host
        vms.put(new VmId("d"), VmRecord.running(spec("d", false), NODE1, 5)); // not under HA: never drained
        vms.put(new VmId("e"), VmRecord.running(spec("e", true), NODE1, 5).startFailed("no disk")); // holds nothing
        vms.put(new VmId("f"), VmRecord.running(spec("f", true), NODE1, 5).unowned(VmPhase.STOPPED, "stopped"));
        ClusterState state = new ClusterState(3, NODE2, hosts, new TreeMap<>(), vms);

        assertEquals(2, NodeSnapshot.onMaintenanceHosts(state));
        assertEquals(0, NodeSnapshot.onMaintenanceHosts(new ClusterState(3, NODE2, new TreeMap<>(), new TreeMap<>(),
                vms)), "a VM whose owner is not registered is no drain's");
    }

    @Test
    void theHardRulesAreListedInOrderAndTheReserveIsNotMadeUp() {
        PlacementPolicy p = PlacementPolicy.EMPTY
                .withRule(new Rule.Apart("db-apart", List.of(new VmId("a"), new VmId("b")), true, null))
                .withRule(new Rule.Together("soft", List.of(new VmId("a"), new VmId("b")), false, 5))
                .withRule(new Rule.OnHosts("licensed", List.of(new VmId("a")), List.of("g"), true, false))
                .withRule(new Rule.OnHosts("prefer", List.of(new VmId("b")), List.of("g"), false, true))
                .withRule(new Rule.StartDelay("late", List.of(new VmId("b")), 1_000));
        ClusterState state = new ClusterState(3, NODE2, new TreeMap<>(), new TreeMap<>(), new TreeMap<>(),
                ClusterRecord.DEFAULT.withPlacement(p));
        assertEquals(List.of("db-apart", "licensed"), NodeSnapshot.hardRules(state));
        assertNull(NodeSnapshot.reserve(null), "no assessment finished: NaN, not a guess");
    }

    @Test
    void theReserveIsAssessedAsideAtMostOncePerIntervalAndTheLastResultIsRead() {
        List<Runnable> queued = new java.util.ArrayList<>();
        ReserveAssessor a = new ReserveAssessor(10_000, queued::add);
        java.util.SortedMap<HostId, HostRecord> hosts = new TreeMap<>();
        for (HostId h : List.of(NODE1, NODE2)) {
            hosts.put(h, new HostRecord(h, new io.havn.common.model.HostCapacity(8, 8192), null, null,
                    HostAdminState.ACTIVE, false));
        }
        java.util.SortedMap<HostId, java.util.SortedSet<Long>> live = new TreeMap<>();
        live.put(NODE1, new java.util.TreeSet<>(List.of(5L)));
        live.put(NODE2, new java.util.TreeSet<>(List.of(9L)));
        java.util.SortedMap<VmId, VmRecord> vms = new TreeMap<>();
        vms.put(new VmId("a"), VmRecord.running(spec("a", true), NODE1, 5));
        ClusterState state = new ClusterState(3, NODE2, hosts, live, vms, ClusterRecord.DEFAULT.withPlacement(
                PlacementPolicy.EMPTY.withAdmission(1, false, null)));
        a.offer(state, false, 0);
        assertEquals(0, queued.size(), "not the leader, and nobody asked: nothing assessed");
        a.offer(state, true, 0);
        a.offer(state, true, 1_000_000L); // one runs already: not queued again
        assertEquals(1, queued.size());
        assertNull(a.last(), "nothing finished yet");
        queued.remove(0).run();
        assertEquals(new NodeSnapshot.FailureReserve(1, 1), NodeSnapshot.reserve(a.last()), "a fits on node2");
        a.offer(state, true, 5_000_000_000L);
        assertEquals(0, queued.size(), "within the interval: not again");
        a.offer(state, true, 10_000_000_000L);
        assertEquals(1, queued.size());
        queued.remove(0).run();
        assertEquals(new NodeSnapshot.FailureReserve(1, 1), NodeSnapshot.reserve(a.demand(20_000_000_000L)));
        a.offer(state, false, 25_000_000_000L);
        assertEquals(1, queued.size(), "a follower whose status was asked for assesses too");
    }
    @Test
    void aPartialStatusAnswerIsNotAssessedAndEndsTheAssessingItsHostWasAskedFor() {
        List<Runnable> queued = new java.util.ArrayList<>();
        ReserveAssessor a = new ReserveAssessor(10_000, queued::add);
        java.util.SortedMap<HostId, HostRecord> hosts = new TreeMap<>();
        for (HostId h : List.of(NODE1, NODE2)) {
            hosts.put(h, new HostRecord(h, new HostCapacity(8, 8192), null, null, HostAdminState.ACTIVE, false));
        }
        java.util.SortedMap<VmId, VmRecord> vms = new TreeMap<>();
        vms.put(new VmId("a"), VmRecord.running(spec("a", true), NODE1, 5));
        ClusterState state = new ClusterState(3, NODE2, hosts, new TreeMap<>(), vms, ClusterRecord.DEFAULT
                .withPlacement(PlacementPolicy.EMPTY.withAdmission(1, false, null)));

        // a whole answer asks for the count: this follower assesses its snapshots for a minute
        AdminReply whole = a.assessed(AdminReply.state(state, NODE1, List.of()), 1_000_000_000L);
        assertNull(whole.admission(), "none finished yet");
        a.offer(state, false, 2_000_000_000L);
        assertEquals(1, queued.size());
        queued.remove(0).run();
        assertNotNull(a.last());
        assertEquals(a.last(), a.assessed(AdminReply.state(state, NODE1, List.of()), 3_000_000_000L).admission(),
                "the count rides with a whole answer");

        // the host now keeps only its own records: its answer is left as it is, and it stops assessing
        AdminReply partial = AdminReply.ownState(state, NODE1, List.of(), "node1 keeps only its own VM records");
        assertSame(partial, a.assessed(partial, 4_000_000_000L), "no count on part of the state");
        a.offer(state, false, 30_000_000_000L);
        assertEquals(0, queued.size(), "the demand of a moment ago ended with the partial answer");
        a.offer(state, true, 30_000_000_000L);
        assertEquals(1, queued.size(), "as the leader it keeps every record, and assesses");
        AdminReply ok = AdminReply.ok("done");
        assertSame(ok, a.assessed(ok, 5_000_000_000L), "not a status answer");
    }
}
