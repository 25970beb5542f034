package io.havn.daemon.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.node.Decision;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.PeerStat;
import io.havn.daemon.net.OneRequestServer;
import io.havn.daemon.transport.HeartbeatCodec;
import io.havn.daemon.transport.NettyTransport;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HavnMetricsTest {
    private static final HostId SELF = new HostId("node1");
    private static final HostId N2 = new HostId("node2");
    private static final HostId N3 = new HostId("node3");
    private static final long MS = 1_000_000L;

    private final HavnMetrics metrics = new HavnMetrics("prod", SELF);

    @AfterEach
    void close() {
        metrics.close();
    }

    private Exposition scrape() {
        return Exposition.parse(metrics.scrape());
    }

    private static double value(Exposition e, String name, String... labels) {
        Optional<Double> v = e.value(name, labels);
        assertTrue(v.isPresent(), "no sample " + name + " " + List.of(labels));
        return v.get();
    }

    private void decide(Decision.Kind kind, VmId vm, HostId subject) {
        metrics.record(new Decision(0, SELF, kind, vm, subject, 3, null));
    }

    private void recovered(long detectMs, long fenceMs, long restartMs, Decision.Proof proof) {
        metrics.record(new Decision(0, SELF, Decision.Kind.RECOVERED, new VmId("vm1"), N2, 3, null,
                new Decision.Timings(detectMs < 0 ? -1 : detectMs * MS, fenceMs < 0 ? -1 : fenceMs * MS,
                        restartMs * MS, proof)));
    }

    @Test
    void eachDatastoresReachIsItsLastRoundAndItsFailedRoundsAreCounted() {
        metrics.bindDatastores(List.of("vmstore", "lun2"));
        Exposition before = scrape();
        assertTrue(Double.isNaN(value(before, "havn_datastore_reachable", "datastore", "vmstore")), "no round yet");
        assertEquals(0, value(before, "havn_storage_rounds_failed_total", "datastore", "lun2"), "from zero");
        metrics.storageRound("vmstore", true);
        metrics.storageRound("lun2", false);
        metrics.storageRound("lun2", false);
        metrics.storageRound("elsewhere", false); // a datastore the metrics were not told of: no series
        Exposition e = scrape();
        assertEquals(1, value(e, "havn_datastore_reachable", "datastore", "vmstore"));
        assertEquals(0, value(e, "havn_datastore_reachable", "datastore", "lun2"));
        assertEquals(0, value(e, "havn_storage_rounds_failed_total", "datastore", "vmstore"));
        assertEquals(2, value(e, "havn_storage_rounds_failed_total", "datastore", "lun2"));
        assertFalse(e.value("havn_datastore_reachable", "datastore", "elsewhere").isPresent());
        metrics.storageRound("lun2", true);
        assertEquals(1, value(scrape(), "havn_datastore_reachable", "datastore", "lun2"), "reached again");
    }

    @Test
    void aRecoveredVmFillsThePhaseHistogramsOfItsProofAndLeavesUnknownPhasesOut() {
        recovered(800, 4_000, 150, Decision.Proof.SESSION_EXPIRED);
        recovered(-1, 1_200, 90, Decision.Proof.SESSION_EXPIRED); // the leader did not see the host's last heartbeat
        Exposition e = scrape();
        String[] expired = {"proof", "session_expired"};
        assertEquals(2, value(e, "havn_failovers_total", expired));
        assertEquals(1, value(e, "havn_failover_phase_seconds_count", "phase", "detect", "proof", "session_expired"),
                "an unknown detect phase is not counted as zero");
        assertEquals(0.8, value(e, "havn_failover_phase_seconds_sum", "phase", "detect", "proof", "session_expired"),
                1e-9);
        assertEquals(2, value(e, "havn_failover_phase_seconds_count", "phase", "fence", "proof", "session_expired"));
        assertEquals(5.2, value(e, "havn_failover_phase_seconds_sum", "phase", "fence", "proof", "session_expired"),
                1e-9);
        assertEquals(2, value(e, "havn_failover_phase_seconds_count", "phase", "restart", "proof", "session_expired"));
        assertEquals(1, value(e, "havn_failover_seconds_count", expired), "a total only when every phase is known");
        assertEquals(4.95, value(e, "havn_failover_seconds_sum", expired), 1e-9);
        assertEquals(0, value(e, "havn_failover_seconds_bucket", "proof", "session_expired", "le", "3.0"));
        assertEquals(1, value(e, "havn_failover_seconds_bucket", "proof", "session_expired", "le", "5.0"));
        assertEquals(0, value(e, "havn_failovers_total", "proof", "fence_device"), "other proofs untouched");
        assertEquals(2, value(e, "havn_decisions_total", "kind", "recovered"));
    }

    @Test
    void fenceCallsAreCountedByOutcomeAndOnlyTheAlarmThatEndsOneCounts() {
        decide(Decision.Kind.FENCE_START, null, N2);
        decide(Decision.Kind.FENCE_FAILED, null, N2);
        decide(Decision.Kind.FENCE_START, null, N2);
        decide(Decision.Kind.FENCE_OFF, null, N2);
        decide(Decision.Kind.FENCE_START, null, N3);
        decide(Decision.Kind.ALARM, null, N3); // off, but it heartbeat since: ends the call
        decide(Decision.Kind.ALARM, null, N3); // a heartbeat from a host recorded off: no call out
        decide(Decision.Kind.ALARM, new VmId("vm1"), null); // a VM that would not die
        Exposition e = scrape();
        assertEquals(1, value(e, "havn_fence_attempts_total", "result", "off"));
        assertEquals(1, value(e, "havn_fence_attempts_total", "result", "failed"));
        assertEquals(1, value(e, "havn_fence_attempts_total", "result", "alarm"));
        assertEquals(3, value(e, "havn_decisions_total", "kind", "alarm"));
        assertEquals(3, value(e, "havn_decisions_total", "kind", "fence_start"));
    }

    @Test
    void startsMigrationsAndSelfFencesAreCountedByOutcome() {
        VmId vm = new VmId("vm1");
        decide(Decision.Kind.START, vm, null);
        decide(Decision.Kind.START, vm, null);
        decide(Decision.Kind.START_FAILED, vm, null);
        decide(Decision.Kind.MIGRATED, vm, N2);
        decide(Decision.Kind.MIGRATE_FAILED, vm, N2);
        decide(Decision.Kind.MIGRATE_FAILED, vm, N2);
        decide(Decision.Kind.SELF_FENCE, null, null);
        Exposition e = scrape();
        assertEquals(2, value(e, "havn_vm_restarts_total", "result", "ok"));
        assertEquals(1, value(e, "havn_vm_restarts_total", "result", "failed"));
        assertEquals(1, value(e, "havn_vm_migrations_total", "result", "ok"));
        assertEquals(2, value(e, "havn_vm_migrations_total", "result", "failed"));
        assertEquals(1, value(e, "havn_self_fences_total"));
        assertEquals(0, value(e, "havn_decisions_total", "kind", "leader_elected"), "every kind is there from the start");
    }

    @Test
    void theNodesGaugesShowTheLatestSnapshotAndPeersComeAndGo() {
        Exposition before = scrape();
        assertEquals(0, value(before, "havn_leader"));
        assertEquals(0, value(before, "havn_vms", "phase", "start_failed"), "every phase, from the start");
        assertEquals(0, value(before, "havn_vms_on_maintenance_hosts"));
        assertFalse(before.has("havn_peer_phi"));

        metrics.update(new NodeSnapshot(true, 7, SELF, true, false, false,
                Map.of(NodeSnapshot.HostState.LIVE, 2, NodeSnapshot.HostState.DOWN, 1), 2,
                Map.of(VmPhase.RUNNING, 5, VmPhase.ERROR, 1), 2,
                List.of(new PeerStat(N2, "HEALTHY", false, 0.5, 1.5, 150),
                        new PeerStat(N3, "UNKNOWN", true, 12.0, Double.NaN, 4_000))));
        Exposition e = scrape();
        assertEquals(1, value(e, "havn_leader"));
        assertEquals(7, value(e, "havn_epoch"));
        assertEquals(1, value(e, "havn_ready"));
        assertEquals(0, value(e, "havn_frozen"));
        assertEquals(0, value(e, "havn_self_fenced"));
        assertEquals(2, value(e, "havn_hosts", "state", "live"));
        assertEquals(1, value(e, "havn_hosts", "state", "down"));
        assertEquals(0, value(e, "havn_hosts", "state", "maintenance"));
        assertEquals(5, value(e, "havn_vms", "phase", "running"));
        assertEquals(1, value(e, "havn_vms", "phase", "error"));
        assertEquals(0, value(e, "havn_vms", "phase", "recovering"));
        assertEquals(2, value(e, "havn_vms_on_maintenance_hosts"));
        assertEquals(0.5, value(e, "havn_peer_phi", "peer", "node2"));
        assertEquals(0.0015, value(e, "havn_peer_heartbeat_rtt_seconds", "peer", "node2"), 1e-12);
        assertEquals(1, value(e, "havn_peer_healthy", "peer", "node2"));
        assertEquals(0.15, value(e, "havn_peer_last_heartbeat_age_seconds", "peer", "node2"), 1e-12);
        assertEquals(0, value(e, "havn_peer_healthy", "peer", "node3"));
        assertTrue(Double.isNaN(value(e, "havn_peer_heartbeat_rtt_seconds", "peer", "node3")), "no echo yet");
        assertEquals(Map.of("cluster", "prod", "host", "node1"), e.find("havn_leader").get(0).labels(),
                "every series names its cluster and host");
        assertTrue(e.help().get("havn_peer_heartbeat_rtt_seconds").contains("echo delay"),
                e.help().get("havn_peer_heartbeat_rtt_seconds"));

        metrics.update(new NodeSnapshot(false, 8, N2, true, false, false, Map.of(NodeSnapshot.HostState.LIVE, 2), 2,
                Map.of(), 0, List.of(new PeerStat(N2, "HEALTHY", false, 0.4, 1.0, 100))));
        Exposition after = scrape();
        assertEquals(0, value(after, "havn_leader"));
        assertEquals(0, value(after, "havn_vms_on_maintenance_hosts"));
        assertTrue(after.find("havn_peer_phi", "peer", "node3").isEmpty(), "a peer that left has no series");
        assertEquals(1, after.find("havn_peer_phi", "peer", "node2").size());
    }

    @Test
    void aDisarmedClusterAndHostsThatMissedTheArmAreGauges() {
        Exposition before = scrape();
        assertEquals(0, value(before, "havn_cluster_disarmed"), "from the start");
        assertEquals(0, value(before, "havn_hosts_not_armed"), "from the start");
        metrics.update(new NodeSnapshot(true, 7, SELF, true, false, false, Map.of(NodeSnapshot.HostState.LIVE, 3), 3,
                Map.of(), List.of(), io.havn.common.model.ClusterRecord.Disarm.KEEP_WATCHDOGS, 0));
        assertEquals(1, value(scrape(), "havn_cluster_disarmed"));
        metrics.update(new NodeSnapshot(true, 7, SELF, true, false, false, Map.of(NodeSnapshot.HostState.LIVE, 3), 3,
                Map.of(), List.of(), null, 2));
        Exposition armed = scrape();
        assertEquals(0, value(armed, "havn_cluster_disarmed"));
        assertEquals(2, value(armed, "havn_hosts_not_armed"));
    }

    @Test
    void aHostHasNotAcknowledgedTheArmUntilItDidInItsNewestLiveSession() {
        io.havn.common.model.ClusterRecord never = io.havn.common.model.ClusterRecord.DEFAULT;
        io.havn.common.model.ClusterRecord disarmed = never.disarm(io.havn.common.model.ClusterRecord.Disarm.KEEP_WATCHDOGS);
        io.havn.common.model.ClusterRecord armed = disarmed.arm();
        java.util.SortedMap<HostId, io.havn.common.model.HostRecord> hosts = new java.util.TreeMap<>();
        hosts.put(SELF, host(SELF).withArmed(armed.generation(), 11));           // acknowledged in its live session
        hosts.put(N2, host(N2).withArmed(armed.generation(), 21));               // in an older one: restarted since
        hosts.put(N3, host(N3).withArmed(disarmed.generation(), 31));            // not since this arm; also down
        java.util.SortedMap<HostId, java.util.SortedSet<Long>> live = new java.util.TreeMap<>();
        live.put(SELF, new java.util.TreeSet<>(java.util.Set.of(11L)));
        live.put(N2, new java.util.TreeSet<>(java.util.Set.of(21L, 22L)));
        for (var c : List.of(never, disarmed, armed)) {
            int expected = c == armed ? 1 : 0;
            assertEquals(expected, NodeSnapshot.hostsNotArmed(new io.havn.common.model.ClusterState(1, SELF, hosts,
                    live, null, c)), String.valueOf(c));
        }
    }

    private static io.havn.common.model.HostRecord host(HostId h) {
        return new io.havn.common.model.HostRecord(h, new io.havn.common.model.HostCapacity(4, 4096), null, null,
                io.havn.common.model.HostAdminState.ACTIVE, false);
    }

    @Test
    void placementsAHardRuleBlockedAreCountedByRuleFromZero() {
        metrics.update(new NodeSnapshot(true, 7, SELF, true, false, false, Map.of(), 0, Map.of(), 0, List.of(), null,
                0, List.of("db-apart", "licensed"), null));
        Exposition before = scrape();
        assertEquals(0, value(before, "havn_placement_blocked_total", "rule", "db-apart"), "a hard rule, from 0");
        assertEquals(0, value(before, "havn_placement_blocked_total", "rule", "licensed"));
        VmId vm = new VmId("vm1");
        metrics.record(new Decision(0, SELF, Decision.Kind.RULE_BLOCKED, vm, null, 3,
                "db-apart: db2 runs on every host with room"));
        metrics.record(new Decision(0, SELF, Decision.Kind.RULE_BLOCKED, vm, null, 3, "db-apart: again"));
        metrics.record(new Decision(0, SELF, Decision.Kind.RULE_BLOCKED, vm, null, 3, "added-since: a rule not yet "
                + "in a snapshot"));
        metrics.record(new Decision(0, SELF, Decision.Kind.RULE_BLOCKED, vm, null, 3, "no rule named here"));
        Exposition e = scrape();
        assertEquals(2, value(e, "havn_placement_blocked_total", "rule", "db-apart"));
        assertEquals(0, value(e, "havn_placement_blocked_total", "rule", "licensed"));
        assertEquals(1, value(e, "havn_placement_blocked_total", "rule", "added-since"));
        assertEquals(1, value(e, "havn_placement_blocked_total", "rule", "unknown"));
        assertEquals(4, value(e, "havn_decisions_total", "kind", "rule_blocked"));

        for (int i = 0; i < HavnMetrics.MAX_RULE_LABELS + 10; i++) {
            metrics.record(new Decision(0, SELF, Decision.Kind.RULE_BLOCKED, vm, null, 3, "r" + i + ": blocked"));
        }
        Exposition many = scrape();
        assertEquals(HavnMetrics.MAX_RULE_LABELS + 1, many.find("havn_placement_blocked_total").size(),
                "at most " + HavnMetrics.MAX_RULE_LABELS + " rules, and other");
        assertTrue(value(many, "havn_placement_blocked_total", "rule", "other") >= 10);
    }

    @Test
    void theFailureReserveIsNanUntilAssessedAndThenItsFigures() {
        Exposition before = scrape();
        assertTrue(Double.isNaN(value(before, "havn_host_failures_tolerated")), "not assessed: unknown, not 0");
        assertTrue(Double.isNaN(value(before, "havn_host_failures_wanted")));
        metrics.update(new NodeSnapshot(true, 7, SELF, true, false, false, Map.of(), 0, Map.of(), 0, List.of(), null,
                0, List.of(), new NodeSnapshot.FailureReserve(0, 1)));
        Exposition e = scrape();
        assertEquals(0, value(e, "havn_host_failures_tolerated"));
        assertEquals(1, value(e, "havn_host_failures_wanted"));
    }

    @Test
    void adminRequestsAreCountedByCommandAndResultWithBoundedLabels() {
        metrics.adminAnswered("{\"id\":1,\"command\":\"status\"}", "{\"id\":1,\"ok\":true}");
        metrics.adminAnswered("{\"id\":2,\"command\":\"migrate\"}", "{\"id\":2,\"ok\":false,\"code\":\"unknown-vm\"}");
        metrics.adminAnswered("not json", "{\"id\":null,\"ok\":false,\"code\":\"bad-request\"}");
        metrics.adminAnswered("{\"command\":\"<script>\"}", "{\"ok\":false,\"code\":\"bad-request\"}");
        metrics.adminAnswered(null, "{\"ok\":false,\"code\":\"forbidden\"}");
        for (int i = 0; i < 40; i++) {
            metrics.adminAnswered("{\"command\":\"made-up-" + i + "\"}", "{\"ok\":false,\"code\":\"bad-request\"}");
        }
        Exposition e = scrape();
        assertEquals(1, value(e, "havn_admin_requests_total", "command", "status", "result", "ok"));
        assertEquals(1, value(e, "havn_admin_requests_total", "command", "migrate", "result", "unknown-vm"));
        assertEquals(2, value(e, "havn_admin_requests_total", "command", "invalid", "result", "bad-request"));
        assertEquals(1, value(e, "havn_admin_requests_total", "command", "none", "result", "forbidden"));
        List<Exposition.Sample> all = e.find("havn_admin_requests_total");
        long commands = all.stream().map(s -> s.labels().get("command")).distinct().count();
        assertTrue(commands <= 32 + 3, "at most 32 values from clients, and none, invalid, other: " + commands);
        assertTrue(value(e, "havn_admin_requests_total", "command", "other", "result", "bad-request") >= 8);
    }

    @Test
    void connectionsCutOffAreCountedByEndpointAndReasonFromZero() {
        Exposition before = scrape();
        for (HavnMetrics.Endpoint ep : HavnMetrics.Endpoint.values()) {
            for (OneRequestServer.Cut c : OneRequestServer.Cut.values()) {
                assertEquals(0, value(before, "havn_connections_cut_total", "endpoint",
                        ep.name().toLowerCase(java.util.Locale.ROOT), "reason", c.label()), ep + " " + c);
            }
        }
        metrics.connectionCut(HavnMetrics.Endpoint.ADMIN, OneRequestServer.Cut.WRITE_TIME);
        metrics.connectionCut(HavnMetrics.Endpoint.ADMIN, OneRequestServer.Cut.WRITE_TIME);
        metrics.connectionCut(HavnMetrics.Endpoint.METRICS, OneRequestServer.Cut.REQUEST_TIME);
        Exposition e = scrape();
        assertEquals(2, value(e, "havn_connections_cut_total", "endpoint", "admin", "reason", "write_time"));
        assertEquals(1, value(e, "havn_connections_cut_total", "endpoint", "metrics", "reason", "request_time"));
        assertEquals(0, value(e, "havn_connections_cut_total", "endpoint", "admin", "reason", "request_time"));
    }

    @Test
    void heartbeatsTheTransportDroppedAreCountedByReason() {
        HeartbeatCodec codec = new HeartbeatCodec("prod", "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8));
        try (NettyTransport t = new NettyTransport(SELF, new InetSocketAddress("127.0.0.1", 0), codec, h -> null,
                ev -> { })) {
            metrics.bindHeartbeatDrops(t);
            Heartbeat hb = new Heartbeat(SELF, 1, 3, 1_000, Heartbeat.NO_ECHO, 0, false);
            t.send(N2, hb); // not started yet
            t.start();
            t.send(N2, hb); // no address for node2
            t.send(N3, hb);
            Exposition e = scrape();
            assertEquals(1, value(e, "havn_heartbeat_dropped_total", "reason", "not_running"));
            assertEquals(2, value(e, "havn_heartbeat_dropped_total", "reason", "unknown_peer"));
            assertEquals(0, value(e, "havn_heartbeat_dropped_total", "reason", "bad_mac"));
        }
    }
}
