package io.havn.common.place;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Placement under the operators' rules, one pass for a whole round: hard rules filter hosts (a VM
 * that no host satisfies stays unplaced, with the rules that blocked it), then hosts compare by
 * group preference, then by soft rules' weights, then by free memory (most first, which spreads
 * load, as {@link Placement}). VMs bound by hard {@code together} rules are placed as one unit on
 * a host that fits them all, or next to the members that already run. Pure and deterministic.
 *
 * <p>A VM's place for the rules is where it holds capacity now ({@link Locator}), or where this
 * pass put it. A VM being placed does not hold its old host for the rules.
 */
public final class Planner {
    /** Where a VM holds capacity now: its owner (and its target while migrating); empty if nowhere. */
    @FunctionalInterface
    public interface Locator {
        Collection<HostId> hostsOf(VmId vm);
    }

    /**
     * The outcome of a pass.
     *
     * @param placed   each placed VM's host, in service order
     * @param unplaced why each VM left unplaced fits nowhere
     * @param rules    for each VM, the rules that chose or excluded hosts for it (placed or not)
     * @param blocked  for each rule, how many VMs it left unplaced (a VM counts for every rule that
     *                 excluded a host with room for it)
     */
    public record Plan(Map<VmId, HostId> placed, Map<VmId, String> unplaced, Map<VmId, List<String>> rules,
                       Map<String, Integer> blocked) {
    }

    /** How many hosts with a soft-rule penalty a scan passes before it settles for the best of them. */
    private static final int PENALIZED_SCAN = 32;

    private final RuleIndex idx;

    public Planner(RuleIndex index) {
        this.idx = Objects.requireNonNull(index, "index");
    }

    public RuleIndex index() {
        return idx;
    }

    private static final class Slot {
        final HostId id;
        int cpus;
        long memoryMiB;

        Slot(Placement.Host h) {
            this(h.id(), h.free());
        }

        Slot(HostId id, HostCapacity free) {
            this.id = id;
            cpus = free.cpus();
            memoryMiB = free.memoryMiB();
        }
    }

    private static final Comparator<Slot> MOST_FREE = Comparator.<Slot>comparingLong(s -> -s.memoryMiB)
            .thenComparingInt(s -> -s.cpus)
            .thenComparing(s -> s.id);

    /**
     * Hosts with what they have free, sorted once (most free first) and shared by any number of
     * passes: a pass copies only the hosts it changes, so many passes over one large cluster (what
     * admission control and what-if replay) cost what they place, not what the cluster holds.
     * Immutable.
     */
    public static final class Hosts {
        private final Placement.Host[] sorted;
        private final Map<HostId, Placement.Host> byId;

        public Hosts(Collection<Placement.Host> hosts) {
            byId = new HashMap<>(hosts.size() * 2);
            for (Placement.Host h : hosts) {
                if (byId.put(h.id(), h) != null) {
                    throw new IllegalArgumentException("host " + h.id() + " is listed twice");
                }
            }
            sorted = hosts.toArray(new Placement.Host[0]);
            java.util.Arrays.sort(sorted, Comparator.<Placement.Host>comparingLong(h -> -h.free().memoryMiB())
                    .thenComparingInt(h -> -h.free().cpus())
                    .thenComparing(Placement.Host::id));
        }
    }

    /** One pass's working state. */
    private final class Pass {
        final Locator where;
        final Map<VmId, Placement.Request> requested = new HashMap<>();
        final Map<VmId, HostId> placedHere = new HashMap<>();
        final Hosts hosts;
        final Set<HostId> absent;
        /** The hosts whose free capacity differs from {@link #hosts}' (changed by the caller or taken here). */
        final Map<HostId, Slot> changed = new HashMap<>();
        final TreeSet<Slot> changedByFree = new TreeSet<>(MOST_FREE);

        Pass(Collection<Placement.Request> requests, Hosts hosts, Set<HostId> absent,
             Map<HostId, HostCapacity> changedFree, Locator where) {
            this.where = where;
            this.hosts = hosts;
            this.absent = absent;
            for (Placement.Request r : requests) {
                requested.put(r.vm(), r);
            }
            changedFree.forEach((h, c) -> {
                if (hosts.byId.containsKey(h) && !absent.contains(h)) {
                    Slot s = new Slot(h, c);
                    changed.put(h, s);
                    changedByFree.add(s);
                }
            });
        }

