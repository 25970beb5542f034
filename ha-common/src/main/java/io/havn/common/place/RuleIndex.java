package io.havn.common.place;

import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A placement policy indexed by VM, built once per policy: the rules each VM is in, the groups of
 * VMs that hard {@code together} rules bind (transitively), and the hosts each strict rule allows.
 * Immutable.
 */
public final class RuleIndex {
    public static final RuleIndex EMPTY = new RuleIndex(PlacementPolicy.EMPTY);

    private final PlacementPolicy policy;
    private final Map<VmId, List<Rule>> byVm = new HashMap<>();
    /** For each VM bound by a hard together rule: every VM it must share a host with, itself included. */
    private final Map<VmId, Set<VmId>> together = new HashMap<>();
    /** The groups of VMs hard together rules bind, each once. */
    private final List<Set<VmId>> groups = new ArrayList<>();
    /** For each VM that waits for others: the rules it waits by. */
    private final Map<VmId, List<Rule.After>> waits = new HashMap<>();
    private final Map<VmId, Long> delays = new HashMap<>();
    /** The VMs a rule that fails back places, in id order. */
    private final java.util.SortedSet<VmId> failingBack = new java.util.TreeSet<>();

    public RuleIndex(PlacementPolicy policy) {
        this.policy = policy;
        Map<VmId, VmId> parent = new HashMap<>();
        for (Rule r : policy.rules()) {
            for (VmId v : r.vms()) {
                byVm.computeIfAbsent(v, k -> new ArrayList<>()).add(r);
            }
            if (r instanceof Rule.Together t && t.hard()) {
                VmId first = t.vms().get(0);
                for (VmId v : t.vms()) {
                    union(parent, first, v);
                }
            } else if (r instanceof Rule.After a) {
                for (VmId v : a.vms()) {
                    waits.computeIfAbsent(v, k -> new ArrayList<>()).add(a);
                }
            } else if (r instanceof Rule.OnHosts o && o.failback()) {
                failingBack.addAll(o.vms());
            } else if (r instanceof Rule.StartDelay d) {
                for (VmId v : d.vms()) {
                    delays.merge(v, d.delayMs(), Math::max);
                }
            }
        }
        Map<VmId, Set<VmId>> components = new HashMap<>();
        for (VmId v : parent.keySet()) {
            components.computeIfAbsent(find(parent, v), k -> new LinkedHashSet<>()).add(v);
        }
        for (Set<VmId> c : components.values()) {
            Set<VmId> frozen = Collections.unmodifiableSet(c);
            groups.add(frozen);
            for (VmId v : c) {
                together.put(v, frozen);
            }
        }
    }

    private static void union(Map<VmId, VmId> parent, VmId a, VmId b) {
        parent.putIfAbsent(a, a);
        parent.putIfAbsent(b, b);
        VmId ra = find(parent, a);
        VmId rb = find(parent, b);
        if (!ra.equals(rb)) {
            parent.put(rb, ra);
        }
    }

    private static VmId find(Map<VmId, VmId> parent, VmId v) {
        VmId r = v;
        while (!parent.get(r).equals(r)) {
            r = parent.get(r);
        }
        VmId c = v;
        while (!parent.get(c).equals(r)) { // path compression
            VmId next = parent.get(c);
            parent.put(c, r);
            c = next;
        }
        return r;
    }

    public PlacementPolicy policy() {
        return policy;
    }

    /** The rules {@code vm} is in (as a placed VM; for {@code after}, as one that waits). */
    public List<Rule> rulesOf(VmId vm) {
        return byVm.getOrDefault(vm, List.of());
    }

    /** Whether any rule places {@code vm}. */
    public boolean ruled(VmId vm) {
        return byVm.containsKey(vm);
    }

    /** The VMs {@code vm} must share a host with by hard together rules, itself included; just itself if none. */
    public Set<VmId> togetherWith(VmId vm) {
        Set<VmId> s = together.get(vm);
        return s == null ? Set.of(vm) : s;
    }

    /** The groups of VMs that hard together rules bind: each VM of a group must share a host with the others. */
    public List<Set<VmId>> togetherGroups() {
        return Collections.unmodifiableList(groups);
    }

    /** The dependency rules {@code vm} waits by. */
    public List<Rule.After> waitsBy(VmId vm) {
        return waits.getOrDefault(vm, List.of());
    }

    /** {@code vm}'s start delay in ms (the longest of its delay rules), 0 if none. */
    public long startDelayMs(VmId vm) {
        return delays.getOrDefault(vm, 0L);
    }

    /**
     * The hosts {@code vm} may run on by its strict host rules (the intersection of their groups),
     * or null when no strict rule confines it.
     */
    public Set<HostId> allowed(VmId vm) {
        Set<HostId> out = null;
        for (Rule r : rulesOf(vm)) {
            if (r instanceof Rule.OnHosts o && o.strict()) {
                Set<HostId> hs = policy.hostsOf(o.groups());
                if (out == null) {
                    out = new HashSet<>(hs);
                } else {
                    out.retainAll(hs);
                }
            }
        }
        return out;
    }

    /**
     * How much {@code vm}'s host rules prefer {@code host}: 0 for the first group of a rule, 1 for
     * the second and so on (the best over its rules); {@link Integer#MAX_VALUE} outside them all or
     * without host rules.
     */
    public int tier(VmId vm, HostId host) {
        int best = Integer.MAX_VALUE;
        for (Rule r : rulesOf(vm)) {
            if (r instanceof Rule.OnHosts o) {
                List<String> gs = o.groups();
                for (int i = 0; i < gs.size() && i < best; i++) {
                    if (policy.groups().getOrDefault(gs.get(i), Collections.emptySortedSet()).contains(host)) {
                        best = i;
                        break;
                    }
                }
            }
        }
        return best;
    }

    /** Whether {@code vm} has a host rule with failback. */
    public boolean failsBack(VmId vm) {
        return failingBack.contains(vm);
    }

    /** The VMs that fail back ({@link #failsBack}), in id order; not to be changed. */
    public java.util.SortedSet<VmId> failingBack() {
        return Collections.unmodifiableSortedSet(failingBack);
    }

    /**
     * The dependency rule {@code vm} still waits by before it may be placed, or null when it may be
     * placed now: a rule holds it while one of the VMs it waits for is not {@code ready}, unless it
     * has waited {@code waitedMs} >= the rule's timeout and the rule says {@code start}.
     *
     * @param ready     whether a VM waited for counts as ready: it runs, or nothing is to wait for
     *                  (not under HA, or stopped by an operator)
     * @param waitedMs  how long {@code vm} has waited to be placed
     */
    public Rule.After waitingBy(VmId vm, java.util.function.Predicate<VmId> ready, long waitedMs) {
        for (Rule.After a : waitsBy(vm)) {
            if (a.onTimeout() == Rule.OnTimeout.START && waitedMs >= a.timeoutMs()) {
                continue;
            }
            for (VmId dep : a.after()) {
                if (!ready.test(dep)) {
                    return a;
                }
            }
        }
        return null;
    }
}
