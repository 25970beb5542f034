package io.havn.sim.run;

import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Decision;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.Node;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodePorts;
import io.havn.common.node.Settings;
import io.havn.common.place.Placement;
import io.havn.common.port.CoordOp;
import io.havn.common.port.Coordinator;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Watchdog;
import io.havn.sim.report.VmSpan;
import io.havn.sim.scenario.Commands;
import io.havn.sim.scenario.Fencing;
import io.havn.sim.scenario.Scenario;
import io.havn.sim.scenario.TimelineEntry;
import io.havn.sim.scenario.VmDecl;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The simulator's benchmarks: failover time after a host crash (with and without fence devices),
 * false failovers under daemon pauses and packet loss, simulation speed, and the leader's
 * placement time for a large failure. Prints the figures and writes them as Markdown and CSV.
 * Wall-clock time is read here only to measure; the simulation itself never sees it.
 */
public final class Bench {
    private final boolean quick;
    private final PrintStream out;
    private final List<String[]> rows = new ArrayList<>();
    private final StringBuilder md = new StringBuilder();

    public Bench(boolean quick, PrintStream out) {
        this.quick = quick;
        this.out = out;
    }

    /** The sections of the bench, in the order they run. */
    public enum Section { failover, falsefailovers, speed, fuzz, views, monitors, stalls, placement }

    public void run(Path dir) throws IOException {
        run(dir, java.util.EnumSet.allOf(Section.class));
    }

    /** Runs {@code sections} only. */
    public void run(Path dir, java.util.Set<Section> sections) throws IOException {
        md.append("# ha-sim bench\n\n");
        md.append(quick ? "Quick mode (fewer seeds, shorter runs).\n\n" : "");
        if (sections.contains(Section.failover)) {
            failover(true);
            failover(false);
        }
        if (sections.contains(Section.falsefailovers)) {
            falseFailovers();
        }
        if (sections.contains(Section.speed)) {
            speed();
        }
        if (sections.contains(Section.fuzz)) {
            fuzzAtScale();
        }
        if (sections.contains(Section.views)) {
            views();
        }
        if (sections.contains(Section.monitors)) {
            monitors();
        }
        if (sections.contains(Section.stalls)) {
            falseFailoversAtScale(quick ? 30 : 1000, quick ? 20 : 60);
        }
        if (sections.contains(Section.placement)) {
            placement();
        }
        Files.createDirectories(dir);
        StringBuilder csv = new StringBuilder("benchmark,metric,value,unit\n");
        for (String[] r : rows) {
            csv.append(String.join(",", r)).append('\n');
        }
        Files.writeString(dir.resolve("results.csv"), csv);
        Files.writeString(dir.resolve("results.md"), md);
        out.println("wrote " + dir.resolve("results.md") + " and " + dir.resolve("results.csv"));
    }

    private void row(String bench, String metric, double value, String unit) {
        rows.add(new String[] {bench, metric, String.format("%.3f", value), unit});
    }

    // ---------------------------------------------------------------- failover time

    private void failover(boolean device) {
        int seeds = quick ? 20 : 300;
        String name = "failover-" + (device ? "fence-device" : "session-expiry");
        List<Long> lastVm = new ArrayList<>();
        List<Long> everyVm = new ArrayList<>();
        int failed = 0;
        for (int seed = 1; seed <= seeds; seed++) {
            SplittableRandom rnd = new SplittableRandom(seed);
            Map<HostId, HostCapacity> hosts = new LinkedHashMap<>();
            for (int i = 1; i <= 3; i++) {
                hosts.put(new HostId("node" + i), new HostCapacity(32, 131072));
            }
            Map<String, VmDecl> vms = new LinkedHashMap<>();
            for (int i = 1; i <= 6; i++) {
                vms.put("vm" + i, new VmDecl("vm" + i, new HostId("node" + (1 + (i - 1) % 3)), 2, 2048,
                        Priority.MEDIUM, true));
            }
            String victim = "node" + (1 + rnd.nextInt(3));
            long crashAt = 10_000 + rnd.nextLong(10_000);
            Scenario s = new Scenario(name + "-" + seed, null, seed, null, device ? Fencing.DEVICE : Fencing.NONE,
                    hosts, vms, Map.of(), List.of(new TimelineEntry(crashAt, List.of(Commands.parse("crash " + victim)))),
                    List.of(), crashAt + 60_000);
            RunResult r = new ScenarioRunner(s).run();
            if (!r.passed()) {
                failed++;
                continue;
            }
            long worst = -1;
            boolean all = true;
            for (VmDecl v : vms.values()) {
                if (!v.host().value().equals(victim)) {
                    continue;
                }
                long back = firstRunningElsewhere(r.trace().spans(), v.name(), victim, crashAt);
                if (back < 0) {
                    all = false;
                    continue;
                }
                everyVm.add(back - crashAt);
                worst = Math.max(worst, back - crashAt);
            }
            if (all) {
                lastVm.add(worst);
            } else {
                failed++;
            }
        }
        md.append("## Host crash to its VMs running elsewhere, ").append(device ? "with a fence device" : "without "
                + "a fence device (session expiry)").append("\n\n");
        md.append(String.format("3 hosts, 6 VMs, one host crashed at a random time; %d seeds; %d runs without a "
                + "full recovery.%n%n", seeds, failed));
        md.append("| measure | p50 | p90 | p99 | max |\n|---|---|---|---|---|\n");
        md.append(percentiles("last VM of the host running", lastVm, name, "host"));
        md.append(percentiles("each VM running", everyVm, name, "vm"));
        md.append('\n');
        out.printf("%s: %d seeds, %d failed; host p50 %s p99 %s max %s%n", name, seeds, failed,
                fmt(pct(lastVm, 50)), fmt(pct(lastVm, 99)), fmt(pct(lastVm, 100)));
        row(name, "runs-without-recovery", failed, "count");
    }

    private static long firstRunningElsewhere(List<VmSpan> spans, String vm, String victim, long after) {
        long best = -1;
        for (VmSpan s : spans) {
            if (s.vm().equals(vm) && !s.host().equals(victim) && !s.paused() && s.fromMs() >= after
                    && (best < 0 || s.fromMs() < best)) {
                best = s.fromMs();
            }
        }
        return best;
    }

