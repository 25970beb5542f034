package io.havn.sim.cluster;

import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Decision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The leader's paths through {@link Manager} (and the host agent's part in them), on a cluster of
 * real nodes in virtual time: start failures, giving up, capacity, priority, spread, maintenance,
 * local restarts and failed migrations. Default settings: maxRestart 1, maxRelocate 2,
 * localRestartLimit 2; every host has 32 cpus and 131072 MiB.
 */
class ManagerPathsTest {

    private static final String[] HOSTS3 = {"node1", "node2", "node3"};
    private static final String[] HOSTS4 = {"node1", "node2", "node3", "node4"};

    // ------------------------------------------------------------------ start failures

    @Test
    void failedStartIsRetriedOnTheSameHostMaxRestartTimes() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        stopAndAwait(c, "a");

        c.failStarts("a", 1);
        int from = c.decisions().size();
        ok(c, c.adminAndWait("node1", new AdminCommand.VmStart(vm("a"))));
        c.awaitMs(10_000, () -> c.whereRunning("a").size() == 1 && phase(c, "a") == VmPhase.RUNNING,
                "a runs again after one failed start");

        HostId first = firstPlacement(c, from, "a");
        assertNotNull(first, "a was placed after the start request\n" + c.trail());
        assertEquals(Set.of(first), c.whereRunning("a"),
                "one failed start is retried on the same host, " + first + "\n" + c.trail());
        assertEquals(1, c.since(from, Decision.Kind.START_FAILED, "a").size(),
                "exactly one start failed\n" + c.trail());
        assertTrue(c.since(from, Decision.Kind.PLACE, "a").stream().anyMatch(d -> first.equals(d.subject())
                        && d.detail() != null && d.detail().contains("retry 1 of 1 on the same host")),
                "the leader logged the retry on the same host\n" + c.trail());
        VmRecord r = c.record("a");
        assertEquals(first, r.owner(), "record owner\n" + c.trail());
        assertEquals(1, r.startFailures(), "the record counts the failed start on its owner\n" + c.trail());
        assertEquals(List.of(), r.failedHosts(), "no host failed for good\n" + c.trail());
    }

    @Test
    void startFailingMoreThanMaxRestartTimesMovesTheVmToAnotherHost() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        stopAndAwait(c, "a");

        c.failStarts("a", 2); // 1 + maxRestart attempts on the first host fail
        int from = c.decisions().size();
        ok(c, c.adminAndWait("node1", new AdminCommand.VmStart(vm("a"))));
        c.awaitMs(15_000, () -> c.whereRunning("a").size() == 1 && phase(c, "a") == VmPhase.RUNNING,
                "a runs after its first host failed twice");

        HostId first = firstPlacement(c, from, "a");
        assertNotNull(first, "a was placed after the start request\n" + c.trail());
        List<Decision> failed = c.since(from, Decision.Kind.START_FAILED, "a");
        assertEquals(2, failed.size(), "two failed starts, then success\n" + c.trail());
        assertTrue(failed.stream().allMatch(d -> d.host().equals(first)),
                "both failed starts were on the first host " + first + " (1 + maxRestart)\n" + c.trail());
        Set<HostId> where = c.whereRunning("a");
        assertFalse(where.contains(first), "after maxRestart retries it moves off " + first + "; runs on " + where
                + "\n" + c.trail());
        VmRecord r = c.record("a");
        assertEquals(List.of(first), r.failedHosts(), "the record names the host where it failed for good\n"
                + c.trail());
        assertEquals(where.iterator().next(), r.owner(), "record owner is where it runs\n" + c.trail());
        List<Decision> placed = c.since(from, Decision.Kind.PLACE, "a");
        assertTrue(placed.stream().anyMatch(d -> !first.equals(d.subject())),
                "the leader logged the move to another host\n" + c.trail());
    }

    @Test
    void startFailingEverywhereEndsInErrorNamingTheHostsAfterMaxRelocateMoves() {
        TestCluster c = cluster(HOSTS4);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        stopAndAwait(c, "a");

        c.failStartsForever("a");
        int from = c.decisions().size();
        ok(c, c.adminAndWait("node1", new AdminCommand.VmStart(vm("a"))));
        // five waits before the five retries: 1, 2, 4, 8 and 16 s, each plus up to a quarter
        c.awaitMs(60_000, () -> phase(c, "a") == VmPhase.ERROR, "a ends in phase error");

        VmRecord r = c.record("a");
        int hostsTried = 1 + c.settings.maxRelocate();
        assertEquals(hostsTried, r.failedHosts().size(),
                "1 + maxRelocate hosts tried, then it gives up: " + r.failedHosts() + "\n" + c.trail());
        assertEquals(hostsTried, new HashSet<>(r.failedHosts()).size(), "distinct hosts tried\n" + c.trail());
        assertNotNull(r.reason(), "the error has a reason\n" + c.trail());
        for (HostId h : r.failedHosts()) {
            assertTrue(r.reason().contains(h.value()), "the reason '" + r.reason() + "' names " + h + "\n" + c.trail());
        }
        assertNull(r.owner(), "nobody owns a VM in error\n" + c.trail());
        List<Decision> errors = c.since(from, Decision.Kind.ERROR, "a");
        assertEquals(1, errors.size(), "the leader logged the error once (visible, not silent)\n" + c.trail());
        for (HostId h : r.failedHosts()) {
            assertTrue(errors.get(0).detail().contains(h.value()), "the logged error names " + h + "\n" + c.trail());
        }
        int expectedStarts = hostsTried * (1 + c.settings.maxRestart());
        assertEquals(expectedStarts, c.since(from, Decision.Kind.START_FAILED, "a").size(),
                "1 + maxRestart starts on each host tried\n" + c.trail());
        List<Long> waits = c.since(from, Decision.Kind.START_RETRY, "a").stream()
                .map(d -> Long.parseLong(d.detail().replaceAll("^.*; next attempt in (\\d+) ms.*$", "$1"))).toList();
        assertEquals(expectedStarts - 1, waits.size(), "a wait before each retry, none before giving up\n" + c.trail());
        for (int i = 0; i < waits.size(); i++) {
            long base = 1_000L << i;
            assertTrue(waits.get(i) >= base && waits.get(i) <= base + base / 4, "wait " + (i + 1) + " of " + waits
                    + " doubles from 1 s\n" + c.trail());
        }

        c.runMs(20_000);
        assertEquals(VmPhase.ERROR, phase(c, "a"), "it stays in error\n" + c.trail());
        assertTrue(c.whereRunning("a").isEmpty(), "it runs nowhere\n" + c.trail());
        assertEquals(expectedStarts, c.since(from, Decision.Kind.START_FAILED, "a").size(),
                "no further start attempts once in error\n" + c.trail());
        Set<HostId> placedOn = c.since(from, Decision.Kind.PLACE, "a").stream().map(Decision::subject)
                .collect(Collectors.toSet());
        assertEquals(new HashSet<>(r.failedHosts()), placedOn, "it was placed only on the hosts tried\n" + c.trail());
    }

    // ------------------------------------------------------------------ capacity

    /** Three hosts each running a VM too big to share a host with another; node3 crashes: big3 fits nowhere. */
    private static TestCluster bigVmsWithNode3Crashed() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("big1", "node1", Priority.MEDIUM, 20, 40_000);
        c.addRunningVm("big2", "node2", Priority.MEDIUM, 20, 40_000);
        c.addRunningVm("big3", "node3", Priority.MEDIUM, 20, 40_000);
        c.start();
        c.runMs(2_000);
        c.crash("node3");
        c.awaitMs(15_000, () -> phase(c, "big3") == VmPhase.RECOVERING, "big3 recovering: 12 cpus free per host");
        return c;
    }

    @Test
    void vmThatFitsNowhereStaysRecoveringAndIsPlacedWhenAnotherVmStops() {
        TestCluster c = bigVmsWithNode3Crashed();
        c.runMs(10_000);
        VmRecord r = c.record("big3");
        assertEquals(VmPhase.RECOVERING, r.phase(), "it stays recovering while nothing fits\n" + c.trail());
        assertNotNull(r.reason(), "recovering with a reason\n" + c.trail());
        assertTrue(r.reason().contains("20 cpus"), "the reason says what it needs: " + r.reason() + "\n" + c.trail());
        assertTrue(c.whereRunning("big3").isEmpty(), "it runs nowhere\n" + c.trail());
        assertTrue(c.count(d -> d.kind() == Decision.Kind.RECOVERING && vm("big3").equals(d.vm())) >= 1,
                "the leader logged it\n" + c.trail());

        ok(c, c.adminAndWait("node2", new AdminCommand.VmStop(vm("big1"))));
        c.awaitMs(5_000, () -> c.runsOn("big3", "node1"), "big3 placed on node1 as soon as big1 stopped");
        assertTrue(c.whereRunning("big1").isEmpty(), "big1 stays stopped\n" + c.trail());
        assertTrue(c.runsOn("big2", "node2"), "big2 untouched\n" + c.trail());
    }

    @Test
    void vmThatFitsNowhereIsPlacedWhenAHostPowersOn() {
        TestCluster c = bigVmsWithNode3Crashed();
        c.runMs(5_000);
        assertEquals(VmPhase.RECOVERING, phase(c, "big3"), "still recovering\n" + c.trail());
        assertNotNull(c.record("big3").reason(), "recovering with a reason\n" + c.trail());

        c.powerOn("node3");
        c.awaitMs(20_000, () -> c.runsOn("big3", "node3"), "big3 placed on node3 once it is back");
        assertTrue(c.runsOn("big1", "node1") && c.runsOn("big2", "node2"), "the others untouched\n" + c.trail());
    }

    @Test
    void highPriorityIsPlacedBeforeLowWhenCapacityIsShort() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("fill1", "node1", Priority.LOW, 16, 1024);
        c.addRunningVm("fill2", "node2", Priority.LOW, 32, 1024);
        // the low one is larger and sorts first by name: only priority puts the high one first
        c.addRunningVm("a-low", "node3", Priority.LOW, 16, 40_000);
        c.addRunningVm("z-high", "node3", Priority.HIGH, 16, 30_000);
        c.start();
        c.runMs(2_000);

        c.crash("node3");
        c.awaitMs(15_000, () -> c.runsOn("z-high", "node1"), "the high priority VM takes the only room, on node1");
        c.awaitMs(5_000, () -> phase(c, "a-low") == VmPhase.RECOVERING, "the low priority VM waits");
        c.runMs(5_000);
        assertTrue(c.runsOn("z-high", "node1"), "high stays on node1\n" + c.trail());
        assertTrue(c.whereRunning("a-low").isEmpty(), "low runs nowhere\n" + c.trail());
        assertEquals(VmPhase.RECOVERING, phase(c, "a-low"), "low recovering\n" + c.trail());
        assertNotNull(c.record("a-low").reason(), "with a reason\n" + c.trail());
    }

    @Test
    void placementSpreadsVmsOverHosts() {
        TestCluster c = cluster(HOSTS4);
        for (int i = 1; i <= 6; i++) {
            c.addRunningVm("v" + i, "node4", Priority.MEDIUM);
        }
        c.start();
        c.runMs(2_000);

        c.crash("node4");
        c.awaitMs(15_000, () -> {
            for (int i = 1; i <= 6; i++) {
                if (!c.runsNotOn("v" + i, "node4")) {
                    return false;
                }
            }
            return true;
        }, "every VM of node4 runs again");
        Map<HostId, Integer> perHost = new HashMap<>();
        for (int i = 1; i <= 6; i++) {
            perHost.merge(c.whereRunning("v" + i).iterator().next(), 1, Integer::sum);
        }
        assertEquals(Map.of(new HostId("node1"), 2, new HostId("node2"), 2, new HostId("node3"), 2), perHost,
                "six VMs spread two per surviving host\n" + c.trail());
    }

    // ------------------------------------------------------------------ maintenance

    @Test
    void noVmIsPlacedOnAHostInMaintenance() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("x", "node1", Priority.MEDIUM, 1, 30_000); // node1 the least free, node2 the most
        for (int i = 1; i <= 4; i++) {
            c.addRunningVm("v" + i, "node3", Priority.MEDIUM);
        }
        c.start();
        c.runMs(2_000);

        ok(c, c.adminAndWait("node1", new AdminCommand.Maintenance(new HostId("node2"), true)));
        int from = c.decisions().size();
        c.runMs(1_000);

        // a restart after a crash: every VM of node3 must go to node1
        c.crash("node3");
        c.awaitMs(15_000, () -> {
            for (int i = 1; i <= 4; i++) {
                if (!c.runsNotOn("v" + i, "node3")) {
                    return false;
                }
            }
            return true;
        }, "the VMs of node3 run again");
        for (int i = 1; i <= 4; i++) {
            assertTrue(c.runsOn("v" + i, "node1"), "v" + i + " on node1, not on node2 in maintenance\n" + c.trail());
        }
        // a start after a stop: x is placed on node1, not on the empty node2
        stopAndAwait(c, "x");
        ok(c, c.adminAndWait("node1", new AdminCommand.VmStart(vm("x"))));
        c.awaitMs(10_000, () -> c.whereRunning("x").size() == 1, "x runs again");
        assertTrue(c.runsOn("x", "node1"), "x on node1, not on node2 in maintenance\n" + c.trail());

        assertTrue(c.domains("node2").isEmpty(), "node2 holds no domain: " + c.domains("node2")
                + "\n" + c.trail());
        assertEquals(List.of(), towards(c, from, "node2"), "no placement or move towards node2\n" + c.trail());
    }

    @Test
    void maintenanceDrainsTheHostByLiveMigrationWithoutDowntime() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.addRunningVm("b", "node2", Priority.HIGH);
        c.addRunningVm("k", "node3", Priority.MEDIUM);
        c.start();
        c.runMs(2_000);
        int from = c.decisions().size();

        ok(c, c.adminAndWait("node1", new AdminCommand.Maintenance(new HostId("node2"), true)));
        List<String> vms = List.of("a", "b");
        Set<VmPhase> seen = EnumSet.noneOf(VmPhase.class);
        c.stepUntil(10_000, () -> c.domains("node2").isEmpty()
                        && vms.stream().allMatch(v -> c.runsNotOn(v, "node2") && phase(c, v) == VmPhase.RUNNING),
                () -> {
                    for (String v : vms) {
                        Set<HostId> h = c.holders(v);
                        assertEquals(1, h.size(), () -> "t=" + c.clock.nanos() / 1_000_000 + " ms: " + v
                                + " must exist (running or paused for the hand-over) on exactly one host, not "
                                + h + "\n" + c.trail());
                        seen.add(phase(c, v));
                    }
                }, "node2 drained");

        assertFalse(seen.contains(VmPhase.STOPPED) || seen.contains(VmPhase.RECOVERING)
                        || seen.contains(VmPhase.PLACED) || seen.contains(VmPhase.RELOCATING),
                "drained live, never stopped or placed afresh: phases seen " + seen + "\n" + c.trail());
        for (String v : vms) {
            assertFalse(c.since(from, Decision.Kind.MIGRATE, v).isEmpty(), v + " was live-migrated\n" + c.trail());
            assertFalse(c.since(from, Decision.Kind.HANDOVER, v).isEmpty(), v + " was handed over\n" + c.trail());
            for (Decision.Kind k : List.of(Decision.Kind.STOP, Decision.Kind.STOPPED, Decision.Kind.START,
                    Decision.Kind.RELOCATE, Decision.Kind.PLACE)) {
                assertEquals(List.of(), c.since(from, k, v), v + " had no " + k + " while draining\n" + c.trail());
            }
            assertNull(c.record(v).target(), v + " has no migration in flight at the end\n" + c.trail());
        }
        assertTrue(c.runsOn("k", "node3"), "k was not touched\n" + c.trail());

        c.runMs(10_000);
        assertTrue(c.domains("node2").isEmpty(), "the drained host keeps no VM\n" + c.trail());
        for (VmRecord r : records(c)) {
            assertFalse(r.namesHost(new HostId("node2")), "no record names node2: " + r + "\n" + c.trail());
        }
    }

    @Test
    void maintenanceSurvivesARebootOfThatHost() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.addRunningVm("b", "node3", Priority.MEDIUM);
        c.addRunningVm("d", "node3", Priority.MEDIUM);
        c.start();
        c.runMs(2_000);

        ok(c, c.adminAndWait("node1", new AdminCommand.Maintenance(new HostId("node2"), true)));
        c.awaitMs(10_000, () -> c.domains("node2").isEmpty() && c.runsNotOn("a", "node2"), "node2 drained");

        c.crash("node2");
        c.runMs(3_000);
        c.powerOn("node2");
        c.awaitMs(20_000, () -> c.host("node2").node() != null && c.host("node2").node().isReady(),
                "node2 back and ready");
        c.runMs(2_000);
        assertEquals(HostAdminState.MAINTENANCE, c.coordination.host(new HostId("node2")).value().admin(),
                "node2 is still in maintenance after its reboot\n" + c.trail());
        int from = c.decisions().size();

        // VMs needing a home avoid it
        c.crash("node3");
        c.awaitMs(15_000, () -> c.runsNotOn("b", "node3") && c.runsNotOn("d", "node3"), "b and d run again");
        assertTrue(c.runsOn("b", "node1") && c.runsOn("d", "node1"),
                "b and d on node1, not on node2 in maintenance\n" + c.trail());
        assertTrue(c.domains("node2").isEmpty(), "node2 holds no domain\n" + c.trail());
        assertEquals(List.of(), towards(c, from, "node2"), "no placement or move towards node2\n" + c.trail());
    }

    @Test
    void maintenanceSurvivesAChangeOfLeader() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("a", "node1", Priority.MEDIUM);
        c.addRunningVm("b", "node1", Priority.MEDIUM);
        c.addRunningVm("m", "node3", Priority.MEDIUM);
        c.start();
        c.runMs(2_000);
        assertTrue(c.host("node1").node().isLeader(), "node1 leads first\n" + c.trail());

        ok(c, c.adminAndWait("node2", new AdminCommand.Maintenance(new HostId("node3"), true)));
        c.awaitMs(10_000, () -> c.domains("node3").isEmpty() && c.runsNotOn("m", "node3"), "node3 drained");
        int from = c.decisions().size();

        c.crash("node1"); // the leader
        c.awaitMs(20_000, () -> c.leaderNode() != null && !c.leaderNode().id().equals(new HostId("node1"))
                && c.runsNotOn("a", "node1") && c.runsNotOn("b", "node1"), "a new leader restarts a and b");
        assertTrue(c.runsOn("a", "node2") && c.runsOn("b", "node2"),
                "a and b on node2, not on node3 in maintenance\n" + c.trail());
        assertEquals(HostAdminState.MAINTENANCE, c.coordination.host(new HostId("node3")).value().admin(),
                "node3 is still in maintenance under the new leader\n" + c.trail());
        c.runMs(5_000);
        assertTrue(c.domains("node3").isEmpty(), "node3 holds no domain\n" + c.trail());
        assertEquals(List.of(), towards(c, from, "node3"), "no placement or move towards node3\n" + c.trail());
    }

    // ------------------------------------------------------------------ local restarts

    @Test
    void crashedGuestIsRestartedLocallyUpToTheLimitThenElsewhereByTheLeader() {
        TestCluster c = cluster(HOSTS3);
        // node2 stays the host with the most free memory, so only the crash history can keep it off node2
        c.addRunningVm("f1", "node1", Priority.MEDIUM, 1, 8_192);
        c.addRunningVm("f3", "node3", Priority.MEDIUM, 1, 8_192);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        c.runMs(2_000);
        int from = c.decisions().size();
        int limit = c.settings.localRestartLimit();

        for (int i = 1; i <= limit; i++) {
            c.vmCrash("a");
            int n = i;
            c.awaitMs(5_000, () -> c.runsOn("a", "node2")
                    && c.since(from, Decision.Kind.RESTART_LOCAL, "a").size() == n, "local restart " + n);
        }
        List<Decision> local = c.since(from, Decision.Kind.RESTART_LOCAL, "a");
        assertEquals(limit, local.size(), "restarted locally " + limit + " times\n" + c.trail());
        assertTrue(local.stream().allMatch(d -> d.host().equals(new HostId("node2"))), "by node2\n" + c.trail());
        assertEquals(List.of(), c.since(from, Decision.Kind.PLACE, "a"),
                "the leader did not intervene within the limit\n" + c.trail());

        int before = c.decisions().size();
        c.vmCrash("a");
        c.awaitMs(10_000, () -> c.whereRunning("a").size() == 1 && phase(c, "a") == VmPhase.RUNNING
                && !c.since(before, Decision.Kind.PLACE, "a").isEmpty(), "a restarted by the leader");
        assertEquals(limit, c.since(from, Decision.Kind.RESTART_LOCAL, "a").size(),
                "no local restart beyond the limit\n" + c.trail());
        assertTrue(c.since(before, Decision.Kind.NOT_RUNNING, "a").stream().anyMatch(d ->
                        d.host().equals(new HostId("node2")) && d.detail() != null && d.detail().contains("crashed more than")),
                "node2 reported it not running after the limit\n" + c.trail());
        Set<HostId> where = c.whereRunning("a");
        assertFalse(where.contains(new HostId("node2")),
                "the leader restarted it elsewhere, not on node2 where it crashed " + (limit + 1) + " times; runs on "
                        + where + "\n" + c.trail());
    }

    @Test
    void aDrainEndedAndBegunAgainTriesAtOnceNotAfterTheWaitTheEarlierDrainHadReached() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        c.runMs(2_000);
        int from = c.decisions().size();

        c.failMigrations("a", 4);
        ok(c, c.adminAndWait("node1", new AdminCommand.Maintenance(new HostId("node2"), true)));
        c.stepUntil(30_000, () -> c.since(from, Decision.Kind.DRAIN_BLOCKED, "a").size() >= 4, () -> { },
                "four drain migrations of a failed (the next one waits about 8 s)");
        ok(c, c.adminAndWait("node1", new AdminCommand.Maintenance(new HostId("node2"), false)));
        c.runMs(500);
        assertTrue(c.runsOn("a", "node2"), "a stays on node2 when its maintenance ends\n" + c.trail());

        // the leader's rounds saw node2 active, with a running there: that drain is over and forgotten
        int again = c.decisions().size();
        ok(c, c.adminAndWait("node1", new AdminCommand.Maintenance(new HostId("node2"), true)));
        c.stepUntil(2_000, () -> !c.since(again, Decision.Kind.MIGRATE, "a").isEmpty(), () -> { },
                "the new drain migrates a at once, not after the wait of the drain before");
        assertEquals(List.of(), c.since(again, Decision.Kind.DRAIN_BLOCKED, "a"),
                "the new drain reports none of the earlier one's failures\n" + c.trail());
        c.stepUntil(10_000, () -> c.runsNotOn("a", "node2") && phase(c, "a") == VmPhase.RUNNING, () -> { },
                "a drained off node2");
    }

    // ------------------------------------------------------------------ failed migration

    @Test
    void failedLiveMigrationLeavesTheVmRunningOnTheSourceWithNoTarget() {
        TestCluster c = cluster(HOSTS3);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        c.runMs(2_000);
        int from = c.decisions().size();

        c.failMigrations("a", 1);
        ok(c, c.adminAndWait("node1", new AdminCommand.Migrate(vm("a"), new HostId("node3"))));
        c.stepUntil(10_000, () -> !c.since(from, Decision.Kind.MIGRATE_FAILED, "a").isEmpty()
                        && phase(c, "a") == VmPhase.RUNNING && c.record("a").target() == null,
                () -> assertTrue(c.runsOn("a", "node2"), () -> "t=" + c.clock.nanos() / 1_000_000
                        + " ms: a keeps running on node2 throughout\n" + c.trail()),
                "the migration fails and is aborted");

        c.runMs(5_000);
        VmRecord r = c.record("a");
        assertTrue(c.runsOn("a", "node2"), "a runs on the source\n" + c.trail());
        assertEquals(VmPhase.RUNNING, r.phase(), "record running\n" + c.trail());
        assertEquals(new HostId("node2"), r.owner(), "owner is the source\n" + c.trail());
        assertNull(r.target(), "no target left in the record\n" + c.trail());
        assertNull(r.move(), "no pending move left\n" + c.trail());
        assertTrue(c.domains("node3").isEmpty(), "no copy on the target: " + c.domains("node3")
                + "\n" + c.trail());
    }

    // ------------------------------------------------------------------ helpers

    static TestCluster cluster(String... hosts) {
        TestCluster c = new TestCluster();
        for (String h : hosts) {
            c.addHost(h, true);
        }
        return c;
    }

    static VmId vm(String name) {
        return new VmId(name);
    }

    static VmPhase phase(TestCluster c, String vm) {
        VmRecord r = c.record(vm);
        return r == null ? null : r.phase();
    }

    static void ok(TestCluster c, AdminReply reply) {
        assertTrue(reply.ok(), "admin request refused: " + reply + "\n" + c.trail());
    }

    static void stopAndAwait(TestCluster c, String vm) {
        ok(c, c.adminAndWait("node1", new AdminCommand.VmStop(vm(vm))));
        c.awaitMs(5_000, () -> c.whereRunning(vm).isEmpty() && phase(c, vm) == VmPhase.STOPPED, vm + " stopped");
    }

    static HostId firstPlacement(TestCluster c, int from, String vm) {
        List<Decision> placed = c.since(from, Decision.Kind.PLACE, vm);
        return placed.isEmpty() ? null : placed.get(0).subject();
    }

    /** Decisions since {@code from} that put a VM on {@code host}, or start moving one there. */
    static List<Decision> towards(TestCluster c, int from, String host) {
        HostId h = new HostId(host);
        Set<Decision.Kind> kinds = EnumSet.of(Decision.Kind.PLACE, Decision.Kind.MIGRATE, Decision.Kind.RELOCATE);
        List<Decision> out = new ArrayList<>();
        for (Decision d : c.decisions().subList(from, c.decisions().size())) {
            if (kinds.contains(d.kind()) && h.equals(d.subject())) {
                out.add(d);
            }
        }
        return out;
    }

    static List<VmRecord> records(TestCluster c) {
        List<VmRecord> out = new ArrayList<>();
        c.coordination.vms().values().forEach(v -> out.add(v.value()));
        return out;
    }

}
