package io.havn.sim.cluster;

import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.ChangeRequest;
import io.havn.common.node.Decision;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.CoordOp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.ClusterState;
import io.havn.common.model.DesiredState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;

import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Operators' requests through {@link AdminHandler}, end to end on a cluster of real nodes in virtual
 * time: what each request does, and that bad input is refused with a stable code and changes nothing.
 */
class AdminRequestsTest {

    private static final String[] HOSTS = {"node1", "node2", "node3"};

    /** node1 (leader), node2 and node3; a runs on node2, b on node3. */
    private static TestCluster started(boolean fenceDevices) {
        TestCluster c = new TestCluster();
        for (String h : HOSTS) {
            c.addHost(h, fenceDevices);
        }
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.addRunningVm("b", "node3", Priority.MEDIUM);
        c.start();
        c.runMs(2_000);
        assertTrue(c.runsOn("a", "node2") && c.runsOn("b", "node3"), "initial placement\n" + c.trail());
        return c;
    }

    // ------------------------------------------------------------------ moves

    @Test
    void migrateMovesARunningVmLiveToTheNamedHost() {
        TestCluster c = started(true);
        int from = c.decisions().size();

        AdminReply reply = c.adminAndWait("node1", new AdminCommand.Migrate(vm("a"), host("node3")));
        assertTrue(reply.ok(), "accepted: " + reply + "\n" + c.trail());
        c.stepUntil(10_000, () -> c.runsOn("a", "node3") && phase(c, "a") == VmPhase.RUNNING,
                () -> assertEquals(1, c.holders("a").size(), () -> "t=" + c.clock.nanos() / 1_000_000
                        + " ms: a exists (running, or paused for the hand-over) on exactly one host, not "
                        + c.holders("a") + "\n" + c.trail()),
                "a migrated to node3");

        VmRecord r = c.record("a");
        assertEquals(host("node3"), r.owner(), "owner\n" + c.trail());
        assertNull(r.target(), "no migration in flight\n" + c.trail());
        assertNull(r.move(), "the move request is done\n" + c.trail());
        assertFalse(c.since(from, Decision.Kind.MIGRATE, "a").isEmpty(), "live migration\n" + c.trail());
        assertFalse(c.since(from, Decision.Kind.HANDOVER, "a").isEmpty(), "hand-over\n" + c.trail());
        for (Decision.Kind k : List.of(Decision.Kind.STOP, Decision.Kind.STOPPED, Decision.Kind.START,
                Decision.Kind.RELOCATE, Decision.Kind.PLACE)) {
            assertEquals(List.of(), c.since(from, k, "a"), "a live move has no " + k + "\n" + c.trail());
        }
        assertTrue(c.runsOn("b", "node3"), "b untouched\n" + c.trail());
    }

    @Test
    void relocateMovesTheVmColdToTheNamedHost() {
        TestCluster c = started(true);
        int from = c.decisions().size();

        AdminReply reply = c.adminAndWait("node3", new AdminCommand.Relocate(vm("a"), host("node1")));
        assertTrue(reply.ok(), "accepted: " + reply + "\n" + c.trail());
        c.awaitMs(10_000, () -> c.runsOn("a", "node1") && phase(c, "a") == VmPhase.RUNNING, "a relocated to node1");

        VmRecord r = c.record("a");
        assertEquals(host("node1"), r.owner(), "owner\n" + c.trail());
        assertNull(r.move(), "the move request is done\n" + c.trail());
        assertNull(r.target(), "no target\n" + c.trail());
        assertFalse(c.since(from, Decision.Kind.RELOCATE, "a").isEmpty(), "a cold relocation\n" + c.trail());
        assertEquals(List.of(), c.since(from, Decision.Kind.MIGRATE, "a"), "not a live migration\n" + c.trail());
        assertTrue(c.domains("node2").isEmpty(), "no copy left on node2\n" + c.trail());
        c.runMs(5_000);
        assertTrue(c.runsOn("a", "node1"), "a stays on node1\n" + c.trail());
    }