    private String percentiles(String label, List<Long> ms, String bench, String what) {
        StringBuilder b = new StringBuilder("| ").append(label);
        for (int p : new int[] {50, 90, 99, 100}) {
            long v = pct(ms, p);
            b.append(" | ").append(fmt(v));
            row(bench, what + "-p" + (p == 100 ? "max" : p), v / 1000.0, "s");
        }
        return b.append(" |\n").toString();
    }

    private static long pct(List<Long> values, int p) {
        if (values.isEmpty()) {
            return -1;
        }
        long[] v = values.stream().mapToLong(Long::longValue).sorted().toArray();
        int idx = (int) Math.ceil(p / 100.0 * v.length) - 1;
        return v[Math.max(0, Math.min(v.length - 1, idx))];
    }

    private static String fmt(long ms) {
        return ms < 0 ? "n/a" : String.format("%.2f s", ms / 1000.0);
    }

    // ---------------------------------------------------------------- false failovers

    private void falseFailovers() {
        long minutes = quick ? 3 : 30;
        md.append("## False failovers\n\n5 hosts, 10 VMs, ").append(minutes)
                .append(" simulated minutes each; a false failover is any fencing, self-fencing or restart.\n\n");
        md.append("| condition | fence starts | self-fences | restarts | VM stops |\n|---|---|---|---|---|\n");
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put("pauses", "1 s daemon pauses every 5-15 s");
        labels.put("loss", "2% packet loss");
        labels.put("stalls-2s", "2 s daemon stalls every 10-20 s");
        labels.put("stalls-5s", "5 s daemon stalls every 15-30 s");
        labels.put("crash-restarts", "daemon crash, back 4 s later, every 20-40 s");
        labels.put("planned-restarts", "planned daemon restart taking 30 s, every 40-80 s");
        for (String condition : labels.keySet()) {
            SplittableRandom rnd = new SplittableRandom(42);
            List<TimelineEntry> timeline = new ArrayList<>();
            switch (condition) {
                case "pauses" -> every(timeline, rnd, minutes, 5_000, 10_000, "pause node%d 1000ms");
                case "stalls-2s" -> every(timeline, rnd, minutes, 10_000, 10_000, "pause node%d 2000ms");
                case "stalls-5s" -> every(timeline, rnd, minutes, 15_000, 15_000, "pause node%d 5000ms");
                case "crash-restarts" -> {
                    for (long t = 5_000; t < minutes * 60_000; t += 20_000 + rnd.nextLong(20_000)) {
                        String h = "node" + (1 + rnd.nextInt(5));
                        timeline.add(new TimelineEntry(t, List.of(Commands.parse("daemon-crash " + h))));
                        timeline.add(new TimelineEntry(t + 4_000, List.of(Commands.parse("daemon-start " + h))));
                    }
                }
                case "planned-restarts" -> every(timeline, rnd, minutes, 40_000, 40_000, "daemon-restart node%d 30s");
                default -> timeline.add(new TimelineEntry(1_000, List.of(Commands.parse("loss 2%"))));
            }
            Scenario s = new Scenario("false-failovers-" + condition, null, 42, null, Fencing.DEVICE, fiveHosts(),
                    tenVms(), Map.of(), timeline, List.of(), minutes * 60_000);
            ScenarioRunner runner = new ScenarioRunner(s);
            DecisionCounts seen = new DecisionCounts(null);
            runner.world().listen(seen);
            RunResult r = runner.run();
            long[] counts = {seen.of(Decision.Kind.FENCE_START), seen.of(Decision.Kind.SELF_FENCE),
                    seen.of(Decision.Kind.PLACE), seen.vmStops};
            String label = labels.get(condition);
            md.append(String.format("| %s%s | %d | %d | %d | %d |%n", label, r.passed() ? "" : " (run FAILED)",
                    counts[0], counts[1], counts[2], counts[3]));
            out.printf("false failovers under %s: fence %d, self-fence %d, restarts %d, VM stops %d%s%n", label,
                    counts[0], counts[1], counts[2], counts[3], r.passed() ? "" : " (run failed)");
            row("false-failovers-" + condition, "fence-starts", counts[0], "count");
            row("false-failovers-" + condition, "self-fences", counts[1], "count");
            row("false-failovers-" + condition, "restarts", counts[2], "count");
            row("false-failovers-" + condition, "vm-stops", counts[3], "count");
        }
        md.append('\n');
    }

    /** {@code command} (with a random host's number) every {@code minMs} plus up to {@code spreadMs}, from 5 s. */
    private static void every(List<TimelineEntry> timeline, SplittableRandom rnd, long minutes, long minMs,
                              long spreadMs, String command) {
        for (long t = 5_000; t < minutes * 60_000; t += minMs + rnd.nextLong(spreadMs)) {
            timeline.add(new TimelineEntry(t, List.of(Commands.parse(String.format(command, 1 + rnd.nextInt(5))))));
        }
    }

    private static Map<HostId, HostCapacity> fiveHosts() {
        Map<HostId, HostCapacity> hosts = new LinkedHashMap<>();
        for (int i = 1; i <= 5; i++) {
            hosts.put(new HostId("node" + i), new HostCapacity(32, 131072));
        }
        return hosts;
    }

    private static Map<String, VmDecl> tenVms() {
        Map<String, VmDecl> vms = new LinkedHashMap<>();
        for (int i = 1; i <= 10; i++) {
            vms.put("vm" + i, new VmDecl("vm" + i, new HostId("node" + (1 + (i - 1) % 5)), 1, 1024,
                    Priority.MEDIUM, true));
        }
        return vms;
    }

    // ---------------------------------------------------------------- speed

