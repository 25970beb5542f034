package io.havn.daemon.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.ClusterRecord;
import io.havn.common.model.ClusterState;
import io.havn.common.model.GuestMonitor;
import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.StorageErrorPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.daemon.config.HavnConfig;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.UsageMessageSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.TypeConversionException;
import picocli.CommandLine;

/**
 * {@code havnctl}: the operator's client of the local havnd's admin socket. It shows the cluster
 * (status, hosts, vms, what-if, rule list and explain, group list) and asks for changes (migrate,
 * relocate, maintenance, fence confirm, vm ..., rule add and remove, group set and remove,
 * admission, disarm and arm, shutdown-policy); a change is answered once the cluster's leader
 * accepted or refused it. The daemon checks every request; havnctl only shapes it. A VM may be named
 * by name or UUID; names are resolved through a status request first, and an unknown or ambiguous
 * name stops the command before anything is sent. Exit status: 0 done, 1 refused by the daemon,
 * 2 bad input, 3 the daemon cannot be reached.
 *
 * <p>{@link #run} runs it in-process (tests); {@link #main} is the command line's.
 */
@Command(name = "havnctl", mixinStandardHelpOptions = true, scope = ScopeType.INHERIT, version = "havnctl 0.1",
        description = "Shows and changes a havn cluster through this host's havnd.",
        subcommands = {Havnctl.Fence.class, Havnctl.Vm.class, RuleCommand.class, GroupCommand.class},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:done",
            "1:the daemon refused; its code and message go to stderr",
            "2:usage or bad input; nothing was sent",
            "3:cannot reach the daemon (no socket, permission denied, timeout), it turned the request away unread "
                + "(busy, forbidden) or, for vm add, libvirt",
            "4:with --wait: the change was accepted but failed, or did not finish in time; the reason goes to stderr"})
public final class Havnctl {
    static final String DEFAULT_SOCKET = "/run/havn/admin.sock";
    private static final List<String> HELP_ORDER = List.of("status", "hosts", "vms", "what-if", "migrate", "relocate",
            "maintenance", "fence", "vm", "rule", "group", "admission", "shutdown-policy", "disarm", "arm",
            "completion");

