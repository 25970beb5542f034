package io.havn.daemon.ctl;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;

/**
 * The placement policy of a status answer as an operator reads it: the rules as a table, one rule
 * explained (what it says, the VMs and hosts it concerns, where those VMs run and whether it holds
 * now), and the host groups. Only text comes out of here; VMs are shown by name. Whether a rule
 * holds is read from where the VMs run in this answer's state; the leader's own check is the one
 * that counts (a refused change names the rule it would break).
 */
final class RuleView {
    private static final String NONE = "-";

    private final ClusterState state;
    private final PlacementPolicy policy;

    RuleView(ClusterState state) {
        this.state = state;
        this.policy = state.cluster().placement();
    }

    /** The rules, one row each in the order they were added; a line saying there are none otherwise. */
    String list() {
        if (policy.rules().isEmpty()) {
            return "No placement rules ('havnctl rule add' adds one)\n";
        }
        Table t = new Table("ID", "KIND", "HARD/SOFT", "VMS", "DETAILS");
        for (Rule r : policy.rules()) {
            t.row(r.id(), r.kind(), strength(r), names(r.vms()), details(r));
        }
        return t.render("");
    }

    /** The host groups, with the rules that name them. */
    String groups() {
        StringBuilder b = new StringBuilder();
        if (policy.groups().isEmpty()) {
            b.append("No host groups ('havnctl group set' makes one)\n");
        } else {
            Table t = new Table("GROUP", "HOSTS", "RULES");
            for (Map.Entry<String, SortedSet<HostId>> g : policy.groups().entrySet()) {
                List<String> users = new ArrayList<>();
                for (Rule r : policy.rules()) {
                    if (r instanceof Rule.OnHosts o && o.groups().contains(g.getKey())) {
                        users.add(r.id());
                    }
                }
                t.row(g.getKey(), hosts(g.getValue()), users.isEmpty() ? NONE : String.join(", ", users));
            }
            b.append(t.render(""));
        }
        return b.toString();
    }

    /** Rule {@code r} in words: what it says, its VMs and where they run, its hosts, whether it holds now. */
    String explain(Rule r) {
        StringBuilder b = new StringBuilder();
        String strength = strength(r);
        b.append("Rule ").append(r.id()).append(": ").append(r.kind()).append(", ").append(!strength.equals(NONE)
                ? strength : r instanceof Rule.After ? "restart order" : "start delay").append('\n');
        for (String line : meaning(r)) {
            b.append("  ").append(DomainPolicy.printable(line)).append('\n');
        }
        b.append("\nVMs:\n");
        Table vms = new Table("NAME", "UUID", "ROLE", "NOW");
        for (VmId v : r.vms()) {
            vms.row(name(v), v.value(), r instanceof Rule.After ? "waits" : "placed", now(v));
        }
        if (r instanceof Rule.After a) {
            for (VmId v : a.after()) {
                vms.row(name(v), v.value(), "waited for", now(v));
            }
        }
        b.append(vms.render("  "));
        b.append("\nHosts:\n");
        for (String line : hostLines(r)) {
            b.append("  ").append(DomainPolicy.printable(line)).append('\n');
        }
        b.append("\nNow: ").append(DomainPolicy.printable(verdict(r))).append('\n');
        return b.toString();
    }

    /** "hard", "soft (weight)", or "-" for rules that order starts rather than place. */
    static String strength(Rule r) {
        if (r instanceof Rule.Together t) {
            return t.hard() ? "hard" : "soft (" + t.weight() + ")";
        }
        if (r instanceof Rule.Apart a) {
            return a.hard() ? "hard" : "soft (" + a.weight() + ")";
        }
        if (r instanceof Rule.OnHosts o) {
            return o.strict() ? "hard" : "soft";
        }
        return NONE;
    }

    private String details(Rule r) {
        if (r instanceof Rule.OnHosts o) {
            return (o.strict() ? "only on " : "on ") + String.join(", then ", o.groups())
                    + (o.failback() ? "; failback" : "");
        }
        if (r instanceof Rule.After a) {
            return "after " + names(a.after()) + "; ready " + ready(a.ready()) + "; timeout "
                    + Durations.format(a.timeoutMs()) + ", then " + onTimeout(a.onTimeout());
        }
        if (r instanceof Rule.StartDelay d) {
            return "delay " + Durations.format(d.delayMs());
        }
        return NONE;
    }