        /** Host {@code h} as this pass has it, or null if it may take nothing. */
        Slot slot(HostId h) {
            Slot s = changed.get(h);
            if (s != null) {
                return s;
            }
            Placement.Host b = hosts.byId.get(h);
            return b == null || absent.contains(h) ? null : new Slot(b);
        }

        /** The hosts that may take VMs, most free first (ties: more cpus, then name). */
        Iterable<Slot> byFree() {
            return () -> new java.util.Iterator<>() {
                private int i;
                private final java.util.Iterator<Slot> c = changedByFree.iterator();
                private Slot base = nextBase();
                private Slot other = c.hasNext() ? c.next() : null;

                private Slot nextBase() {
                    while (i < hosts.sorted.length) {
                        Placement.Host h = hosts.sorted[i++];
                        if (!absent.contains(h.id()) && !changed.containsKey(h.id())) {
                            return new Slot(h);
                        }
                    }
                    return null;
                }

                @Override
                public boolean hasNext() {
                    return base != null || other != null;
                }

                @Override
                public Slot next() {
                    Slot out;
                    if (other == null || (base != null && MOST_FREE.compare(base, other) < 0)) {
                        out = base;
                        base = nextBase();
                    } else {
                        out = other;
                        other = c.hasNext() ? c.next() : null;
                    }
                    if (out == null) {
                        throw new java.util.NoSuchElementException();
                    }
                    return out;
                }
            };
        }

        /** Where {@code vm} is for the rules: placed in this pass, or held now unless it is being placed. */
        Collection<HostId> hostsOf(VmId vm) {
            HostId here = placedHere.get(vm);
            if (here != null) {
                return List.of(here);
            }
            if (requested.containsKey(vm)) {
                return List.of();
            }
            Collection<HostId> h = where.hostsOf(vm);
            return h == null ? List.of() : h;
        }

        /** Takes capacity from host {@code id} (as this pass has it). */
        void take(HostId id, int cpus, long memoryMiB) {
            Slot s = changed.get(id);
            if (s == null) {
                s = new Slot(hosts.byId.get(id));
                changed.put(id, s);
            } else {
                changedByFree.remove(s);
            }
            s.cpus -= cpus;
            s.memoryMiB -= memoryMiB;
            changedByFree.add(s);
        }
    }

    /** VMs placed as one: the requests of a hard together group that need a host in this pass. */
    private final class Unit {
        final List<Placement.Request> members = new ArrayList<>();
        final Set<VmId> ids = new HashSet<>();
        int cpus;
        long memoryMiB;
        final Set<HostId> excluded = new HashSet<>();
        HostId source;
        HostId preferred;
        /** The host the unit's other together members hold (null: none), or a refusal. */
        HostId anchor;
        String anchorRule;
        String conflict;
        Set<HostId> allowed;
        final Set<String> touched = new LinkedHashSet<>();
        boolean prefers;

        void add(Placement.Request r) {
            members.add(r);
            ids.add(r.vm());
            cpus += r.cpus();
            memoryMiB += r.memoryMiB();
            excluded.addAll(r.excluded());
            if (r.source() != null) {
                source = r.source();
            }
        }