    private void speed() {
        md.append("## Simulation speed\n\nEvery host runs the real node logic on the default settings: every 200 ms "
                + "it heartbeats every peer up to 9 hosts, its 8 monitors with the health of every host beyond. "
                + "Two VMs per host. Measured after the cluster settled.\n\n");
        md.append("| hosts | simulated s | wall s | simulated s per wall s | events |\n|---|---|---|---|---|\n");
        int[][] cases = quick ? new int[][] {{10, 60}, {100, 10}} : new int[][] {{10, 600}, {100, 300}, {1000, 10}};
        for (int[] c : cases) {
            int n = c[0];
            long simS = c[1];
            Map<HostId, HostCapacity> hosts = new LinkedHashMap<>();
            Map<String, VmDecl> vms = new LinkedHashMap<>();
            for (int i = 1; i <= n; i++) {
                hosts.put(new HostId("h" + i), new HostCapacity(32, 131072));
                for (int k = 0; k < 2; k++) {
                    String v = "v" + i + "-" + k;
                    vms.put(v, new VmDecl(v, new HostId("h" + i), 1, 1024, Priority.MEDIUM, true));
                }
            }
            Scenario s = new Scenario("speed-" + n, null, 1, null, Fencing.NONE, hosts, vms, Map.of(), List.of(),
                    List.of(), simS * 1000);
            ScenarioRunner runner = new ScenarioRunner(s);
            long[] settledWall = {0};
            long[] eventsAtSettle = {0};
            long t0 = System.nanoTime();
            RunResult r = runner.runTimed(() -> {
                settledWall[0] = System.nanoTime();
                eventsAtSettle[0] = runner.world().clock.executed();
            });
            long t1 = System.nanoTime();
            double wall = (t1 - (settledWall[0] == 0 ? t0 : settledWall[0])) / 1e9;
            double rate = simS / wall;
            long events = r.events() - eventsAtSettle[0];
            md.append(String.format("| %d | %d | %.2f | %s | %d |%n", n, simS, wall, rate(rate), events));
            out.printf("speed at %d hosts: %s simulated s per wall s (%d s in %.2f s, %d events)%s%n", n, rate(rate), simS,
                    wall, events, r.passed() ? "" : " (run FAILED: " + r.settleFailure() + " " + r.violation() + ")");
            row("speed-" + n + "-hosts", "sim-seconds-per-wall-second", rate, "ratio");
        }
        md.append('\n');
    }

    // ---------------------------------------------------------------- fuzz at scale

    /**
     * Fuzz seeds at 100 and 1,000 hosts: the schedules {@code fuzz} draws (faults within the budget,
     * then healing; every HA VM must run again), each host on the default settings, so it heartbeats its
     * 8 monitors and gossips health; every invariant is checked at every event.
     */
    private void fuzzAtScale() {
        md.append("## Fuzzing at scale\n\nThe seeds of `fuzz --hosts N --vms 2N --monitors 0` (the default 8 monitors "
                + "from 10 hosts on): faults within the budget from 5 s to 110 s, healing at 130 s, every HA VM running "
                + "again by 230 s; every invariant checked at every event. Wall time includes each seed's set-up.\n\n");
        md.append("| hosts | VMs | seeds | failed | simulated s | wall s | simulated s per wall s | events |\n"
                + "|---|---|---|---|---|---|---|---|\n");
        int[][] cases = quick ? new int[][] {{30, 60, 2}} : new int[][] {{100, 200, 20}, {1000, 2000, 1}};
        for (int[] c : cases) {
            int n = c[0];
            int vmCount = c[1];
            int seeds = c[2];
            int failed = 0;
            long simNanos = 0;
            long events = 0;
            long t0 = System.nanoTime();
            for (int seed = 1; seed <= seeds; seed++) {
                Scenario s = Fuzz.generate(seed, n, vmCount, Fuzz.DEFAULT_RULES_CHANCE, Fuzz.DEFAULT_STORAGE_CHANCE,
                        Fuzz.DEFAULT_OWN_VIEW_CHANCE, 0);
                ScenarioRunner runner = new ScenarioRunner(s);
                RunResult r = runner.run();
                simNanos += runner.world().clock.nanos();
                events += r.events();
                if (!r.passed()) {
                    failed++;
                    out.printf("fuzz at %d hosts: seed %d FAILED: %s %s%n", n, seed, r.settleFailure(), r.violation());
                }
            }
            double wall = (System.nanoTime() - t0) / 1e9;
            double simS = simNanos / 1e9;
            md.append(String.format("| %d | %d | %d | %d | %.0f | %.1f | %s | %d |%n", n, vmCount, seeds, failed, simS,
                    wall, rate(simS / wall), events));
            out.printf("fuzz at %d hosts: %d seeds, %d failed, %.0f simulated s in %.1f s wall (%s per wall s), %d events%n",
                    n, seeds, failed, simS, wall, rate(simS / wall), events);
            row("fuzz-" + n + "-hosts", "seeds-failed", failed, "count");
            row("fuzz-" + n + "-hosts", "sim-seconds-per-wall-second", simS / wall, "ratio");
        }
        md.append('\n');
    }

    private static String rate(double r) {
        return r >= 10 ? String.format("%.0f", r) : String.format("%.2f", r);
    }

    // ---------------------------------------------------------------- views

