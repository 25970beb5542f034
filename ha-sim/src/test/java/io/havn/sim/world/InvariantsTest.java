package io.havn.sim.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Decision;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.node.Settings;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The invariant checks can fail: each is shown a world that breaks it. */
class InvariantsTest {
    private static final HostId N1 = new HostId("node1");
    private static final HostId N2 = new HostId("node2");
    private static final VmId A = new VmId("a");

    private static SimWorld world() {
        SimWorld w = new SimWorld(1, Settings.defaults());
        w.addHost(N1, new HostCapacity(32, 131072), false);
        w.addHost(N2, new HostCapacity(32, 131072), false);
        w.addVm(new VmSpec(A, "a", 1, 1024, Priority.MEDIUM, true, "<domain type='kvm'><name>a</name></domain>"), N1);
        return w;
    }

    @Test
    void aVmOnTwoHostsIsAViolation() {
        SimWorld w = world();
        assertNull(w.violation());
        w.setDomainForTest(N2, A, DomainState.PAUSED);
        assertNull(w.violation(), "a paused copy beside the running one is a migration, not a second run");
        w.setDomainForTest(N2, A, DomainState.RUNNING);
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("runs on two hosts"), w.violation());
    }

    @Test
    void killingAVmItsRecordGivesToTheHostWithoutFencingIsANeedlessKill() {
        SimWorld w = world();
        w.destroyForTest(N1, A);
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("needless kill"), w.violation());
    }

    @Test
    void aVmDisappearingFromTheClusterStateIsAViolation() {
        SimWorld w = world();
        w.coordination.apply(List.of(new CoordOp.DeleteVm(A, 0)));
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("disappeared"), w.violation());
    }

    @Test
    void twoLeadersForOneEpochOrAnEpochGoingBackIsAViolation() {
        SimWorld w = world();
        w.onDecision(new Decision(0, N1, Decision.Kind.LEADER_ELECTED, null, null, 2, "epoch 2"));
        assertNull(w.violation());
        w.onDecision(new Decision(0, N2, Decision.Kind.LEADER_ELECTED, null, null, 2, "epoch 2"));
        assertTrue(w.violation() != null && w.violation().contains("two leaders"), String.valueOf(w.violation()));
        SimWorld v = world();
        v.onDecision(new Decision(0, N1, Decision.Kind.LEADER_ELECTED, null, null, 3, "epoch 3"));
        v.onDecision(new Decision(0, N2, Decision.Kind.LEADER_ELECTED, null, null, 2, "epoch 2"));
        assertTrue(v.violation() != null && v.violation().contains("went back"), String.valueOf(v.violation()));
    }

    @Test
    void aRecordWriteThatJumpsPhasesIsAViolationWhereAStepOfThePhaseTableIsNot() {
        SimWorld w = world();
        VmRecord running = w.record(A);
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(
                List.of(new CoordOp.PutVm(running.migratingTo(N2, 0), 0))));
        assertNull(w.violation(), "running to migrating is the leader's live migration");
        SimWorld v = world();
        // released without a migration or a relocation: the owner let go of a VM nobody took over
        assertEquals(WriteOutcome.OK, v.coordination.writeAsOutsider(
                List.of(new CoordOp.PutVm(running.withPhase(VmPhase.RELEASED, "jumped"), 0))));
        assertNotNull(v.violation());
        assertTrue(v.violation().contains("VM a went from phase running to released"), v.violation());
    }

    @Test
    void aRecordCreatedInAPhaseThePhaseTableDoesNotCreateIsAViolation() {
        SimWorld w = world();
        VmSpec b = new VmSpec(new VmId("b"), "b", 1, 1024, Priority.MEDIUM, true,
                "<domain type='kvm'><name>b</name></domain>");
        VmRecord placed = VmRecord.running(b, N2, 0).withPhase(VmPhase.PLACED, null);
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(List.of(new CoordOp.PutVm(placed, CoordOp.NEW))));
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("VM b was created in phase placed"), w.violation());
    }

    // ---------------------------------------------------------------- placement rules

    private static final HostId N3 = new HostId("node3");
    private static final VmId B = new VmId("b");
    private static final VmId C = new VmId("c");

    private static VmSpec spec(VmId id) {
        return new VmSpec(id, id.value(), 1, 1024, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + id + "</name></domain>");
    }

    /** Three hosts; a on node1, b on node2, c on node3; the policy in force from the start. */
    private static SimWorld ruled(PlacementPolicy policy) {
        SimWorld w = new SimWorld(1, Settings.defaults());
        for (HostId h : List.of(N1, N2, N3)) {
            w.addHost(h, new HostCapacity(32, 131072), false);
        }
        w.addVm(spec(A), N1);
        w.addVm(spec(B), N2);
        w.addVm(spec(C), N3);
        w.seedPlacement(policy);
        return w;
    }

    private static PlacementPolicy policy(Rule... rules) {
        return new PlacementPolicy(new TreeMap<>(Map.of("g", new TreeSet<>(Set.of(N2, N3)))), List.of(rules), 0, false,
                null);
    }

    @Test
    void twoVmsOfAHardApartRuleRunningOnOneHostIsAViolation() {
        SimWorld w = ruled(policy(new Rule.Apart("ab", List.of(A, B), true, null)));
        w.setDomainForTest(N2, B, null);
        w.setDomainForTest(N1, B, DomainState.RUNNING);
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("hard apart rule ab (a, b) broken: b and a both run on node1"), w.violation());
    }

    @Test
    void softRulesAndRulesNotInForceAreNotChecked() {
        SimWorld soft = ruled(policy(new Rule.Apart("ab", List.of(A, B), false, 50)));
        soft.setDomainForTest(N2, B, null);
        soft.setDomainForTest(N1, B, DomainState.RUNNING);
        assertNull(soft.violation());
        SimWorld none = ruled(PlacementPolicy.EMPTY);
        none.setDomainForTest(N2, B, null);
        none.setDomainForTest(N1, B, DomainState.RUNNING);
        assertNull(none.violation());
    }

    @Test
    void aCopyStartedBehindHavnsBackIsNoPlacement() {
        SimWorld w = ruled(policy(new Rule.Apart("ab", List.of(A, B), true, null)));
        w.outsideStart(B, N1);
        assertNull(w.violation(), "havn removes it; the one-copy check gives it a grace, the rules judge placements");
    }

    @Test
    void aVmOfAStrictHostRuleRunningOutsideItsGroupsIsAViolation() {
        SimWorld w = ruled(policy(new Rule.OnHosts("bg", List.of(B), List.of("g"), true, false)));
        w.setDomainForTest(N2, B, null);
        w.setDomainForTest(N3, B, DomainState.PAUSED);
        assertNull(w.violation(), "node3 is in g");
        w.setDomainForTest(N3, B, null);
        w.setDomainForTest(N1, B, DomainState.PAUSED);
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("strict host rule bg broken: b runs on node1, outside groups [g]"),
                w.violation());
        SimWorld loose = ruled(policy(new Rule.OnHosts("bg", List.of(B), List.of("g"), false, true)));
        loose.setDomainForTest(N2, B, null);
        loose.setDomainForTest(N1, B, DomainState.RUNNING);
        assertNull(loose.violation(), "a rule that is not strict only prefers");
    }

    @Test
    void aLeaderWriteThatPlacesAVmWhereAnApartSiblingHoldsCapacityIsAViolation() {
        SimWorld w = ruled(policy(new Rule.Apart("ab", List.of(A, B), true, null)));
        VmRecord b = w.record(B);
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(List.of(new CoordOp.PutVm(b.migratingTo(N3, 0), 0))));
        assertNull(w.violation());
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(
                List.of(new CoordOp.PutVm(w.record(B).placedOn(N1, 0, 0, List.of()), 1))));
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("hard apart rule ab (a, b) broken: the leader places b on node1 (it was on "
                + "node2), where a holds capacity (running on node1)"), w.violation());
    }

    @Test
    void aLeaderWriteThatMigratesAVmOutsideItsStrictGroupsIsAViolation() {
        SimWorld w = ruled(policy(new Rule.OnHosts("bg", List.of(B), List.of("g"), true, false)));
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(
                List.of(new CoordOp.PutVm(w.record(B).migratingTo(N1, 0), 0))));
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("strict host rule bg broken: the leader migrates b from node2 to node1, "
                + "outside groups [g]"), w.violation());
    }

    @Test
    void aLeaderWriteThatPlacesATogetherVmAwayFromASiblingOnALiveHostIsAViolation() {
        SimWorld w = ruled(policy(new Rule.Together("ac", List.of(A, C), true, null)));
        for (HostId h : List.of(N1, N2, N3)) {
            w.bootDaemon(h);
        }
        w.runUntil(3_000 * SimWorld.MS);
        assertTrue(w.hostLive(N1), "node1 has a live session");
        assertNull(w.violation());
        // a drain: c migrates first, to where a runs
        VmRecord c = w.record(C);
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(List.of(
                new CoordOp.PutVm(c.migratingTo(N1, c.ownerSession()), w.coordination.vm(C).version()))));
        assertNull(w.violation(), "c goes where a runs");
        VmRecord a = w.record(A);
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(List.of(
                new CoordOp.PutVm(a.migratingTo(N3, a.ownerSession()), w.coordination.vm(A).version()))));
        assertNull(w.violation(), "c runs on node3 still, a's current owner is node1: the drain case");
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(List.of(
                new CoordOp.PutVm(w.record(A).placedOn(N2, 0, 0, List.of()), w.coordination.vm(A).version()))));
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("hard together rule ac (a, c) broken: the leader places a on node2 (it was on "
                + "node1), while c runs on node3"), w.violation());
    }

    @Test
    void twoVmsOfAHardTogetherRuleHeadingForTwoHostsIsAViolation() {
        SimWorld w = ruled(policy(new Rule.Together("ac", List.of(A, C), true, null)));
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(
                List.of(new CoordOp.PutVm(w.record(C).migratingTo(N1, 0), 0))));
        assertNull(w.violation(), "c goes where a holds capacity");
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(
                List.of(new CoordOp.PutVm(w.record(A).migratingTo(N2, 0), 0))));
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("hard together rule ac (a, c) broken: the leader migrates a from node1 to "
                + "node2, while c holds capacity on node3"), w.violation());
    }
}
