package io.havn.common.place;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** {@link Placement#place}: pure, deterministic, capacity-aware placement. */
class PlacementTest {

    // ------------------------------------------------------------------ priority

    @Test
    void highPriorityIsServedFirstWhenCapacityIsShort() {
        // the low one is larger and sorts first by name; only priority puts the high one first
        Placement.Request low = req("a-low", Priority.LOW, 4, 8_000);
        Placement.Request medium = req("m-medium", Priority.MEDIUM, 4, 6_000);
        Placement.Request high = req("z-high", Priority.HIGH, 4, 4_000);
        List<Placement.Host> hosts = List.of(host("h1", 8, 100_000));

        Map<VmId, HostId> out = Placement.place(List.of(low, medium, high), hosts);

        assertEquals(Map.of(vm("z-high"), hid("h1"), vm("m-medium"), hid("h1")), out,
                "room for two of three: high, then medium; low is left out");
        assertEquals(List.of(vm("z-high"), vm("m-medium")), new ArrayList<>(out.keySet()),
                "the result lists VMs in service order");
    }

    @Test
    void withinAPriorityLargerVmsAreServedFirst() {
        Placement.Request small = req("a-small", Priority.MEDIUM, 1, 2_000);
        Placement.Request large = req("z-large", Priority.MEDIUM, 1, 6_000);
        Map<VmId, HostId> out = Placement.place(List.of(small, large), List.of(host("h1", 8, 7_000)));
        assertEquals(Map.of(vm("z-large"), hid("h1")), out, "the larger VM of the same priority gets the room");
    }

    // ------------------------------------------------------------------ spread

    @Test
    void equalVmsSpreadOverEqualHosts() {
        List<Placement.Request> rs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            rs.add(req("v" + i, Priority.MEDIUM, 1, 1_024));
        }
        List<Placement.Host> hosts = List.of(host("h1", 32, 131_072), host("h2", 32, 131_072),
                host("h3", 32, 131_072));

        Map<VmId, HostId> out = Placement.place(rs, hosts);

        assertEquals(6, out.size(), "all placed: " + out);
        Map<HostId, Integer> perHost = new HashMap<>();
        out.values().forEach(h -> perHost.merge(h, 1, Integer::sum));
        assertEquals(Map.of(hid("h1"), 2, hid("h2"), 2, hid("h3"), 2), perHost, "two per host: " + out);
    }

    @Test
    void eachVmGoesToTheHostWithTheMostFreeMemory() {
        List<Placement.Host> hosts = List.of(host("h1", 32, 10_000), host("h2", 32, 50_000), host("h3", 32, 30_000));
        Map<VmId, HostId> out = Placement.place(List.of(req("v", Priority.MEDIUM, 1, 1_000)), hosts);
        assertEquals(Map.of(vm("v"), hid("h2")), out, "the most free memory wins");

        // a big one lands on the most free host, and the next goes elsewhere because of it
        Map<VmId, HostId> two = Placement.place(List.of(req("big", Priority.HIGH, 1, 30_000),
                req("next", Priority.LOW, 1, 1_000)), hosts);
        assertEquals(hid("h2"), two.get(vm("big")), "big on h2: " + two);
        assertEquals(hid("h3"), two.get(vm("next")), "next on h3, now the most free (30000 vs 20000): " + two);
    }

    // ------------------------------------------------------------------ capacity

    @Test
    void aHostWithoutEnoughCpusIsNotChosen() {
        List<Placement.Host> hosts = List.of(host("lots-of-memory", 2, 500_000), host("h2", 8, 10_000));
        Map<VmId, HostId> out = Placement.place(List.of(req("v", Priority.MEDIUM, 4, 2_000)), hosts);
        assertEquals(Map.of(vm("v"), hid("h2")), out, "4 cpus do not fit in 2");
    }

    @Test
    void aHostWithoutEnoughMemoryIsNotChosen() {
        List<Placement.Host> hosts = List.of(host("lots-of-cpus", 64, 4_000), host("h2", 4, 3_000));
        Map<VmId, HostId> out = Placement.place(List.of(req("v", Priority.MEDIUM, 2, 5_000)), hosts);
        assertEquals(Map.of(), out, "5000 MiB fit nowhere");
        Map<VmId, HostId> fits = Placement.place(List.of(req("v", Priority.MEDIUM, 2, 4_000)), hosts);
        assertEquals(Map.of(vm("v"), hid("lots-of-cpus")), fits, "exactly 4000 MiB fit");
    }

    @Test
    void aVmThatFitsNowhereIsLeftOutAndTheOthersArePlaced() {
        List<Placement.Host> hosts = List.of(host("h1", 16, 65_536), host("h2", 16, 65_536));
        Map<VmId, HostId> out = Placement.place(List.of(req("huge", Priority.HIGH, 20, 1_000),
                req("ok", Priority.LOW, 2, 1_000)), hosts);
        assertFalse(out.containsKey(vm("huge")), "20 cpus fit on no 16-cpu host: " + out);
        assertTrue(out.containsKey(vm("ok")), "the one that fits is placed: " + out);
    }

    @Test
    void capacityIsUsedUpAcrossRequests() {
        List<Placement.Host> hosts = List.of(host("h1", 8, 8_000));
        List<Placement.Request> rs = List.of(req("v1", Priority.MEDIUM, 3, 1_000), req("v2", Priority.MEDIUM, 3, 1_000),
                req("v3", Priority.MEDIUM, 3, 1_000));
        Map<VmId, HostId> out = Placement.place(rs, hosts);
        assertEquals(2, out.size(), "8 cpus take two VMs of 3: " + out);
        assertEquals(Set.of(vm("v1"), vm("v2")), out.keySet(), "ties by id: " + out);
    }

    @Test
    void noHostsMeansNothingIsPlaced() {
        assertEquals(Map.of(), Placement.place(List.of(req("v", Priority.HIGH, 1, 1)), List.of()));
        assertEquals(Map.of(), Placement.place(List.of(), List.of(host("h1", 8, 8_000))));
    }

    // ------------------------------------------------------------------ exclusions

    @Test
    void anExcludedHostIsNeverChosenEvenWhenItIsTheMostFree() {
        List<Placement.Host> hosts = List.of(host("h1", 32, 131_072), host("h2", 8, 4_096));
        Placement.Request r = new Placement.Request(vm("v"), Priority.HIGH, 1, 1_024, Set.of(hid("h1")), null);
        assertEquals(Map.of(vm("v"), hid("h2")), Placement.place(List.of(r), hosts), "h1 is excluded");
    }

    @Test
    void aVmWhoseOnlyFittingHostsAreExcludedIsLeftOut() {
        List<Placement.Host> hosts = List.of(host("h1", 32, 131_072), host("h2", 32, 131_072));
        Placement.Request r = new Placement.Request(vm("v"), Priority.HIGH, 1, 1_024, Set.of(hid("h1"), hid("h2")),
                null);
        assertEquals(Map.of(), Placement.place(List.of(r), hosts), "every host excluded");
    }

    @Test
    void anExcludedHostIsNotChosenEvenWhenPreferred() {
        List<Placement.Host> hosts = List.of(host("h1", 32, 131_072), host("h2", 32, 131_072));
        Placement.Request r = new Placement.Request(vm("v"), Priority.HIGH, 1, 1_024, Set.of(hid("h2")), hid("h2"));
        assertEquals(Map.of(vm("v"), hid("h1")), Placement.place(List.of(r), hosts), "exclusion outranks preference");
    }

    // ------------------------------------------------------------------ preferred host

    @Test
    void aPreferredHostIsHonouredWhenItFits() {
        List<Placement.Host> hosts = List.of(host("h1", 32, 131_072), host("h2", 4, 8_192));
        Placement.Request r = new Placement.Request(vm("v"), Priority.MEDIUM, 2, 4_096, Set.of(), hid("h2"));
        assertEquals(Map.of(vm("v"), hid("h2")), Placement.place(List.of(r), hosts),
                "h2 is preferred and fits, though h1 has more free");
    }

    @Test
    void aPreferredHostIsIgnoredWhenItDoesNotFit() {
        List<Placement.Host> hosts = List.of(host("h1", 32, 131_072), host("h2", 4, 8_192), host("h3", 16, 65_536));
        Placement.Request tooManyCpus = new Placement.Request(vm("v"), Priority.MEDIUM, 8, 4_096, Set.of(), hid("h2"));
        assertEquals(Map.of(vm("v"), hid("h1")), Placement.place(List.of(tooManyCpus), hosts),
                "h2 lacks cpus: the usual choice instead");
        Placement.Request tooMuchMemory = new Placement.Request(vm("w"), Priority.MEDIUM, 1, 16_384, Set.of(),
                hid("h2"));
        assertEquals(Map.of(vm("w"), hid("h1")), Placement.place(List.of(tooMuchMemory), hosts),
                "h2 lacks memory: the usual choice instead");
    }

    @Test
    void aPreferredHostThatIsNotEligibleIsIgnored() {
        List<Placement.Host> hosts = List.of(host("h1", 32, 131_072));
        Placement.Request r = new Placement.Request(vm("v"), Priority.MEDIUM, 1, 1_024, Set.of(), hid("gone"));
        assertEquals(Map.of(vm("v"), hid("h1")), Placement.place(List.of(r), hosts), "not in the eligible list");
    }

    @Test
    void aPreferredHostIsIgnoredOnceEarlierRequestsFilledIt() {
        List<Placement.Host> hosts = List.of(host("h1", 32, 131_072), host("h2", 4, 8_192));
        Placement.Request first = new Placement.Request(vm("first"), Priority.HIGH, 4, 1_024, Set.of(), hid("h2"));
        Placement.Request second = new Placement.Request(vm("second"), Priority.LOW, 1, 1_024, Set.of(), hid("h2"));
        Map<VmId, HostId> out = Placement.place(List.of(second, first), hosts);
        assertEquals(hid("h2"), out.get(vm("first")), "first takes all of h2's cpus: " + out);
        assertEquals(hid("h1"), out.get(vm("second")), "h2 is full for second: " + out);
    }

    // ------------------------------------------------------------------ determinism

    @Test
    void outputIsDeterministicWhateverTheInputOrder() {
        List<Placement.Request> rs = new ArrayList<>();
        Priority[] prios = Priority.values();
        for (int i = 0; i < 30; i++) {
            rs.add(req(String.format("v%02d", i), prios[i % 3], 1 + i % 4, 1_024L * (1 + i % 5)));
        }
        List<Placement.Host> hosts = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            hosts.add(host("h" + i, 8 + i, 8_192L * (1 + i % 2)));
        }
        LinkedHashMap<VmId, HostId> reference = new LinkedHashMap<>(Placement.place(rs, hosts));
        assertFalse(reference.isEmpty(), "something is placed");
        Random random = new Random(42);
        for (int round = 0; round < 20; round++) {
            List<Placement.Request> r2 = new ArrayList<>(rs);
            List<Placement.Host> h2 = new ArrayList<>(hosts);
            Collections.shuffle(r2, random);
            Collections.shuffle(h2, random);
            Map<VmId, HostId> again = Placement.place(r2, h2);
            assertEquals(reference, again, "same placement for shuffled input, round " + round);
            assertEquals(new ArrayList<>(reference.keySet()), new ArrayList<>(again.keySet()),
                    "same service order, round " + round);
        }
        assertEquals(reference, Placement.place(rs, hosts), "same placement for the same input");
    }

    @Test
    void placeDoesNotChangeItsInputs() {
        List<Placement.Request> rs = new ArrayList<>(List.of(req("b", Priority.LOW, 1, 1), req("a", Priority.HIGH,
                1, 1)));
        List<Placement.Request> copy = List.copyOf(rs);
        List<Placement.Host> hosts = new ArrayList<>(List.of(host("h1", 2, 2)));
        Placement.place(rs, hosts);
        assertEquals(copy, rs, "requests untouched");
        assertEquals(List.of(host("h1", 2, 2)), hosts, "hosts untouched (their free capacity too)");
    }

    // ------------------------------------------------------------------ properties

    /** A random placement problem: hosts with unique names, requests with exclusions and preferences. */
    record Problem(List<Placement.Host> hosts, List<Placement.Request> requests) { }

    @Provide
    Arbitrary<Problem> problems() {
        Arbitrary<List<HostCapacity>> capacities = Combinators.combine(
                        Arbitraries.integers().between(0, 32), Arbitraries.longs().between(0, 131_072))
                .as(HostCapacity::new).list().ofMinSize(0).ofMaxSize(6);
        return capacities.flatMap(caps -> {
            List<Placement.Host> hosts = new ArrayList<>();
            for (int i = 0; i < caps.size(); i++) {
                hosts.add(new Placement.Host(hid("h" + i), caps.get(i)));
            }
            int n = Math.max(1, caps.size());
            Arbitrary<Placement.Request> request = Combinators.combine(
                    Arbitraries.of(Priority.class),
                    Arbitraries.integers().between(1, 16),
                    Arbitraries.longs().between(1, 65_536),
                    Arbitraries.integers().between(0, n + 1).set().ofMaxSize(3),
                    Arbitraries.integers().between(-1, n + 1)
            ).as((prio, cpus, mem, excluded, preferred) -> {
                Set<HostId> ex = new HashSet<>();
                excluded.forEach(i -> ex.add(hid("h" + i)));
                return new Placement.Request(VmId.of("v"), prio, cpus, mem, ex,
                        preferred < 0 ? null : hid("h" + preferred));
            });
            return request.list().ofMaxSize(40).map(list -> {
                List<Placement.Request> named = new ArrayList<>();
                for (int i = 0; i < list.size(); i++) {
                    Placement.Request r = list.get(i);
                    named.add(new Placement.Request(VmId.of("v" + i), r.priority(), r.cpus(), r.memoryMiB(),
                            r.excluded(), r.preferred()));
                }
                return new Problem(hosts, named);
            });
        });
    }

    @Property(tries = 500)
    void noHostIsEverGivenMoreThanItsFreeCapacity(@ForAll("problems") Problem p) {
        Map<VmId, HostId> out = Placement.place(p.requests(), p.hosts());
        Map<HostId, HostCapacity> free = new HashMap<>();
        p.hosts().forEach(h -> free.put(h.id(), h.free()));
        Map<VmId, Placement.Request> byVm = new HashMap<>();
        p.requests().forEach(r -> byVm.put(r.vm(), r));
        Map<HostId, long[]> used = new HashMap<>();
        out.forEach((vm, h) -> {
            Placement.Request r = byVm.get(vm);
            assertTrue(free.containsKey(h), "placed only on given hosts: " + vm + " on " + h);
            long[] u = used.computeIfAbsent(h, k -> new long[2]);
            u[0] += r.cpus();
            u[1] += r.memoryMiB();
        });
        used.forEach((h, u) -> {
            assertTrue(u[0] <= free.get(h).cpus(), h + " got " + u[0] + " cpus, has " + free.get(h).cpus() + " free: "
                    + out + " for " + p);
            assertTrue(u[1] <= free.get(h).memoryMiB(), h + " got " + u[1] + " MiB, has " + free.get(h).memoryMiB()
                    + " free: " + out + " for " + p);
        });
    }

    @Property(tries = 300)
    void noVmIsEverPlacedOnAHostItExcludes(@ForAll("problems") Problem p) {
        Map<VmId, HostId> out = Placement.place(p.requests(), p.hosts());
        for (Placement.Request r : p.requests()) {
            HostId h = out.get(r.vm());
            if (h != null) {
                assertFalse(r.excluded().contains(h), r.vm() + " placed on excluded " + h + ": " + out);
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Placement.Request req(String vm, Priority priority, int cpus, long memoryMiB) {
        return new Placement.Request(vm(vm), priority, cpus, memoryMiB, Set.of(), null);
    }

    private static Placement.Host host(String id, int cpus, long memoryMiB) {
        return new Placement.Host(hid(id), new HostCapacity(cpus, memoryMiB));
    }

    private static VmId vm(String id) {
        return new VmId(id);
    }

    private static HostId hid(String id) {
        return new HostId(id);
    }
}