    /**
     * What each host keeps and what one failover fans out, every host keeping every VM record against
     * own views ({@code ownViewFromHosts}): a tenth of the hosts lose power at once, fence devices on.
     * Deliveries are the VM record changes the coordination service passes on (a notice, or a read
     * after the index named a record), counted once per host; the setup's are left out.
     */
    private void views() {
        int n = quick ? 30 : 100;
        int perHost = 10;
        int failing = n / 10;
        md.append("## What each host keeps, and what a failover fans out\n\n");
        md.append(String.format("%d hosts, %d VMs each (%d VMs), fence devices; %d hosts lose power at once. "
                + "A delivery is a VM record change the coordination service passes on to one host.%n%n", n, perHost,
                n * perHost, failing));
        md.append("| view | hosts that keep every VM record | VM records per host, the others: median / max "
                + "| VM records written "
                + "| deliveries | per record written | every VM running again after |\n|---|---|---|---|---|---|---|\n");
        for (boolean own : new boolean[] {false, true}) {
            Map<HostId, HostCapacity> hosts = hosts(n);
            Map<String, VmDecl> vms = vms(n, perHost);
            long crashAt = 10_000;
            List<io.havn.sim.scenario.Command> crashes = crashes(n, failing);
            Scenario s = new Scenario("views-" + (own ? "own" : "whole"), null, 1, null, Fencing.DEVICE, hosts, vms,
                    Map.of("ownViewFromHosts", own ? 0L : 1_000_000L), List.of(new TimelineEntry(crashAt, crashes)),
                    List.of(), crashAt + 40_000);
            ScenarioRunner runner = new ScenarioRunner(s);
            long[] atSettle = new long[2];
            RunResult r = runner.runTimed(() -> {
                atSettle[0] = runner.world().coordination.vmDeliveries();
                atSettle[1] = runner.world().coordination.vmWrites();
            });
            long deliveries = runner.world().coordination.vmDeliveries() - atSettle[0];
            long writes = runner.world().coordination.vmWrites() - atSettle[1];
            List<Long> others = new ArrayList<>();
            long whole = 0;
            for (io.havn.sim.world.SimHost h : runner.world().hosts()) {
                if (!h.powered() || !h.daemonRunning()) {
                    continue;
                }
                long held = h.node().clusterState().vms().size();
                if (held == vms.size()) {
                    whole++; // with own views: the leader and the host next in line to lead
                } else {
                    others.add(held);
                }
            }
            List<Long> recovered = recoveries(r, vms, n - failing, crashAt);
            boolean all = recovered != null;
            long worst = all && !recovered.isEmpty() ? pct(recovered, 100) : -1;
            String view = own ? "own" : "whole";
            String ran = !r.passed() ? "run FAILED: " + r.settleFailure() + " " + r.violation()
                    : all ? fmt(worst) : "not every VM";
            String rest = others.isEmpty() ? "-" : pct(others, 50) + " / " + pct(others, 100);
            md.append(String.format("| %s | %d | %s | %d | %d | %.1f | %s |%n", view, whole, rest, writes, deliveries,
                    deliveries / (double) Math.max(1, writes), ran));
            out.printf("views, %s: %d hosts keep every record, the others median / max %s; %d VM writes, %d deliveries "
                    + "(%.1f per write); every VM running again after %s%n", view, whole, rest, writes, deliveries,
                    deliveries / (double) Math.max(1, writes), ran);
            row("views-" + view, "hosts-keeping-every-record", whole, "count");
            if (!others.isEmpty()) {
                row("views-" + view, "records-per-host-median", pct(others, 50), "count");
            }
            row("views-" + view, "deliveries-per-record-written", deliveries / (double) Math.max(1, writes), "ratio");
            if (all && r.passed()) {
                row("views-" + view, "every-vm-running-again", worst / 1000.0, "s");
            }
        }
        md.append('\n');
    }

    // ---------------------------------------------------------------- monitors

    /**
     * What failure detection costs each host and how fast it finds a failure, every host heartbeating
     * every other against monitors with gossiped health ({@code monitors}): datagrams each host sends
     * a second while idle (heartbeats, and its signal sender's signals), the bytes a heartbeat's digest
     * adds, the simulator's speed meanwhile, then 4% of the hosts losing power at once (fence devices on).
     * Then 1 s daemon stalls and 2% loss, to count false failovers.
     */
    private void monitors() {
        // hosts, monitors (0: all to all), VMs per host
        int[][] cases = quick ? new int[][] {{30, 0, 2}, {30, 8, 2}}
                : new int[][] {{100, 0, 2}, {100, 8, 2}, {1000, 8, 2}, {1000, 8, 50}};
        md.append("## Failure detection: all to all against monitors\n\n");
        md.append("Fence devices. Idle: 20 simulated s after the cluster settled. Then 4% of the hosts "
                + "lose power at once. Datagrams are counted as sent, per host and second.\n\n");
        md.append("| hosts | VMs | monitors | heartbeats / host / s | signals / host / s | digest bytes per heartbeat "
                + "| simulated s per wall s, idle | every VM running again: p50 / p99 / max |\n"
                + "|---|---|---|---|---|---|---|---|\n");
        for (int[] c : cases) {
            int n = c[0];
            int monitors = c[1];
            int perHost = c[2];
            int failing = Math.max(1, n * 4 / 100);
            Map<HostId, HostCapacity> hosts = hosts(n);
            Map<String, VmDecl> vms = vms(n, perHost);
            long crashAt = 20_000;
            List<io.havn.sim.scenario.Command> crashes = crashes(n, failing);
            Scenario s = new Scenario("monitors-" + n + "-" + monitors, null, 1, null, Fencing.DEVICE, hosts, vms,
                    Map.of("monitors", (long) monitors), List.of(new TimelineEntry(crashAt, crashes)), List.of(),
                    crashAt + 30_000);
            ScenarioRunner runner = new ScenarioRunner(s);
            io.havn.sim.world.SimWorld w = runner.world();
            long[] at = new long[8];
            RunResult r = runner.runTimed(() -> {
                at[0] = System.nanoTime();
                at[1] = w.heartbeatsSent;
                at[2] = w.signalsSent;
                at[3] = w.digestHostsSent;
                // just before the crash: the idle window's end
                w.clock.schedule((crashAt - 1) * 1_000_000L, () -> {
                    at[4] = System.nanoTime();
                    at[5] = w.heartbeatsSent;
                    at[6] = w.signalsSent;
                    at[7] = w.digestHostsSent;
                });
            });
            double idleS = (crashAt - 1) / 1000.0;
            double beats = (at[5] - at[1]) / (double) n / idleS;
            double signals = (at[6] - at[2]) / (double) n / idleS;
            double digestBytes = at[5] == at[1] ? 0 : 2.0 * (at[7] - at[3]) / (at[5] - at[1]);
            double speed = idleS / ((at[4] - at[0]) / 1e9);
            List<Long> back = recoveries(r, vms, n - failing, crashAt);
            boolean all = back != null;
            String ran = !r.passed() ? "run FAILED: " + r.settleFailure() + " " + r.violation()
                    : !all ? "not every VM" : fmt(pct(back, 50)) + " / " + fmt(pct(back, 99)) + " / " + fmt(pct(back, 100));
            String label = monitors == 0 ? "all to all" : String.valueOf(monitors);
            md.append(String.format("| %d | %d | %s | %.1f | %.1f | %.0f | %s | %s |%n", n, vms.size(), label, beats,
                    signals, digestBytes, rate(speed), ran));
            out.printf("monitors, %d hosts, %d VMs, %s: %.1f heartbeats and %.1f signals per host per s, %.0f digest bytes per "
                    + "heartbeat, %s simulated s per wall s idle; %d hosts lost: every VM running again %s%n", n,
                    vms.size(), label, beats, signals, digestBytes, rate(speed), failing, ran);
            String name = "monitors-" + n + "-hosts-" + vms.size() + "-vms-" + (monitors == 0 ? "all" : monitors);
            row(name, "heartbeats-per-host-per-second", beats, "count");
            row(name, "signals-per-host-per-second", signals, "count");
            row(name, "sim-seconds-per-wall-second-idle", speed, "ratio");
            if (all && r.passed()) {
                row(name, "every-vm-running-again-p99", pct(back, 99) / 1000.0, "s");
            }
        }
        md.append('\n');
    }