    // ------------------------------------------------------------------ stop and start

    @Test
    void vmStopStopsTheVmAndItStaysStopped() {
        TestCluster c = started(true);
        int from = c.decisions().size();

        AdminReply reply = c.adminAndWait("node1", new AdminCommand.VmStop(vm("a")));
        assertTrue(reply.ok(), "accepted: " + reply + "\n" + c.trail());
        c.awaitMs(5_000, () -> c.whereRunning("a").isEmpty() && phase(c, "a") == VmPhase.STOPPED, "a stopped");
        assertEquals(DesiredState.STOPPED, c.record("a").desired(), "desired stopped\n" + c.trail());

        c.runMs(20_000);
        assertTrue(c.whereRunning("a").isEmpty(), "a stays stopped\n" + c.trail());
        assertEquals(VmPhase.STOPPED, phase(c, "a"), "record stays stopped\n" + c.trail());

        c.crash("node2"); // its former host
        c.runMs(20_000);
        assertTrue(c.whereRunning("a").isEmpty(), "a stopped VM is not failed over\n" + c.trail());
        assertEquals(VmPhase.STOPPED, phase(c, "a"), "record stays stopped\n" + c.trail());
        assertEquals(List.of(), c.since(from, Decision.Kind.PLACE, "a"), "never placed\n" + c.trail());
        assertTrue(c.runsOn("b", "node3"), "b untouched\n" + c.trail());
    }

    @Test
    void stoppedVmIsNotFailedOverWhenItsHostCrashesRightAfterTheStop() {
        TestCluster c = started(true);
        int from = c.decisions().size();

        AdminReply reply = c.adminAndWait("node1", new AdminCommand.VmStop(vm("a")));
        assertTrue(reply.ok(), "accepted: " + reply + "\n" + c.trail());
        c.crash("node2"); // before its shutdown may have completed
        c.awaitMs(20_000, () -> phase(c, "a") == VmPhase.STOPPED, "a recorded stopped after its host died");
        c.runMs(20_000);
        assertTrue(c.whereRunning("a").isEmpty(), "a is not restarted anywhere\n" + c.trail());
        assertEquals(VmPhase.STOPPED, phase(c, "a"), "record stays stopped\n" + c.trail());
        assertEquals(DesiredState.STOPPED, c.record("a").desired(), "desired stopped\n" + c.trail());
        assertEquals(List.of(), c.since(from, Decision.Kind.PLACE, "a"), "never placed\n" + c.trail());
    }

    @Test
    void vmStartBringsAStoppedVmBack() {
        TestCluster c = started(true);
        assertTrue(c.adminAndWait("node1", new AdminCommand.VmStop(vm("a"))).ok(), c.trail());
        c.awaitMs(5_000, () -> c.whereRunning("a").isEmpty() && phase(c, "a") == VmPhase.STOPPED, "a stopped");

        AdminReply reply = c.adminAndWait("node3", new AdminCommand.VmStart(vm("a")));
        assertTrue(reply.ok(), "accepted: " + reply + "\n" + c.trail());
        c.awaitMs(10_000, () -> c.whereRunning("a").size() == 1 && phase(c, "a") == VmPhase.RUNNING, "a runs again");
        VmRecord r = c.record("a");
        assertEquals(DesiredState.RUNNING, r.desired(), "desired running\n" + c.trail());
        assertEquals(c.whereRunning("a").iterator().next(), r.owner(), "owner is where it runs\n" + c.trail());
        c.runMs(5_000);
        assertEquals(1, c.whereRunning("a").size(), "it keeps running\n" + c.trail());
    }

    // ------------------------------------------------------------------ HA enable and disable