    private List<String> meaning(Rule r) {
        String vms = sentence(r.vms());
        if (r instanceof Rule.Together t) {
            return t.hard()
                    ? List.of(vms + " always run on one host.", "A VM of the rule goes only where the others run (or, "
                            + "when none runs, where all of them fit); else it stays recovering.")
                    : List.of(vms + " should run on one host.", "A host that runs others of the rule scores "
                            + t.weight() + " for each of them when one of them is placed.");
        }
        if (r instanceof Rule.Apart a) {
            return a.hard()
                    ? List.of("No two of " + vms + " run on one host.", "A VM of the rule stays recovering rather "
                            + "than join another of them.")
                    : List.of(vms + " should run on different hosts.", "A host that runs others of the rule loses "
                            + a.weight() + " for each of them when one of them is placed.");
        }
        if (r instanceof Rule.OnHosts o) {
            List<String> out = new ArrayList<>();
            out.add(vms + " run on the hosts of " + preference(o.groups()) + ".");
            out.add(o.strict() ? "Never on another host: a VM stays recovering rather than go elsewhere."
                    : "Elsewhere only when no host of these groups has room.");
            if (o.failback()) {
                out.add("Failback: a VM on a less preferred host is migrated back once a host of a more preferred "
                        + "group has room.");
            }
            return out;
        }
        if (r instanceof Rule.After a) {
            return List.of(vms + " start only once " + sentence(a.after()) + (a.after().size() == 1 ? " is " : " are ")
                            + (a.ready() == Rule.Ready.AGENT ? "running with the guest agent answering"
                            : "running") + ".",
                    "After waiting " + Durations.format(a.timeoutMs()) + (a.onTimeout() == Rule.OnTimeout.START
                            ? " they start anyway." : " they keep waiting (stay-down)."));
        }
        Rule.StartDelay d = (Rule.StartDelay) r;
        return List.of(vms + " start no sooner than " + Durations.format(d.delayMs()) + " after they need a host.");
    }

    private List<String> hostLines(Rule r) {
        List<String> out = new ArrayList<>();
        if (r instanceof Rule.OnHosts o) {
            for (int i = 0; i < o.groups().size(); i++) {
                String g = o.groups().get(i);
                SortedSet<HostId> hs = policy.groups().get(g);
                out.add("group " + g + (i == 0 ? " (first choice)" : " (choice " + (i + 1) + ")") + ": "
                        + (hs == null ? "no such group" : hosts(hs)));
            }
            if (!o.strict()) {
                out.add("any other host when those have no room");
            }
            return out;
        }
        Map<HostId, List<VmId>> on = placed(r.vms());
        out.add("any host" + (r instanceof Rule.Together || r instanceof Rule.Apart
                ? "; the rule relates its VMs to each other" : ""));
        if (!on.isEmpty()) {
            List<String> where = new ArrayList<>();
            on.forEach((h, vms) -> where.add(h + " (" + names(vms) + ")"));
            out.add("its VMs run on " + String.join(", ", where));
        }
        return out;
    }

    /** Whether the rule holds where the VMs run now, in words. */
    String verdict(Rule r) {
        Map<HostId, List<VmId>> on = placed(r.vms());
        List<VmId> idle = new ArrayList<>(r.vms());
        on.values().forEach(idle::removeAll);
        if (r instanceof Rule.Together t) {
            if (on.isEmpty()) {
                return "holds: none of its VMs runs";
            }
            if (on.size() == 1) {
                HostId h = on.keySet().iterator().next();
                return "holds: " + (idle.isEmpty() ? "all run on " + h
                        : names(on.get(h)) + " run on " + h + "; " + names(idle) + " do not run");
            }
            return broken(t.hard(), t.weight()) + "they run on " + spread(on);
        }
        if (r instanceof Rule.Apart a) {
            List<String> shared = new ArrayList<>();
            on.forEach((h, vms) -> {
                if (vms.size() > 1) {
                    shared.add(names(vms) + " on " + h);
                }
            });
            return shared.isEmpty() ? "holds: no two of its VMs run on one host"
                    : broken(a.hard(), a.weight()) + String.join("; ", shared);
        }
        if (r instanceof Rule.OnHosts o) {
            List<String> outside = new ArrayList<>();
            List<String> lesser = new ArrayList<>();
            for (Map.Entry<HostId, List<VmId>> e : on.entrySet()) {
                int tier = tier(o, e.getKey());
                if (tier < 0) {
                    outside.add(names(e.getValue()) + " on " + e.getKey());
                } else if (tier > 0) {
                    lesser.add(names(e.getValue()) + " on " + e.getKey() + " (" + o.groups().get(tier) + ")");
                }
            }
            if (!outside.isEmpty()) {
                return (o.strict() ? "BROKEN: " : "not met (allowed only while the groups' hosts have no room): ")
                        + String.join("; ", outside) + ", outside the groups";
            }
            if (on.isEmpty()) {
                return "holds: none of its VMs runs";
            }
            return lesser.isEmpty() ? "holds: its VMs run on hosts of " + o.groups().get(0)
                    : "holds, not on the first choice: " + String.join("; ", lesser)
                    + (o.failback() ? "; failback moves them once a host of a preferred group has room" : "");
        }
        if (r instanceof Rule.After a) {
            List<VmId> down = new ArrayList<>(a.after());
            placed(a.after()).values().forEach(down::removeAll);
            return "an order rule, checked when a VM of it starts; " + (down.isEmpty()
                    ? "all it waits for run now, so none of " + names(a.vms()) + " would wait"
                    : names(down) + (down.size() == 1 ? " does" : " do") + " not run: " + names(a.vms())
                    + " would wait for " + (down.size() == 1 ? "it" : "them") + " (up to "
                    + Durations.format(a.timeoutMs()) + ", then " + onTimeout(a.onTimeout()) + ")");
        }
        return "a start delay, applied when a VM of it starts; nothing to check now";
    }

