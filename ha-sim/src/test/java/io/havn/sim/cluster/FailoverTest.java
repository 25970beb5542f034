package io.havn.sim.cluster;

import io.havn.common.node.Decision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import java.util.List;

import io.havn.common.model.Priority;

import org.junit.jupiter.api.Test;

class FailoverTest {

    /** node1, node2 and node3, with or without fence devices, not started yet. */
    private static TestCluster threeHosts(boolean fenceDevices) {
        TestCluster c = new TestCluster();
        for (String h : new String[] {"node1", "node2", "node3"}) {
            c.addHost(h, fenceDevices);
        }
        return c;
    }

    @Test
    void crashWithFenceDeviceRestartsVmsElsewhereWithinSeconds() {
        TestCluster c = threeHosts(true);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.addRunningVm("b", "node2", Priority.HIGH);
        c.addRunningVm("c", "node3", Priority.MEDIUM);
        c.start();
        c.runMs(5_000);
        assertTrue(c.runsOn("a", "node2"), "a adopted on node2");
        c.crash("node2");
        long took = c.awaitMs(8_000, () -> c.runsNotOn("a", "node2") && c.runsNotOn("b", "node2"),
                "a and b run again elsewhere");
        assertTrue(took < 5_000, "restart after crash took " + took + " ms");
        assertTrue(c.decided("node1", Decision.Kind.FENCE_OFF), c.trail());
        assertTrue(c.runsOn("c", "node3"));
    }

    @Test
    void theLeaderReportsEachRecoveredVmWithThePhasesOfItsFailover() {
        TestCluster c = threeHosts(true);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.addRunningVm("b", "node2", Priority.HIGH);
        c.start();
        c.runMs(5_000);
        long crashedAt = c.clock.nanos();
        int mark = c.decisions().size();
        c.crash("node2");
        c.awaitMs(8_000, () -> c.since(mark, Decision.Kind.RECOVERED, "a").size() == 1
                && c.since(mark, Decision.Kind.RECOVERED, "b").size() == 1, "a and b reported recovered");
        for (String vm : List.of("a", "b")) {
            Decision d = c.since(mark, Decision.Kind.RECOVERED, vm).get(0);
            assertEquals("node1", d.host().value(), "the leader reports it");
            assertEquals(new HostId("node2"), d.subject());
            Decision.Timings t = d.timings();
            assertEquals(Decision.Proof.FENCE_DEVICE, t.proof());
            assertTrue(t.detectNanos() > 0 && t.fenceNanos() > 0 && t.restartNanos() > 0, t.toString());
            // the phases add up to the time from the last heartbeat heard to the report, which lies
            // within one heartbeat interval before the crash
            long fromLastHeartbeat = d.atNanos() - t.totalNanos();
            assertTrue(fromLastHeartbeat <= crashedAt
                    && crashedAt - fromLastHeartbeat <= c.settings.heartbeatIntervalMs() * 1_000_000L,
                    "last heartbeat " + (crashedAt - fromLastHeartbeat) / 1_000_000L + " ms before the crash");
        }
        c.awaitMs(2_000, () -> c.runsNotOn("a", "node2") && c.runsNotOn("b", "node2"),
                "a and b run on the hosts that claimed them");
    }

    @Test
    void aLeaderFencedByTheDeputyIsReportedWithTheFenceDeviceAsProofByWhicheverHostLeadsNext() {
        TestCluster c = new TestCluster();
        // booted in this order, node3 is next in the election while node2, the lowest-named
        // healthy host, is the deputy that fences a dead leader
        c.addHost("node1", true);
        c.addHost("node3", true);
        c.addHost("node2", true);
        c.addRunningVm("a", "node1", Priority.MEDIUM);
        c.start();
        c.runMs(5_000);
        assertEquals("node1", c.leaderNode().id().value());
        int mark = c.decisions().size();
        c.crash("node1");
        c.awaitMs(15_000, () -> c.since(mark, Decision.Kind.RECOVERED, "a").size() == 1, "a reported recovered");
        assertTrue(c.decided("node2", Decision.Kind.FENCE_OFF), "the deputy fenced node1\n" + c.trail());
        Decision d = c.since(mark, Decision.Kind.RECOVERED, "a").get(0);
        assertEquals("node3", d.host().value(), "the next leader reports it\n" + c.trail());
        assertEquals(Decision.Proof.FENCE_DEVICE, d.timings().proof(), "node2's fence device proved node1 off, "
                + "no operator did: " + d);
    }

    @Test
    void withoutAFenceDeviceTheReportNamesSessionExpiryAsTheProof() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node3", Priority.MEDIUM);
        c.start();
        c.runMs(5_000);
        int mark = c.decisions().size();
        c.crash("node3");
        c.awaitMs(30_000, () -> c.since(mark, Decision.Kind.RECOVERED, "a").size() == 1, "a reported recovered");
        Decision.Timings t = c.since(mark, Decision.Kind.RECOVERED, "a").get(0).timings();
        assertEquals(Decision.Proof.SESSION_EXPIRED, t.proof());
        // the session expires and the grace passes before the proof: the fence phase is the long one
        assertTrue(t.fenceNanos() > t.detectNanos() && t.fenceNanos() > t.restartNanos(), t.toString());
    }

    @Test
    void peerStatsShowHealthyPeersAndThenTheCrashedOneLost() {
        TestCluster c = threeHosts(true);
        c.start();
        c.runMs(5_000);
        io.havn.common.node.Node n1 = c.world.host(new HostId("node1")).node();
        List<io.havn.common.node.PeerStat> before = n1.peerStats();
        assertEquals(List.of(new HostId("node2"), new HostId("node3")),
                before.stream().map(io.havn.common.node.PeerStat::host).toList());
        for (io.havn.common.node.PeerStat p : before) {
            assertEquals("HEALTHY", p.health(), p.toString());
            assertTrue(!p.suspected() && p.rttMs() > 0 && p.sinceLastMs() >= 0
                    && p.sinceLastMs() <= c.settings.heartbeatIntervalMs(), p.toString());
        }
        c.crash("node2");
        c.runMs(3_000);
        io.havn.common.node.PeerStat lost = n1.peerStats().get(0);
        assertEquals("UNKNOWN", lost.health());
        assertTrue(lost.suspected() && lost.phi() > c.settings.phiThreshold() && lost.sinceLastMs() >= 2_500,
                lost.toString());
        assertEquals("HEALTHY", n1.peerStats().get(1).health());
    }
}