    @Test
    void vmDisableStopsFailoverOfThatVm() {
        TestCluster c = started(true);
        AdminReply reply = c.adminAndWait("node1", new AdminCommand.VmDisable(vm("a")));
        assertTrue(reply.ok(), "accepted: " + reply + "\n" + c.trail());
        c.runMs(1_000);
        assertFalse(c.record("a").spec().ha(), "HA off in the record\n" + c.trail());
        assertTrue(c.runsOn("a", "node2"), "disabling HA leaves the VM running\n" + c.trail());

        c.crash("node2");
        c.awaitMs(15_000, () -> c.decided("node1", Decision.Kind.FENCE_OFF), "node2 fenced");
        c.runMs(20_000);
        assertTrue(c.whereRunning("a").isEmpty(), "a VM without HA is not restarted after its host crashed\n"
                + c.trail());
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.PLACE && vm("a").equals(d.vm())),
                "never placed\n" + c.trail());
    }

    @Test
    void vmEnableRestoresFailoverOfThatVm() {
        TestCluster c = started(true);
        assertTrue(c.adminAndWait("node1", new AdminCommand.VmDisable(vm("a"))).ok(), c.trail());
        c.runMs(1_000);
        AdminReply reply = c.adminAndWait("node3", new AdminCommand.VmEnable(vm("a")));
        assertTrue(reply.ok(), "accepted: " + reply + "\n" + c.trail());
        c.runMs(1_000);
        assertTrue(c.record("a").spec().ha(), "HA on in the record\n" + c.trail());
        assertTrue(c.runsOn("a", "node2"), "still on node2\n" + c.trail());

        c.crash("node2");
        c.awaitMs(15_000, () -> c.runsNotOn("a", "node2"), "a restarted elsewhere after its host crashed");
    }

    // ------------------------------------------------------------------ fence confirm

    @Test
    void fenceConfirmIsRefusedWhileTheHostsSessionIsLiveAndRecordedOnceItHasExpired() {
        TestCluster c = started(false); // no fence devices: only the session expiry or an operator prove death
        c.crash("node2");
        c.runMs(2_000); // its heartbeats stop being fresh
        assertTrue(c.coordination.isLive(host("node2")), "node2's session has not expired yet\n" + c.trail());

        // a live session may be a host whose heartbeat path is cut: "off" is not proven
        AdminReply early = c.adminAndWait("node1", new AdminCommand.FenceConfirm(host("node2")));
        assertFalse(early.ok(), "refused while node2's session is live: " + early + "\n" + c.trail());
        assertEquals("host-alive", early.code(), early.toString());
        assertFalse(c.coordination.host(host("node2")).value().offConfirmed(), "nothing recorded\n" + c.trail());
        assertTrue(c.whereRunning("a").isEmpty(), "nothing restarted on the refused confirmation\n" + c.trail());

        c.awaitMs(15_000, () -> !c.coordination.isLive(host("node2")), "node2's session expires");
        AdminReply late = c.adminAndWait("node1", new AdminCommand.FenceConfirm(host("node2")));
        assertTrue(late.ok(), "accepted once the session is gone: " + late + "\n" + c.trail());
        assertTrue(c.coordination.host(host("node2")).value().offConfirmed(), "node2 recorded off\n" + c.trail());
        c.awaitMs(5_000, () -> c.runsNotOn("a", "node2"), "a restarted elsewhere");
    }

    @Test
    void fenceConfirmOfALiveHostIsRefused() {
        TestCluster c = started(false);
        Snapshot before = snapshot(c);

        AdminReply reply = c.adminAndWait("node1", new AdminCommand.FenceConfirm(host("node2")));
        assertRefused(c, reply, "host-alive");
        c.runMs(3_000);
        assertEquals(before, snapshot(c), "a refused request changes nothing\n" + c.trail());
        assertFalse(c.coordination.host(host("node2")).value().offConfirmed(), "node2 not recorded off\n" + c.trail());
        assertTrue(c.runsOn("a", "node2"), "a keeps running on node2\n" + c.trail());
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void unknownVmIsRefusedAndChangesNothing() {
        TestCluster c = started(true);
        Snapshot before = snapshot(c);

        assertRefused(c, c.adminAndWait("node1", new AdminCommand.Migrate(vm("nope"), host("node3"))), "unknown-vm");
        assertRefused(c, c.adminAndWait("node1", new AdminCommand.Relocate(vm("nope"), host("node3"))), "unknown-vm");
        assertRefused(c, c.adminAndWait("node2", new AdminCommand.VmStop(vm("nope"))), "unknown-vm");
        assertRefused(c, c.adminAndWait("node2", new AdminCommand.VmStart(vm("nope"))), "unknown-vm");
        assertRefused(c, c.adminAndWait("node3", new AdminCommand.VmDisable(vm("nope"))), "unknown-vm");
        assertRefused(c, c.adminAndWait("node3", new AdminCommand.VmEnable(vm("nope"))), "unknown-vm");
        c.runMs(3_000);
        assertEquals(before, snapshot(c), "refused requests change nothing\n" + c.trail());
        assertNull(c.coordination.vm(vm("nope")), "no record created\n" + c.trail());
    }

    @Test
    void unknownHostIsRefusedAndChangesNothing() {
        TestCluster c = started(true);
        Snapshot before = snapshot(c);

        assertRefused(c, c.adminAndWait("node1", new AdminCommand.Migrate(vm("a"), host("node9"))), "unknown-host");
        assertRefused(c, c.adminAndWait("node1", new AdminCommand.Relocate(vm("a"), host("node9"))), "unknown-host");
        assertRefused(c, c.adminAndWait("node2", new AdminCommand.Maintenance(host("node9"), true)), "unknown-host");
        assertRefused(c, c.adminAndWait("node3", new AdminCommand.FenceConfirm(host("node9"))), "unknown-host");
        c.runMs(3_000);
        assertEquals(before, snapshot(c), "refused requests change nothing\n" + c.trail());
        assertTrue(c.runsOn("a", "node2"), "a stays\n" + c.trail());
    }

    @Test
    void migrateToAHostInMaintenanceIsRefusedAndChangesNothing() {
        TestCluster c = started(true);
        assertTrue(c.adminAndWait("node1", new AdminCommand.Maintenance(host("node1"), true)).ok(), c.trail());
        c.awaitMs(5_000, () -> c.coordination.host(host("node1")).value().admin() == HostAdminState.MAINTENANCE,
                "node1 in maintenance");
        c.runMs(1_000);
        Snapshot before = snapshot(c);

        assertRefused(c, c.adminAndWait("node3", new AdminCommand.Migrate(vm("a"), host("node1"))),
                "host-maintenance");
        c.runMs(3_000);
        assertEquals(before, snapshot(c), "a refused request changes nothing\n" + c.trail());
        assertTrue(c.runsOn("a", "node2"), "a stays on node2\n" + c.trail());
    }

    @Test
    void migrateToTheHostItAlreadyRunsOnIsRefusedAndChangesNothing() {
        TestCluster c = started(true);
        Snapshot before = snapshot(c);
        int from = c.decisions().size();

        assertRefused(c, c.adminAndWait("node1", new AdminCommand.Migrate(vm("a"), host("node2"))), "already-there");
        c.runMs(3_000);
        assertEquals(before, snapshot(c), "a refused request changes nothing\n" + c.trail());
        assertTrue(c.runsOn("a", "node2"), "a stays on node2\n" + c.trail());
        assertEquals(List.of(), c.since(from, Decision.Kind.MIGRATE, "a"), "no migration\n" + c.trail());
    }

    @Test
    void migrateToAHostThatIsNotLiveIsRefusedAndChangesNothing() {
        TestCluster c = started(true);
        c.crash("node3");
        c.awaitMs(30_000, () -> !c.coordination.isLive(host("node3")) && c.runsNotOn("b", "node3"),
                "node3 gone from the live hosts, b restarted");
        c.runMs(2_000);
        Snapshot before = snapshot(c);

        assertRefused(c, c.adminAndWait("node1", new AdminCommand.Migrate(vm("a"), host("node3"))), "host-not-live");
        c.runMs(3_000);
        assertEquals(before, snapshot(c), "a refused request changes nothing\n" + c.trail());
        assertTrue(c.runsOn("a", "node2"), "a stays on node2\n" + c.trail());
    }

    // ------------------------------------------------------------------ status

    @Test
    void statusReturnsTheClusterStateWithEveryHostAndVm() {
        TestCluster c = started(true);
        AdminReply reply = c.adminAndWait("node3", new AdminCommand.Status());
        assertTrue(reply.ok(), "status answers: " + reply + "\n" + c.trail());
        ClusterState s = reply.state();
        assertNotNull(s, "status carries the cluster state\n" + c.trail());
        assertEquals(Set.of(host("node1"), host("node2"), host("node3")), s.hosts().keySet(),
                "every host\n" + c.trail());
        assertEquals(Set.of(vm("a"), vm("b")), s.vms().keySet(), "every VM\n" + c.trail());
        assertEquals(host("node2"), s.vms().get(vm("a")).owner(), "a's owner\n" + c.trail());
        assertEquals(host("node3"), s.vms().get(vm("b")).owner(), "b's owner\n" + c.trail());
        assertEquals(VmPhase.RUNNING, s.vms().get(vm("a")).phase(), "a running\n" + c.trail());
        assertEquals(host("node1"), s.leader(), "the leader\n" + c.trail());
        assertEquals(c.coordination.epoch(), s.epoch(), "the current epoch\n" + c.trail());
        for (String h : HOSTS) {
            assertFalse(s.live().getOrDefault(host(h), new java.util.TreeSet<>()).isEmpty(), h + " is live\n"
                    + c.trail());
            assertEquals(HostAdminState.ACTIVE, s.hosts().get(host(h)).admin(), h + " active\n" + c.trail());
        }
    }

    // ------------------------------------------------------------------ helpers

    /** The versions of every record in the coordination service (and the VM records themselves). */
    private record Snapshot(TreeMap<String, Integer> versions, TreeMap<String, VmRecord> vms,
                            TreeMap<String, HostRecord> hosts) { }

    // ------------------------------------------------------------------ the way to the leader

    @Test
    void aRequestTakenByAFollowerIsAnsweredWithTheLeadersVerdict() {
        TestCluster c = started(true);
        int from = c.decisions().size();
        AdminReply reply = c.adminAndWait("node3", new AdminCommand.Maintenance(host("node2"), true));
        assertTrue(reply.ok(), reply.toString());
        assertTrue(reply.message().contains("accepted by the leader node1"), reply.message());
        List<Decision> admin = c.decisions().subList(from, c.decisions().size()).stream()
                .filter(d -> d.kind() == Decision.Kind.ADMIN || d.kind() == Decision.Kind.MAINTENANCE).toList();
        assertFalse(admin.isEmpty(), c.trail());
        assertTrue(admin.stream().allMatch(d -> d.host().value().equals("node1")), "decided by the leader: " + admin);
        c.runMs(500);
        assertTrue(c.coordination.requests().isEmpty(), "the origin removed the answered request");
    }

    @Test
    void theLeaderRefusesARequestItsViewRejectsAndChangesNothing() {
        TestCluster c = started(true);
        Snapshot before = snapshot(c);
        HostId origin = host("node2");
        long session = liveSession(c, origin);
        // a request that reached the cluster state although it names no VM (an origin with a stale view)
        ChangeRequest req = ChangeRequest.pending("node2.test.1", origin, session,
                new AdminCommand.VmStop(vm("ghost")), false);
        assertEquals(NodeEvent.WriteOutcome.OK, c.coordination.writeAsOutsider(
                List.of(new CoordOp.PutRequest(req, CoordOp.NEW))));
        c.awaitMs(2_000, () -> !c.coordination.requests().get("node2.test.1").value().pending(),
                "the leader decides");
        ChangeRequest decided = c.coordination.requests().get("node2.test.1").value();
        assertEquals(ChangeRequest.Verdict.REFUSED, decided.verdict());
        assertEquals("unknown-vm", decided.code());
        assertEquals(before, snapshot(c));
    }

    @Test
    void aRequestMadeWhileTheLeaderDiesIsDecidedByTheNextLeader() {
        TestCluster c = started(true);
        c.crash("node1");
        long id = c.admin("node2", new AdminCommand.Maintenance(host("node3"), true));
        c.awaitMs(c.settings.adminTimeoutMs(), () -> c.reply(id) != null, "an answer");
        AdminReply reply = c.reply(id);
        assertTrue(reply.ok(), reply + "\n" + c.trail());
        assertTrue(reply.message().contains("accepted by the leader node2")
                || reply.message().contains("accepted by the leader node3"), reply.message());
        assertEquals(HostAdminState.MAINTENANCE, c.coordination.host(host("node3")).value().admin());
    }

    @Test
    void aRequestNoLeaderDecidesInTimeIsWithdrawnAndChangesNothing() {
        TestCluster c = started(true);
        c.coordination.bumpEpochSilently(); // node1 is deposed and does not know it: its verdicts fail
        Snapshot before = snapshot(c);
        long id = c.admin("node2", new AdminCommand.Maintenance(host("node3"), true));
        c.awaitMs(c.settings.adminTimeoutMs() + 1_000, () -> c.reply(id) != null, "an answer");
        assertRefused(c, c.reply(id), "timeout");
        assertTrue(c.coordination.requests().isEmpty(), "withdrawn");
        assertEquals(before, snapshot(c));
    }

    @Test
    void theLeaderDropsUnexecutedARequestWhoseOriginIsGone() {
        TestCluster c = started(true);
        Snapshot before = snapshot(c);
        ChangeRequest req = ChangeRequest.pending("node3.dead.1", host("node3"), 0x5eed,
                new AdminCommand.Maintenance(host("node2"), true), false);
        assertEquals(NodeEvent.WriteOutcome.OK, c.coordination.writeAsOutsider(
                List.of(new CoordOp.PutRequest(req, CoordOp.NEW))));
        c.awaitMs(c.settings.heartbeatTimeoutMs() + 1_000, () -> c.coordination.requests().isEmpty(),
                "the leader removes it");
        assertEquals(before, snapshot(c));
    }

    private static long liveSession(TestCluster c, HostId h) {
        return c.leaderNode().clusterState().live().get(h).first();
    }

    private static Snapshot snapshot(TestCluster c) {
        TreeMap<String, Integer> versions = new TreeMap<>();
        TreeMap<String, VmRecord> vms = new TreeMap<>();
        TreeMap<String, HostRecord> hosts = new TreeMap<>();
        c.coordination.vms().forEach((id, v) -> {
            versions.put("vm " + id, v.version());
            vms.put(id.value(), v.value());
        });
        for (String h : HOSTS) {
            Versioned<HostRecord> v = c.coordination.host(host(h));
            if (v != null) {
                versions.put("host " + h, v.version());
                hosts.put(h, v.value());
            }
        }
        versions.put("epoch", (int) c.coordination.epoch());
        return new Snapshot(versions, vms, hosts);
    }

    private static void assertRefused(TestCluster c, AdminReply reply, String code) {
        assertNotNull(reply, "an answer\n" + c.trail());
        assertFalse(reply.ok(), "refused: " + reply + "\n" + c.trail());
        assertEquals(code, reply.code(), "error code of " + reply + "\n" + c.trail());
        assertNotNull(reply.message(), "a message\n" + c.trail());
        assertFalse(reply.message().isBlank(), "a message\n" + c.trail());
    }

    private static VmId vm(String name) {
        return new VmId(name);
    }

    private static HostId host(String name) {
        return new HostId(name);
    }

    private static VmPhase phase(TestCluster c, String vm) {
        VmRecord r = c.record(vm);
        return r == null ? null : r.phase();
    }

}
