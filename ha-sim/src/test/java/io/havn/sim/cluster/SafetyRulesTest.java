package io.havn.sim.cluster;

import io.havn.common.node.AdminCommand;
import io.havn.common.node.Decision;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.Node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.port.DomainState;
import io.havn.common.model.VmId;

import org.junit.jupiter.api.Test;

/**
 * One or more tests per safety rule of DESIGN.md. Every test also runs under the cluster's own
 * checks: no VM on two hosts at any instant, and no start or resume without a claim (rule 1).
 */
class SafetyRulesTest {

    private static TestCluster threeHosts(boolean fence) {
        TestCluster c = new TestCluster();
        c.addHost("node1", fence);
        c.addHost("node2", fence);
        c.addHost("node3", fence);
        return c;
    }

    // ---- rule 1: ownership bound to a session; a restarted daemon re-binds and keeps its VMs

    @Test
    void daemonRestartKeepsItsVmsAndRebindsThemToTheNewSession() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        long before = c.record("a").ownerSession();
        c.daemonCrash("node2");
        c.runMs(2_000);
        c.daemonStart("node2");
        c.awaitMs(5_000, () -> c.host("node2").node() != null && c.host("node2").node().isReady(),
                "restarted daemon ready");
        c.runMs(20_000); // well past the old session's expiry
        assertTrue(c.runsOn("a", "node2"), "a kept running on node2 through the restart\n" + c.trail());
        VmRecord r = c.record("a");
        assertNotEquals(before, r.ownerSession(), "record re-bound to the new session");
        assertEquals(1, r.generation(), "never restarted: same generation\n" + c.trail());
        assertTrue(c.decided("node2", Decision.Kind.REBIND));
    }

    // ---- rule 2: epochs fence a deposed leader's writes

    @Test
    void aDeposedLeadersWritesFail() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        Node leader = c.leaderNode();
        assertEquals("node1", leader.id().value(), "node1 joined the election first");
        int version = c.coordination.vm(new VmId("a")).version();
        // a newer leader exists somewhere, and the old one has not heard of it yet
        c.coordination.bumpEpochSilently();
        c.admin("node1", new AdminCommand.Migrate(new VmId("a"), new HostId("node3")));
        c.runMs(3_000);
        VmRecord r = c.record("a");
        assertEquals(VmPhase.RUNNING, r.phase(), "the deposed leader could not start a migration\n" + c.trail());
        assertEquals(null, r.target());
        assertTrue(c.runsOn("a", "node2"));
        assertEquals(version, c.coordination.vm(new VmId("a")).version(),
                "the stale leader wrote nothing: neither the operator's move nor a migration");
        assertEquals(1, c.coordination.requests().size());
        assertTrue(c.coordination.requests().values().iterator().next().value().pending(),
                "its verdict on the request failed its epoch check too");
    }

    // ---- rule 3: self-fencing when the lease lapses

    @Test
    void anIsolatedHostDestroysItsVmsBeforeItsSessionExpiresAndTheyRunElsewhereAfter() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node3", Priority.MEDIUM);
        c.start();
        c.isolate("node3");
        long gone = c.awaitMs(c.settings.sessionTimeoutMs(), () -> c.whereRunning("a").isEmpty(),
                "node3 destroys a itself");
        assertTrue(gone <= c.settings.leaseMs() + 500, "self-fenced within the lease, took " + gone + " ms");
        assertTrue(c.decided("node3", Decision.Kind.SELF_FENCE), c.trail());
        c.awaitMs(20_000, () -> c.runsNotOn("a", "node3"), "a restarted elsewhere");
        c.reconnect("node3");
        c.awaitMs(10_000, () -> c.host("node3").node().isReady(), "node3 rejoins");
        c.runMs(5_000);
        assertTrue(c.runsNotOn("a", "node3"), "a runs once, not on node3\n" + c.trail());
        assertEquals(0, c.host("node3").watchdogResets(), "self-fencing finished before the watchdog fired");
    }

    @Test
    void theWatchdogIsReleasedOnlyWhenNoHaVmIsHeld() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node3", Priority.MEDIUM);
        c.start();
        c.isolate("node3");
        c.awaitMs(10_000, () -> c.decided("node3", Decision.Kind.SELF_FENCE_DONE), "self-fence completes");
        assertTrue(c.domains("node3").isEmpty());
    }

    // ---- rule 4: proof of death before restart

    @Test
    void withoutFenceDeviceACrashedHostsVmsWaitForSessionExpiryPlusGrace() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        c.crash("node2");
        c.runMs(c.settings.sessionTimeoutMs() - 500);
        assertTrue(c.whereRunning("a").isEmpty(), "not restarted before the session could expire\n" + c.trail());
        long more = c.awaitMs(10_000, () -> c.runsNotOn("a", "node2"), "a restarted after expiry");
        long total = c.settings.sessionTimeoutMs() - 500 + more;
        assertTrue(total >= c.settings.sessionTimeoutMs() + c.settings.graceMs(),
                "restart waited for expiry plus grace, took " + total + " ms");
        assertTrue(total < 15_000, "and came within the 15 s target: " + total + " ms");
    }

    @Test
    void aFenceDeviceThatFailsIsNeverTakenAsProof() {
        TestCluster c = threeHosts(true);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        c.breakFence("node2");
        c.crash("node2");
        c.runMs(8_000);
        assertTrue(c.whereRunning("a").isEmpty(), "no restart on a failed fence\n" + c.trail());
        assertTrue(c.decided("node1", Decision.Kind.FENCE_FAILED), c.trail());
        c.awaitMs(10_000, () -> c.runsNotOn("a", "node2"), "restart after the session-expiry fallback");
    }

    @Test
    void aHeartbeatFromAHostRecordedOffRaisesAnAlarm() {
        TestCluster c = threeHosts(true);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        c.crash("node2");
        c.awaitMs(8_000, () -> c.coordination.host(new HostId("node2")).value().offConfirmed(), "node2 recorded off");
        c.injectHeartbeat("node1", new Heartbeat(new HostId("node2"), Long.MAX_VALUE / 2, 1, 1, Long.MAX_VALUE / 2,
                Heartbeat.NO_ECHO,
                0, false));
        c.runMs(10);
        assertTrue(c.decided("node1", Decision.Kind.ALARM), c.trail());
    }

    @Test
    void aCrashedLeaderIsFencedByTheDeputyAndLeadershipPassesWithinSeconds() {
        TestCluster c = threeHosts(true);
        c.addRunningVm("a", "node1", Priority.HIGH);
        c.start();
        assertEquals("node1", c.leaderNode().id().value());
        c.crash("node1");
        long took = c.awaitMs(10_000, () -> c.runsNotOn("a", "node1"), "a restarted after the leader crashed");
        assertTrue(took < 5_000, "leader crash to restart took " + took + " ms\n" + c.trail());
        assertTrue(c.decided("node2", Decision.Kind.FENCE_OFF), "node2, the deputy, fenced node1\n" + c.trail());
    }

    @Test
    void aRecordBoundToNoSessionIsNotRestartedOnExpiryAlone() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node1", Priority.MEDIUM);
        c.addRunningVm("c", "node3", Priority.MEDIUM);
        // node3's daemon never starts: its record was left bound to no session, and its guest runs on
        c.start(java.util.Set.of("node3"));
        c.runMs(30_000);
        assertTrue(c.runsOn("c", "node3"), "no session ever expired for c, so nothing proves node3 dead\n"
                + c.trail());
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.PLACE), c.trail());
        c.crash("node3");
        c.powerOn("node3");
        c.awaitMs(10_000, () -> c.whereRunning("c").size() == 1, "node3 comes back empty, re-binds c, reports it "
                + "not running, and the leader starts it again");
    }

    // ---- rule 5: majority and freezing

    @Test
    void aCoordinationOutageFreezesHostsAndKillsNoVm() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node1", Priority.MEDIUM);
        c.addRunningVm("b", "node2", Priority.MEDIUM);
        c.addRunningVm("c", "node3", Priority.MEDIUM);
        c.start();
        c.coordinationDown();
        for (int i = 0; i < 300; i++) {
            c.runMs(100);
            assertTrue(c.runsOn("a", "node1") && c.runsOn("b", "node2") && c.runsOn("c", "node3"),
                    "every VM keeps running through the outage, t=" + i * 100 + " ms\n" + c.trail());
        }
        assertTrue(c.decided("node1", Decision.Kind.FREEZE) && c.decided("node2", Decision.Kind.FREEZE), c.trail());
        assertFalse(c.decided("node1", Decision.Kind.SELF_FENCE), c.trail());
        c.coordinationUp();
        c.runMs(20_000);
        assertTrue(c.runsOn("a", "node1") && c.runsOn("b", "node2") && c.runsOn("c", "node3"), c.trail());
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.PLACE), "nothing restarted\n" + c.trail());
    }

    @Test
    void aMinorityNeverRestartsOrFences() {
        TestCluster c = threeHosts(true);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.addRunningVm("b", "node3", Priority.MEDIUM);
        c.start();
        c.isolate("node2");
        c.isolate("node3");
        c.runMs(40_000);
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.FENCE_START), c.trail());
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.PLACE), "node1 alone is no majority\n" + c.trail());
        c.reconnect("node2");
        c.awaitMs(30_000, () -> c.whereRunning("a").size() == 1 && c.whereRunning("b").size() == 1,
                "with a majority back, both VMs run again");
    }

    // ---- rule 7: reconciliation

    @Test
    void aReturningHostDestroysHaVmsItDoesNotOwnBeforeItIsReady() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        // a stale paused copy of a on node3, left from an interrupted migration
        c.domains("node3").put(new VmId("a"), DomainState.PAUSED);
        c.start();
        assertFalse(c.domains("node3").containsKey(new VmId("a")), "stale copy destroyed\n" + c.trail());
        assertTrue(c.decided("node3", Decision.Kind.DESTROY_UNOWNED), c.trail());
        assertTrue(c.runsOn("a", "node2"));
    }
}
