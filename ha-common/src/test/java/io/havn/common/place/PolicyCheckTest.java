package io.havn.common.place;

import static io.havn.common.place.PlannerTest.h;
import static io.havn.common.place.PlannerTest.v;
import static io.havn.common.place.PlannerTest.vms;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/** A policy that cannot stand is refused whole, naming what is wrong (both rules for a contradiction). */
class PolicyCheckTest {
    final Map<HostId, HostCapacity> hosts = new TreeMap<>(Map.of(h("h1"), new HostCapacity(8, 8192),
            h("h2"), new HostCapacity(8, 8192), h("h3"), new HostCapacity(8, 8192)));
    final Map<VmId, VmSpec> specs = new HashMap<>();
    final Map<VmId, List<HostId>> at = new HashMap<>();

    PolicyCheckTest() {
        for (String n : List.of("a", "b", "c", "d")) {
            specs.put(v(n), new VmSpec(v(n), n, 2, 2048, Priority.MEDIUM, true, "<domain/>"));
        }
        at.put(v("a"), List.of(h("h1")));
        at.put(v("b"), List.of(h("h2")));
        at.put(v("c"), List.of(h("h1")));
    }

    PolicyCheck.Refusal check(PlacementPolicy p) {
        return PolicyCheck.check(p, hosts, specs, vm -> at.getOrDefault(vm, List.of()));
    }

    @Test
    void aSatisfiableSetStands() {
        PlacementPolicy p = PlacementPolicy.EMPTY.withGroup("g", Set.of(h("h1"), h("h2")))
                .withRule(new Rule.Apart("ab", vms("a", "b"), true, null))
                .withRule(new Rule.Together("ac", vms("a", "c"), true, null))
                .withRule(new Rule.OnHosts("pin", vms("a", "b"), List.of("g"), true, true))
                .withRule(new Rule.After("order", vms("b"), vms("a"), null, 1000, null))
                .withRule(new Rule.StartDelay("later", vms("d"), 5000));
        assertNull(check(p));
    }

    @Test
    void unknownVmsHostsAndGroupsAreNamed() {
        assertEquals("rule x: no HA VM zz", check(PlacementPolicy.EMPTY.withRule(
                new Rule.Apart("x", vms("a", "zz"), true, null))).message());
        assertEquals("group g: no host h9", check(PlacementPolicy.EMPTY.withGroup("g", Set.of(h("h9")))).message());
        assertEquals("rule p: no host group nope", check(PlacementPolicy.EMPTY.withRule(
                new Rule.OnHosts("p", vms("a"), List.of("nope"), true, false))).message());
        assertEquals("unknown-vm", check(PlacementPolicy.EMPTY.withRule(
                new Rule.After("o", vms("a"), vms("ghost"), null, 10, null))).code());
    }

    @Test
    void hardTogetherAndHardApartOnOnePairIsRefusedNamingBothRules() {
        PolicyCheck.Refusal r = check(PlacementPolicy.EMPTY
                .withRule(new Rule.Together("t1", vms("a", "c"), true, null))
                .withRule(new Rule.Together("t2", vms("c", "d"), true, null))
                .withRule(new Rule.Apart("x", vms("a", "d"), true, null)));
        assertEquals("rule-conflict", r.code());
        assertTrue(r.message().contains("rule x") && r.message().contains("t1") && r.message().contains("t2"),
                r.message());
    }

    @Test
    void strictGroupsThatDoNotMeetAreRefusedNamingBothRules() {
        PlacementPolicy p = PlacementPolicy.EMPTY.withGroup("g1", Set.of(h("h1"))).withGroup("g2", Set.of(h("h2")))
                .withRule(new Rule.OnHosts("one", vms("d"), List.of("g1"), true, false))
                .withRule(new Rule.OnHosts("two", vms("d"), List.of("g2"), true, false));
        PolicyCheck.Refusal r = check(p);
        assertEquals("rule-conflict", r.code());
        assertTrue(r.message().contains("one") && r.message().contains("two"), r.message());
    }

