package io.havn.common.place;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Whether a placement policy can stand: every VM, host and group it names exists, no two rules
 * contradict each other, every hard rule can be met by the hosts that exist, no dependency cycle,
 * and the VMs' present places break no hard rule. Run by the host that takes an operator's change
 * and again by the leader before it writes it; a refusal names what is wrong (both rules, for a
 * contradiction) and nothing is written.
 */
public final class PolicyCheck {
    private PolicyCheck() {
    }

    /** Why a policy cannot stand: a stable code and a message naming what is wrong. */
    public record Refusal(String code, String message) {
    }

    /**
     * Checks {@code policy} against the hosts that exist (with their capacity), the HA VMs (with
     * their specs) and where each VM holds capacity now. Returns null when it can stand.
     */
    public static Refusal check(PlacementPolicy policy, Map<HostId, HostCapacity> hosts, Map<VmId, VmSpec> vms,
                                Planner.Locator where) {
        for (Map.Entry<String, ? extends Collection<HostId>> g : policy.groups().entrySet()) {
            for (HostId h : g.getValue()) {
                if (!hosts.containsKey(h)) {
                    return new Refusal("unknown-host", "group " + g.getKey() + ": no host " + h);
                }
            }
        }
        for (HostId h : policy.reserved()) {
            if (!hosts.containsKey(h)) {
                return new Refusal("unknown-host", "reserved failover host " + h + ": no such host");
            }
        }
        if (!policy.reserved().isEmpty() && policy.reserved().size() >= hosts.size()) {
            return new Refusal("bad-request", "every host is reserved for failover: at least one must take VMs");
        }
        for (Rule r : policy.rules()) {
            Refusal ref = known(r, policy, vms);
            if (ref != null) {
                return ref;
            }
        }
        RuleIndex idx = new RuleIndex(policy);
        Refusal ref = contradictions(policy, idx, hosts, vms);
        if (ref == null) {
            ref = cycle(policy);
        }
        if (ref == null) {
            ref = brokenNow(policy, idx, where);
        }
        return ref;
    }

    private static Refusal known(Rule r, PlacementPolicy policy, Map<VmId, VmSpec> vms) {
        for (VmId v : r.vms()) {
            if (!vms.containsKey(v)) {
                return new Refusal("unknown-vm", "rule " + r.id() + ": no HA VM " + v);
            }
        }
        if (r instanceof Rule.OnHosts o) {
            for (String g : o.groups()) {
                if (!policy.groups().containsKey(g)) {
                    return new Refusal("unknown-group", "rule " + r.id() + ": no host group " + g);
                }
            }
        } else if (r instanceof Rule.After a) {
            for (VmId v : a.after()) {
                if (!vms.containsKey(v)) {
                    return new Refusal("unknown-vm", "rule " + r.id() + ": no HA VM " + v);
                }
            }
            if (a.ready() == Rule.Ready.AGENT) {
                return new Refusal("bad-request", "rule " + r.id() + ": ready 'agent' needs guest monitoring, which "
                        + "this cluster does not have; use ready 'running'");
            }
        }
        return null;
    }

    private static Refusal contradictions(PlacementPolicy policy, RuleIndex idx, Map<HostId, HostCapacity> hosts,
                                          Map<VmId, VmSpec> vms) {
        // a hard apart rule with two VMs that hard together rules bind
        for (Rule r : policy.rules()) {
            if (r instanceof Rule.Apart a && a.hard()) {
                for (int i = 0; i < a.vms().size(); i++) {
                    Set<VmId> group = idx.togetherWith(a.vms().get(i));
                    for (int j = i + 1; j < a.vms().size(); j++) {
                        if (group.contains(a.vms().get(j))) {
                            return new Refusal("rule-conflict", "rule " + a.id() + " keeps " + a.vms().get(i) + " and "
                                    + a.vms().get(j) + " apart, but " + togetherRules(policy, group)
                                    + " keep" + (togetherRules(policy, group).contains(",") ? "" : "s")
                                    + " them together");
                        }
                    }
                }
            }
        }
        // strict host rules whose hosts do not meet, for one VM or for a together group
        Set<VmId> seen = new HashSet<>();
        for (Rule r : policy.rules()) {
            for (VmId v : r.vms()) {
                Set<VmId> group = idx.togetherWith(v);
                if (!seen.add(v)) {
                    continue;
                }
                seen.addAll(group);
                Set<HostId> allowed = null;
                List<String> strict = new ArrayList<>();
                for (VmId m : group) {
                    Set<HostId> a = idx.allowed(m);
                    if (a != null) {
                        allowed = allowed == null ? new HashSet<>(a) : retain(allowed, a);
                        for (Rule s : idx.rulesOf(m)) {
                            if (s instanceof Rule.OnHosts o && o.strict() && !strict.contains(o.id())) {
                                strict.add(o.id());
                            }
                        }
                    }
                }
                if (allowed != null && allowed.isEmpty()) {
                    List<String> named = new ArrayList<>(strict);
                    if (group.size() > 1) {
                        named.add(togetherRules(policy, group));
                    }
                    return new Refusal("rule-conflict", "rules " + String.join(" and ", named) + " leave "
                            + (group.size() > 1 ? "the VMs " + new TreeSet<>(group) : "VM " + v) + " no host to run on");
                }
                if (group.size() > 1) {
                    int cpus = 0;
                    long mem = 0;
                    for (VmId m : group) {
                        VmSpec s = vms.get(m);
                        cpus += s.cpus();
                        mem += s.memoryMiB();
                    }
                    boolean fits = false;
                    for (Map.Entry<HostId, HostCapacity> h : hosts.entrySet()) {
                        if ((allowed == null || allowed.contains(h.getKey())) && h.getValue().fits(cpus, mem)) {
                            fits = true;
                            break;
                        }
                    }
                    if (!fits) {
                        return new Refusal("rule-unsatisfiable", togetherRules(policy, group) + " need" + " a host with "
                                + cpus + " cpus and " + mem + " MiB for " + new TreeSet<>(group)
                                + (allowed == null ? "" : " among the hosts of " + String.join(", ", strict))
                                + "; no host has that much");
                    }
                }
            }
        }
        // a hard apart rule needs as many hosts as VMs
        for (Rule r : policy.rules()) {
            if (r instanceof Rule.Apart a && a.hard()) {
                Set<HostId> reach = new HashSet<>();
                boolean confined = true;
                for (VmId v : a.vms()) {
                    Set<HostId> allowed = null;
                    for (VmId m : idx.togetherWith(v)) {
                        Set<HostId> al = idx.allowed(m);
                        if (al != null) {
                            allowed = allowed == null ? new HashSet<>(al) : retain(allowed, al);
                        }
                    }
                    if (allowed == null) {
                        confined = false;
                        break;
                    }
                    reach.addAll(allowed);
                }
                int room = confined ? reach.size() : hosts.size();
                if (room < a.vms().size()) {
                    return new Refusal("rule-unsatisfiable", "rule " + a.id() + " keeps " + a.vms().size()
                            + " VMs apart but " + (confined ? "their strict host rules allow only " : "the cluster has only ")
                            + room + (room == 1 ? " host" : " hosts"));
                }
            }
        }
        return null;
    }

