package io.havn.daemon.ctl;

import io.havn.common.model.ClusterState;
import io.havn.common.model.Json;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.node.AdminCommand;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code havnctl rule}: the placement rules. {@code add} shapes a rule from the command line and
 * sends it; the leader checks it against the other rules, the hosts and the VMs, and its answer
 * (or refusal) is printed. {@code list} and {@code explain} read the rules from a status answer.
 *
 * <p>A rule's VMs are named by name or UUID and resolved through one status request. Before that,
 * the rule's shape (its id, how many VMs, weight, groups, waits) is checked with stand-ins for the
 * VMs, so bad input exits 2 having sent nothing.
 */
@Command(name = "rule", description = "Placement rules: add one, remove one, list them, explain one.",
        subcommands = RuleCommand.Add.class)
final class RuleCommand {
    /** The kinds, as {@code rule add} takes them. */
    static final List<String> KINDS = List.of("apart", "together", "hosts", "after", "delay");

    @ParentCommand
    Havnctl ctl;

    @Command(name = "remove", description = "Remove the placement rule ID.")
    int remove(@Parameters(paramLabel = "ID", description = "the rule's id") String id) {
        return ctl.change(Havnctl.command(new AdminCommand.RuleRemove(id)));
    }

    @Command(name = "list", description = {"The placement rules, in the order they were added: id, kind, hard or "
            + "soft (with its weight), VMs and details. With --json: the rules as the cluster record holds them."})
    int list() {
        ClusterState s = ctl.state();
        if (ctl.json) {
            ctl.out.println(Json.toJson(s.cluster().placement().rules()));
        } else {
            ctl.out.print(new RuleView(s).list());
        }
        return 0;
    }

    @Command(name = "explain", description = {"What the rule ID says in words, which VMs and hosts it concerns, "
            + "where those VMs run now and whether the rule holds there."})
    int explain(@Parameters(paramLabel = "ID", description = "the rule's id") String id) {
        ClusterState s = ctl.state();
        Rule r = s.cluster().placement().rule(id);
        if (r == null) {
            throw Failure.usage("no placement rule '" + id + "' ('havnctl rule list' lists them)");
        }
        if (ctl.json) {
            ctl.out.println(Json.toJson(r));
        } else {
            ctl.out.print(new RuleView(s).explain(r));
        }
        return 0;
    }

    /** A rule made of the VMs its arguments name: first with stand-ins, then with the VMs' ids. */
    @FunctionalInterface
    interface Shape {
        Rule of(Function<List<String>, List<VmId>> vms);
    }

    /**
     * Shapes rule {@code id} with stand-ins for its VMs (every check of the rule's own but which VMs),
     * resolves the VMs' names through a status request, shapes it again with their ids and sends it.
     */
    int add(String id, Shape shape) {
        Map<String, VmId> standIns = new HashMap<>();
        try {
            shape.of(args -> {
                checked(id, args);
                List<VmId> out = new ArrayList<>();
                for (String a : args) {
                    out.add(standIns.computeIfAbsent(a, k -> new VmId("vm" + standIns.size())));
                }
                return out;
            });
        } catch (IllegalArgumentException e) {
            throw Failure.usage(e.getMessage());
        }
        ClusterState state = ctl.state();
        Rule rule;
        try {
            rule = shape.of(args -> args.stream().map(a -> VmArgument.resolve(state, a)).toList());
        } catch (IllegalArgumentException e) {
            // a VM named twice, once by name and once by UUID
            throw Failure.usage(e.getMessage());
        }
        return ctl.change(Havnctl.command(new AdminCommand.RuleAdd(rule)));
    }

    /** The VM arguments of rule {@code id}: none empty, none twice. */
    private static void checked(String id, List<String> args) {
        Set<String> seen = new HashSet<>();
        for (String a : args) {
            if (a.isBlank()) {
                throw new IllegalArgumentException("rule " + id + ": an empty VM name");
            }
            if (!seen.add(a)) {
                throw new IllegalArgumentException("rule " + id + ": VM " + a + " is named twice");
            }
        }
    }

    /** {@code rule add KIND}: one command per kind, each with the options of its own. */
    @Command(name = "add", description = {"Add a placement rule. KIND is apart, together, hosts, after or delay; "
            + "'havnctl rule add KIND --help' shows each. The leader refuses a rule that contradicts another, "
            + "names an unknown VM or group, or that the VMs' present places break."})
    static final class Add {
        @ParentCommand
        RuleCommand rule;

        private static final String WEIGHT = "with --soft: how much the rule counts against other soft rules, "
                + "1 to " + Rule.MAX_WEIGHT + " (default 10)";

        @Command(name = "apart", description = {"No two of the VMs run on one host. Hard (the default): a VM stays "
                + "recovering rather than join another of them. With --soft: a host that runs others of them is "
                + "avoided by the weight for each."})
        int apart(@Parameters(index = "0", paramLabel = "ID", description = "the rule's id") String id,
                  @Parameters(index = "1..*", arity = "1..*", paramLabel = "VM",
                          description = "two or more VMs, by name or UUID") List<String> vms,
                  @Option(names = "--soft", description = "a preference, not a must") boolean soft,
                  @Option(names = "--weight", paramLabel = "N", description = WEIGHT) Integer weight) {
            checkWeight(soft, weight);
            return rule.add(id, v -> new Rule.Apart(id, v.apply(vms), !soft, soft ? weight : null));
        }