    /**
     * False failovers with monitors at {@code n} hosts: 2% loss throughout, and 1 s daemon stalls
     * (the JVM and its ZooKeeper pings stopped) on random hosts, each host once per 100 s on average
     * (every 100 ms at 1,000 hosts).
     */
    private void falseFailoversAtScale(int n, long seconds) {
        Map<HostId, HostCapacity> hosts = hosts(n);
        Map<String, VmDecl> vms = vms(n, 1);
        SplittableRandom rnd = new SplittableRandom(7);
        List<TimelineEntry> timeline = new ArrayList<>();
        timeline.add(new TimelineEntry(1_000, List.of(Commands.parse("loss 2%"))));
        int stalls = 0;
        long every = Math.max(1, 100_000 / n);
        for (long t = 2_000; t < seconds * 1000 - 5_000; t += every) {
            timeline.add(new TimelineEntry(t, List.of(Commands.parse("pause h" + (1 + rnd.nextInt(n)) + " 1000ms"))));
            stalls++;
        }
        Scenario s = new Scenario("false-failovers-monitors-" + n, null, 7, null, Fencing.DEVICE, hosts, vms,
                Map.of(), timeline, List.of(), seconds * 1000);
        ScenarioRunner runner = new ScenarioRunner(s);
        // the first to join the election leads throughout
        DecisionCounts seen = new DecisionCounts(hosts.keySet().iterator().next());
        runner.world().listen(seen);
        RunResult r = runner.run();
        long[] counts = {seen.of(Decision.Kind.FENCE_START), seen.of(Decision.Kind.SELF_FENCE),
                seen.of(Decision.Kind.PLACE), seen.of(Decision.Kind.SUSPECT), seen.leaderSuspicions,
                seen.of(Decision.Kind.HOLD_OFF)};
        md.append(String.format("%d hosts, monitors (the default, 8), %d s: 2%% loss throughout and %d daemon stalls of "
                + "1 s (one every %d ms, on a random host): %d fence starts, %d self-fences, %d restarts%s. "
                + "Suspicions: %d in all hosts' logs, %d by the leader; %d fences held off for a live signal.%n%n", n,
                seconds, stalls, every, counts[0], counts[1], counts[2],
                r.passed() ? "" : " (run FAILED: " + r.settleFailure() + " " + r.violation() + ")", counts[3], counts[4],
                counts[5]));
        out.printf("false failovers with monitors at %d hosts under 1 s stalls and 2%% loss: fence %d, self-fence %d, "
                + "restarts %d; suspicions %d (by the leader %d), held off %d%s%n", n, counts[0], counts[1], counts[2],
                counts[3], counts[4], counts[5], r.passed() ? "" : " (run failed)");
        row("false-failovers-monitors-" + n, "fence-starts", counts[0], "count");
        row("false-failovers-monitors-" + n, "self-fences", counts[1], "count");
        row("false-failovers-monitors-" + n, "restarts", counts[2], "count");
    }

    /** Counts a run's decisions by kind, the suspicions of one host apart, and running VMs that stopped. */
    private static final class DecisionCounts implements io.havn.sim.world.SimWorld.Listener {
        private final java.util.EnumMap<Decision.Kind, Long> byKind = new java.util.EnumMap<>(Decision.Kind.class);
        private final HostId leader;
        long leaderSuspicions;
        long vmStops;

        /** {@code leader}: the host whose suspicions are counted apart, or null. */
        DecisionCounts(HostId leader) {
            this.leader = leader;
        }

        long of(Decision.Kind kind) {
            return byKind.getOrDefault(kind, 0L);
        }

        @Override
        public void decision(Decision d) {
            byKind.merge(d.kind(), 1L, Long::sum);
            if (d.kind() == Decision.Kind.SUSPECT && d.host().equals(leader)) {
                leaderSuspicions++;
            }
        }

        @Override
        public void domain(HostId host, VmId vm, io.havn.common.port.DomainState before,
                           io.havn.common.port.DomainState after, String cause) {
            if (before == io.havn.common.port.DomainState.RUNNING && after == null) {
                vmStops++;
            }
        }
    }

    /** Hosts h1..h{@code n}, 64 cpus and 256 GiB each. */
    private static Map<HostId, HostCapacity> hosts(int n) {
        Map<HostId, HostCapacity> hosts = new LinkedHashMap<>();
        for (int i = 1; i <= n; i++) {
            hosts.put(new HostId("h" + i), new HostCapacity(64, 262144));
        }
        return hosts;
    }

    /** {@code perHost} VMs on each of h1..h{@code n}, named v{host}-{k}. */
    private static Map<String, VmDecl> vms(int n, int perHost) {
        Map<String, VmDecl> vms = new LinkedHashMap<>();
        for (int i = 1; i <= n; i++) {
            for (int k = 0; k < perHost; k++) {
                String v = "v" + i + "-" + k;
                vms.put(v, new VmDecl(v, new HostId("h" + i), 1, 1024, Priority.MEDIUM, true));
            }
        }
        return vms;
    }

    /** The power loss of the last {@code failing} of h1..h{@code n}. */
    private static List<io.havn.sim.scenario.Command> crashes(int n, int failing) {
        List<io.havn.sim.scenario.Command> crashes = new ArrayList<>();
        for (int i = n - failing + 1; i <= n; i++) {
            crashes.add(Commands.parse("crash h" + i));
        }
        return crashes;
    }