        /** Works out the unit's anchor, extra demand, allowed hosts and whether it has preferences. */
        void prepare(Pass p) {
            if (members.size() == 1) {
                preferred = members.get(0).preferred();
            }
            Set<VmId> group = idx.togetherWith(members.get(0).vm());
            if (group.size() > 1) {
                for (VmId o : group) {
                    if (ids.contains(o)) {
                        continue;
                    }
                    for (HostId h : p.hostsOf(o)) {
                        if (h.equals(source)) {
                            continue; // it leaves the source too: it follows this unit, not the other way
                        }
                        if (anchor == null) {
                            anchor = h;
                            anchorRule = togetherRule(members.get(0).vm(), o);
                        } else if (!anchor.equals(h)) {
                            conflict = "hard together rule " + togetherRule(members.get(0).vm(), o) + ": its VMs are on "
                                    + anchor + " and " + h + " (a migration is under way); it waits";
                        }
                    }
                }
                if (anchorRule != null) {
                    touched.add(anchorRule);
                }
            }
            for (Placement.Request r : members) {
                Set<HostId> a = idx.allowed(r.vm());
                if (a != null) {
                    allowed = allowed == null ? new HashSet<>(a) : intersect(allowed, a);
                    for (Rule rule : idx.rulesOf(r.vm())) {
                        if (rule instanceof Rule.OnHosts o && o.strict()) {
                            touched.add(rule.id());
                        }
                    }
                }
                for (Rule rule : idx.rulesOf(r.vm())) {
                    if (rule instanceof Rule.OnHosts || (rule instanceof Rule.Together t && !t.hard())) {
                        prefers = true;
                    }
                }
            }
        }

        /** The hard apart rule that keeps the unit off {@code h}, or null. */
        String apartBlock(Pass p, HostId h) {
            for (Placement.Request r : members) {
                for (Rule rule : idx.rulesOf(r.vm())) {
                    if (rule instanceof Rule.Apart a && a.hard()) {
                        for (VmId o : a.vms()) {
                            if (!ids.contains(o) && p.hostsOf(o).contains(h)) {
                                return a.id();
                            }
                        }
                    }
                }
            }
            return null;
        }

        /** The soft rules' score of {@code h}: weights of together members there, minus those of apart members. */
        long score(Pass p, HostId h, Set<String> scored) {
            long score = 0;
            for (Placement.Request r : members) {
                for (Rule rule : idx.rulesOf(r.vm())) {
                    if (rule.hard()) {
                        continue;
                    }
                    int sign;
                    int weight;
                    List<VmId> vms;
                    if (rule instanceof Rule.Together t) {
                        sign = 1;
                        weight = t.weight();
                        vms = t.vms();
                    } else if (rule instanceof Rule.Apart a) {
                        sign = -1;
                        weight = a.weight();
                        vms = a.vms();
                    } else {
                        continue;
                    }
                    for (VmId o : vms) {
                        if (!ids.contains(o) && p.hostsOf(o).contains(h)) {
                            score += (long) sign * weight;
                            if (scored != null) {
                                scored.add(rule.id());
                            }
                        }
                    }
                }
            }
            return score;
        }

        int tier(HostId h) {
            int best = Integer.MAX_VALUE;
            for (Placement.Request r : members) {
                best = Math.min(best, idx.tier(r.vm(), h));
            }
            return best;
        }

        /** Whether {@code s} passes the unit's hard constraints (and has room for it). */
        String anchorRuleOrAny() {
            return anchorRule != null ? anchorRule : togetherRule(members.get(0).vm(), members.get(1).vm());
        }

        /** Whether {@code s} passes the unit's hard constraints and has room; an apart rule that excludes it is noted. */
        boolean admits(Pass p, Slot s) {
            if (s.cpus < cpus || s.memoryMiB < memoryMiB || excluded.contains(s.id)
                    || (allowed != null && !allowed.contains(s.id))) {
                return false;
            }
            String apart = apartBlock(p, s.id);
            if (apart != null) {
                touched.add(apart);
                return false;
            }
            return true;
        }
    }

    private String togetherRule(VmId a, VmId b) {
        String first = null;
        for (Rule r : idx.rulesOf(a)) {
            if (r instanceof Rule.Together t && t.hard()) {
                if (t.vms().contains(b)) {
                    return t.id();
                }
                if (first == null) {
                    first = t.id();
                }
            }
        }
        return first;
    }

    private static Set<HostId> intersect(Set<HostId> a, Set<HostId> b) {
        a.retainAll(b);
        return a;
    }

    /**
     * Places as many requests as fit under the rules, in {@link Placement#ORDER} (a together group
     * when its first member comes up).
     */
    public Plan place(Collection<Placement.Request> requests, Collection<Placement.Host> hosts, Locator where) {
        return place(requests, new Hosts(hosts), Set.of(), Map.of(), where);
    }