    @Test
    void rulesTheHostsCanNeverMeetAreRefused() {
        PolicyCheck.Refusal tooMany = check(PlacementPolicy.EMPTY.withGroup("g", Set.of(h("h1"), h("h2")))
                .withRule(new Rule.OnHosts("pin", vms("a", "b", "d"), List.of("g"), true, false))
                .withRule(new Rule.Apart("spread", vms("a", "b", "d"), true, null)));
        assertEquals("rule-unsatisfiable", tooMany.code());
        assertTrue(tooMany.message().contains("spread") && tooMany.message().contains("only 2 hosts"),
                tooMany.message());
        specs.put(v("d"), new VmSpec(v("d"), "d", 2, 7000, Priority.MEDIUM, true, "<domain/>"));
        PolicyCheck.Refusal tooBig = check(PlacementPolicy.EMPTY.withRule(
                new Rule.Together("big", vms("b", "d"), true, null)));
        assertEquals("rule-unsatisfiable", tooBig.code());
        assertTrue(tooBig.message().contains("9048 MiB"), tooBig.message());
    }

    @Test
    void aDependencyCycleIsRefusedNamingItsRules() {
        PolicyCheck.Refusal r = check(PlacementPolicy.EMPTY
                .withRule(new Rule.After("r1", vms("a"), vms("b"), null, 10, null))
                .withRule(new Rule.After("r2", vms("b"), vms("c"), null, 10, null))
                .withRule(new Rule.After("r3", vms("c"), vms("a"), null, 10, null)));
        assertEquals("rule-conflict", r.code());
        assertTrue(r.message().contains("r1") && r.message().contains("r2") && r.message().contains("r3")
                && r.message().contains("a waits for b waits for c waits for a"), r.message());
    }

    @Test
    void aHardRuleThePresentPlacesBreakIsRefused() {
        PolicyCheck.Refusal r = check(PlacementPolicy.EMPTY.withRule(new Rule.Apart("x", vms("a", "c"), true, null)));
        assertEquals("rule-broken", r.code());
        assertTrue(r.message().contains("h1") && r.message().contains("x"), r.message());
        assertEquals("rule-broken", check(PlacementPolicy.EMPTY.withRule(
                new Rule.Together("t", vms("a", "b"), true, null))).code());
        assertNull(check(PlacementPolicy.EMPTY.withRule(new Rule.Apart("soft", vms("a", "c"), false, 3))));
    }

    @Test
    void agentReadinessIsRefusedWithoutGuestMonitoring() {
        PolicyCheck.Refusal r = check(PlacementPolicy.EMPTY.withRule(
                new Rule.After("o", vms("b"), vms("a"), Rule.Ready.AGENT, 10, null)));
        assertTrue(r.message().contains("guest monitoring"), r.message());
    }

    @Test
    void reservingEveryHostIsRefused() {
        assertEquals("bad-request", check(PlacementPolicy.EMPTY.withAdmission(1, true, hosts.keySet())).code());
        assertEquals("unknown-host", check(PlacementPolicy.EMPTY.withAdmission(1, true, Set.of(h("h7")))).code());
    }

    @Test
    void aRuleOfTheWrongShapeIsRefusedAtOnce() {
        assertThrows(IllegalArgumentException.class, () -> new Rule.Apart("x", vms("a"), true, null));
        assertThrows(IllegalArgumentException.class, () -> new Rule.Apart("x", vms("a", "a"), true, null));
        assertThrows(IllegalArgumentException.class, () -> new Rule.Apart("x", vms("a", "b"), true, 5));
        assertThrows(IllegalArgumentException.class, () -> new Rule.Apart("x", vms("a", "b"), false, 0));
        assertThrows(IllegalArgumentException.class, () -> new Rule.Apart("bad id", vms("a", "b"), true, null));
        assertThrows(IllegalArgumentException.class, () -> new Rule.After("o", vms("a"), vms("a"), null, 10, null));
        assertThrows(IllegalArgumentException.class, () -> new Rule.After("o", vms("a"), vms("b"), null, 0, null));
        assertThrows(IllegalArgumentException.class, () -> new Rule.StartDelay("d", vms("a"), 3_600_001));
        assertThrows(IllegalArgumentException.class, () -> new Rule.OnHosts("p", vms("a"), List.of(), true, false));
        assertThrows(IllegalArgumentException.class, () -> PlacementPolicy.EMPTY.withGroup("g", Set.of()));
    }
}
