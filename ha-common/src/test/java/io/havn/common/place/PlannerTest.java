package io.havn.common.place;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Placement under the rules: hard rules exclude, preferences and soft rules choose, units move as one. */
class PlannerTest {
    static HostId h(String n) {
        return new HostId(n);
    }

    static VmId v(String n) {
        return new VmId(n);
    }

    static List<VmId> vms(String... names) {
        List<VmId> out = new ArrayList<>();
        for (String n : names) {
            out.add(v(n));
        }
        return out;
    }

    static Placement.Request req(String vm, long mem) {
        return new Placement.Request(v(vm), Priority.MEDIUM, 1, mem, Set.of(), null);
    }

    /** Hosts h1..hN with 8 cpus and the given free memory each (h1 the most free unless told). */
    static List<Placement.Host> hosts(long... freeMem) {
        List<Placement.Host> out = new ArrayList<>();
        for (int i = 0; i < freeMem.length; i++) {
            out.add(new Placement.Host(h("h" + (i + 1)), new HostCapacity(8, freeMem[i])));
        }
        return out;
    }

    static Planner planner(PlacementPolicy p) {
        return new Planner(new RuleIndex(p));
    }

    static PlacementPolicy rules(Rule... rs) {
        PlacementPolicy p = PlacementPolicy.EMPTY;
        for (Rule r : rs) {
            p = p.withRule(r);
        }
        return p;
    }

    final Map<VmId, List<HostId>> at = new HashMap<>();

    Planner.Locator where() {
        return vm -> at.getOrDefault(vm, List.of());
    }

    @Test
    void withoutRulesItPlacesAsPlacementDoes() {
        List<Placement.Request> reqs = List.of(req("a", 1000), req("b", 3000), req("c", 500));
        List<Placement.Host> hs = hosts(4000, 3500, 2000);
        Planner.Plan plan = planner(PlacementPolicy.EMPTY).place(reqs, hs, where());
        assertEquals(Placement.place(reqs, hs), plan.placed());
        assertTrue(plan.unplaced().isEmpty());
    }

    @Test
    void hardApartKeepsAVmOffTheHostThatRunsItsPartnerEvenIfItHasTheMostRoom() {
        at.put(v("db2"), List.of(h("h1")));
        Planner.Plan plan = planner(rules(new Rule.Apart("db", vms("db1", "db2"), true, null)))
                .place(List.of(req("db1", 1000)), hosts(8000, 2000), where());
        assertEquals(h("h2"), plan.placed().get(v("db1")));
        assertEquals(List.of("db"), plan.rules().get(v("db1")));
    }

    @Test
    void hardApartLeavesAVmUnplacedNamingTheRuleWhenOnlyThePartnersHostHasRoom() {
        at.put(v("db2"), List.of(h("h1")));
        Planner.Plan plan = planner(rules(new Rule.Apart("db", vms("db1", "db2"), true, null)))
                .place(List.of(req("db1", 1000)), hosts(8000, 500), where());
        assertFalse(plan.placed().containsKey(v("db1")));
        assertTrue(plan.unplaced().get(v("db1")).contains("hard rule db"), plan.unplaced().toString());
        assertEquals(Map.of("db", 1), plan.blocked());
    }

    @Test
    void twoVmsOfAHardApartRulePlacedInOnePassGoToDifferentHosts() {
        Planner.Plan plan = planner(rules(new Rule.Apart("db", vms("db1", "db2"), true, null)))
                .place(List.of(req("db1", 1000), req("db2", 1000)), hosts(8000, 2000), where());
        assertNotEquals(plan.placed().get(v("db1")), plan.placed().get(v("db2")));
        assertEquals(2, plan.placed().size());
    }

    @Test
    void aVmBeingPlacedDoesNotHoldItsOldHostForTheRules() {
        at.put(v("db2"), List.of(h("h1"))); // db2's old host, but db2 is being placed itself
        Planner.Plan plan = planner(rules(new Rule.Apart("db", vms("db1", "db2"), true, null)))
                .place(List.of(req("db2", 1000)), hosts(8000, 2000), where());
        assertEquals(h("h1"), plan.placed().get(v("db2")));
    }

    @Test
    void hardTogetherPlacesAVmWhereItsPartnerRunsOrNowhere() {
        at.put(v("cache"), List.of(h("h2")));
        PlacementPolicy p = rules(new Rule.Together("app", vms("app", "cache"), true, null));
        assertEquals(h("h2"), planner(p).place(List.of(req("app", 1000)), hosts(8000, 2000), where()).placed()
                .get(v("app")));
        Planner.Plan full = planner(p).place(List.of(req("app", 1000)), hosts(8000, 500), where());
        assertTrue(full.placed().isEmpty());
        assertTrue(full.unplaced().get(v("app")).contains("must run on h2"), full.unplaced().toString());
        assertEquals(Map.of("app", 1), full.blocked());
    }

    @Test
    void hardTogetherVmsThatAllNeedAHostGoAsOneUnitToAHostThatFitsThemAll() {
        PlacementPolicy p = rules(new Rule.Together("app", vms("app", "cache"), true, null));
        // h1 has the most room but not for both; h2 fits both
        Planner.Plan plan = planner(p).place(List.of(req("app", 1500), req("cache", 1500)), hosts(2900, 2000, 3200),
                where());
        assertEquals(h("h3"), plan.placed().get(v("app")));
        assertEquals(h("h3"), plan.placed().get(v("cache")));
    }

