package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The operators' placement policy, part of the cluster record: named host groups, the rules, and
 * admission control.
 *
 * @param groups     host groups by name (each a non-empty set of hosts)
 * @param rules      the rules, in the order they were added
 * @param tolerate   how many host failures the cluster should be able to absorb (0: not checked)
 * @param strict     whether changes that would leave it unable to absorb {@code tolerate} failures are
 *                   refused ({@code vm add}, {@code vm start}, {@code maintenance on})
 * @param reserved   failover hosts: they take VMs only when the leader places a VM that needs a
 *                   host (a recovery, a start), never by a drain, an operator's move or failback
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record PlacementPolicy(SortedMap<String, SortedSet<HostId>> groups, List<Rule> rules, int tolerate,
                              boolean strict, SortedSet<HostId> reserved) {
    public static final PlacementPolicy EMPTY = new PlacementPolicy(null, null, 0, false, null);
    /** The most host failures an operator may ask the cluster to tolerate. */
    public static final int MAX_TOLERATE = 100;

    public PlacementPolicy {
        SortedMap<String, SortedSet<HostId>> g = new TreeMap<>();
        if (groups != null) {
            groups.forEach((name, hosts) -> {
                if (name == null || !Rule.NAME.matcher(name).matches()) {
                    throw new IllegalArgumentException("invalid group name '" + name + "'");
                }
                if (hosts == null || hosts.isEmpty()) {
                    throw new IllegalArgumentException("group " + name + " has no host");
                }
                g.put(name, java.util.Collections.unmodifiableSortedSet(new TreeSet<>(hosts)));
            });
        }
        groups = java.util.Collections.unmodifiableSortedMap(g);
        rules = rules == null ? List.of() : List.copyOf(rules);
        Set<String> ids = new HashSet<>();
        for (Rule r : rules) {
            if (!ids.add(r.id())) {
                throw new IllegalArgumentException("rule " + r.id() + " is listed twice");
            }
        }
        if (tolerate < 0 || tolerate > MAX_TOLERATE) {
            throw new IllegalArgumentException("tolerate must be between 0 and " + MAX_TOLERATE + ", got " + tolerate);
        }
        reserved = java.util.Collections.unmodifiableSortedSet(reserved == null ? new TreeSet<>() : new TreeSet<>(reserved));
    }

    /** The rule named {@code id}, or null. */
    public Rule rule(String id) {
        for (Rule r : rules) {
            if (r.id().equals(id)) {
                return r;
            }
        }
        return null;
    }

    @JsonIgnore
    public boolean isEmpty() {
        return groups.isEmpty() && rules.isEmpty() && tolerate == 0 && !strict && reserved.isEmpty();
    }

    public PlacementPolicy withRule(Rule r) {
        List<Rule> next = new ArrayList<>(rules);
        next.add(r);
        return new PlacementPolicy(groups, next, tolerate, strict, reserved);
    }

    public PlacementPolicy withoutRule(String id) {
        List<Rule> next = new ArrayList<>(rules);
        next.removeIf(r -> r.id().equals(id));
        return new PlacementPolicy(groups, next, tolerate, strict, reserved);
    }

    /** With group {@code name} set to {@code hosts}, or removed when {@code hosts} is null. */
    public PlacementPolicy withGroup(String name, Set<HostId> hosts) {
        SortedMap<String, SortedSet<HostId>> next = new TreeMap<>(groups);
        if (hosts == null) {
            next.remove(name);
        } else {
            next.put(name, new TreeSet<>(hosts));
        }
        return new PlacementPolicy(next, rules, tolerate, strict, reserved);
    }

    public PlacementPolicy withAdmission(int tolerateFailures, boolean strictMode, Set<HostId> reservedHosts) {
        return new PlacementPolicy(groups, rules, tolerateFailures, strictMode,
                reservedHosts == null ? null : new TreeSet<>(reservedHosts));
    }

    /** The hosts of the groups named, in the order named (unknown groups give none). */
    public Set<HostId> hostsOf(List<String> names) {
        Set<HostId> out = new java.util.LinkedHashSet<>();
        for (String name : names) {
            out.addAll(groups.getOrDefault(name, new TreeSet<>()));
        }
        return out;
    }

    /** The groups, for readers that want a plain map. */
    public Map<String, SortedSet<HostId>> groupMap() {
        return groups;
    }
}
