package io.havn.sim.scenario;

import io.havn.common.model.HostId;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The one-line form of a placement rule, as the timeline's {@code rule-add} takes it (lists are
 * comma-separated, without spaces):
 *
 * <pre>
 * apart ID VM,VM[,...] [hard | soft [WEIGHT]]      no two on one host (hard unless soft; weight 1..1000, default 10)
 * together ID VM,VM[,...] [hard | soft [WEIGHT]]   all on one host
 * hosts ID VM[,...] GROUP[,...] [strict] [failback] on the hosts of the groups, the first preferred
 * after ID VM[,...] VM[,...] TIMEOUT [start | stay-down]
 *                                                  the first VMs start once the second run; after
 *                                                  TIMEOUT they start anyway (start, the default) or not
 * delay ID VM[,...] DURATION                       started no sooner than DURATION after needing a host
 * </pre>
 *
 * The kind comes first, as in {@code havnctl rule add KIND ID ...}. {@link #format} writes the canonical form (a soft rule with its weight, after with its
 * {@code start} or {@code stay-down}), which {@link #parse} reads back to an equal rule.
 */
public final class RuleText {
    /** The kinds, as written. */
    public static final List<String> KINDS = List.of("apart", "together", "hosts", "after", "delay");
    static final String USAGE = "apart|together ID VM,VM[,...] [hard|soft [WEIGHT]] | hosts ID VM[,...] GROUP[,...] "
            + "[strict] [failback] | after ID VM[,...] VM[,...] TIMEOUT [start|stay-down] | delay ID VM[,...] DURATION";

    private RuleText() { }

    /** The canonical one-line form of {@code r}. */
    public static String format(Rule r) {
        StringBuilder b = new StringBuilder(r.kind()).append(' ').append(r.id()).append(' ').append(vms(r.vms()));
        if (r instanceof Rule.Together t) {
            if (!t.hard()) {
                b.append(" soft ").append(t.weight());
            }
        } else if (r instanceof Rule.Apart a) {
            if (!a.hard()) {
                b.append(" soft ").append(a.weight());
            }
        } else if (r instanceof Rule.OnHosts o) {
            b.append(' ').append(String.join(",", o.groups()));
            if (o.strict()) {
                b.append(" strict");
            }
            if (o.failback()) {
                b.append(" failback");
            }
        } else if (r instanceof Rule.After a) {
            b.append(' ').append(vms(a.after())).append(' ').append(Durations.format(a.timeoutMs()))
                    .append(a.onTimeout() == Rule.OnTimeout.START ? " start" : " stay-down");
            if (a.ready() == Rule.Ready.AGENT) {
                b.append(" agent");
            }
        } else if (r instanceof Rule.StartDelay d) {
            b.append(' ').append(Durations.format(d.delayMs()));
        }
        return b.toString();
    }

    /** Parses the one-line form ({@code tokens}, split on blanks); throws IllegalArgumentException naming the problem. */
    public static Rule parse(List<String> tokens) {
        if (tokens.size() < 3) {
            throw new IllegalArgumentException("a rule needs at least a kind, an id and its VMs (" + USAGE + ")");
        }
        String kind = tokens.get(0);
        if (!KINDS.contains(kind)) {
            throw new IllegalArgumentException("unknown rule kind '" + kind + "'; known: " + String.join(", ", KINDS));
        }
        String id = name(tokens.get(1), "rule id");
        List<VmId> vms = vmList(tokens.get(2));
        List<String> rest = tokens.subList(3, tokens.size());
        switch (kind) {
            case "apart", "together" -> {
                boolean hard = true;
                Integer weight = null;
                if (!rest.isEmpty()) {
                    switch (rest.get(0)) {
                        case "hard" -> {
                            if (rest.size() > 1) {
                                throw new IllegalArgumentException("rule " + id + ": nothing may follow 'hard', got '"
                                        + rest.get(1) + "'");
                            }
                        }
                        case "soft" -> {
                            hard = false;
                            if (rest.size() > 2) {
                                throw new IllegalArgumentException("rule " + id + ": 'soft' takes one weight at most, got '"
                                        + String.join(" ", rest.subList(1, rest.size())) + "'");
                            }
                            if (rest.size() == 2) {
                                weight = integer(rest.get(1), "rule " + id + ": weight");
                            }
                        }
                        default -> throw new IllegalArgumentException("rule " + id + ": expected hard or soft [WEIGHT], got '"
                                + rest.get(0) + "'");
                    }
                }
                return kind.equals("apart") ? new Rule.Apart(id, vms, hard, weight)
                        : new Rule.Together(id, vms, hard, weight);
            }
            case "hosts" -> {
                if (rest.isEmpty()) {
                    throw new IllegalArgumentException("rule " + id + ": a hosts rule names its groups after its VMs");
                }
                List<String> groups = new ArrayList<>();
                for (String g : rest.get(0).split(",", -1)) {
                    groups.add(name(g, "group name"));
                }
                boolean strict = false;
                boolean failback = false;
                for (String flag : rest.subList(1, rest.size())) {
                    switch (flag) {
                        case "strict" -> {
                            if (strict) {
                                throw new IllegalArgumentException("rule " + id + ": 'strict' given twice");
                            }
                            strict = true;
                        }
                        case "failback" -> {
                            if (failback) {
                                throw new IllegalArgumentException("rule " + id + ": 'failback' given twice");
                            }
                            failback = true;
                        }
                        default -> throw new IllegalArgumentException("rule " + id + ": expected strict or failback, got '"
                                + flag + "'");
                    }
                }
                return new Rule.OnHosts(id, vms, groups, strict, failback);
            }
            case "after" -> {
                if (rest.size() < 2) {
                    throw new IllegalArgumentException("rule " + id + ": an after rule names the VMs waited for and a "
                            + "timeout after its VMs (after ID VM[,...] VM[,...] TIMEOUT [start|stay-down])");
                }
                List<VmId> after = vmList(rest.get(0));
                long timeout = Durations.parseMs(rest.get(1));
                Rule.OnTimeout onTimeout = Rule.OnTimeout.START;
                Rule.Ready ready = Rule.Ready.RUNNING;
                for (String flag : rest.subList(2, rest.size())) {
                    switch (flag) {
                        case "start" -> onTimeout = Rule.OnTimeout.START;
                        case "stay-down" -> onTimeout = Rule.OnTimeout.STAY_DOWN;
                        case "agent" -> ready = Rule.Ready.AGENT;
                        default -> throw new IllegalArgumentException("rule " + id + ": expected start or stay-down, got '"
                                + flag + "'");
                    }
                }
                return new Rule.After(id, vms, after, ready, timeout, onTimeout);
            }
            case "delay" -> {
                if (rest.size() != 1) {
                    throw new IllegalArgumentException("rule " + id + ": a delay rule takes one duration after its VMs, got "
                            + rest.size() + " more arguments");
                }
                return new Rule.StartDelay(id, vms, Durations.parseMs(rest.get(0)));
            }
            default -> throw new IllegalArgumentException("unknown rule kind '" + kind + "'; known: "
                    + String.join(", ", KINDS));
        }
    }

    /** {@code text} if it is a valid rule id or group name, else IllegalArgumentException. */
    static String name(String text, String what) {
        if (text == null || !Rule.NAME.matcher(text).matches()) {
            throw new IllegalArgumentException("invalid " + what + " '" + text + "': use 1-64 letters, digits, '.', '_' "
                    + "or '-', starting with a letter or digit");
        }
        return text;
    }

    /** A comma-separated list of VM names, each once. */
    static List<VmId> vmList(String text) {
        List<VmId> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String v : text.split(",", -1)) {
            if (v.isEmpty()) {
                throw new IllegalArgumentException("empty VM name in '" + text + "'");
            }
            if (!seen.add(v)) {
                throw new IllegalArgumentException("VM '" + v + "' listed twice in '" + text + "'");
            }
            out.add(new VmId(Names.vm(v)));
        }
        return out;
    }

    /** A comma-separated list of host names, each once. */
    static List<HostId> hostList(String text) {
        List<HostId> out = new ArrayList<>();
        for (String h : text.split(",", -1)) {
            if (h.isEmpty()) {
                throw new IllegalArgumentException("empty host name in '" + text + "'");
            }
            HostId id = HostId.of(h);
            if (out.contains(id)) {
                throw new IllegalArgumentException("host '" + h + "' listed twice in '" + text + "'");
            }
            out.add(id);
        }
        return out;
    }

    static String vms(Collection<VmId> vms) {
        return String.join(",", vms.stream().map(VmId::value).toList());
    }

    static String hosts(Collection<HostId> hosts) {
        return String.join(",", hosts.stream().map(HostId::value).toList());
    }

    /** Every VM a rule names: those it places and, for after, those they wait for. */
    public static List<VmId> named(Rule r) {
        List<VmId> all = new ArrayList<>(r.vms());
        if (r instanceof Rule.After a) {
            all.addAll(a.after());
        }
        return all;
    }

    private static int integer(String text, String what) {
        if (!text.matches("[0-9]{1,9}")) {
            throw new IllegalArgumentException(what + ": expected an integer, got '" + text + "'");
        }
        return Integer.parseInt(text);
    }
}