    /**
     * As {@link #place(Collection, Collection, Locator)}, on {@code hosts} but for those in
     * {@code absent}, with the free capacity of those in {@code changedFree} as it says.
     */
    public Plan place(Collection<Placement.Request> requests, Hosts hosts, Set<HostId> absent,
                      Map<HostId, HostCapacity> changedFree, Locator where) {
        Pass p = new Pass(requests, hosts, absent, changedFree, where);
        List<Placement.Request> order = new ArrayList<>(requests);
        order.sort(Placement.ORDER);
        Map<VmId, HostId> out = new LinkedHashMap<>();
        Map<VmId, String> unplaced = new LinkedHashMap<>();
        Map<VmId, List<String>> rules = new HashMap<>();
        Map<String, Integer> blocked = new TreeMap<>();
        Set<VmId> done = new HashSet<>();
        for (Placement.Request first : order) {
            if (!done.add(first.vm())) {
                continue;
            }
            Unit u = new Unit();
            u.add(first);
            for (VmId o : idx.togetherWith(first.vm())) {
                Placement.Request r = p.requested.get(o);
                if (r != null && done.add(o)) {
                    u.add(r);
                }
            }
            u.prepare(p);
            Slot chosen = u.conflict == null ? choose(p, u) : null;
            if (chosen != null) {
                p.take(chosen.id, u.cpus, u.memoryMiB);
                Set<String> scored = new LinkedHashSet<>(u.touched);
                u.score(p, chosen.id, scored);
                for (Placement.Request r : u.members) {
                    for (Rule rule : idx.rulesOf(r.vm())) {
                        if (rule instanceof Rule.OnHosts && idx.tier(r.vm(), chosen.id) != Integer.MAX_VALUE) {
                            scored.add(rule.id());
                        }
                    }
                }
                for (Placement.Request r : u.members) {
                    p.placedHere.put(r.vm(), chosen.id);
                    out.put(r.vm(), chosen.id);
                    if (!scored.isEmpty()) {
                        rules.put(r.vm(), List.copyOf(scored));
                    }
                }
                continue;
            }
            String why;
            Set<String> by = new LinkedHashSet<>();
            if (u.conflict != null) {
                why = u.conflict;
                by.add(u.anchorRule);
            } else {
                why = explain(p, u, by);
            }
            for (Placement.Request r : u.members) {
                unplaced.put(r.vm(), why);
                if (!by.isEmpty()) {
                    rules.put(r.vm(), List.copyOf(by));
                }
            }
            for (String id : by) {
                blocked.merge(id, u.members.size(), Integer::sum);
            }
        }
        return new Plan(out, unplaced, rules, blocked);
    }

    private Slot choose(Pass p, Unit u) {
        if (u.anchor != null) {
            Slot s = p.slot(u.anchor);
            return s != null && u.admits(p, s) ? s : null;
        }
        if (u.preferred != null) {
            Slot s = p.slot(u.preferred);
            if (s != null && u.admits(p, s)) {
                return s;
            }
        }
        List<Slot> candidates = new ArrayList<>();
        if (u.allowed != null) {
            for (HostId h : u.allowed) {
                Slot s = p.slot(h);
                if (s != null && u.admits(p, s)) {
                    candidates.add(s);
                }
            }
        } else {
            if (u.prefers) {
                for (Placement.Request r : u.members) {
                    for (Rule rule : idx.rulesOf(r.vm())) {
                        if (rule instanceof Rule.OnHosts o) {
                            addAdmitted(p, u, idx.policy().hostsOf(o.groups()), candidates);
                        } else if (rule instanceof Rule.Together t && !t.hard()) {
                            for (VmId v : t.vms()) {
                                if (!u.ids.contains(v)) {
                                    addAdmitted(p, u, p.hostsOf(v), candidates);
                                }
                            }
                        }
                    }
                }
            }
            int penalized = 0;
            for (Slot s : p.byFree()) {
                if (s.memoryMiB < u.memoryMiB || penalized >= PENALIZED_SCAN) {
                    break; // sorted by free memory: nothing further fits
                }
                if (u.admits(p, s)) {
                    candidates.add(s);
                    if (u.score(p, s.id, null) >= 0) {
                        break;
                    }
                    penalized++;
                }
            }
        }
        Slot best = null;
        int bestTier = 0;
        long bestScore = 0;
        for (Slot s : candidates) {
            int tier = u.tier(s.id);
            long score = u.score(p, s.id, null);
            if (best == null || tier < bestTier || (tier == bestTier && (score > bestScore
                    || (score == bestScore && MOST_FREE.compare(s, best) < 0)))) {
                best = s;
                bestTier = tier;
                bestScore = score;
            }
        }
        return best;
    }