    /**
     * How long after {@code crashAt} each VM of the hosts after h{@code lastAlive} ran again
     * elsewhere, in ms; null if one never did.
     */
    private static List<Long> recoveries(RunResult r, Map<String, VmDecl> vms, int lastAlive, long crashAt) {
        List<Long> back = new ArrayList<>();
        for (VmDecl v : vms.values()) {
            if (Integer.parseInt(v.host().value().substring(1)) <= lastAlive) {
                continue;
            }
            long t = firstRunningElsewhere(r.trace().spans(), v.name(), v.host().value(), crashAt);
            if (t < 0) {
                return null;
            }
            back.add(t - crashAt);
        }
        return back;
    }

    // ---------------------------------------------------------------- placement

    /** The leader's round for 40 failed hosts in a 1,000-host, 50,000-VM cluster, on the real Node. */
    private void placement() {
        int hostCount = 1000;
        int perHost = 50;
        int failed = 40;
        int reps = quick ? 3 : 7;
        PlacementPolicy rules = realisticRules(hostCount, perHost);
        for (int warm = 0; warm < 2; warm++) {
            new PlacementRig(hostCount, perHost, failed, null).timeLeaderRound(); // JIT warm-up, not counted
            new PlacementRig(hostCount, perHost, failed, rules).timeLeaderRound();
        }
        long[] roundNanos = new long[reps];
        long[] placeNanos = new long[reps];
        long[] ruledNanos = new long[reps];
        long[] checkNanos = new long[reps];
        int writes = 0;
        int ruledWrites = 0;
        int held = 0;
        for (int rep = 0; rep < reps; rep++) {
            PlacementRig rig = new PlacementRig(hostCount, perHost, failed, null);
            roundNanos[rep] = rig.timeLeaderRound();
            writes = rig.placements();
            placeNanos[rep] = rig.timePlacementOnly();
            PlacementRig ruled = new PlacementRig(hostCount, perHost, failed, rules);
            ruledNanos[rep] = ruled.timeLeaderRound();
            ruledWrites = ruled.placements();
            held = ruled.recovering();
            checkNanos[rep] = ruled.timePolicyCheck();
        }
        int bytes = io.havn.common.model.Json.toBytes(io.havn.common.model.ClusterRecord.DEFAULT.withPlacement(rules))
                .length;
        double round = median(roundNanos);
        double place = median(placeNanos);
        double ruledRound = median(ruledNanos);
        double check = median(checkNanos);
        md.append("## Placement for a 40-host failure\n\n1,000 hosts (64 cpus, 256 GiB), 50,000 VMs (1 cpu, 1 GiB), "
                + "40 hosts recorded off: the leader's whole round on the real node (scan, eligibility, capacity, "
                + "placement, writes issued), median of " + reps + ". With rules: " + rules.rules().size()
                + " rules and " + rules.groups().size() + " host groups (2,000 hard apart pairs, 500 hard together "
                + "pairs, 1,000 soft apart triples, 750 preferred-rack rules, 250 strict two-rack rules, 500 restart-"
                + "order dependencies; cluster record " + bytes + " bytes).\n\n");
        md.append("| measure | ms |\n|---|---|\n");
        md.append(String.format("| leader round, %d VMs placed | %.1f |%n", writes, round));
        md.append(String.format("| Placement.place alone, 2,000 VMs on 960 hosts | %.1f |%n", place));
        md.append(String.format("| leader round with the rules, %d VMs placed, %d held back or blocked | %.1f |%n",
                ruledWrites, held, ruledRound));
        md.append(String.format("| PolicyCheck of the whole rule set (each rule change, at the origin and the "
                + "leader) | %.1f |%n%n", check));
        out.printf("placement: leader round %.1f ms (%d VMs placed), Placement.place alone %.1f ms%n", round, writes,
                place);
        out.printf("placement with %d rules: leader round %.1f ms (%d placed, %d held or blocked), policy check %.1f ms,"
                + " cluster record %d bytes%n", rules.rules().size(), ruledRound, ruledWrites, held, check, bytes);
        row("placement-40-of-1000-hosts", "leader-round", round, "ms");
        idleLeader(hostCount, perHost);
        row("placement-40-of-1000-hosts", "placement-only", place, "ms");
        row("placement-40-of-1000-hosts-5000-rules", "leader-round", ruledRound, "ms");
        row("placement-40-of-1000-hosts-5000-rules", "policy-check", check, "ms");
        row("placement-40-of-1000-hosts-5000-rules", "cluster-record", bytes, "bytes");
    }

    /**
     * The leader's tick with nothing to do, at 1,000 hosts and 50,000 VMs: every peer heartbeats it
     * and every confirmation is answered (outside the time counted), and it runs its ticks, 10 a
     * second. The mean over the last four fifths (the first warm the JIT) is its idle cost.
     */
    private void idleLeader(int hostCount, int perHost) {
        int ticks = quick ? 200 : 1_500;
        PlacementRig rig = new PlacementRig(hostCount, perHost, 0, null);
        long[] t = rig.idleTicks(ticks);
        long[] counted = Arrays.copyOfRange(t, ticks / 5, ticks);
        double meanMs = Arrays.stream(counted).average().orElse(0) / 1e6;
        Arrays.sort(counted);
        double p99 = counted[(int) (counted.length * 0.99)] / 1e6;
        double core = meanMs * 10 / 1000 * 100; // 10 ticks a second
        md.append(String.format("The leader idle, at %d hosts and %d VMs: each tick %.3f ms on average (p99 %.3f ms), "
                + "%.2f%% of a core at its 10 ticks a second (%d ticks counted; every peer's heartbeat and every "
                + "confirmation handled outside the time counted).%n%n", hostCount, hostCount * perHost, meanMs, p99,
                core, counted.length));
        out.printf("idle leader at %d hosts, %d VMs: tick %.3f ms mean, p99 %.3f ms, %.2f%% of a core%n", hostCount,
                hostCount * perHost, meanMs, p99, core);
        row("idle-leader-1000-hosts-50000-vms", "tick-mean", meanMs, "ms");
        row("idle-leader-1000-hosts-50000-vms", "core", core, "percent");
    }