    private static Set<HostId> retain(Set<HostId> a, Set<HostId> b) {
        a.retainAll(b);
        return a;
    }

    /** The hard together rules among {@code group}, named. */
    private static String togetherRules(PlacementPolicy policy, Set<VmId> group) {
        List<String> ids = new ArrayList<>();
        for (Rule r : policy.rules()) {
            if (r instanceof Rule.Together t && t.hard() && group.containsAll(t.vms())) {
                ids.add(t.id());
            }
        }
        return (ids.size() == 1 ? "rule " : "rules ") + String.join(", ", ids);
    }

    /** A cycle of dependencies (VM waits for VM), naming the rules on it. */
    private static Refusal cycle(PlacementPolicy policy) {
        Map<VmId, List<Rule.After>> edges = new HashMap<>();
        for (Rule r : policy.rules()) {
            if (r instanceof Rule.After a) {
                for (VmId v : a.vms()) {
                    edges.computeIfAbsent(v, k -> new ArrayList<>()).add(a);
                }
            }
        }
        Map<VmId, Integer> state = new HashMap<>(); // 1: on the path, 2: done
        for (VmId start : new TreeSet<>(edges.keySet())) {
            List<String> path = new ArrayList<>();
            List<VmId> vmsOnPath = new ArrayList<>();
            String found = dfs(start, edges, state, path, vmsOnPath);
            if (found != null) {
                return new Refusal("rule-conflict", found);
            }
        }
        return null;
    }

    private static String dfs(VmId v, Map<VmId, List<Rule.After>> edges, Map<VmId, Integer> state,
                              List<String> rules, List<VmId> path) {
        Integer st = state.get(v);
        if (st != null && st == 2) {
            return null;
        }
        if (st != null && st == 1) {
            int from = path.indexOf(v);
            List<VmId> loop = new ArrayList<>(path.subList(from, path.size()));
            loop.add(v);
            Set<String> on = new LinkedHashSet<>(rules.subList(from, rules.size()));
            return "rules " + String.join(", ", on) + " make a dependency cycle: "
                    + String.join(" waits for ", loop.stream().map(VmId::value).toList());
        }
        state.put(v, 1);
        path.add(v);
        for (Rule.After a : edges.getOrDefault(v, List.of())) {
            for (VmId next : a.after()) {
                rules.add(a.id());
                String f = dfs(next, edges, state, rules, path);
                if (f != null) {
                    return f;
                }
                rules.remove(rules.size() - 1);
            }
        }
        path.remove(path.size() - 1);
        state.put(v, 2);
        return null;
    }

    /** A hard rule that the VMs' present places break. */
    private static Refusal brokenNow(PlacementPolicy policy, RuleIndex idx, Planner.Locator where) {
        Planner planner = new Planner(idx);
        for (Rule r : policy.rules()) {
            if (!r.hard()) {
                continue;
            }
            for (VmId v : r.vms()) {
                for (HostId h : where.hostsOf(v)) {
                    String why = planner.breaks(v, h, where);
                    if (why != null) {
                        return new Refusal("rule-broken", "VM " + v + " runs on " + h + ", which breaks " + why
                                + "; move it first");
                    }
                }
            }
        }
        return null;
    }
}
