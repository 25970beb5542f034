package io.havn.sim.scenario;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.ShutdownPolicy;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A fault, repair or admin request of a scenario's timeline. {@link #text()} is canonical (tokens
 * separated by single spaces) and {@link Commands#parse} turns it back into an equal command.
 */
public sealed interface Command {

    /** The canonical text, e.g. {@code crash node1}. */
    String text();

    /** Power the host off abruptly: its daemon and VMs die. */
    record Crash(HostId host) implements Command {
        public Crash {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "crash " + host;
        }
    }

    /** Power a crashed or fenced host back on. */
    record PowerOn(HostId host) implements Command {
        public PowerOn {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "power-on " + host;
        }
    }

    /** Cut the host off from every other endpoint. */
    record Isolate(HostId host) implements Command {
        public Isolate {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "isolate " + host;
        }
    }

    /** Undo {@link Isolate}. */
    record Reconnect(HostId host) implements Command {
        public Reconnect {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "reconnect " + host;
        }
    }

    /**
     * Split the network into groups of endpoints (host names and {@code zk1}..{@code zk3}); an
     * endpoint is in at most one group, and unlisted endpoints belong to the first group.
     */
    record Partition(List<Set<String>> groups) implements Command {
        public Partition {
            Objects.requireNonNull(groups, "groups");
            if (groups.size() < 2) {
                throw new IllegalArgumentException("a partition needs at least two groups separated by '|', got "
                        + groups.size());
            }
            List<Set<String>> copy = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            for (Set<String> g : groups) {
                Objects.requireNonNull(g, "group");
                if (g.isEmpty()) {
                    throw new IllegalArgumentException("empty partition group");
                }
                Set<String> group = new LinkedHashSet<>();
                for (String e : g) {
                    HostId.of(Objects.requireNonNull(e, "endpoint")); // same syntax as host names
                    if (!seen.add(e)) {
                        throw new IllegalArgumentException("endpoint '" + e + "' is in two partition groups");
                    }
                    group.add(e);
                }
                copy.add(Collections.unmodifiableSet(group));
            }
            groups = Collections.unmodifiableList(copy);
        }

        @Override
        public String text() {
            return "partition " + groups.stream().map(g -> String.join(",", g)).collect(Collectors.joining(" | "));
        }
    }

    /** Undo every isolation and partition. */
    record Heal() implements Command {
        @Override
        public String text() {
            return "heal";
        }
    }

    /** Stop the whole coordination service. */
    record ZkDown() implements Command {
        @Override
        public String text() {
            return "zk-down";
        }
    }

    /** Start the whole coordination service again. */
    record ZkUp() implements Command {
        @Override
        public String text() {
            return "zk-up";
        }
    }

    /** Crash coordination server {@code server} (1..3). */
    record ZkCrash(int server) implements Command {
        public ZkCrash {
            checkZk(server);
        }

        @Override
        public String text() {
            return "zk-crash zk" + server;
        }
    }

    /** Start coordination server {@code server} (1..3). */
    record ZkStart(int server) implements Command {
        public ZkStart {
            checkZk(server);
        }

        @Override
        public String text() {
            return "zk-start zk" + server;
        }
    }

    /** Kill the HA daemon on the host; its VMs keep running. */
    record DaemonCrash(HostId host) implements Command {
        public DaemonCrash {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "daemon-crash " + host;
        }
    }

    /** Stop the HA daemon on the host cleanly (SIGTERM: systemctl stop, a package upgrade); its VMs keep running. */
    record DaemonStop(HostId host) implements Command {
        public DaemonStop {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "daemon-stop " + host;
        }
    }

    /** Stop the HA daemon on the host cleanly, and start it again after the duration (systemctl restart, an upgrade). */
    record DaemonRestart(HostId host, long afterMs) implements Command {
        public DaemonRestart {
            Objects.requireNonNull(host, "host");
            if (afterMs <= 0) {
                throw new IllegalArgumentException("daemon-restart needs a duration > 0, got " + afterMs + " ms");
            }
        }

        @Override
        public String text() {
            return "daemon-restart " + host + " " + Durations.format(afterMs);
        }
    }

    /** Start the HA daemon on the host. */
    record DaemonStart(HostId host) implements Command {
        public DaemonStart {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "daemon-start " + host;
        }
    }

    /** Freeze the host (daemon, VMs and watchdog timer) for {@code durationMs}. */
    record Pause(HostId host, long durationMs) implements Command {
        public Pause {
            Objects.requireNonNull(host, "host");
            if (durationMs <= 0) {
                throw new IllegalArgumentException("pause duration must be > 0, got " + durationMs + " ms");
            }
        }

        @Override
        public String text() {
            return "pause " + host + " " + Durations.format(durationMs);
        }
    }

    /** Drop this percentage (0..100) of messages. */
    record Loss(double percent) implements Command {
        public Loss {
            if (!(percent >= 0 && percent <= 100)) {
                throw new IllegalArgumentException("loss must be between 0% and 100%, got " + percent + "%");
            }
        }

        @Override
        public String text() {
            return "loss " + BigDecimal.valueOf(percent).stripTrailingZeros().toPlainString() + "%";
        }
    }

    /** Delay every message by {@code delayMs}. */
    record Delay(long delayMs) implements Command {
        public Delay {
            if (delayMs < 0) {
                throw new IllegalArgumentException("negative delay " + delayMs + " ms");
            }
        }

        @Override
        public String text() {
            return "delay " + Durations.format(delayMs);
        }
    }

    /** The VM's process dies. */
    record VmCrash(String vm) implements Command {
        public VmCrash {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return "vm-crash " + vm;
        }
    }

    /** The VM's next {@code times} start attempts fail. */
    record VmFailStart(String vm, int times) implements Command {
        public VmFailStart {
            Names.vm(vm);
            checkTimes(times);
        }

        @Override
        public String text() {
            return "vm-fail-start " + vm + " " + times;
        }
    }

    /** The VM's next {@code times} live migrations fail. */
    record VmFailMigrate(String vm, int times) implements Command {
        public VmFailMigrate {
            Names.vm(vm);
            checkTimes(times);
        }

        @Override
        public String text() {
            return "vm-fail-migrate " + vm + " " + times;
        }
    }

    /**
     * The VM's next start call times out after {@code timeoutMs} (the adapter reports it failed,
     * timed out), and the guest comes up {@code lateMs} after the call anyway, when libvirt finally
     * returns (then the late result reaches the node).
     */
    record VmStartLate(String vm, long timeoutMs, long lateMs) implements Command {
        public VmStartLate {
            Names.vm(vm);
            if (timeoutMs <= 0) {
                throw new IllegalArgumentException("the start timeout must be > 0, got " + timeoutMs + " ms");
            }
            if (lateMs <= timeoutMs) {
                throw new IllegalArgumentException("the guest must come up after the timeout: LATE ("
                        + Durations.format(Math.max(0, lateMs)) + ") must exceed TIMEOUT (" + Durations.format(timeoutMs) + ")");
            }
        }

        @Override
        public String text() {
            return "vm-start-late " + vm + " " + Durations.format(timeoutMs) + " " + Durations.format(lateMs);
        }
    }

    /** The VM's next start reports an error, yet the guest runs. */
    record VmStartErrorRuns(String vm) implements Command {
        public VmStartErrorRuns {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return "vm-start-error-runs " + vm;
        }
    }

    /** Someone starts the VM's domain by hand on {@code host} ({@code virsh start}), behind havn's back. */
    record VmOutsideStart(String vm, HostId host) implements Command {
        public VmOutsideStart {
            Names.vm(vm);
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "vm-outside-start " + vm + " " + host;
        }
    }

    /** libvirt autostart is switched on for the VM's definition on {@code host}: its next boot starts it. */
    record Autostart(String vm, HostId host) implements Command {
        public Autostart {
            Names.vm(vm);
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "autostart " + vm + " " + host;
        }
    }

    /**
     * Cut the link between two endpoints (hosts or {@code zk1}..{@code zk3}): both ways, or with
     * {@code oneWay} only what {@code from} sends to {@code to}.
     */
    record Cut(String from, String to, boolean oneWay) implements Command {
        public Cut {
            HostId.of(Objects.requireNonNull(from, "from"));
            HostId.of(Objects.requireNonNull(to, "to"));
            if (from.equals(to)) {
                throw new IllegalArgumentException("cannot cut '" + from + "' from itself");
            }
        }

        @Override
        public String text() {
            return (oneWay ? "cut-oneway " : "cut ") + from + " " + to;
        }
    }

    /** The host's wall clock jumps by {@code deltaMs} (negative: backwards), as a bad time source makes it. */
    record ClockStep(HostId host, long deltaMs) implements Command {
        public ClockStep {
            Objects.requireNonNull(host, "host");
            if (deltaMs == 0) {
                throw new IllegalArgumentException("a clock step of 0 changes nothing");
            }
        }

        @Override
        public String text() {
            return "clock-step " + host + " " + (deltaMs < 0 ? "-" : "") + Durations.format(Math.abs(deltaMs));
        }
    }

    /**
     * The host's signal sender (the second liveness signal, apart from its daemon) stops or starts
     * again; it runs from the start.
     */
    record Signal(HostId host, boolean on) implements Command {
        public Signal {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "signal " + host + (on ? " on" : " off");
        }
    }

    /** Fencing the host fails (the fence device does not answer for it). */
    record FenceFail(HostId host) implements Command {
        public FenceFail {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "fence-fail " + host;
        }
    }

    /** Admin request: live-migrate the VM to the host. */
    record Migrate(String vm, HostId host) implements Command {
        public Migrate {
            Names.vm(vm);
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "migrate " + vm + " " + host;
        }
    }

    /** Admin request: stop the VM and start it on the host. */
    record Relocate(String vm, HostId host) implements Command {
        public Relocate {
            Names.vm(vm);
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "relocate " + vm + " " + host;
        }
    }

    /** Admin request: put the host in or out of maintenance. */
    record Maintenance(HostId host, boolean on) implements Command {
        public Maintenance {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "maintenance " + host + (on ? " on" : " off");
        }
    }

    /**
     * Shut the host down cleanly ({@code systemctl poweroff}); with {@code backAfterMs} >= 0 a clean
     * reboot, back after that long. Its daemon follows the shutdown policy first.
     */
    record Shutdown(HostId host, long backAfterMs) implements Command {
        public Shutdown {
            Objects.requireNonNull(host, "host");
            if (backAfterMs == 0) {
                throw new IllegalArgumentException("reboot needs a duration > 0");
            }
        }

        @Override
        public String text() {
            return backAfterMs < 0 ? "shutdown " + host : "reboot " + host + " " + Durations.format(backAfterMs);
        }
    }

    /** Admin request: disarm the cluster, keeping or releasing the watchdogs. */
    record Disarm(ClusterRecord.Disarm watchdogs) implements Command {
        public Disarm {
            Objects.requireNonNull(watchdogs, "watchdogs");
        }

        @Override
        public String text() {
            return "disarm " + watchdogs.word();
        }
    }

    /** Admin request: arm the cluster again. */
    record Arm() implements Command {
        @Override
        public String text() {
            return "arm";
        }
    }

    /** Admin request: the cluster's shutdown policy ({@code host} null), or a host's own (null policy: inherit). */
    record SetShutdownPolicy(HostId host, ShutdownPolicy policy) implements Command {
        public SetShutdownPolicy {
            if (host == null && policy == null) {
                throw new IllegalArgumentException("the cluster's shutdown policy needs a policy");
            }
        }

        @Override
        public String text() {
            return host == null ? "shutdown-policy " + policy.word()
                    : "host-shutdown-policy " + host + " " + (policy == null ? "inherit" : policy.word());
        }
    }

    /** Admin request: confirm that the host is off (manual fencing). */
    record FenceConfirm(HostId host) implements Command {
        public FenceConfirm {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "fence-confirm " + host;
        }
    }

    /** Admin request: stop the VM. */
    record VmStop(String vm) implements Command {
        public VmStop {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return "vm-stop " + vm;
        }
    }

    /** Admin request: start the VM. */
    record VmStart(String vm) implements Command {
        public VmStart {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return "vm-start " + vm;
        }
    }

    /** Admin request: take the VM out of HA management. */
    record VmDisable(String vm) implements Command {
        public VmDisable {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return "vm-disable " + vm;
        }
    }

    /** Admin request: put the VM back under HA management. */
    record VmEnable(String vm) implements Command {
        public VmEnable {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return "vm-enable " + vm;
        }
    }

    /** Admin request: add a placement rule (its one-line form: {@link RuleText}). */
    record RuleAdd(Rule rule) implements Command {
        public RuleAdd {
            Objects.requireNonNull(rule, "rule");
        }

        @Override
        public String text() {
            return "rule-add " + RuleText.format(rule);
        }
    }

    /** Admin request: remove the placement rule {@code id}. */
    record RuleRemove(String id) implements Command {
        public RuleRemove {
            RuleText.name(id, "rule id");
        }

        @Override
        public String text() {
            return "rule-remove " + id;
        }
    }

    /** Admin request: create host group {@code name}, or replace its hosts. */
    record GroupSet(String name, List<HostId> hosts) implements Command {
        public GroupSet {
            RuleText.name(name, "group name");
            hosts = List.copyOf(Names.hostSet(hosts));
        }

        @Override
        public String text() {
            return "group-set " + name + " " + RuleText.hosts(hosts);
        }
    }

    /** Admin request: remove host group {@code name}. */
    record GroupRemove(String name) implements Command {
        public GroupRemove {
            RuleText.name(name, "group name");
        }

        @Override
        public String text() {
            return "group-remove " + name;
        }
    }

    /** Admin request: admission control (host failures to tolerate, strict or not, failover hosts). */
    record SetAdmission(int tolerate, boolean strict, List<HostId> reserved) implements Command {
        public SetAdmission {
            if (tolerate < 0 || tolerate > PlacementPolicy.MAX_TOLERATE) {
                throw new IllegalArgumentException("tolerate must be between 0 and " + PlacementPolicy.MAX_TOLERATE
                        + ", got " + tolerate);
            }
            reserved = reserved == null || reserved.isEmpty() ? List.of() : List.copyOf(Names.hostSet(reserved));
        }

        @Override
        public String text() {
            return "admission " + tolerate + (strict ? " strict" : "")
                    + (reserved.isEmpty() ? "" : " reserved " + RuleText.hosts(reserved));
        }
    }

    /** Read-only request: what would happen if these hosts failed now (the answer goes to the timeline). */
    record WhatIf(List<HostId> hosts) implements Command {
        public WhatIf {
            hosts = List.copyOf(Names.hostSet(hosts));
        }

        @Override
        public String text() {
            return "what-if " + String.join(" ", hosts.stream().map(HostId::value).toList());
        }
    }

    private static void checkZk(int server) {
        if (server < 1 || server > 3) {
            throw new IllegalArgumentException("no coordination server zk" + server + ": expected zk1, zk2 or zk3");
        }
    }

    private static void checkTimes(int times) {
        if (times < 1) {
            throw new IllegalArgumentException("count must be >= 1, got " + times);
        }
    }

    /** The host loses its path to the datastore ({@code lost}), or gets it back. */
    record StoragePath(HostId host, String datastore, boolean lost) implements Command {
        public StoragePath {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(datastore, "datastore");
        }

        @Override
        public String text() {
            return (lost ? "storage-lost " : "storage-back ") + host + " " + datastore;
        }
    }

    /** The datastore stops answering every host ({@code down}), or answers again. */
    record Datastore(String datastore, boolean down) implements Command {
        public Datastore {
            Objects.requireNonNull(datastore, "datastore");
        }

        @Override
        public String text() {
            return (down ? "datastore-down " : "datastore-up ") + datastore;
        }
    }

    /** The guest hangs: its agent stops answering; {@code forever}: a reset does not cure it. */
    record GuestHang(String vm, boolean forever) implements Command {
        public GuestHang {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return "guest-hang " + vm + (forever ? " forever" : "");
        }
    }

    /** The hung guest answers again by itself. */
    record GuestUnhang(String vm) implements Command {
        public GuestUnhang {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return "guest-unhang " + vm;
        }
    }
}