    private static double median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[s.length / 2] / 1e6;
    }

    private static VmId vm(int host, int k) {
        return new VmId("vm-" + host + "-" + k);
    }

    /**
     * 5,000 rules that the rig's placement (host i runs vm-i-0 .. vm-i-49) satisfies, in 40 racks of
     * 25 hosts: hard apart pairs of neighbours, hard together pairs on one host, soft apart triples,
     * preferred racks, strict two-rack rules and restart-order dependencies (the last two on the
     * failing hosts too, so that the round meets them).
     */
    static PlacementPolicy realisticRules(int hostCount, int perHost) {
        PlacementPolicy p = PlacementPolicy.EMPTY;
        int racks = hostCount / 25;
        for (int r = 0; r < racks; r++) {
            Set<HostId> hs = new java.util.TreeSet<>();
            for (int i = r * 25 + 1; i <= r * 25 + 25; i++) {
                hs.add(new HostId("h" + i));
            }
            p = p.withGroup("rack-" + r, hs);
        }
        List<Rule> rules = new ArrayList<>();
        for (int i = 1; i <= hostCount; i++) {
            int next = i % hostCount + 1;
            rules.add(new Rule.Apart("apart-0-" + i, List.of(vm(i, 0), vm(next, 0)), true, null));
            rules.add(new Rule.Apart("apart-1-" + i, List.of(vm(i, 1), vm(next, 1)), true, null));
            rules.add(new Rule.Apart("spread-" + i, List.of(vm(i, 4), vm(next, 4), vm(next % hostCount + 1, 4)),
                    false, 5));
        }
        for (int i = 1; i <= hostCount / 2; i++) {
            rules.add(new Rule.Together("pair-" + i, List.of(vm(i, 2), vm(i, 3)), true, null));
        }
        for (int i = 1; i <= hostCount * 3 / 4; i++) {
            int rack = (i - 1) / 25;
            rules.add(new Rule.OnHosts("prefer-" + i, List.of(vm(i, 5), vm(i, 6), vm(i, 7), vm(i, 8), vm(i, 9)),
                    List.of("rack-" + rack, "rack-" + ((rack + 1) % racks)), false, false));
        }
        for (int i = hostCount * 3 / 4 + 1; i <= hostCount; i++) {
            int rack = (i - 1) / 25;
            rules.add(new Rule.OnHosts("strict-" + i, List.of(vm(i, 10)),
                    List.of("rack-" + rack, "rack-" + (rack - 1)), true, false));
        }
        for (int i = hostCount / 2 + 1; i <= hostCount; i++) {
            rules.add(new Rule.After("order-" + i, List.of(vm(i, 11)), List.of(vm(i, 12)), null, 60_000, null));
        }
        return new PlacementPolicy(p.groups(), rules, 0, false, null);
    }

    /** A leader node fed a large cluster state through events; its ports only record. */
    private static final class PlacementRig {
        private final List<Runnable> timers = new ArrayList<>();
        private final List<List<CoordOp>> written = new ArrayList<>();
        private final Node node;
        private final NodeDriver driver;
        private final int hostCount;
        private final int perHost;
        private final int failed;
        private long now = 1_000_000_000L;
        private long claimToken;
        private long confirmToken;
        private io.havn.common.port.ViewScope askedScope = io.havn.common.port.ViewScope.OWN;

        PlacementRig(int hostCount, int perHost, int failed, PlacementPolicy rules) {
            this.hostCount = hostCount;
            this.perHost = perHost;
            this.failed = failed;
            HostId self = new HostId("h1");
            Coordinator coordinator = new Coordinator() {
                @Override
                public void openSession() {
                }

                @Override
                public void confirm(long token) {
                    confirmToken = token;
                }

                @Override
                public void joinElection() {
                }

                @Override
                public void resign() {
                }

                @Override
                public void evict(HostId host, long session) {
                }

                @Override
                public void claimEpoch(long token) {
                    claimToken = token;
                }

                @Override
                public void write(long token, List<CoordOp> ops) {
                    written.add(ops);
                }

                @Override
                public void scope(io.havn.common.port.ViewScope scope) {
                    askedScope = scope;
                }

                @Override
                public void follow(Set<VmId> vms) {
                }
            };
            Hypervisor hv = new Hypervisor() {
                @Override
                public void list() {
                }

                @Override
                public void start(VmSpec spec) {
                }

                @Override
                public void resume(VmId vm) {
                }

                @Override
                public void shutdown(VmId vm, long timeoutMs) {
                }

                @Override
                public void destroy(VmId vm) {
                }

                @Override
                public void migrate(VmId vm, HostId target) {
                }

                @Override
                public void disableAutostart(VmId vm) {
                }

                @Override
                public void pingAgent(VmId vm) {
                }

                @Override
                public void reset(VmId vm) {
                }
            };
            Watchdog wd = new Watchdog() {
                @Override
                public void armUntil(long deadlineNanos) {
                }

                @Override
                public void release() {
                }

                @Override
                public OptionalLong inheritedDeadline() {
                    return OptionalLong.empty();
                }

                @Override
                public java.util.Optional<String> problem() {
                    return java.util.Optional.empty();
                }
            };
            NodePorts ports = new NodePorts(() -> now, (delay, task) -> {
                timers.add(task);
                return () -> { };
            }, (to, hb) -> { }, coordinator, hv, (h, d) -> { }, wd, d -> { }, (id, r) -> { });
            node = new Node(new Node.Identity(self, new HostCapacity(64, 262144), null, null), Settings.defaults(),
                    ports.clock(), wd);
            driver = new NodeDriver(node, ports);
            driver.start();
            List<io.havn.common.port.DomainInfo> mine = new ArrayList<>();
            for (int k = 0; k < perHost; k++) {
                mine.add(new io.havn.common.port.DomainInfo(new VmId("vm-1-" + k), "vm-1-" + k,
                        io.havn.common.port.DomainState.RUNNING));
            }
            driver.handle(new NodeEvent.DomainsListed(mine));
            for (int i = 1; i <= hostCount; i++) {
                HostId h = new HostId("h" + i);
                boolean off = i > hostCount - failed;
                driver.handle(new NodeEvent.HostChanged(h, new Versioned<>(new HostRecord(h, new HostCapacity(64, 262144),
                        null, "ipmi", HostAdminState.ACTIVE, off), 0)));
                driver.handle(new NodeEvent.LiveChanged(h, off ? Set.of() : Set.of((long) i)));
            }
            driver.handle(new NodeEvent.SessionStarted(1, 10_000));
            driver.handle(new NodeEvent.Confirmed(confirmToken, true));
            driver.handle(new NodeEvent.LeadershipChanged(true));
            if (askedScope != io.havn.common.port.ViewScope.WHOLE) {
                throw new IllegalStateException("the placement rig's elected node did not ask for every VM record");
            }
            for (int i = 1; i <= hostCount; i++) {
                HostId h = new HostId("h" + i);
                for (int k = 0; k < perHost; k++) {
                    VmSpec spec = new VmSpec(new VmId("vm-" + i + "-" + k), "vm-" + i + "-" + k, 1, 1024,
                            Priority.values()[k % 3], true, "<domain type='kvm'><name>vm-" + i + "-" + k
                            + "</name></domain>");
                    driver.handle(new NodeEvent.VmChanged(spec.id(), new Versioned<>(VmRecord.running(spec, h, i), 0)));
                }
            }
            if (rules != null) {
                driver.handle(new NodeEvent.ClusterChanged(new Versioned<>(
                        io.havn.common.model.ClusterRecord.DEFAULT.withPlacement(rules), 0)));
            }
            driver.handle(new NodeEvent.ViewLoaded(io.havn.common.port.ViewScope.WHOLE));
            driver.handle(new NodeEvent.EpochClaimed(claimToken, 1));
            if (!node.isLeader()) {
                throw new IllegalStateException("the placement rig's node did not become leader");
            }
            for (int i = 2; i <= hostCount - failed; i++) {
                driver.handle(new NodeEvent.HeartbeatReceived(new Heartbeat(new HostId("h" + i), 1, 1, now,
                        now, 0, false), now));
            }
        }

        /** Runs the node's next timer (its tick: the manager's round) and returns its wall time. */
        long timeLeaderRound() {
            now += 100_000_000L;
            System.gc(); // keep the rig's own garbage out of the timed round
            return runDueTimers();
        }

        /** Runs the timers due (the node's tick) and returns their wall time. */
        private long runDueTimers() {
            List<Runnable> due = new ArrayList<>(timers);
            timers.clear();
            long t0 = System.nanoTime();
            for (Runnable r : due) {
                r.run();
            }
            return System.nanoTime() - t0;
        }

        /**
         * Runs {@code ticks} idle ticks, 100 ms apart: before each, every other host's heartbeat and
         * the answer to the node's last confirmation (not counted). Returns each tick's wall time.
         */
        long[] idleTicks(int ticks) {
            long[] took = new long[ticks];
            long answered = -1;
            int writesBefore = written.size();
            for (int i = 0; i < ticks; i++) {
                now += 100_000_000L;
                for (int h = 2; h <= hostCount; h++) {
                    driver.handle(new NodeEvent.HeartbeatReceived(new Heartbeat(new HostId("h" + h), i + 2, 1, now,
                            now, 0, false), now));
                }
                if (confirmToken != answered) {
                    answered = confirmToken;
                    driver.handle(new NodeEvent.Confirmed(confirmToken, true));
                }
                took[i] = runDueTimers();
            }
            for (List<CoordOp> ops : written.subList(writesBefore, written.size())) {
                for (CoordOp op : ops) {
                    if (op instanceof CoordOp.PutVm) {
                        throw new IllegalStateException("the idle leader wrote a VM record: " + op);
                    }
                }
            }
            if (!node.isLeader()) {
                throw new IllegalStateException("the idle leader rig's node lost leadership");
            }
            return took;
        }

        int placements() {
            if (!node.isLeader()) {
                throw new IllegalStateException("the placement rig's node lost leadership");
            }
            int n = 0;
            for (List<CoordOp> ops : written) {
                for (CoordOp op : ops) {
                    if (op instanceof CoordOp.PutVm p && p.record().phase() == io.havn.common.model.VmPhase.PLACED) {
                        n++;
                    }
                }
            }
            return n;
        }

        /** The VMs the round wrote recovering (held back by a dependency, or blocked by a rule). */
        int recovering() {
            int n = 0;
            for (List<CoordOp> ops : written) {
                for (CoordOp op : ops) {
                    if (op instanceof CoordOp.PutVm p
                            && p.record().phase() == io.havn.common.model.VmPhase.RECOVERING) {
                        n++;
                    }
                }
            }
            return n;
        }

        /** The check of the node's whole rule set against its view, as a rule change runs it. */
        long timePolicyCheck() {
            io.havn.common.model.ClusterState st = node.clusterState();
            Map<HostId, HostCapacity> caps = new java.util.HashMap<>();
            st.hosts().forEach((h, r) -> caps.put(h, r.capacity()));
            Map<VmId, VmSpec> specs = new java.util.HashMap<>();
            Map<VmId, List<HostId>> at = new java.util.HashMap<>();
            st.vms().forEach((v, r) -> {
                specs.put(v, r.spec());
                if (r.phase().holdsCapacity()) {
                    at.put(v, List.of(r.owner()));
                }
            });
            long t0 = System.nanoTime();
            io.havn.common.place.PolicyCheck.Refusal ref = io.havn.common.place.PolicyCheck.check(
                    st.cluster().placement(), caps, specs, vm -> at.getOrDefault(vm, List.of()));
            long took = System.nanoTime() - t0;
            if (ref != null) {
                throw new IllegalStateException("the bench's rules are refused: " + ref.message());
            }
            return took;
        }

        long timePlacementOnly() {
            List<Placement.Request> requests = new ArrayList<>();
            for (int i = hostCount - failed + 1; i <= hostCount; i++) {
                for (int k = 0; k < perHost; k++) {
                    requests.add(new Placement.Request(new VmId("vm-" + i + "-" + k), Priority.values()[k % 3], 1, 1024,
                            Set.of(), null));
                }
            }
            List<Placement.Host> hosts = new ArrayList<>();
            for (int i = 1; i <= hostCount - failed; i++) {
                hosts.add(new Placement.Host(new HostId("h" + i), new HostCapacity(64 - perHost, 262144 - perHost * 1024L)));
            }
            long t0 = System.nanoTime();
            Map<VmId, HostId> placed = Placement.place(requests, hosts);
            long took = System.nanoTime() - t0;
            if (placed.size() != requests.size()) {
                throw new IllegalStateException("placement left " + (requests.size() - placed.size()) + " VMs");
            }
            return took;
        }
    }
}
