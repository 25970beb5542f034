package io.havn.sim.scenario;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.ShutdownPolicy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/** Parses timeline commands such as {@code crash node1} or {@code partition node1,zk1 | node2}. */
public final class Commands {
    private static final Pattern PERCENT = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)%");
    private static final Pattern COUNT = Pattern.compile("[0-9]+");
    private static final Pattern ZK = Pattern.compile("zk([0-9]+)");

    private record Syntax(String usage, int arity, Function<String[], Command> build) { }

    private static final Map<String, Syntax> SYNTAX = new LinkedHashMap<>();

    static {
        host("crash", Command.Crash::new);
        host("power-on", Command.PowerOn::new);
        host("isolate", Command.Isolate::new);
        host("reconnect", Command.Reconnect::new);
        SYNTAX.put("partition", new Syntax("partition G1 | G2 [| G3 ...]", -1, null));
        SYNTAX.put("heal", new Syntax("heal", 0, a -> new Command.Heal()));
        SYNTAX.put("zk-down", new Syntax("zk-down", 0, a -> new Command.ZkDown()));
        SYNTAX.put("zk-up", new Syntax("zk-up", 0, a -> new Command.ZkUp()));
        SYNTAX.put("zk-crash", new Syntax("zk-crash zkN", 1, a -> new Command.ZkCrash(zk(a[1]))));
        SYNTAX.put("zk-start", new Syntax("zk-start zkN", 1, a -> new Command.ZkStart(zk(a[1]))));
        host("daemon-crash", Command.DaemonCrash::new);
        host("daemon-start", Command.DaemonStart::new);
        host("daemon-stop", Command.DaemonStop::new);
        SYNTAX.put("daemon-restart", new Syntax("daemon-restart HOST DURATION", 2,
                a -> new Command.DaemonRestart(HostId.of(a[1]), Durations.parseMs(a[2]))));
        SYNTAX.put("pause", new Syntax("pause HOST DURATION", 2,
                a -> new Command.Pause(HostId.of(a[1]), Durations.parseMs(a[2]))));
        SYNTAX.put("loss", new Syntax("loss P%", 1, a -> new Command.Loss(percent(a[1]))));
        SYNTAX.put("delay", new Syntax("delay DURATION", 1, a -> new Command.Delay(Durations.parseMs(a[1]))));
        vm("vm-crash", Command.VmCrash::new);
        SYNTAX.put("vm-fail-start", new Syntax("vm-fail-start VM N", 2,
                a -> new Command.VmFailStart(a[1], count(a[2]))));
        SYNTAX.put("vm-fail-migrate", new Syntax("vm-fail-migrate VM N", 2,
                a -> new Command.VmFailMigrate(a[1], count(a[2]))));
        SYNTAX.put("vm-start-late", new Syntax("vm-start-late VM TIMEOUT LATE", 3,
                a -> new Command.VmStartLate(a[1], Durations.parseMs(a[2]), Durations.parseMs(a[3]))));
        vm("vm-start-error-runs", Command.VmStartErrorRuns::new);
        SYNTAX.put("vm-outside-start", new Syntax("vm-outside-start VM HOST", 2,
                a -> new Command.VmOutsideStart(a[1], HostId.of(a[2]))));
        SYNTAX.put("autostart", new Syntax("autostart VM HOST", 2, a -> new Command.Autostart(a[1], HostId.of(a[2]))));
        SYNTAX.put("cut", new Syntax("cut A B", 2, a -> new Command.Cut(a[1], a[2], false)));
        SYNTAX.put("cut-oneway", new Syntax("cut-oneway FROM TO", 2, a -> new Command.Cut(a[1], a[2], true)));
        SYNTAX.put("clock-step", new Syntax("clock-step HOST [-]DURATION", 2,
                a -> new Command.ClockStep(HostId.of(a[1]), signedMs(a[2]))));
        host("fence-fail", Command.FenceFail::new);
        SYNTAX.put("signal", new Syntax("signal HOST on|off", 2, a -> new Command.Signal(HostId.of(a[1]), onOff(a[2]))));
        SYNTAX.put("storage-lost", new Syntax("storage-lost HOST DATASTORE", 2,
                a -> new Command.StoragePath(HostId.of(a[1]), datastore(a[2]), true)));
        SYNTAX.put("storage-back", new Syntax("storage-back HOST DATASTORE", 2,
                a -> new Command.StoragePath(HostId.of(a[1]), datastore(a[2]), false)));
        SYNTAX.put("datastore-down", new Syntax("datastore-down DATASTORE", 1,
                a -> new Command.Datastore(datastore(a[1]), true)));
        SYNTAX.put("datastore-up", new Syntax("datastore-up DATASTORE", 1,
                a -> new Command.Datastore(datastore(a[1]), false)));
        SYNTAX.put("guest-hang", new Syntax("guest-hang VM [forever]", -1, a -> {
            if (a.length < 2 || a.length > 3 || a.length == 3 && !a[2].equals("forever")) {
                throw new IllegalArgumentException("expected guest-hang VM [forever]");
            }
            return new Command.GuestHang(a[1], a.length == 3);
        }));
        vm("guest-unhang", Command.GuestUnhang::new);
        SYNTAX.put("migrate", new Syntax("migrate VM HOST", 2, a -> new Command.Migrate(a[1], HostId.of(a[2]))));
        SYNTAX.put("relocate", new Syntax("relocate VM HOST", 2, a -> new Command.Relocate(a[1], HostId.of(a[2]))));
        SYNTAX.put("maintenance", new Syntax("maintenance HOST on|off", 2,
                a -> new Command.Maintenance(HostId.of(a[1]), onOff(a[2]))));
        host("fence-confirm", Command.FenceConfirm::new);
        host("shutdown", h -> new Command.Shutdown(h, -1));
        SYNTAX.put("reboot", new Syntax("reboot HOST DURATION", 2,
                a -> new Command.Shutdown(HostId.of(a[1]), Durations.parseMs(a[2]))));
        SYNTAX.put("disarm", new Syntax("disarm keep|release", 1, a -> new Command.Disarm(switch (a[1]) {
            case "keep" -> ClusterRecord.Disarm.KEEP_WATCHDOGS;
            case "release" -> ClusterRecord.Disarm.RELEASE_WATCHDOGS;
            default -> throw new IllegalArgumentException("expected keep or release, got '" + a[1] + "'");
        })));
        SYNTAX.put("arm", new Syntax("arm", 0, a -> new Command.Arm()));
        SYNTAX.put("shutdown-policy", new Syntax("shutdown-policy migrate|freeze|failover", 1,
                a -> new Command.SetShutdownPolicy(null, ShutdownPolicy.of(a[1]))));
        SYNTAX.put("host-shutdown-policy", new Syntax("host-shutdown-policy HOST migrate|freeze|failover|inherit", 2,
                a -> new Command.SetShutdownPolicy(HostId.of(a[1]), a[2].equals("inherit") ? null
                        : ShutdownPolicy.of(a[2]))));
        vm("vm-stop", Command.VmStop::new);
        vm("vm-start", Command.VmStart::new);
        vm("vm-disable", Command.VmDisable::new);
        vm("vm-enable", Command.VmEnable::new);
        SYNTAX.put("rule-add", new Syntax("rule-add " + RuleText.USAGE, -1,
                a -> new Command.RuleAdd(RuleText.parse(List.of(a).subList(1, a.length)))));
        SYNTAX.put("rule-remove", new Syntax("rule-remove ID", 1, a -> new Command.RuleRemove(a[1])));
        SYNTAX.put("group-set", new Syntax("group-set NAME HOST[,HOST...]", 2,
                a -> new Command.GroupSet(a[1], RuleText.hostList(a[2]))));
        SYNTAX.put("group-remove", new Syntax("group-remove NAME", 1, a -> new Command.GroupRemove(a[1])));
        SYNTAX.put("admission", new Syntax("admission TOLERATE [strict] [reserved HOST[,HOST...]]", -1,
                Commands::admission));
        SYNTAX.put("what-if", new Syntax("what-if HOST [HOST...]", -1, a -> {
            if (a.length < 2) {
                throw new IllegalArgumentException("names no host");
            }
            List<HostId> hosts = new ArrayList<>();
            for (int i = 1; i < a.length; i++) {
                HostId h = HostId.of(a[i]);
                if (hosts.contains(h)) {
                    throw new IllegalArgumentException("host '" + a[i] + "' listed twice");
                }
                hosts.add(h);
            }
            return new Command.WhatIf(hosts);
        }));
    }

    private static String datastore(String name) {
        if (!io.havn.common.model.VmSpec.DATASTORE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + name + "' is not a datastore name");
        }
        return name;
    }

    private static Command admission(String[] a) {
        if (a.length < 2) {
            throw new IllegalArgumentException("names no number of host failures to tolerate");
        }
        if (!COUNT.matcher(a[1]).matches() || a[1].length() > 9) {
            throw new IllegalArgumentException("invalid number of host failures to tolerate '" + a[1]
                    + "': expected an integer >= 0");
        }
        int tolerate = Integer.parseInt(a[1]);
        boolean strict = false;
        List<HostId> reserved = List.of();
        int i = 2;
        if (i < a.length && a[i].equals("strict")) {
            strict = true;
            i++;
        }
        if (i < a.length && a[i].equals("reserved")) {
            if (i + 1 >= a.length) {
                throw new IllegalArgumentException("'reserved' needs its hosts, e.g. reserved node3,node4");
            }
            reserved = RuleText.hostList(a[i + 1]);
            i += 2;
        }
        if (i < a.length) {
            throw new IllegalArgumentException("unexpected '" + a[i] + "'");
        }
        return new Command.SetAdmission(tolerate, strict, reserved);
    }

    private Commands() { }

    /** The command verbs, in documentation order. */
    public static Set<String> verbs() {
        return Collections.unmodifiableSet(SYNTAX.keySet());
    }

    /** Parses one command; throws IllegalArgumentException naming the problem. */
    public static Command parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty command");
        }
        String trimmed = text.strip();
        String[] tokens = trimmed.split("\\s+");
        String verb = tokens[0];
        Syntax syntax = SYNTAX.get(verb);
        if (syntax == null) {
            throw new IllegalArgumentException("unknown command '" + verb + "'; known: " + String.join(", ", SYNTAX.keySet()));
        }
        try {
            if (verb.equals("partition")) {
                return partition(trimmed.substring(verb.length()));
            }
            int args = tokens.length - 1;
            if (syntax.arity() >= 0 && args != syntax.arity()) {
                throw new IllegalArgumentException("'" + verb + "' takes " + syntax.arity()
                        + (syntax.arity() == 1 ? " argument" : " arguments") + " (" + syntax.usage() + "), got " + args);
            }
            return syntax.build().apply(tokens);
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("'" + verb + "' ")) {
                throw e;
            }
            throw new IllegalArgumentException("'" + verb + "': " + e.getMessage() + " (usage: " + syntax.usage() + ")", e);
        }
    }

    private static Command partition(String rest) {
        if (rest.isBlank()) {
            throw new IllegalArgumentException("no groups given");
        }
        List<Set<String>> groups = new ArrayList<>();
        for (String g : rest.split("\\|", -1)) {
            Set<String> group = new LinkedHashSet<>();
            if (g.isBlank()) {
                throw new IllegalArgumentException("empty partition group");
            }
            for (String e : g.split(",", -1)) {
                String name = e.strip();
                if (name.isEmpty()) {
                    throw new IllegalArgumentException("empty endpoint name in group '" + g.strip() + "'");
                }
                if (!group.add(name)) {
                    throw new IllegalArgumentException("endpoint '" + name + "' is listed twice");
                }
            }
            groups.add(group);
        }
        return new Command.Partition(groups);
    }

    private static void host(String verb, Function<HostId, Command> build) {
        SYNTAX.put(verb, new Syntax(verb + " HOST", 1, a -> build.apply(HostId.of(a[1]))));
    }

    private static void vm(String verb, Function<String, Command> build) {
        SYNTAX.put(verb, new Syntax(verb + " VM", 1, a -> build.apply(a[1])));
    }

    private static long signedMs(String s) {
        return s.startsWith("-") ? -Durations.parseMs(s.substring(1)) : Durations.parseMs(s);
    }

    private static int zk(String s) {
        var m = ZK.matcher(s);
        if (!m.matches() || s.length() > 4) {
            throw new IllegalArgumentException("no coordination server '" + s + "': expected zk1, zk2 or zk3");
        }
        int n = Integer.parseInt(m.group(1));
        if (n < 1 || n > 3 || !s.equals("zk" + n)) {
            throw new IllegalArgumentException("no coordination server '" + s + "': expected zk1, zk2 or zk3");
        }
        return n;
    }

    private static double percent(String s) {
        var m = PERCENT.matcher(s);
        if (!m.matches()) {
            throw new IllegalArgumentException("invalid percentage '" + s + "': expected e.g. 2% or 0.5%");
        }
        return Double.parseDouble(m.group(1));
    }

    private static int count(String s) {
        if (!COUNT.matcher(s).matches() || s.length() > 9) {
            throw new IllegalArgumentException("invalid count '" + s + "': expected an integer >= 1");
        }
        return Integer.parseInt(s);
    }

    private static boolean onOff(String s) {
        return switch (s) {
            case "on" -> true;
            case "off" -> false;
            default -> throw new IllegalArgumentException("expected on or off, got '" + s + "'");
        };
    }
}