        @Command(name = "together", description = {"The VMs run on one host. Hard (the default): a VM goes only "
                + "where the others run, or where all of them fit, else it stays recovering. With --soft: a host "
                + "that runs others of them is preferred by the weight for each."})
        int together(@Parameters(index = "0", paramLabel = "ID", description = "the rule's id") String id,
                     @Parameters(index = "1..*", arity = "1..*", paramLabel = "VM",
                             description = "two or more VMs, by name or UUID") List<String> vms,
                     @Option(names = "--soft", description = "a preference, not a must") boolean soft,
                     @Option(names = "--weight", paramLabel = "N", description = WEIGHT) Integer weight) {
            checkWeight(soft, weight);
            return rule.add(id, v -> new Rule.Together(id, v.apply(vms), !soft, soft ? weight : null));
        }

        @Command(name = "hosts", description = {"The VMs run on the hosts of the groups ('havnctl group set'), the "
                + "first group preferred over the second and so on; elsewhere only when none of those hosts has "
                + "room."})
        int hosts(@Parameters(paramLabel = "ID", description = "the rule's id") String id,
                  @Option(names = "--vms", paramLabel = "VM", split = ",", required = true,
                          description = "the VMs, by name or UUID") List<String> vms,
                  @Option(names = "--groups", paramLabel = "GROUP", split = ",", required = true,
                          description = "host groups, most preferred first") List<String> groups,
                  @Option(names = "--strict", description = "never on another host: a VM stays recovering rather "
                          + "than go elsewhere (a hard rule)") boolean strict,
                  @Option(names = "--failback", description = "migrate a VM back once a host of a more preferred "
                          + "group has room") boolean failback) {
            return rule.add(id, v -> new Rule.OnHosts(id, v.apply(vms), groups, strict, failback));
        }

        @Command(name = "after", description = {"Restart order: the VMs of --vms start only once every VM of "
                + "--after (under HA and wanted running) is ready; after --ready-timeout of waiting they start "
                + "anyway, or keep waiting with --on-timeout stay-down."})
        int after(@Parameters(paramLabel = "ID", description = "the rule's id") String id,
                  @Option(names = "--vms", paramLabel = "VM", split = ",", required = true,
                          description = "the VMs that wait, by name or UUID") List<String> vms,
                  @Option(names = "--after", paramLabel = "VM", split = ",", required = true,
                          description = "the VMs they wait for") List<String> after,
                  @Option(names = "--ready", paramLabel = "running|agent", defaultValue = "running",
                          converter = Readiness.class, completionCandidates = Readiness.class,
                          description = "what ready means: running (their host started them, the default) or "
                                  + "agent (their guest agent answers)") Rule.Ready ready,
                  @Option(names = "--ready-timeout", paramLabel = "DURATION", defaultValue = "5m",
                          converter = Durations.Wait.class, description = "how long to wait, up to 1h: 500ms, 30s, "
                          + "5m, 1h (default ${DEFAULT-VALUE})") long timeoutMs,
                  @Option(names = "--on-timeout", paramLabel = "start|stay-down", defaultValue = "start",
                          converter = OnTimeouts.class, completionCandidates = OnTimeouts.class,
                          description = "then: start anyway (the default) or keep waiting") Rule.OnTimeout onTimeout) {
            for (String v : vms) {
                if (after.contains(v)) {
                    throw Failure.usage("rule " + id + ": VM " + v + " cannot wait for itself");
                }
            }
            return rule.add(id, v -> new Rule.After(id, v.apply(vms), v.apply(after), ready, timeoutMs, onTimeout));
        }

        @Command(name = "delay", description = "Each VM starts no sooner than --delay after it needs a host.")
        int delay(@Parameters(paramLabel = "ID", description = "the rule's id") String id,
                  @Option(names = "--vms", paramLabel = "VM", split = ",", required = true,
                          description = "the VMs, by name or UUID") List<String> vms,
                  @Option(names = "--delay", paramLabel = "DURATION", required = true, converter = Durations.Wait.class,
                          description = "up to 1h: 500ms, 30s, 5m, 1h") long delayMs) {
            return rule.add(id, v -> new Rule.StartDelay(id, v.apply(vms), delayMs));
        }

        private static void checkWeight(boolean soft, Integer weight) {
            if (weight != null && !soft) {
                throw Failure.usage("--weight needs --soft: a hard rule has no weight");
            }
        }
    }

    /** {@code --ready}: running or agent, and their completion. */
    static final class Readiness implements ITypeConverter<Rule.Ready>, Iterable<String> {
        @Override
        public Rule.Ready convert(String text) {
            return switch (text) {
                case "running" -> Rule.Ready.RUNNING;
                case "agent" -> Rule.Ready.AGENT;
                default -> throw new TypeConversionException("expected running or agent, got '" + text + "'");
            };
        }

        @Override
        public Iterator<String> iterator() {
            return List.of("running", "agent").iterator();
        }
    }

    /** {@code --on-timeout}: start or stay-down, and their completion. */
    static final class OnTimeouts implements ITypeConverter<Rule.OnTimeout>, Iterable<String> {
        @Override
        public Rule.OnTimeout convert(String text) {
            return switch (text) {
                case "start" -> Rule.OnTimeout.START;
                case "stay-down" -> Rule.OnTimeout.STAY_DOWN;
                default -> throw new TypeConversionException("expected start or stay-down, got '" + text + "'");
            };
        }

        @Override
        public Iterator<String> iterator() {
            return List.of("start", "stay-down").iterator();
        }
    }
}