    private static void addAdmitted(Pass p, Unit u, Collection<HostId> hosts, List<Slot> into) {
        for (HostId h : hosts) {
            Slot s = p.slot(h);
            if (s != null && u.admits(p, s)) {
                into.add(s);
            }
        }
    }

    /** Why the unit fits nowhere, naming the rules that excluded hosts with room (collected in {@code by}). */
    private String explain(Pass p, Unit u, Set<String> by) {
        String what = u.members.size() == 1 ? "" : " for the " + u.members.size() + " VMs of hard together rule "
                + u.anchorRuleOrAny();
        if (u.anchor != null) {
            Slot s = p.slot(u.anchor);
            by.add(u.anchorRule);
            return "hard together rule " + u.anchorRule + ": it must run on " + u.anchor + ", which "
                    + (s == null ? "cannot take VMs now (not live, in maintenance, reserved or suspected)"
                    : "has " + s.cpus + " cpus and " + s.memoryMiB + " MiB free of " + u.cpus + " and " + u.memoryMiB
                    + " needed" + (u.excluded.contains(s.id) ? " (and failed it before)" : ""));
        }
        boolean roomy = false;
        for (Slot s : p.byFree()) {
            if (s.memoryMiB < u.memoryMiB) {
                break;
            }
            if (s.cpus < u.cpus || u.excluded.contains(s.id)) {
                continue;
            }
            roomy = true;
            if (u.allowed != null && !u.allowed.contains(s.id)) {
                for (Placement.Request r : u.members) {
                    for (Rule rule : idx.rulesOf(r.vm())) {
                        if (rule instanceof Rule.OnHosts o && o.strict()
                                && !idx.policy().hostsOf(o.groups()).contains(s.id)) {
                            by.add(rule.id());
                        }
                    }
                }
                continue;
            }
            String apart = u.apartBlock(p, s.id);
            if (apart != null) {
                by.add(apart);
            }
        }
        if (!roomy) {
            return "no eligible host has " + u.cpus + " cpus and " + u.memoryMiB + " MiB free" + what;
        }
        return "the hosts with room are excluded by hard rule" + (by.size() == 1 ? " " : "s ") + String.join(", ", by)
                + what;
    }

    /**
     * Whether {@code vm} on {@code host} breaks a hard rule, with the other VMs where {@code where}
     * says: the rule and why, or null.
     */
    public String breaks(VmId vm, HostId host, Locator where) {
        Set<HostId> a = idx.allowed(vm);
        if (a != null && !a.contains(host)) {
            for (Rule rule : idx.rulesOf(vm)) {
                if (rule instanceof Rule.OnHosts o && o.strict() && !idx.policy().hostsOf(o.groups()).contains(host)) {
                    return "hard host rule " + rule.id() + ": " + vm + " runs only on the hosts of " + o.groups();
                }
            }
        }
        for (Rule rule : idx.rulesOf(vm)) {
            if (rule instanceof Rule.Apart ap && ap.hard()) {
                for (VmId o : ap.vms()) {
                    if (!o.equals(vm) && where.hostsOf(o).contains(host)) {
                        return "hard apart rule " + rule.id() + ": " + o + " runs on " + host;
                    }
                }
            } else if (rule instanceof Rule.Together t && t.hard()) {
                for (VmId o : t.vms()) {
                    if (o.equals(vm)) {
                        continue;
                    }
                    for (HostId h : where.hostsOf(o)) {
                        if (!h.equals(host)) {
                            return "hard together rule " + t.id() + ": " + o + " runs on " + h;
                        }
                    }
                }
            }
        }
        return null;
    }
}