    @Test
    void aDrainPlacesTheTogetherVmsOfItsSourceAsOneAndPartnersElsewhereAnchorIt() {
        PlacementPolicy p = rules(new Rule.Together("app", vms("app", "cache"), true, null));
        at.put(v("app"), List.of(h("h1")));
        at.put(v("cache"), List.of(h("h1")));
        Placement.Request app = new Placement.Request(v("app"), Priority.MEDIUM, 1, 1500, Set.of(h("h1")), null, h("h1"));
        Placement.Request cache = new Placement.Request(v("cache"), Priority.MEDIUM, 1, 1500, Set.of(h("h1")), null,
                h("h1"));
        Planner.Plan plan = planner(p).place(List.of(app, cache), hosts(9000, 2000, 3200), where());
        assertEquals(h("h3"), plan.placed().get(v("app")));
        // later: app migrates to h3; cache follows it there, not to the roomier h2
        at.put(v("app"), List.of(h("h1"), h("h3")));
        Planner.Plan next = planner(p).place(List.of(cache), hosts(9000, 8000, 1600), where());
        assertEquals(h("h3"), next.placed().get(v("cache")));
    }

    @Test
    void aStrictHostRuleKeepsAVmInItsGroupsOrUnplaced() {
        PlacementPolicy p = PlacementPolicy.EMPTY.withGroup("gpu", Set.of(h("h2"), h("h3")))
                .withRule(new Rule.OnHosts("lic", vms("a"), List.of("gpu"), true, false));
        assertEquals(h("h3"), planner(p).place(List.of(req("a", 1000)), hosts(9000, 2000, 3000), where()).placed()
                .get(v("a")));
        Planner.Plan none = planner(p).place(List.of(req("a", 1000)), hosts(9000, 500, 500), where());
        assertTrue(none.placed().isEmpty());
        assertTrue(none.unplaced().get(v("a")).contains("lic"), none.unplaced().toString());
    }

    @Test
    void aPreferredGroupWinsOverRoomAndTheFirstGroupOverTheSecondButTheVmGoesElsewhereWhenTheyAreFull() {
        PlacementPolicy p = PlacementPolicy.EMPTY.withGroup("rack1", Set.of(h("h3")))
                .withGroup("rack2", Set.of(h("h2")))
                .withRule(new Rule.OnHosts("pref", vms("a"), List.of("rack1", "rack2"), false, false));
        assertEquals(h("h3"), planner(p).place(List.of(req("a", 1000)), hosts(9000, 5000, 2000), where()).placed()
                .get(v("a")));
        assertEquals(h("h2"), planner(p).place(List.of(req("a", 1000)), hosts(9000, 5000, 500), where()).placed()
                .get(v("a")));
        assertEquals(h("h1"), planner(p).place(List.of(req("a", 1000)), hosts(9000, 500, 500), where()).placed()
                .get(v("a")));
    }

    @Test
    void softRulesWeighAgainstEachOtherAndOnlyAgainstRoomWhenTied() {
        at.put(v("web2"), List.of(h("h1")));
        at.put(v("cache"), List.of(h("h2")));
        PlacementPolicy p = rules(new Rule.Apart("spread", vms("web1", "web2"), false, 5),
                new Rule.Together("near", vms("web1", "cache"), false, 20));
        Planner.Plan plan = planner(p).place(List.of(req("web1", 1000)), hosts(9000, 3000, 8000), where());
        assertEquals(h("h2"), plan.placed().get(v("web1")), "together +20 beats the roomier h3");
        PlacementPolicy onlyApart = rules(new Rule.Apart("spread", vms("web1", "web2"), false, 5));
        assertEquals(h("h3"), planner(onlyApart).place(List.of(req("web1", 1000)), hosts(9000, 3000, 8000), where())
                .placed().get(v("web1")), "soft apart avoids h1 while another host fits");
        assertEquals(h("h1"), planner(onlyApart).place(List.of(req("web1", 1000)), hosts(9000, 500, 500), where())
                .placed().get(v("web1")), "soft apart gives way when only h1 fits");
    }

    @Test
    void breaksNamesTheHardRuleAMoveWouldBreak() {
        at.put(v("db2"), List.of(h("h2")));
        at.put(v("cache"), List.of(h("h1")));
        PlacementPolicy p = PlacementPolicy.EMPTY.withGroup("g", Set.of(h("h1"), h("h2")))
                .withRule(new Rule.Apart("db", vms("db1", "db2"), true, null))
                .withRule(new Rule.Together("app", vms("app", "cache"), true, null))
                .withRule(new Rule.OnHosts("pin", vms("db1"), List.of("g"), true, false));
        Planner pl = planner(p);
        assertTrue(pl.breaks(v("db1"), h("h2"), where()).contains("apart rule db"));
        assertTrue(pl.breaks(v("db1"), h("h3"), where()).contains("host rule pin"));
        assertNull(pl.breaks(v("db1"), h("h1"), where()));
        assertTrue(pl.breaks(v("app"), h("h2"), where()).contains("together rule app"));
        assertNull(pl.breaks(v("app"), h("h1"), where()));
    }

    @Test
    void restartOrderWaitsForDependenciesUntilTheTimeoutOrForever() {
        RuleIndex idx = new RuleIndex(rules(
                new Rule.After("dns-first", vms("app"), vms("dns"), null, 60_000, Rule.OnTimeout.START),
                new Rule.After("db-first", vms("app2"), vms("db"), null, 60_000, Rule.OnTimeout.STAY_DOWN),
                new Rule.StartDelay("slow", vms("app", "batch"), 30_000)));
        assertEquals("dns-first", idx.waitingBy(v("app"), vm -> false, 59_999).id());
        assertNull(idx.waitingBy(v("app"), vm -> false, 60_000));
        assertNull(idx.waitingBy(v("app"), vm -> true, 0));
        assertEquals("db-first", idx.waitingBy(v("app2"), vm -> false, 3_600_000).id());
        assertEquals(30_000, idx.startDelayMs(v("batch")));
        assertEquals(0, idx.startDelayMs(v("dns")));
    }
}