    @Option(names = "--socket", paramLabel = "PATH", scope = ScopeType.INHERIT,
            description = "havnd's admin socket (default: $HAVN_SOCKET, else " + DEFAULT_SOCKET + ")")
    Path socket;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "30", converter = Seconds.class,
            scope = ScopeType.INHERIT, description = "how long to wait for an answer; a change is answered once "
            + "the leader accepted or refused it (default ${DEFAULT-VALUE})")
    Duration timeout;

    @Option(names = "--json", scope = ScopeType.INHERIT,
            description = "print the daemon's answer as it came: one JSON line, for scripts")
    boolean json;

    @CommandLine.Spec
    CommandSpec spec;

    final PrintStream out;
    private final PrintStream err;
    private final Map<String, String> env;
    private final java.util.function.LongSupplier nanos;
    private final Pause pause;
    private AdminClient client;

    /** How {@code --wait} waits between two looks at the cluster. */
    @FunctionalInterface
    interface Pause {
        void sleep(Duration d) throws InterruptedException;
    }

    /** How often {@code --wait} looks at the cluster. */
    static final Duration POLL = Duration.ofMillis(500);

    private Havnctl(PrintStream out, PrintStream err, Map<String, String> env, java.util.function.LongSupplier nanos,
                    Pause pause) {
        this.out = out;
        this.err = err;
        this.env = env;
        this.nanos = nanos;
        this.pause = pause;
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs one command line, printing to {@code out} and {@code err}; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, System.getenv());
    }

    /** Like {@link #run(String[], PrintStream, PrintStream)}, with {@code env} as the environment. */
    static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env) {
        return run(args, out, err, env, System::nanoTime, d -> Thread.sleep(d.toMillis()));
    }

    /** As above, with {@code --wait}'s clock and pause given (tests). */
    static int run(String[] args, PrintStream out, PrintStream err, Map<String, String> env,
                   java.util.function.LongSupplier nanos, Pause pause) {
        CommandLine cl = commandLine(new Havnctl(out, err, env, nanos, pause));
        cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
        cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
        CommandLine.IParameterExceptionHandler usage = cl.getParameterExceptionHandler();
        cl.setParameterExceptionHandler((e, line) -> {
            // "rule add KIND": picocli would call an unknown kind an unmatched argument
            if (e instanceof CommandLine.UnmatchedArgumentException u
                    && u.getCommandLine().getCommand() instanceof RuleCommand.Add && !u.getUnmatched().isEmpty()
                    && !u.getUnmatched().get(0).startsWith("-")) {
                List<String> k = RuleCommand.KINDS;
                err.println("havnctl: unknown rule kind '" + u.getUnmatched().get(0) + "': expected "
                        + String.join(", ", k.subList(0, k.size() - 1)) + " or " + k.get(k.size() - 1)
                        + " ('havnctl rule add --help')");
                return Failure.USAGE;
            }
            return usage.handleParseException(e, line);
        });
        cl.setExecutionExceptionHandler((e, line, parsed) -> {
            if (e instanceof Failure f) {
                err.println("havnctl: " + f.getMessage());
                return f.exitCode();
            }
            throw e;
        });
        return cl.execute(args);
    }

    private static CommandLine commandLine(Havnctl ctl) {
        CommandLine cl = new CommandLine(ctl);
        // picocli lists method commands by name after the classes; an operator reads them by use
        cl.getHelpSectionMap().put(UsageMessageSpec.SECTION_KEY_COMMAND_LIST, help -> {
            Map<String, CommandLine.Help> ordered = new LinkedHashMap<>();
            HELP_ORDER.stream().filter(help.subcommands()::containsKey)
                    .forEach(name -> ordered.put(name, help.subcommands().get(name)));
            help.subcommands().forEach(ordered::putIfAbsent);
            return help.commandList(ordered);
        });
        cl.registerConverter(HostId.class, text -> {
            try {
                return new HostId(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        });
        return cl;
    }

    @Command(name = "status", description = "The leader, every host and VM, and what needs attention.")
    int status() {
        return show(StatusView::render);
    }

    @Command(name = "hosts", description = "The hosts: state, heartbeat health, free capacity, VMs.")
    int hosts() {
        return show(StatusView::hosts);
    }

    @Command(name = "vms", description = "The HA VMs: phase, desired state, owner.")
    int vms() {
        return show(StatusView::vms);
    }

    private static final String WAIT_HELP = "wait until it is done, up to SECONDS (600 if not given): exit 0 once "
            + "done, 4 naming the reason if it failed or is not done by then";

    @Command(name = "migrate", description = "Live-migrate a running VM to another host.")
    int migrate(@Parameters(paramLabel = "VM", description = "name or UUID") String vm,
                @Parameters(paramLabel = "HOST", description = "the destination") HostId host,
                @Option(names = "--wait", paramLabel = "SECONDS", arity = "0..1", fallbackValue = "600",
                        converter = Seconds.class, description = WAIT_HELP) Duration wait) {
        return move("migrate", vm, host, true, wait);
    }

    @Command(name = "relocate", description = "Move a VM to another host by shutting it down and starting it there.")
    int relocate(@Parameters(paramLabel = "VM", description = "name or UUID") String vm,
                 @Parameters(paramLabel = "HOST", description = "the destination") HostId host,
                 @Option(names = "--wait", paramLabel = "SECONDS", arity = "0..1", fallbackValue = "600",
                         converter = Seconds.class, description = WAIT_HELP) Duration wait) {
        return move("relocate", vm, host, false, wait);
    }

    /** A migrate ({@code live}) or relocate request for {@code vm}, waited for with {@code wait}. */
    private int move(String command, String vm, HostId host, boolean live, Duration wait) {
        VmId id = vmId(vm);
        return change(request(command).put("vm", id.value()).put("host", host.value()), wait,
                before -> Outcome.move(id, host, live, before));
    }

    @Command(name = "maintenance", description = "Put a host in maintenance (it gets no VMs and is drained), "
            + "or take it out.")
    int maintenance(@Parameters(paramLabel = "HOST") HostId host,
                    @Parameters(paramLabel = "on|off", converter = OnOff.class, completionCandidates = OnOff.class)
                    Switch on,
                    @Option(names = "--wait", paramLabel = "SECONDS", arity = "0..1", fallbackValue = "600",
                            converter = Seconds.class, description = "with on: wait until the host is drained, up to "
                            + "SECONDS (600 if not given): exit 0 once no HA VM is on it, 4 naming what is left and why "
                            + "if some still are by then") Duration wait) {
        return change(request("maintenance").put("host", host.value()).put("on", on == Switch.ON),
                on == Switch.ON ? wait : null, before -> Outcome.drained(host));
    }

    @Command(name = "disarm", description = {"Disarm the whole cluster for network or ZooKeeper work: until "
            + "'havnctl arm', nothing is fenced, self-fenced or restarted elsewhere. A host that fails meanwhile "
            + "keeps its VMs down until it is back, or an operator confirms it off."})
    int disarm(@Option(names = "--watchdogs", paramLabel = "keep|release", defaultValue = "keep",
                       converter = Watchdogs.class, completionCandidates = Watchdogs.class,
                       description = "keep (default): each host's watchdog stays armed while its daemon runs, so a "
                               + "host whose daemon hangs or dies is still reset; release: nothing resets any host")
               ClusterRecord.Disarm watchdogs) {
        return change(command(new AdminCommand.Disarm(watchdogs)));
    }

    @Command(name = "arm", description = {"Arm the cluster again after 'havnctl disarm'. Each host binds its lease "
            + "to its watchdog again and acknowledges the arm; until a host has, only a fence device or "
            + "'fence confirm' proves it dead (see 'havnctl status')."})
    int arm() {
        return change(command(new AdminCommand.Arm()));
    }

    @Command(name = "shutdown-policy", description = {"Set what a host does with its HA VMs when the host itself is "
            + "shut down or rebooted cleanly: migrate (the default) moves them away live, and fails over what did "
            + "not move in time; freeze stops them and starts them again on that host when it returns; failover "
            + "stops them and restarts them elsewhere at once. For the whole cluster, or with --host for one host."})
    int shutdownPolicy(@Parameters(paramLabel = "migrate|freeze|failover", arity = "0..1", converter = Policies.class,
                               completionCandidates = Policies.class, description = "the policy") ShutdownPolicy policy,
                       @Option(names = "--host", paramLabel = "HOST",
                               description = "this host's own policy, instead of the cluster's") HostId host,
                       @Option(names = "--inherit", description = "with --host, instead of a policy: the host follows "
                               + "the cluster's policy again") boolean inherit) {
        if (inherit == (policy != null)) {
            throw Failure.usage(inherit ? "give either a policy or --inherit, not both"
                    : "give a policy (migrate, freeze or failover), or --host HOST --inherit");
        }
        if (inherit && host == null) {
            throw Failure.usage("--inherit needs --host: the cluster's own policy is always set");
        }
        return change(command(new AdminCommand.SetShutdownPolicy(host, policy)));
    }

    @Command(name = "admission", description = {"Admission control: how many host failures the cluster should be "
            + "able to absorb, whether changes that would leave it unable to are refused (vm add, vm start, "
            + "maintenance on), and the failover hosts kept free for recoveries. An option not given keeps its "
            + "present value; without options, shows the settings."})
    int admission(@Option(names = "--tolerate", paramLabel = "N", description = "host failures to absorb, 0 (not "
                          + "checked) to " + PlacementPolicy.MAX_TOLERATE) Integer tolerate,
                  @Option(names = "--strict", negatable = true, description = "refuse changes that would leave "
                          + "the cluster unable to absorb N failures (--no-strict: only report it)") Boolean strict,
                  @Option(names = "--reserved", paramLabel = "HOST[,HOST...]", description = "the failover hosts: "
                          + "they take VMs only when recovering them; \"\" clears the list") String reserved) {
        if (tolerate == null && strict == null && reserved == null) {
            AdminClient.Answer a = ask(request("status"));
            if (json) {
                return printed(a);
            }
            out.println(DomainPolicy.printable(view(a).admission()));
            return 0;
        }
        if (tolerate != null && (tolerate < 0 || tolerate > PlacementPolicy.MAX_TOLERATE)) {
            throw Failure.usage("--tolerate must be between 0 and " + PlacementPolicy.MAX_TOLERATE + ", got " + tolerate);
        }
        List<HostId> hosts = reserved == null ? null : hosts("--reserved", reserved);
        PlacementPolicy now = state().cluster().placement();
        return change(command(new AdminCommand.SetAdmission(tolerate != null ? tolerate : now.tolerate(),
                strict != null ? strict : now.strict(), hosts != null ? hosts : List.copyOf(now.reserved()))));
    }

    /** The hosts of a comma-separated list; an empty text is none. */
    private static List<HostId> hosts(String option, String text) {
        List<HostId> out = new java.util.ArrayList<>();
        if (text.isBlank()) {
            return out;
        }
        for (String h : text.split(",", -1)) {
            try {
                HostId id = new HostId(h.strip());
                if (out.contains(id)) {
                    throw Failure.usage(option + ": host " + id + " is named twice");
                }
                out.add(id);
            } catch (IllegalArgumentException e) {
                throw Failure.usage(option + ": " + e.getMessage());
            }
        }
        return out;
    }

    @Command(name = "what-if", description = {"What would happen if the HOSTs failed now: where each of their VMs "
            + "would restart (or why it would stay down), in which wave and how long after the recovery starts, "
            + "the rules that decided, and the expected recovery time. The answering daemon works it out from "
            + "its view with the leader's placement code; nothing changes. With --json: the report as JSON."})
    int whatIf(@Parameters(paramLabel = "HOST", arity = "1..*", description = "the hosts that fail") List<HostId> hosts) {
        AdminClient.Answer a = ask(command(new AdminCommand.WhatIf(hosts)));
        if (!a.ok()) {
            if (json) {
                out.println(a.line());
            }
            throw a.refusal();
        }
        JsonNode report = a.json().get("whatIf");
        if (report == null || !report.isObject()) {
            throw Failure.unreachable("havnd's answer carries no what-if report: is it older than this havnctl?");
        }
        if (json) {
            out.println(report);
            return 0;
        }
        Map<String, String> names = new java.util.HashMap<>();
        if (WhatIfView.needsNames(report)) {
            state().vms().values().forEach(r -> names.put(r.id().value(), r.spec().name()));
        }
        out.print(WhatIfView.render(hosts, report, id -> names.getOrDefault(id, id)));
        return 0;
    }

    @Command(name = "completion", description = "Print the bash completion script: "
            + "source <(havnctl completion)")
    int completion() {
        out.print(AutoComplete.bash("havnctl", spec.commandLine()));
        return 0;
    }

    /** Host fencing by the operator. */
    @Command(name = "fence", description = "Confirm a host fenced by hand.")
    static final class Fence {
        @ParentCommand
        Havnctl ctl;

        @Command(name = "confirm", description = "Confirm that HOST is powered off, so its VMs may start "
                + "elsewhere. Only when it really is: a VM must never run twice.")
        int confirm(@Parameters(paramLabel = "HOST") HostId host) {
            return ctl.change(request("fence-confirm").put("host", host.value()));
        }
    }

    /** One VM's HA settings and state. */
    @Command(name = "vm", description = "Add a VM to HA, start, stop, enable or disable it.")
    static final class Vm {
        @ParentCommand
        Havnctl ctl;

        @Command(name = "start", description = "Want the VM running (also restarts a VM in error).")
        int start(@Parameters(paramLabel = "VM", description = "name or UUID") String vm) {
            return ctl.change(request("vm-start").put("vm", ctl.vmId(vm).value()));
        }

        @Command(name = "stop", description = "Want the VM stopped; havn stops it and keeps it stopped.")
        int stop(@Parameters(paramLabel = "VM", description = "name or UUID") String vm) {
            return ctl.change(request("vm-stop").put("vm", ctl.vmId(vm).value()));
        }

        @Command(name = "enable", description = "Turn HA on for the VM.")
        int enable(@Parameters(paramLabel = "VM", description = "name or UUID") String vm) {
            return ctl.change(request("vm-enable").put("vm", ctl.vmId(vm).value()));
        }

        @Command(name = "disable", description = "Turn HA off for the VM: havn leaves it alone.")
        int disable(@Parameters(paramLabel = "VM", description = "name or UUID") String vm) {
            return ctl.change(request("vm-disable").put("vm", ctl.vmId(vm).value()));
        }

        @Command(name = "add", description = {"Put a VM of this host's libvirt under HA. Its domain XML is "
                + "read from libvirt, and every disk must lie on the shared storage the daemon's config names "
                + "(libvirt.sharedStorage). Optionally: the datastores its disks live on, what to do when it "
                + "pauses on a disk I/O error, and guest monitoring through its QEMU guest agent."})
        int add(@Parameters(paramLabel = "VM", description = "the domain's name or UUID in the local libvirt")
                String vm,
                @Option(names = "--priority", paramLabel = "high|medium|low", defaultValue = "medium",
                        converter = Priorities.class, completionCandidates = Priorities.class,
                        description = "restart order when capacity is short (default ${DEFAULT-VALUE})")
                Priority priority,
                @Option(names = "--libvirt-uri", paramLabel = "URI",
                        description = "the local libvirt (default: libvirt.uri of the config, else qemu:///system)")
                String libvirtUri,
                @Option(names = "--config", paramLabel = "PATH", defaultValue = "/etc/havn/havn.yaml",
                        description = "the daemon's config, for libvirt.sharedStorage and storage.datastores "
                                + "(default ${DEFAULT-VALUE})")
                Path config,
                @Option(names = "--datastore", paramLabel = "NAME", description = "a datastore the VM's disks live "
                        + "on, as storage.datastores names it; repeat for each. The VM is placed only on hosts that "
                        + "reach all of them") List<String> datastores,
                @Option(names = "--on-storage-error", paramLabel = "resume|leave-paused|restart-elsewhere",
                        converter = StorageErrorPolicies.class, completionCandidates = StorageErrorPolicies.class,
                        description = "what havn does when libvirt pauses the guest on a disk I/O error: resume it "
                                + "once its storage answers (the default), leave it paused for an operator, or "
                                + "restart it on another host that reaches its datastores")
                StorageErrorPolicy onStorageError,
                @Option(names = "--guest-agent", description = "watch the guest through its QEMU guest agent: reset it "
                        + "after missed pings (every 10 s, 3 misses, 2 min of boot grace, at most 3 resets an hour "
                        + "unless the options below say otherwise)") boolean guestAgent,
                @Option(names = "--agent-interval-ms", paramLabel = "N", description = "ping the agent every N ms "
                        + "(1000-3600000; implies --guest-agent)") Long agentIntervalMs,
                @Option(names = "--agent-misses", paramLabel = "N", description = "reset after N pings in a row go "
                        + "unanswered (1-100; implies --guest-agent)") Integer agentMisses,
                @Option(names = "--agent-grace-ms", paramLabel = "N", description = "do not judge the guest for N ms "
                        + "after it starts, is reset or resumed (0-3600000; implies --guest-agent)") Long agentGraceMs,
                @Option(names = "--agent-max-resets", paramLabel = "N", description = "give the VM up (error) after N "
                        + "resets within the window (0-100; implies --guest-agent)") Integer agentMaxResets,
                @Option(names = "--agent-window-ms", paramLabel = "N", description = "the window of --agent-max-resets, "
                        + "in ms (at least the interval, at most 604800000; implies --guest-agent)") Long agentWindowMs) {
            HavnConfig cfg;
            try {
                cfg = HavnConfig.load(config);
            } catch (HavnConfig.ConfigException e) {
                throw Failure.usage("vm add needs libvirt.sharedStorage from the daemon's config: " + e.getMessage());
            }
            List<String> names = datastores == null ? List.of() : List.copyOf(datastores);
            checkDatastores(names, cfg, config);
            GuestMonitor monitor = guestMonitor(guestAgent, agentIntervalMs, agentMisses, agentGraceMs, agentMaxResets,
                    agentWindowMs);
            String uri = libvirtUri != null ? libvirtUri : cfg.libvirt().uri();
            VmSpec s = LocalDomain.spec(uri, vm, cfg.libvirt().domainPolicy(), "libvirt.sharedStorage in " + config,
                    priority).withStorage(names, onStorageError, monitor);
            ObjectNode req = request("vm-add");
            req.set("spec", Json.mapper().valueToTree(s));
            return ctl.change(req);
        }
    }

    /**
     * The datastores named for a VM: names, each once, that the local config's storage heartbeat
     * writes (when it writes any: where none is configured the name cannot be checked here). The
     * daemon checks their form again.
     */
    static void checkDatastores(List<String> names, HavnConfig cfg, Path config) {
        List<String> known = cfg.storage().datastores().stream().map(HavnConfig.Storage.Datastore::name).toList();
        List<String> seen = new java.util.ArrayList<>();
        for (String d : names) {
            if (!VmSpec.DATASTORE_NAME.matcher(d).matches()) {
                throw Failure.usage("--datastore '" + DomainPolicy.printable(d) + "' is not a datastore name (1-63 "
                        + "letters, digits, '.', '_', '-', starting with a letter or digit)");
            }
            if (seen.contains(d)) {
                throw Failure.usage("--datastore " + d + " is given twice");
            }
            if (!known.isEmpty() && !known.contains(d)) {
                throw Failure.usage("--datastore " + d + " is not one of storage.datastores in " + config + " ("
                        + String.join(", ", known) + ")");
            }
            seen.add(d);
        }
        if (seen.size() > VmSpec.MAX_DATASTORES) {
            throw Failure.usage("at most " + VmSpec.MAX_DATASTORES + " --datastore, got " + seen.size());
        }
    }

    /**
     * The guest monitor the options ask for: none unless {@code --guest-agent} or one of the
     * {@code --agent-*} options is given; {@link GuestMonitor#defaults()} with what they set. A value
     * out of bounds is refused naming its option (the daemon checks them again).
     */
    static GuestMonitor guestMonitor(boolean on, Long intervalMs, Integer misses, Long graceMs, Integer maxResets,
                                     Long windowMs) {
        if (!on && intervalMs == null && misses == null && graceMs == null && maxResets == null && windowMs == null) {
            return null;
        }
        GuestMonitor d = GuestMonitor.defaults();
        try {
            return new GuestMonitor(intervalMs != null ? intervalMs : d.intervalMs(), misses != null ? misses : d.misses(),
                    graceMs != null ? graceMs : d.graceMs(), maxResets != null ? maxResets : d.maxResets(),
                    windowMs != null ? windowMs : d.windowMs());
        } catch (IllegalArgumentException e) {
            String m = e.getMessage() == null ? "" : e.getMessage();
            for (String[] f : new String[][] {{"intervalMs", "--agent-interval-ms"}, {"misses", "--agent-misses"},
                    {"graceMs", "--agent-grace-ms"}, {"maxResets", "--agent-max-resets"},
                    {"windowMs", "--agent-window-ms"}}) {
                if (m.startsWith("guest monitor " + f[0] + " ")) {
                    throw Failure.usage(f[1] + m.substring(("guest monitor " + f[0]).length()));
                }
            }
            throw Failure.usage(m);
        }
    }

    static ObjectNode request(String command) {
        return Json.mapper().createObjectNode().put("command", command);
    }

    /** The admin socket's request for {@code c}: its name, and its arguments as the socket reads them. */
    static ObjectNode command(AdminCommand c) {
        if (c instanceof AdminCommand.Disarm d) {
            return request(c.name()).put("watchdogs", d.watchdogs().word());
        } else if (c instanceof AdminCommand.SetShutdownPolicy p) {
            ObjectNode req = request(c.name());
            if (p.host() != null) {
                req.put("host", p.host().value());
            }
            if (p.policy() != null) {
                req.put("policy", p.policy().word());
            }
            return req;
        } else if (c instanceof AdminCommand.RuleRemove r) {
            // "id" is the request's own number
            return request(c.name()).put("rule", r.id());
        }
        // rule-add, group-set, group-remove, admission, what-if: the command's JSON ({"command": "rule-add", "rule": {"kind": ...}})
        return Json.mapper().valueToTree(c);
    }

    /** Asks the daemon; one client per command line, so its requests are numbered 1, 2... */
    AdminClient.Answer ask(ObjectNode request) {
        if (client == null) {
            String fromEnv = env.get("HAVN_SOCKET");
            client = new AdminClient(socket != null ? socket
                    : Path.of(fromEnv == null || fromEnv.isBlank() ? DEFAULT_SOCKET : fromEnv), timeout);
        }
        return client.ask(request);
    }

    /** The cluster state of a status answer; a refusal or an answer havnctl cannot read ends the command. */
    ClusterState state() {
        AdminClient.Answer a = ask(request("status"));
        if (!a.ok() && json) {
            out.println(a.line());
        }
        return view(a).state();
    }

    /** Shows {@code part} of a status answer, or the answer itself with {@code --json}. */
    private int show(Function<StatusView, String> part) {
        AdminClient.Answer a = ask(request("status"));
        if (json) {
            return printed(a);
        }
        out.print(part.apply(view(a)));
        return 0;
    }

    /** The VM an operator's argument names, through a status request; nothing else is sent. */
    private VmId vmId(String arg) {
        return VmArgument.resolve(state(), arg);
    }

    static StatusView view(AdminClient.Answer a) {
        if (!a.ok()) {
            throw a.refusal();
        }
        try {
            return StatusView.of(a.json());
        } catch (IllegalArgumentException e) {
            throw Failure.unreachable("havnd's status answer is not understood: " + e.getMessage());
        }
    }

    /**
     * Sends a change and reports its answer, then, with {@code wait}, looks at the cluster every
     * {@link #POLL} until {@code watch} says it is done (exit 0), failed or the wait is over (exit 4,
     * the reason on stderr). The state before the request is what the watch compares with.
     */
    private int change(ObjectNode request, Duration wait, java.util.function.Function<ClusterState, Outcome.Watch> watch) {
        if (wait == null) {
            return change(request);
        }
        ClusterState before = view(ask(request("status"))).state();
        int rc = change(request);
        Outcome.Watch w = watch.apply(before);
        long deadline = nanos.getAsLong() + wait.toNanos();
        Outcome o = w.judge(view(ask(request("status"))).state());
        while (o instanceof Outcome.Pending && nanos.getAsLong() < deadline) {
            try {
                pause.sleep(POLL);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw Failure.notDone("interrupted while waiting: " + ((Outcome.Pending) o).where());
            }
            o = w.judge(view(ask(request("status"))).state());
        }
        if (o instanceof Outcome.Done d) {
            if (!json) {
                out.println(DomainPolicy.printable(d.what()));
            }
            return rc;
        }
        if (o instanceof Outcome.Failed f) {
            throw Failure.notDone("failed: " + DomainPolicy.printable(f.why()));
        }
        throw Failure.notDone("not done after " + wait.toSeconds() + " s: "
                + DomainPolicy.printable(((Outcome.Pending) o).where()));
    }

    /** Sends a change and reports its answer: its message, or the refusal on stderr. */
    int change(ObjectNode request) {
        AdminClient.Answer a = ask(request);
        if (json) {
            return printed(a);
        }
        if (!a.ok()) {
            throw a.refusal();
        }
        out.println(a.message() == null ? "done" : DomainPolicy.printable(a.message()));
        return 0;
    }

    /** {@code --json}: the answer as it came; a refusal still exits 1, with its message on stderr. */
    private int printed(AdminClient.Answer a) {
        out.println(a.line());
        if (!a.ok()) {
            throw a.refusal();
        }
        return 0;
    }

    /** {@code --timeout}: a positive number of seconds. */
    static final class Seconds implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String text) {
            double s;
            try {
                s = Double.parseDouble(text);
            } catch (NumberFormatException e) {
                s = Double.NaN;
            }
            if (!(s > 0) || s > 86_400) {
                throw new TypeConversionException("expected a number of seconds above 0 and up to 86400, got '"
                        + text + "'");
            }
            return Duration.ofMillis(Math.max(1, Math.round(s * 1000)));
        }
    }

    /** An operator's on or off. */
    enum Switch { ON, OFF }

    /** {@code on} or {@code off}, and their completion. */
    static final class OnOff implements ITypeConverter<Switch>, Iterable<String> {
        @Override
        public Switch convert(String text) {
            return switch (text) {
                case "on" -> Switch.ON;
                case "off" -> Switch.OFF;
                default -> throw new TypeConversionException("expected on or off, got '" + text + "'");
            };
        }

        @Override
        public Iterator<String> iterator() {
            return List.of("on", "off").iterator();
        }
    }

    /** {@code --watchdogs}: keep or release, and their completion. */
    static final class Watchdogs implements ITypeConverter<ClusterRecord.Disarm>, Iterable<String> {
        @Override
        public ClusterRecord.Disarm convert(String text) {
            for (ClusterRecord.Disarm d : ClusterRecord.Disarm.values()) {
                if (d.word().equals(text)) {
                    return d;
                }
            }
            throw new TypeConversionException("expected keep or release, got '" + text + "'");
        }

        @Override
        public Iterator<String> iterator() {
            return List.of("keep", "release").iterator();
        }
    }

    /** A shutdown policy: migrate, freeze or failover, and their completion. */
    static final class Policies implements ITypeConverter<ShutdownPolicy>, Iterable<String> {
        @Override
        public ShutdownPolicy convert(String text) {
            try {
                return ShutdownPolicy.of(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }

        @Override
        public Iterator<String> iterator() {
            return List.of("migrate", "freeze", "failover").iterator();
        }
    }

    /** {@code --on-storage-error}: resume, leave-paused or restart-elsewhere, and their completion. */
    static final class StorageErrorPolicies implements ITypeConverter<StorageErrorPolicy>, Iterable<String> {
        @Override
        public StorageErrorPolicy convert(String text) {
            try {
                return StorageErrorPolicy.of(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }

        @Override
        public Iterator<String> iterator() {
            return java.util.Arrays.stream(StorageErrorPolicy.values()).map(StorageErrorPolicy::word).iterator();
        }
    }

    /** {@code --priority}: high, medium or low, and their completion. */
    static final class Priorities implements ITypeConverter<Priority>, Iterable<String> {
        @Override
        public Priority convert(String text) {
            try {
                return Priority.parse(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }

        @Override
        public Iterator<String> iterator() {
            return List.of("high", "medium", "low").iterator();
        }
    }
}