    private static String broken(boolean hard, Integer weight) {
        return hard ? "BROKEN: " : "not met (soft, weight " + weight + "): ";
    }

    /** Where the rule's VMs hold capacity now (their owner), host by host in name order. */
    private Map<HostId, List<VmId>> placed(List<VmId> vms) {
        Map<HostId, List<VmId>> on = new TreeMap<>();
        for (VmId v : vms) {
            VmRecord r = state.vms().get(v);
            if (r != null && r.owner() != null && r.phase().holdsCapacity()) {
                on.computeIfAbsent(r.owner(), k -> new ArrayList<>()).add(v);
            }
        }
        return on;
    }

    /** Which of {@code o}'s groups holds {@code h}, the first that does; -1 for none. */
    private int tier(Rule.OnHosts o, HostId h) {
        for (int i = 0; i < o.groups().size(); i++) {
            SortedSet<HostId> hs = policy.groups().get(o.groups().get(i));
            if (hs != null && hs.contains(h)) {
                return i;
            }
        }
        return -1;
    }

    private String now(VmId v) {
        VmRecord r = state.vms().get(v);
        if (r == null) {
            return "not in the cluster";
        }
        String phase = r.phase().name().toLowerCase(Locale.ROOT).replace('_', '-');
        if (r.owner() != null && r.phase().holdsCapacity()) {
            return phase + " on " + r.owner() + (r.target() != null ? " -> " + r.target() : "");
        }
        return phase + (r.reason() == null ? "" : ": " + r.reason());
    }

    private String spread(Map<HostId, List<VmId>> on) {
        List<String> parts = new ArrayList<>();
        on.forEach((h, vms) -> parts.add(h + " (" + names(vms) + ")"));
        return String.join(", ", parts);
    }

    private String preference(List<String> groups) {
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < groups.size(); i++) {
            parts.add("group " + groups.get(i) + (groups.size() > 1 && i == 0 ? " (preferred)" : ""));
        }
        return String.join(", then ", parts);
    }

    private String name(VmId v) {
        VmRecord r = state.vms().get(v);
        return r == null ? v.value() : r.spec().name();
    }

    private String names(List<VmId> vms) {
        List<String> out = new ArrayList<>();
        vms.forEach(v -> out.add(name(v)));
        return String.join(", ", out);
    }

    /** "a", "a and b", "a, b and c". */
    private String sentence(List<VmId> vms) {
        List<String> n = new ArrayList<>();
        vms.forEach(v -> n.add(name(v)));
        return n.size() == 1 ? n.get(0)
                : String.join(", ", n.subList(0, n.size() - 1)) + " and " + n.get(n.size() - 1);
    }

    private static String hosts(SortedSet<HostId> hs) {
        List<String> out = new ArrayList<>();
        hs.forEach(h -> out.add(h.value()));
        return String.join(", ", out);
    }

    private static String ready(Rule.Ready r) {
        return r == Rule.Ready.AGENT ? "agent" : "running";
    }

    private static String onTimeout(Rule.OnTimeout t) {
        return t == Rule.OnTimeout.START ? "start" : "stay-down";
    }
}
