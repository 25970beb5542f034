package io.havn.common.place;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A pass over a shared, sorted host table with hosts left out and capacities changed places
 * exactly as a pass over the list those make; without rules, exactly as {@link Placement}.
 * Deterministic random cases (fixed seeds).
 */
class PlannerHostsTest {
    private static List<Placement.Host> hosts(Random rnd, int n) {
        List<Placement.Host> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // few distinct sizes, so that ties (broken by cpus, then name) are common
            out.add(new Placement.Host(new HostId("h" + i), new HostCapacity(4 + rnd.nextInt(3) * 4,
                    1024L * (4 + rnd.nextInt(4) * 4))));
        }
        return out;
    }

    private static List<Placement.Request> requests(Random rnd, int n, int hosts) {
        List<Placement.Request> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Set<HostId> excluded = rnd.nextInt(4) == 0 ? Set.of(new HostId("h" + rnd.nextInt(hosts))) : Set.of();
            HostId preferred = rnd.nextInt(6) == 0 ? new HostId("h" + rnd.nextInt(hosts)) : null;
            out.add(new Placement.Request(new VmId("vm" + i), Priority.values()[rnd.nextInt(3)], 1 + rnd.nextInt(4),
                    512L * (1 + rnd.nextInt(8)), excluded, preferred));
        }
        return out;
    }

    @Test
    void withoutRulesAPassPlacesExactlyAsPlacement() {
        for (int seed = 1; seed <= 300; seed++) {
            Random rnd = new Random(seed);
            int n = 1 + rnd.nextInt(20);
            List<Placement.Host> hs = hosts(rnd, n);
            List<Placement.Request> rq = requests(rnd, rnd.nextInt(40), n);
            assertEquals(Placement.place(rq, hs), new Planner(RuleIndex.EMPTY).place(rq, hs, vm -> List.of()).placed(),
                    "seed " + seed);
        }
    }

    @Test
    void hostsLeftOutAndChangedPlaceAsTheListTheyMake() {
        for (int seed = 1; seed <= 300; seed++) {
            Random rnd = new Random(seed);
            int n = 2 + rnd.nextInt(20);
            List<Placement.Host> hs = hosts(rnd, n);
            List<Placement.Request> rq = requests(rnd, rnd.nextInt(40), n);
            Set<HostId> absent = new HashSet<>();
            Map<HostId, HostCapacity> changed = new HashMap<>();
            List<Placement.Host> made = new ArrayList<>();
            for (Placement.Host h : hs) {
                int r = rnd.nextInt(5);
                if (r == 0) {
                    absent.add(h.id());
                } else if (r == 1) {
                    HostCapacity c = h.free().minus(rnd.nextInt(4), 512L * rnd.nextInt(8));
                    changed.put(h.id(), c);
                    made.add(new Placement.Host(h.id(), c));
                } else {
                    made.add(h);
                }
            }
            // a few rules, so that the rules' paths (slots by id, scans) run on both sides
            List<Rule> rules = new ArrayList<>();
            if (rq.size() >= 4) {
                rules.add(new Rule.Apart("a", List.of(rq.get(0).vm(), rq.get(1).vm()), true, null));
                rules.add(new Rule.Together("t", List.of(rq.get(2).vm(), rq.get(3).vm()), rnd.nextBoolean(), null));
            }
            Planner p = new Planner(new RuleIndex(new PlacementPolicy(null, rules, 0, false, null)));
            Planner.Plan viaTable = p.place(rq, new Planner.Hosts(hs), absent, changed, vm -> List.of());
            Planner.Plan viaList = p.place(rq, made, vm -> List.of());
            assertEquals(viaList.placed(), viaTable.placed(), "seed " + seed);
            assertEquals(viaList.unplaced(), viaTable.unplaced(), "seed " + seed);
        }
    }
}
