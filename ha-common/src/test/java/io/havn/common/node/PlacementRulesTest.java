package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.ClusterRecord;
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
import io.havn.common.port.CoordOp;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The leader honours the operators' rules in its own round (the simulator's scenarios show them
 * through the whole admin path), and the host that takes a rule change refuses bad ones at once.
 */
class PlacementRulesTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final HostId NODE3 = new HostId("node3");

    private static VmSpec spec(String name) {
        return new VmSpec(new VmId(name), name, 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + name + "</name></domain>");
    }

    private static List<VmId> vms(String... names) {
        return java.util.Arrays.stream(names).map(VmId::new).toList();
    }

    /**
     * Leader node1; node2 (fenceable) runs db1 and app; node3, with four times the memory, runs db2.
     * Without rules, what node2 ran would go to node3, the host with the most room.
     */
    private static OneNodeRig cluster(PlacementPolicy policy) {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("db1");
        rig.host(new HostRecord(NODE3, new HostCapacity(8, 65536), null, null, HostAdminState.ACTIVE, false), 1);
        rig.vm(VmRecord.running(spec("db2"), NODE3, 9), 0);
        rig.vm(VmRecord.running(spec("app"), NODE2, 5), 0);
        if (policy != null) {
            rig.cluster(ClusterRecord.DEFAULT.withPlacement(policy), 0);
        }
        rig.passMs(1_000, "node2", "node3");
        return rig;
    }

    /** node2 falls silent, is fenced, and its device reports it off. */
    private static void node2Dies(OneNodeRig rig) {
        rig.passMs(5_000, "node3");
        assertTrue(rig.called("fence node2"), rig.trail());
        rig.driver.handle(new NodeEvent.FenceDone(NODE2, true, null));
        rig.passMs(2_000, "node3");
    }

    private static Optional<VmRecord> firstWrite(OneNodeRig rig, String vm, VmPhase phase) {
        return rig.accepted().stream().flatMap(List::stream)
                .filter(op -> op instanceof CoordOp.PutVm p && p.record().id().value().equals(vm)
                        && p.record().phase() == phase)
                .map(op -> ((CoordOp.PutVm) op).record()).findFirst();
    }

    @Test
    void withoutRulesTheFailedHostsVmGoesToTheRoomiestHost() {
        OneNodeRig rig = cluster(null);
        node2Dies(rig);
        assertEquals(NODE3, firstWrite(rig, "db1", VmPhase.PLACED).orElseThrow().owner(), rig.trail());
    }

    @Test
    void aHardApartRuleSendsItToAHostWithoutItsPartnerAndTheDecisionNamesTheRule() {
        OneNodeRig rig = cluster(PlacementPolicy.EMPTY.withRule(new Rule.Apart("db", vms("db1", "db2"), true, null)));
        node2Dies(rig);
        assertEquals(NODE1, firstWrite(rig, "db1", VmPhase.PLACED).orElseThrow().owner(), rig.trail());
        assertTrue(rig.decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.PLACE
                && d.vm().value().equals("db1") && d.detail().contains("rules db")), rig.trail());
    }

    @Test
    void aVmThatNoHostCanTakeUnderAHardRuleStaysRecoveringAndTheBlockIsReportedByRule() {
        PlacementPolicy p = PlacementPolicy.EMPTY.withGroup("g", java.util.Set.of(NODE2, NODE3))
                .withRule(new Rule.OnHosts("pin", vms("db1"), List.of("g"), true, false))
                .withRule(new Rule.Apart("db", vms("db1", "db2"), true, null));
        OneNodeRig rig = cluster(p);
        node2Dies(rig);
        assertFalse(firstWrite(rig, "db1", VmPhase.PLACED).isPresent(), rig.trail());
        VmRecord rec = firstWrite(rig, "db1", VmPhase.RECOVERING).orElseThrow();
        assertTrue(rec.reason().contains("hard rules") && rec.reason().contains("pin"), rec.reason());
        assertTrue(rig.decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.RULE_BLOCKED
                && d.detail().startsWith("pin: ")), rig.trail());
        assertEquals(NODE3, firstWrite(rig, "app", VmPhase.PLACED).orElseThrow().owner(), "others are unaffected");
    }

    @Test
    void aVmThatWaitsForAnotherIsPlacedOnlyOnceThatOneRuns() {
        PlacementPolicy p = PlacementPolicy.EMPTY.withRule(new Rule.After("db-first", vms("app"), vms("db1"), null,
                600_000, Rule.OnTimeout.STAY_DOWN));
        OneNodeRig rig = cluster(p);
        node2Dies(rig);
        VmRecord db1 = firstWrite(rig, "db1", VmPhase.PLACED).orElseThrow();
        VmRecord app = firstWrite(rig, "app", VmPhase.RECOVERING).orElseThrow(() -> new AssertionError(rig.trail()));
        assertTrue(app.reason().contains("waits for [db1]") && app.reason().contains("db-first"), app.reason());
        assertFalse(firstWrite(rig, "app", VmPhase.PLACED).isPresent(), "app waits while db1 is only placed\n"
                + rig.trail());
        // db1's new host starts it and says so
        rig.vm(db1.withPhase(VmPhase.RUNNING, null).withOwnerSession(db1.ownerSession()),
                rig.vms.get(new VmId("db1")).version() + 1);
        rig.passMs(1_000, "node3");
        assertTrue(firstWrite(rig, "app", VmPhase.PLACED).isPresent(), rig.trail());
    }

    @Test
    void aStartDelayHoldsTheVmForItsDelay() {
        PlacementPolicy p = PlacementPolicy.EMPTY.withRule(new Rule.StartDelay("later", vms("app"), 20_000));
        OneNodeRig rig = cluster(p);
        node2Dies(rig);
        assertTrue(firstWrite(rig, "db1", VmPhase.PLACED).isPresent());
        assertFalse(firstWrite(rig, "app", VmPhase.PLACED).isPresent(), rig.trail());
        rig.passMs(20_000, "node3");
        assertTrue(firstWrite(rig, "app", VmPhase.PLACED).isPresent(), rig.trail());
    }

    /** app and db1 bound by a hard together rule, db1 placed 20 s after it needs a host. */
    private static final PlacementPolicy PAIR_DB1_LATER = PlacementPolicy.EMPTY
            .withRule(new Rule.Together("pair", vms("app", "db1"), true, null))
            .withRule(new Rule.StartDelay("later", vms("db1"), 20_000));

    /** Where the leader first placed {@code vm}. */
    private static HostId placedOn(OneNodeRig rig, String vm) {
        return firstWrite(rig, vm, VmPhase.PLACED).orElseThrow(() -> new AssertionError(vm + " never placed\n"
                + rig.trail())).owner();
    }

    @Test
    void aTogetherVmPlacedWhileItsPartnerWaitsGoesOnlyWhereThePartnerCanFollow() {
        OneNodeRig rig = cluster(PAIR_DB1_LATER);
        // db1 lives on vmstore, which node3 (the roomiest host) has lost; app needs no datastore
        rig.vm(VmRecord.running(spec("db1").withStorage(List.of("vmstore"), null, null), NODE2, 5),
                rig.vms.get(new VmId("db1")).version() + 1);
        rig.host(new HostRecord(NODE3, new HostCapacity(8, 65536), null, null, HostAdminState.ACTIVE, false)
                .withDatastores(java.util.Map.of("vmstore", false)), 2);
        node2Dies(rig);
        assertEquals(NODE1, placedOn(rig, "app"), "app goes where db1 can follow, not to the roomier node3\n"
                + rig.trail());
        assertFalse(firstWrite(rig, "db1", VmPhase.PLACED).isPresent(), rig.trail());
        rig.passMs(20_000, "node3");
        assertEquals(NODE1, placedOn(rig, "db1"), rig.trail());
    }

    /** db1, which app's hard together rule binds, in {@code cpus} cpus instead of one, on node2 as before. */
    private static void db1Of(OneNodeRig rig, int cpus) {
        rig.vm(VmRecord.running(new VmSpec(new VmId("db1"), "db1", cpus, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>db1</name></domain>"), NODE2, 5), rig.vms.get(new VmId("db1")).version() + 1);
    }

    @Test
    void aTogetherVmPlacedWhileItsPartnerWaitsGoesWhereThereIsRoomForThePartnerToo() {
        OneNodeRig rig = cluster(PAIR_DB1_LATER);
        // node3, the roomiest, has 7 cpus free (db2 runs there): db1's 7, or app's 1, not both; node1 has 8
        db1Of(rig, 7);
        node2Dies(rig);
        assertEquals(NODE1, placedOn(rig, "app"), "app goes where db1 fits beside it, not to the roomier node3\n"
                + rig.trail());
        rig.passMs(20_000, "node3");
        assertEquals(NODE1, placedOn(rig, "db1"), rig.trail());
    }

    @Test
    void theRoomOfAPartnerThatWaitsIsKeptOnTheHostItsGroupRunsOn() {
        // node2 runs app, db1 (7 cpus) and web, which may run on node1 only and waits 5 s; db1 waits 20 s.
        // node3 has 7 cpus beside db2, so app goes to node1 with room for db1 (8 cpus in all)
        PlacementPolicy p = PAIR_DB1_LATER.withGroup("one", java.util.Set.of(NODE1))
                .withRule(new Rule.StartDelay("soon", vms("web"), 5_000))
                .withRule(new Rule.OnHosts("pin", vms("web"), List.of("one"), true, false));
        OneNodeRig rig = leading(p, List.of(
                VmRecord.running(new VmSpec(new VmId("db1"), "db1", 7, 512, Priority.MEDIUM, true,
                        "<domain type='kvm'><name>db1</name></domain>"), NODE2, 5),
                VmRecord.running(spec("app"), NODE2, 5), VmRecord.running(spec("web"), NODE2, 5),
                VmRecord.running(spec("db2"), NODE3, 9)));
        node2Dies(rig);
        assertEquals(NODE1, placedOn(rig, "app"), rig.trail());
        rig.passMs(8_000, "node3");
        // web's delay is over while db1 still waits: node1's 7 cpus beside app are db1's, not web's
        assertFalse(firstWrite(rig, "web", VmPhase.PLACED).isPresent(), rig.trail());
        rig.passMs(15_000, "node3");
        assertEquals(NODE1, placedOn(rig, "db1"), rig.trail());
    }

    /**
     * Leader node1 (session 7, with nothing of its own) with node2 (5, fenceable) and node3 (9, four
     * times the memory) live, running {@code records} (node1's own domains running too).
     */
    private static OneNodeRig leading(PlacementPolicy p, List<VmRecord> records) {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host("node2", "ipmi-node2", false, 0);
        rig.host("node3", null, false, 0);
        rig.host(new HostRecord(NODE3, new HostCapacity(8, 65536), null, null, HostAdminState.ACTIVE, false), 1);
        for (VmRecord r : records) {
            rig.vm(r, 0);
            if (r.owner().equals(NODE1)) {
                rig.domains.put(r.id(), io.havn.common.port.DomainState.RUNNING);
            }
        }
        rig.cluster(ClusterRecord.DEFAULT.withPlacement(p), 0);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.lead(1);
        rig.passMs(OneNodeRig.settings().settleMs() + 1_000, "node2", "node3");
        return rig;
    }

    /** As {@link #leading}, with each VM named in {@code where} running on the host it names. */
    private static OneNodeRig runningSplit(PlacementPolicy p, Map<String, HostId> where) {
        return leading(p, new java.util.TreeMap<>(where).entrySet().stream()
                .map(e -> VmRecord.running(spec(e.getKey()), e.getValue(), e.getValue().equals(NODE2) ? 5 : 9)).toList());
    }

    @Test
    void aHardTogetherGroupSplitOverTwoHostsGathersOnTheHostOfItsFirstVmWhenTheyHoldAsMany() {
        OneNodeRig rig = runningSplit(PlacementPolicy.EMPTY.withRule(new Rule.Together("pair", vms("app", "db1"), true,
                null)), Map.of("app", NODE2, "db1", NODE3));
        rig.passMs(Moves.REJOIN_SCAN_MS + 1_000, "node2", "node3");
        VmRecord m = firstWrite(rig, "db1", VmPhase.MIGRATING).orElseThrow(() -> new AssertionError(rig.trail()));
        assertEquals(NODE2, m.target(), rig.trail());
        assertFalse(firstWrite(rig, "app", VmPhase.MIGRATING).isPresent(), rig.trail());
        assertTrue(rig.decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.MIGRATE
                && d.vm().value().equals("db1") && d.detail().contains("rejoins its hard together group on node2")),
                rig.trail());
    }

    @Test
    void aHardTogetherGroupSplitOverTwoHostsGathersWhereMostOfItRuns() {
        OneNodeRig rig = runningSplit(PlacementPolicy.EMPTY.withRule(new Rule.Together("three", vms("app", "db1", "db2"),
                true, null)), Map.of("app", NODE2, "db1", NODE3, "db2", NODE3));
        rig.passMs(Moves.REJOIN_SCAN_MS + 1_000, "node2", "node3");
        VmRecord m = firstWrite(rig, "app", VmPhase.MIGRATING).orElseThrow(() -> new AssertionError(rig.trail()));
        assertEquals(NODE3, m.target(), "two of three run on node3, though app comes first\n" + rig.trail());
        assertFalse(firstWrite(rig, "db1", VmPhase.MIGRATING).isPresent(), rig.trail());
        assertFalse(firstWrite(rig, "db2", VmPhase.MIGRATING).isPresent(), rig.trail());
    }

    @Test
    void aVmOfASplitGroupRejoinsOnlyWhereItHasRoomAndBreaksNoOtherHardRule() {
        // db1 may not run beside web, which runs on node2, where the pair gathers (app comes first)
        OneNodeRig apart = runningSplit(PlacementPolicy.EMPTY
                .withRule(new Rule.Together("pair", vms("app", "db1"), true, null))
                .withRule(new Rule.Apart("away", vms("db1", "web"), true, null)),
                Map.of("app", NODE2, "db1", NODE3, "web", NODE2));
        apart.passMs(Moves.REJOIN_SCAN_MS + 1_000, "node2", "node3");
        assertFalse(firstWrite(apart, "db1", VmPhase.MIGRATING).isPresent(), apart.trail());
        // db1 needs 8 cpus, node2 has 7 beside app
        OneNodeRig full = runningSplit(PlacementPolicy.EMPTY.withRule(new Rule.Together("pair", vms("app", "db1"), true,
                null)), Map.of("app", NODE2));
        full.vm(VmRecord.running(new VmSpec(new VmId("db1"), "db1", 8, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>db1</name></domain>"), NODE3, 9), 0);
        full.passMs(Moves.REJOIN_SCAN_MS + 1_000, "node2", "node3");
        assertFalse(firstWrite(full, "db1", VmPhase.MIGRATING).isPresent(), full.trail());
    }

    @Test
    void theVmsOfAHardTogetherRulePlacedInOneRoundAreWrittenInOneMultiOpAllOrNone() {
        OneNodeRig rig = cluster(PlacementPolicy.EMPTY.withRule(new Rule.Together("pair", vms("app", "db1"), true, null)));
        node2Dies(rig);
        List<CoordOp> write = rig.accepted().stream()
                .filter(ops -> ops.stream().anyMatch(op -> op instanceof CoordOp.PutVm p
                        && p.record().id().value().equals("db1") && p.record().phase() == VmPhase.PLACED))
                .findFirst().orElseThrow(() -> new AssertionError(rig.trail()));
        List<String> placed = write.stream().filter(op -> op instanceof CoordOp.PutVm p
                        && p.record().phase() == VmPhase.PLACED)
                .map(op -> ((CoordOp.PutVm) op).record().id().value()).sorted().toList();
        assertEquals(List.of("app", "db1"), placed, "both in one write\n" + rig.trail());
        assertEquals(1, write.stream().filter(op -> op instanceof CoordOp.CheckEpoch).count(), write.toString());
        assertEquals(write.size(), java.util.Set.copyOf(write).size(), "no check twice: " + write);
    }

    /** A follower node1 (node2 leads) that takes operators' requests. */
    private static OneNodeRig follower(PlacementPolicy policy) {
        OneNodeRig rig = OneNodeRig.threeHosts(io.havn.common.domain.DomainPolicy.none());
        rig.vm(VmRecord.running(spec("db1"), NODE2, 5), 0);
        rig.vm(VmRecord.running(spec("db2"), NODE3, 9), 0);
        if (policy != null) {
            rig.cluster(ClusterRecord.DEFAULT.withPlacement(policy), 0);
        }
        rig.driver.handle(new NodeEvent.EpochChanged(1, NODE2));
        rig.passMs(1_000, "node2", "node3");
        return rig;
    }

    private static boolean requestWritten(OneNodeRig rig) {
        return rig.writes.stream().flatMap(List::stream).anyMatch(op -> op instanceof CoordOp.PutRequest);
    }

    @Test
    void aContradictoryRuleIsRefusedByTheHostThatTakesItNamingBothRulesAndNothingIsWritten() {
        OneNodeRig rig = follower(PlacementPolicy.EMPTY.withRule(new Rule.Apart("db", vms("db1", "db2"), true, null)));
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.RuleAdd(
                new Rule.Together("pair", vms("db1", "db2"), true, null))));
        AdminReply r = rig.replies.get(1L);
        assertEquals("rule-conflict", r.code(), r.toString());
        assertTrue(r.message().contains("rule db") && r.message().contains("pair"), r.message());
        assertFalse(requestWritten(rig));
    }

    @Test
    void aGoodRuleGoesToTheLeader() {
        OneNodeRig rig = follower(null);
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.RuleAdd(
                new Rule.Apart("db", vms("db1", "db2"), true, null))));
        assertTrue(requestWritten(rig), rig.trail());
        assertFalse(rig.replies.containsKey(1L), "answered with the leader's verdict");
    }

    @Test
    void aMoveThatWouldBreakAHardRuleIsRefusedNamingIt() {
        OneNodeRig rig = follower(PlacementPolicy.EMPTY.withRule(new Rule.Apart("db", vms("db1", "db2"), true, null)));
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.Migrate(new VmId("db1"), NODE3)));
        AdminReply r = rig.replies.get(1L);
        assertEquals("rule-broken", r.code(), r.toString());
        assertTrue(r.message().contains("apart rule db"), r.message());
        assertFalse(requestWritten(rig));
    }

    @Test
    void aMoveToAReservedFailoverHostIsRefused() {
        OneNodeRig rig = follower(PlacementPolicy.EMPTY.withAdmission(1, false, java.util.Set.of(NODE1)));
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.Migrate(new VmId("db1"), NODE1)));
        assertEquals("host-reserved", rig.replies.get(1L).code());
        assertFalse(requestWritten(rig));
    }

    @Test
    void removingAGroupARuleUsesIsRefused() {
        OneNodeRig rig = follower(PlacementPolicy.EMPTY.withGroup("g", java.util.Set.of(NODE2))
                .withRule(new Rule.OnHosts("pin", vms("db1"), List.of("g"), false, false)));
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.GroupRemove("g")));
        assertEquals("group-in-use", rig.replies.get(1L).code());
        rig.driver.handle(new NodeEvent.AdminRequest(2, new AdminCommand.RuleRemove("nope")));
        assertEquals("unknown-rule", rig.replies.get(2L).code());
        assertFalse(requestWritten(rig));
    }

    /**
     * Leader node1; node2 in maintenance runs app and cache (bound by a hard together rule) and db1;
     * node3, with four times the memory, runs db2 (kept apart from db1).
     */
    private static OneNodeRig draining(java.util.Set<HostId> reserved) {
        return draining(reserved, 65536);
    }

    private static OneNodeRig draining(java.util.Set<HostId> reserved, long node3MiB) {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("db1");
        rig.host(new HostRecord(NODE3, new HostCapacity(8, node3MiB), null, null, HostAdminState.ACTIVE, false), 1);
        rig.vm(VmRecord.running(spec("db2"), NODE3, 9), 0);
        rig.vm(VmRecord.running(spec("app"), NODE2, 5), 0);
        rig.vm(VmRecord.running(spec("cache"), NODE2, 5), 0);
        rig.cluster(ClusterRecord.DEFAULT.withPlacement(PlacementPolicy.EMPTY
                .withRule(new Rule.Together("pair", vms("app", "cache"), true, null))
                .withRule(new Rule.Apart("db", vms("db1", "db2"), true, null))
                .withAdmission(0, false, reserved)), 0);
        rig.host(new HostRecord(NODE2, OneNodeRig.CAPACITY, null, "ipmi-node2", HostAdminState.MAINTENANCE, false),
                rig.hosts.get(NODE2).version() + 1);
        rig.passMs(3_000, "node2", "node3");
        return rig;
    }

    private static java.util.Map<String, HostId> migrationTargets(OneNodeRig rig) {
        java.util.Map<String, HostId> out = new java.util.TreeMap<>();
        rig.accepted().stream().flatMap(List::stream).forEach(op -> {
            if (op instanceof CoordOp.PutVm p && p.record().phase() == VmPhase.MIGRATING) {
                out.putIfAbsent(p.record().id().value(), p.record().target());
            }
        });
        return out;
    }

    @Test
    void aDrainKeepsTogetherVmsTogetherAndApartVmsApart() {
        OneNodeRig rig = draining(java.util.Set.of());
        java.util.Map<String, HostId> to = migrationTargets(rig);
        assertEquals(NODE3, to.get("app"), rig.trail());
        assertEquals(NODE3, to.get("cache"), "cache follows app\n" + rig.trail());
        assertEquals(NODE1, to.get("db1"), "db1 stays off db2's host\n" + rig.trail());
    }

    @Test
    void togetherVmsDrainedInOneRoundFollowTheFirstEvenWhenAnotherHostIsAsRoomyByThen() {
        // node3 has a little more room than node1: app goes there, and then both have as much
        OneNodeRig rig = draining(java.util.Set.of(), 16384 + 1024);
        java.util.Map<String, HostId> to = migrationTargets(rig);
        assertEquals(NODE3, to.get("app"), rig.trail());
        assertEquals(NODE3, to.get("cache"), "cache follows app, not the host with the most room by then\n"
                + rig.trail());
    }

    @Test
    void aDrainNeverFillsAReservedFailoverHost() {
        OneNodeRig rig = draining(java.util.Set.of(NODE3));
        java.util.Map<String, HostId> to = migrationTargets(rig);
        assertEquals(NODE1, to.get("app"), rig.trail());
        assertEquals(NODE1, to.get("cache"), rig.trail());
        assertEquals(NODE1, to.get("db1"), rig.trail());
        assertFalse(to.containsValue(NODE3), "nothing is drained onto the reserved node3\n" + rig.trail());
    }

    @Test
    void everyPlacementCommandCrossesTheWireIntactUnderItsOwnName() {
        java.util.Map<String, AdminCommand> commands = new java.util.LinkedHashMap<>();
        commands.put("rule-add", new AdminCommand.RuleAdd(new Rule.After("o", vms("b"), vms("a"), null, 5_000,
                Rule.OnTimeout.STAY_DOWN)));
        commands.put("rule-remove", new AdminCommand.RuleRemove("o"));
        commands.put("group-set", new AdminCommand.GroupSet("rack1", List.of(NODE1, NODE2)));
        commands.put("group-remove", new AdminCommand.GroupRemove("rack1"));
        commands.put("admission", new AdminCommand.SetAdmission(2, true, List.of(NODE3)));
        commands.put("what-if", new AdminCommand.WhatIf(List.of(NODE2, NODE3)));
        commands.forEach((name, c) -> {
            String json = io.havn.common.model.Json.toJson(c);
            assertEquals(c, io.havn.common.model.Json.fromJson(json, AdminCommand.class), json);
            assertEquals(name, c.name());
            assertTrue(json.startsWith("{\"command\":\"" + name + "\""), json);
        });
    }

    private static VmSpec big(String name) {
        return new VmSpec(new VmId(name), name, 1, 10_000, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + name + "</name></domain>");
    }

    /** A follower node1; node2 and node3 each run a 10,000 MiB VM: any one host may fail, not two. */
    private static OneNodeRig reserveOfOne(boolean strict) {
        OneNodeRig rig = OneNodeRig.threeHosts(io.havn.common.domain.DomainPolicy.none());
        rig.vm(VmRecord.running(big("big1"), NODE2, 5), 0);
        rig.vm(VmRecord.running(big("big2"), NODE3, 9), 0);
        rig.cluster(ClusterRecord.DEFAULT.withPlacement(PlacementPolicy.EMPTY.withAdmission(1, strict, null)), 0);
        rig.driver.handle(new NodeEvent.EpochChanged(1, NODE2));
        rig.passMs(1_000, "node2", "node3");
        return rig;
    }

    @Test
    void strictAdmissionControlRefusesAChangeThatWouldLeaveTooLittleRoomForAFailureNamingWhatIsShort() {
        OneNodeRig rig = reserveOfOne(true);
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.Maintenance(NODE1, true)));
        AdminReply r = rig.replies.get(1L);
        assertEquals("admission", r.code(), r.toString());
        assertTrue(r.message().contains("could absorb 0 host failures") && r.message().contains("could not restart"),
                r.message());
        rig.driver.handle(new NodeEvent.AdminRequest(2, new AdminCommand.VmAdd(big("big3"))));
        assertEquals("admission", rig.replies.get(2L).code(), rig.replies.get(2L).toString());
        assertFalse(requestWritten(rig), "nothing written");
        rig.driver.handle(new NodeEvent.AdminRequest(3, new AdminCommand.VmAdd(spec("small"))));
        assertFalse(rig.replies.containsKey(3L), "a VM the reserve can take goes to the leader");
        assertTrue(requestWritten(rig));
    }

    @Test
    void withoutStrictModeTheSameChangeGoesAhead() {
        OneNodeRig rig = reserveOfOne(false);
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.Maintenance(NODE1, true)));
        assertFalse(rig.replies.containsKey(1L), rig.replies.toString());
        assertTrue(requestWritten(rig));
    }

    @Test
    void whatIfTakesItsPhasesFromTheFailoversThisLeaderMeasuredOnceItLedOne() {
        OneNodeRig rig = cluster(null);
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.WhatIf(List.of(NODE3))));
        assertTrue(rig.replies.get(1L).whatIf().basis().contains("has led no failover to measure"),
                rig.replies.get(1L).toString());
        node2Dies(rig);
        for (String vm : List.of("db1", "app")) {
            VmRecord placed = firstWrite(rig, vm, VmPhase.PLACED).orElseThrow();
            rig.vm(placed.withPhase(VmPhase.RUNNING, null), rig.vms.get(new VmId(vm)).version() + 1);
        }
        rig.passMs(200, "node3");
        assertTrue(rig.decided(Decision.Kind.RECOVERED), rig.trail());
        rig.driver.handle(new NodeEvent.AdminRequest(2, new AdminCommand.WhatIf(List.of(NODE3))));
        io.havn.common.place.WhatIf.Report r = rig.replies.get(2L).whatIf();
        assertTrue(r.basis().contains("the median of the last 2 failovers node1 led"), r.basis());
    }

    @Test
    void measuredPhasesAreTheMediansOfTheLastFailoversByKindOfProofWithTheSettingsForAPhaseNotSeen() {
        MeasuredPhases m = new MeasuredPhases();
        assertEquals(2_000, m.fencedProofMs(2_000));
        long ms = 1_000_000L;
        m.add(new Decision.Timings(900 * ms, 1_100 * ms, 150 * ms, Decision.Proof.FENCE_DEVICE));
        m.add(new Decision.Timings(1_000 * ms, 1_300 * ms, 250 * ms, Decision.Proof.FENCE_DEVICE));
        m.add(new Decision.Timings(1_100 * ms, 1_200 * ms, 200 * ms, Decision.Proof.FENCE_DEVICE));
        m.add(new Decision.Timings(-1, 9_000 * ms, 300 * ms, Decision.Proof.SESSION_EXPIRED));
        assertEquals(1_000, m.detectMs(2_000), "a phase not known (-1) is not counted");
        assertEquals(1_200, m.fencedProofMs(2_000));
        assertEquals(9_000, m.expiryProofMs(10_000));
        assertEquals(250, m.restartMs(200));
        assertEquals(4, m.count());
        for (int i = 0; i < MeasuredPhases.KEPT; i++) {
            m.add(new Decision.Timings(500 * ms, 700 * ms, 100 * ms, Decision.Proof.FENCE_DEVICE));
        }
        assertEquals(700, m.fencedProofMs(2_000), "only the last ones count");
        assertEquals(MeasuredPhases.KEPT, m.count());
    }
}
