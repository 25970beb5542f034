package io.havn.sim.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Decision;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.Settings;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import io.havn.sim.world.SimCoordination;
import io.havn.sim.world.SimWorld;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The safety checks of SAFETY.md that the rule tests do not reach: each test builds the situation in
 * which one check, and only it, keeps a VM from running twice (or from being killed, or a host from
 * running unguarded), on real nodes in virtual time. The named mutants in ha-sim/mutants remove the
 * checks one at a time; each test fails without its check.
 */
class SafetyChecksTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final HostId NODE3 = new HostId("node3");

    private static TestCluster threeHosts(boolean fence) {
        TestCluster c = new TestCluster();
        c.addHost("node1", fence);
        c.addHost("node2", fence);
        c.addHost("node3", fence);
        return c;
    }

    private static long placements(TestCluster c) {
        return c.count(d -> d.kind() == Decision.Kind.PLACE);
    }

    // ---------------------------------------------------------------- rule 2: epochs fence every leader write

    @Test
    void aDeposedLeaderCannotPlaceAVmThatNeedsAHost() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        assertEquals("node1", c.leaderNode().id().value());
        // a newer leader exists (node1 has not heard), and under it a new VM was added that needs a host
        c.coordination.bumpEpochSilently();
        VmSpec n = new VmSpec(new VmId("n"), "n", 1, 1024, Priority.MEDIUM, true,
                "<domain type='kvm'><name>n</name></domain>");
        VmRecord added = new VmRecord(n, DesiredState.RUNNING, VmPhase.RECOVERING, null, 0, 0, null, 0, null, 0,
                List.of(), "added; not running anywhere yet");
        assertEquals(NodeEvent.WriteOutcome.OK,
                c.coordination.writeAsOutsider(List.of(new CoordOp.PutVm(added, CoordOp.NEW))));
        c.runMs(3_000);
        assertEquals(VmPhase.RECOVERING, c.record("n").phase(),
                "the deposed leader's placement failed its epoch check\n" + c.trail());
        assertEquals(0, c.coordination.vm(new VmId("n")).version(), "the deposed leader wrote nothing\n" + c.trail());
        assertTrue(c.whereRunning("n").isEmpty(), c.trail());
        assertEquals(0, placements(c), c.trail());
    }

    // ---------------------------------------------------------------- rule 4: the restart re-checks its proof

    @Test
    void aRestartIsRefusedByTheQuorumWhileTheOwnersSessionIsLiveWhateverTheLeadersViewSays() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        // a stale notification: the leader's view loses node2's live session, which lives on at the quorum
        c.inject("node1", new NodeEvent.LiveChanged(NODE2, Set.of()));
        c.runMs(c.settings.graceMs() + 4_000);
        assertTrue(c.runsOn("a", "node2"), "a keeps running on node2\n" + c.trail());
        assertEquals(1, c.record("a").generation(), "the restart multi-op checks at the quorum that node2's session "
                + "is gone; it is not, so a was not restarted\n" + c.trail());
        assertEquals(0, placements(c), c.trail());
    }

    @Test
    void aFenceConfirmIsRefusedByTheQuorumWhileTheHostsSessionIsLiveWhateverTheLeadersViewSays() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        c.world.cut("node2", "node1", true); // node1 hears no heartbeat from node2 any more
        c.inject("node1", new NodeEvent.LiveChanged(NODE2, Set.of())); // and its view lost node2's session
        c.runMs(2_000);
        long id = c.admin("node1", new AdminCommand.FenceConfirm(NODE2));
        c.awaitMs(c.settings.adminTimeoutMs() + 5_000, () -> c.reply(id) != null, "an answer to the fence confirm");
        AdminReply reply = c.reply(id);
        assertFalse(reply.ok(), "node2's session is live at the quorum: its fence confirm's write, which checks that "
                + "every session its VMs are bound to is gone, fails: " + reply + "\n" + c.trail());
        assertFalse(c.coordination.host(NODE2).value().offConfirmed(), "node2 is not recorded off\n" + c.trail());
        assertTrue(c.runsOn("a", "node2"), "a keeps running on node2, and only there\n" + c.trail());
        assertEquals(0, placements(c), c.trail());
    }

    // ---------------------------------------------------------------- rule 1 and 3: a start that completes late

    @Test
    void aStartThatCompletesAfterTheHostSelfFencedIsDestroyedAtOnce() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node3", Priority.MEDIUM);
        c.start();
        // the next start of a times out after 1 s, and the guest comes up 7 s after the call
        c.world.startLate(new VmId("a"), 1_000, 7_000);
        int from = c.decisions().size();
        c.vmCrash("a");
        c.awaitMs(5_000, () -> !c.since(from, Decision.Kind.RESTART_LOCAL, "a").isEmpty(),
                "node3 claims a to restart it");
        c.isolate("node3"); // the start is under way; node3's lease lapses before it completes
        c.awaitMs(c.settings.leaseMs() + 1_000, () -> c.decided("node3", Decision.Kind.SELF_FENCE),
                "node3 self-fences");
        c.awaitMs(5_000, () -> c.whereRunning("a").contains(NODE3), "the late start brings a up on node3");
        c.awaitMs(500, () -> !c.whereRunning("a").contains(NODE3), "node3, self-fenced, destroys the copy its late "
                + "start brought up at once");
        c.runMs(5_000);
        assertEquals(0, c.host("node3").watchdogResets(), "node3 finished self-fencing itself; its watchdog never "
                + "had to reset it\n" + c.trail());
    }

    // ---------------------------------------------------------------- rule 3 and 5: a frozen host that hangs

    @Test
    void aFrozenHostThatHangsIsResetByItsWatchdogBeforeItsVmRunsElsewhere() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node1", Priority.MEDIUM);
        c.addRunningVm("b", "node2", Priority.MEDIUM);
        c.addRunningVm("c", "node3", Priority.MEDIUM);
        c.start();
        c.coordinationDown();
        c.awaitMs(20_000, () -> c.host("node3").node().isFrozen(), "node3 freezes in the outage");
        c.runMs(1_000);
        c.world.pause(NODE3, 60_000); // node3's daemon hangs, frozen
        c.runMs(500);
        c.coordinationUp(); // the quorum is back: node3's session expires a session timeout from now
        c.awaitMs(30_000, () -> c.runsNotOn("c", "node3"), "c restarted on another host");
        assertEquals(1, c.host("node3").watchdogResets(), "the hung, frozen node3 was reset by its watchdog (its "
                + "deadline at most a heartbeat timeout ahead) before c ran elsewhere\n" + c.trail());
    }

    // ---------------------------------------------------------------- rule 3: no lease without a working watchdog

    @Test
    void aHostWhoseWatchdogCannotGuardItRunsNoHaVm() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        c.world.watchdogProblem(NODE2, "/dev/watchdog: no such device");
        // once the problem has lasted W (a petter restart costs nothing), node2 may hold no lease
        c.awaitMs(c.settings.watchdogMs() + 2_000, () -> !c.whereRunning("a").contains(NODE2), "node2, whose "
                + "watchdog cannot reset it, destroys a: it may hold no lease");
        assertTrue(c.decided("node2", Decision.Kind.SELF_FENCE), c.trail());
        c.runMs(20_000);
        assertFalse(c.whereRunning("a").contains(NODE2), "node2 runs no HA VM while its watchdog is broken\n"
                + c.trail());
    }

    @Test
    void aHostWithoutAWorkingWatchdogIsGivenNoWork() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node1", Priority.MEDIUM);
        c.addRunningVm("b", "node2", Priority.MEDIUM);
        c.start();
        c.world.watchdogProblem(NODE3, "/dev/watchdog: no such device");
        c.runMs(c.settings.watchdogMs() + 1_000); // node3 may hold no lease now, and says so in its heartbeats
        VmSpec n = new VmSpec(new VmId("n"), "n", 1, 1024, Priority.MEDIUM, true,
                "<domain type='kvm'><name>n</name></domain>");
        AdminReply added = c.adminAndWait("node1", new AdminCommand.VmAdd(n));
        assertTrue(added.ok(), added + "\n" + c.trail());
        // node3, the emptiest host, would be the placement's choice, but it could not run n
        c.awaitMs(10_000, () -> c.whereRunning("n").size() == 1, "n runs on a host that holds a lease");
        assertFalse(c.whereRunning("n").contains(NODE3), c.trail());
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.PLACE && NODE3.equals(d.subject())),
                "nothing is placed on a host that may hold no lease\n" + c.trail());
    }

    @Test
    void inAnEvenClusterTheHalfCutOffFromTheCoordinationServiceSelfFencesInsteadOfFreezing() {
        TestCluster c = new TestCluster();
        for (String h : List.of("node1", "node2", "node3", "node4")) {
            c.addHost(h, false);
        }
        c.addRunningVm("a", "node1", Priority.MEDIUM);
        c.addRunningVm("c", "node3", Priority.MEDIUM);
        c.addRunningVm("d", "node4", Priority.MEDIUM);
        c.start();
        // node3 and node4 lose the coordination service and node1 and node2, but still hear each other:
        // two of five voters freshly lost; the coordination service's vote is node1's and node2's
        for (String h : List.of("node3", "node4")) {
            for (String zk : SimCoordination.SERVERS) {
                c.world.cut(h, zk, false);
            }
            c.world.cut(h, "node1", false);
            c.world.cut(h, "node2", false);
        }
        c.awaitMs(30_000, () -> c.runsNotOn("c", "node3") && c.runsNotOn("d", "node4"),
                "c and d restarted on the half that holds the coordination service's vote");
        assertTrue(c.decided("node3", Decision.Kind.SELF_FENCE) && c.decided("node4", Decision.Kind.SELF_FENCE),
                "the half without the coordination service self-fenced\n" + c.trail());
        assertFalse(c.decided("node3", Decision.Kind.FREEZE) || c.decided("node4", Decision.Kind.FREEZE),
                "it is no strict majority of voters, so it must not freeze\n" + c.trail());
    }

    // ---------------------------------------------------------------- rule 5: the settle time

    @Test
    void aMajorityThatComesBackWaitsTheSettleTimeBeforeItFencesOrRestarts() {
        TestCluster c = threeHosts(true);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.addRunningVm("b", "node3", Priority.MEDIUM);
        c.start();
        c.isolate("node2");
        c.isolate("node3");
        c.runMs(20_000); // node1 alone is no majority; node2's and node3's sessions expire meanwhile
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.FENCE_START) + placements(c), c.trail());
        c.reconnect("node2"); // a majority again, from now on at the earliest
        int from = c.decisions().size();
        c.runMs(c.settings.settleMs() - 500);
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.FENCE_START),
                "no fencing before a strict majority has been healthy for the settle time\n" + c.trail());
        // (node2, back, reports a not running and may have it restarted at once: its owner is live and says so)
        assertEquals(List.of(), c.since(from, Decision.Kind.PLACE, "b"), "no restart on node3's session expiry "
                + "before a strict majority has been healthy for the settle time\n" + c.trail());
        c.awaitMs(20_000, () -> c.whereRunning("a").size() == 1 && c.whereRunning("b").size() == 1,
                "after the settle time both VMs run again");
    }

    @Test
    void withMonitorsAMajorityThatComesBackWaitsTwoGossipTimeoutsPlusWBeforeItFencesOrRestarts() {
        // five hosts heartbeating two monitors each (a ring: node1-node4-node2-node3-node5-node1), so
        // health is passed on and may be a gossip timeout old
        TestCluster c = new TestCluster(Settings.defaults().with(Map.of("monitors", 2)));
        for (int i = 1; i <= 5; i++) {
            c.addHost("node" + i, true);
        }
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.addRunningVm("b", "node3", Priority.MEDIUM);
        c.start();
        c.isolate("node2");
        c.isolate("node3");
        c.isolate("node4");
        c.runMs(20_000); // node1 and node5 are no majority; the others' sessions expire meanwhile
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.FENCE_START) + placements(c), c.trail());
        c.reconnect("node4"); // node1, node4 and node5: a majority again, from now on at the earliest
        int from = c.decisions().size();
        assertTrue(c.settings.settleMs(true) > c.settings.settleMs(), "the longer settle time is what is checked");
        c.runMs(c.settings.settleMs(true) - 500);
        assertEquals(0, c.count(d -> d.kind() == Decision.Kind.FENCE_START), "no fencing before a strict majority has "
                + "been healthy for two gossip timeouts plus W\n" + c.trail());
        assertEquals(List.of(), c.since(from, Decision.Kind.PLACE, "a"), c.trail());
        assertEquals(List.of(), c.since(from, Decision.Kind.PLACE, "b"), c.trail());
        c.awaitMs(20_000, () -> c.whereRunning("a").size() == 1 && c.whereRunning("b").size() == 1
                && !c.runsOn("a", "node2") && !c.runsOn("b", "node3"), "after the settle time both VMs run again");
    }

    // ---------------------------------------------------------------- rule 7: listings and reconciliation

    @Test
    void aListingAskedBeforeAStartCompletedDoesNotMakeTheHostForgetTheGuest() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.start();
        int from = c.decisions().size();
        c.vmCrash("a");
        c.awaitMs(5_000, () -> !c.since(from, Decision.Kind.START, "a").isEmpty(), "node2 restarts a locally");
        // a listing asked before the restart answers only now: it shows no guest
        c.inject("node2", new NodeEvent.DomainsListed(List.of()));
        c.runMs(3_000);
        assertTrue(c.runsOn("a", "node2"), "a runs on node2 only\n" + c.trail());
        assertTrue(c.since(from, Decision.Kind.NOT_RUNNING, "a").stream().noneMatch(d -> d.detail() != null
                && d.detail().contains("not running on its owner")), "node2 did not report a not running on the "
                + "strength of a listing older than the start\n" + c.trail());
        assertEquals(0, placements(c), c.trail());
    }

    @Test
    void aReturningHostIsReadyOnlyOnceItHasDestroyedTheHaVmsItDoesNotOwn() {
        TestCluster c = threeHosts(false);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.domains("node3").put(new VmId("a"), DomainState.PAUSED); // a stale copy from an interrupted migration
        long[] destroyedAt = {-1};
        c.world.listen(new SimWorld.Listener() {
            @Override
            public void domain(HostId host, VmId vm, DomainState before, DomainState after, String cause) {
                if (host.equals(NODE3) && vm.equals(new VmId("a")) && after == null) {
                    destroyedAt[0] = c.clock.nanos();
                }
            }
        });
        c.start();
        Decision ready = c.decisions().stream().filter(d -> d.host().equals(NODE3)
                && d.kind() == Decision.Kind.READY).findFirst().orElse(null);
        assertNotNull(ready, c.trail());
        assertTrue(destroyedAt[0] >= 0, "node3 destroyed the stale copy\n" + c.trail());
        assertTrue(ready.atNanos() >= destroyedAt[0], "node3 reported ready at " + ready.atNanos() / 1_000_000
                + " ms, before the stale copy was gone at " + destroyedAt[0] / 1_000_000 + " ms\n" + c.trail());
    }
}
