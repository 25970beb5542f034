package io.havn.daemon.bench;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.node.Settings;
import io.havn.common.port.CoordOp;
import io.havn.common.port.ViewScope;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Real parts at scale: N hosts in this JVM, each wired as {@code Havnd.start} wires a daemon
 * ({@link ScaleHost}: a real node on its own event loop, a real Netty heartbeat transport on
 * loopback, a real ZooKeeper session through the real coordinator) on a real three-server ensemble
 * ({@link ZkEnsemble}, separate JVMs, so their memory and CPU are apart from the hosts'), with
 * simulated hypervisors, fence devices and watchdogs ({@link ScaleWorld}).
 * <ol>
 *   <li>Set-up: every VM runs on its host in the world, its record in ZooKeeper as an earlier
 *       cluster left it (bound to no session); the hosts start in batches, re-bind their VMs and
 *       report ready; one leads.</li>
 *   <li>Idle: after a settling time, a window in which nothing is asked of the cluster. Measured:
 *       the JVM's CPU time (all hosts), split by thread kind, and the servers'; heartbeats sent; and
 *       after the window, the JVM's resident memory and heap after GC, beside what they were before
 *       the hosts started.</li>
 *   <li>Power loss: {@code --kill-percent} of the hosts (never the leader) lose power at once: their
 *       domains vanish, nothing more leaves or reaches them, their sockets close, their sessions are
 *       abandoned (ZooKeeper expires them), their loops stop. Measured: from that instant to each of
 *       their VMs running again on exactly one powered host, and the leader's record of it.</li>
 * </ol>
 * Each fencing mode runs in a cluster of its own on the same ensemble: with a fence device per
 * host, and without any (the session-expiry path).
 */
@Command(name = "scale-run", mixinStandardHelpOptions = true, version = "scale-run 0.1",
        description = "Runs N real havn nodes (Netty heartbeats on loopback, real ZooKeeper sessions) in one JVM with "
                + "simulated hypervisors, measures them idle, kills some hosts and measures the failover.")
public final class ScaleRun implements Callable<Integer> {
    private static final int START_BATCH = 25;
    private static final Duration SETUP_BOUND = Duration.ofMinutes(5);
    private static final Duration ASK_BOUND = Duration.ofSeconds(30);

    @Option(names = "--hosts", defaultValue = "200", description = "hosts (default ${DEFAULT-VALUE})")
    int hosts;

    @Option(names = "--vms-per-host", defaultValue = "2", description = "HA VMs per host (default ${DEFAULT-VALUE})")
    int vmsPerHost;

    @Option(names = "--settle-seconds", defaultValue = "10",
            description = "after every host is ready, before the idle window (default ${DEFAULT-VALUE})")
    int settleSeconds;

    @Option(names = "--idle-seconds", defaultValue = "30", description = "the idle window (default ${DEFAULT-VALUE})")
    int idleSeconds;

    @Option(names = "--kill-percent", defaultValue = "10",
            description = "the share of hosts that lose power at once, rounded, at least one (default ${DEFAULT-VALUE})")
    int killPercent;

    @Option(names = "--fencing", split = ",", defaultValue = "with,without", paramLabel = "with|without",
            description = "the runs: with a fence device per host, without any (default ${DEFAULT-VALUE})")
    List<String> fencing;

    @Option(names = "--start-ms", defaultValue = "500",
            description = "how long a simulated domain start takes (default ${DEFAULT-VALUE})")
    long startMs;

    @Option(names = "--fence-ms", defaultValue = "1000",
            description = "how long a simulated fence device takes to power a host off (default ${DEFAULT-VALUE})")
    long fenceMs;

    @Option(names = "--recovery-bound-seconds", defaultValue = "180",
            description = "how long the failover may take before the run fails (default ${DEFAULT-VALUE})")
    int recoveryBoundSeconds;

    @Option(names = "--digest-hosts", description = "the setting digestHosts: the most hosts one heartbeat's digest "
            + "speaks of (default: the setting's default); below the host count, digests go in runs")
    Integer digestHosts;

    @Option(names = "--server-heap", defaultValue = "512m", description = "each ZooKeeper server's -Xmx (default ${DEFAULT-VALUE})")
    String serverHeap;

    @Option(names = "--dir", description = "the work directory (default: a new temporary one, removed at the end)")
    Path dir;

    @Option(names = "--out", description = "also write the results (Markdown) to this file")
    Path out;

    private final PrintStream console;
    /** The results of the last call, one per fencing mode, in order. */
    final List<Result> results = new ArrayList<>();

    public ScaleRun() {
        this(System.out);
    }

    ScaleRun(PrintStream console) {
        this.console = console;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new ScaleRun()).execute(args));
    }

    /** The options' errors, each naming its option; empty when they are good. */
    List<String> check() {
        List<String> errors = new ArrayList<>();
        if (hosts < 3 || hosts > 1_000) {
            errors.add("--hosts: " + hosts + " is outside 3..1000");
        }
        if (vmsPerHost < 1 || vmsPerHost > 50) {
            errors.add("--vms-per-host: " + vmsPerHost + " is outside 1..50");
        }
        if (idleSeconds < 1 || idleSeconds > 3_600) {
            errors.add("--idle-seconds: " + idleSeconds + " is outside 1..3600");
        }
        if (settleSeconds < 0 || settleSeconds > 600) {
            errors.add("--settle-seconds: " + settleSeconds + " is outside 0..600");
        }
        if (killPercent < 1 || killPercent > 49) {
            errors.add("--kill-percent: " + killPercent + " is outside 1..49 (a majority stays)");
        }
        if (fencing == null || fencing.isEmpty()) {
            errors.add("--fencing: give with, without or both");
        } else {
            for (String f : fencing) {
                if (!"with".equals(f) && !"without".equals(f)) {
                    errors.add("--fencing: '" + f + "' is neither with nor without");
                }
            }
        }
        if (startMs < 1 || fenceMs < 1) {
            errors.add("--start-ms, --fence-ms: must be at least 1");
        }
        if (recoveryBoundSeconds < 10) {
            errors.add("--recovery-bound-seconds: at least 10");
        }
        if (digestHosts != null && (digestHosts < 2 || digestHosts > io.havn.common.node.HealthDigest.MAX_HOSTS)) {
            errors.add("--digest-hosts: " + digestHosts + " is outside 2.." + io.havn.common.node.HealthDigest.MAX_HOSTS);
        }
        if (!serverHeap.matches("[1-9][0-9]*[mMgG]")) {
            errors.add("--server-heap: '" + serverHeap + "' is not a size such as 512m or 1g");
        }
        return errors;
    }

    /** The hosts that lose power. */
    int killed() {
        return Math.max(1, (int) Math.round(hosts * killPercent / 100.0));
    }

    @Override
    public Integer call() throws Exception {
        List<String> errors = check();
        if (!errors.isEmpty()) {
            errors.forEach(e -> System.err.println("scale-run: " + e));
            return 2;
        }
        for (String logger : List.of(org.slf4j.Logger.ROOT_LOGGER_NAME, "org.apache.curator", "org.apache.zookeeper",
                "io.havn", "io.netty")) {
            // the adapters' log lines (200 hosts starting, sessions abandoned) are not figures, and cost CPU
            ((Logger) LoggerFactory.getLogger(logger)).setLevel(Level.ERROR);
        }
        // Curator reports every abandoned session's background retries giving up: that is the power loss
        ((Logger) LoggerFactory.getLogger("org.apache.curator")).setLevel(Level.OFF);
        // and Netty a heartbeat sent as its host's socket closed
        ((Logger) LoggerFactory.getLogger("io.netty")).setLevel(Level.OFF);
        results.clear();
        boolean temporary = dir == null;
        Path work = temporary ? Files.createTempDirectory("havn-scale-run") : Files.createDirectories(dir);
        List<String> lines = new ArrayList<>();
        try (ZkEnsemble zk = ZkEnsemble.start(work, serverHeap)) {
            long baseRss = rss();
            long baseHeap = CoordLoad.usedHeap();
            lines.add(String.format(Locale.ROOT, "ZooKeeper: %d servers (separate JVMs, -Xmx%s, tick %d ms); %d hosts in "
                    + "this JVM (%d cores available), %d HA VMs each; default settings (monitors %d, session timeout %d ms, "
                    + "digests of at most %d hosts a heartbeat); "
                    + "simulated start %d ms, fence %d ms; idle window %d s after %d s of settling; %d hosts lose power. "
                    + "This JVM before any host: RSS %.0f MiB, heap after GC %.1f MiB.", ZkEnsemble.SERVERS, serverHeap,
                    ZkEnsemble.TICK_MS, hosts, Runtime.getRuntime().availableProcessors(), vmsPerHost,
                    Settings.defaults().monitors(), Settings.defaults().sessionTimeoutMs(),
                    digestHosts == null ? Settings.defaults().digestHosts() : digestHosts, startMs, fenceMs,
                    idleSeconds, settleSeconds, killed(), mib(baseRss), mib(baseHeap)));
            lines.add("");
            lines.add("| fence devices | hosts (running when idle) | VMs | killed (VMs) | set-up | idle CPU per host | JVM CPU | servers' CPU "
                    + "| heartbeats/s per host | RSS per host | heap per host | recovery p50 | max | all running | proofs "
                    + "| violations | live hosts fenced | leases held | lapsed/self-fenced |");
            lines.add("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            lines.forEach(console::println);
            List<String> notes = new ArrayList<>();
            boolean first = true;
            for (String mode : fencing) {
                if (!first) {
                    CoordLoad.awaitNoSessionsLeft(zk); // the run before's abandoned sessions are gone
                }
                first = false;
                Result r = new Run(zk, "with".equals(mode), baseRss, baseHeap).run();
                results.add(r);
                String row = r.row();
                console.println(row);
                lines.add(row);
                notes.addAll(r.notes());
            }
            lines.add("");
            for (String n : notes) {
                lines.add("- " + n);
                console.println("- " + n);
            }
        } finally {
            if (temporary) {
                CoordLoad.deleteTree(work);
            }
        }
        if (out != null) {
            Files.writeString(out, String.join("\n", lines) + "\n");
        }
        return 0;
    }

    /** What one run measured. Times in ns, memory in bytes, CPU as a share of one core (1.0 = a core). */
    record Result(boolean fence, int hosts, int vms, int killed, int killedVms, long setupNanos,
                  double idleCorePerHost, double idleCoreJvm, double idleCoreServers, double heartbeatsPerHostPerSecond,
                  long rssPerHost, long heapPerHost, int runningIdle, long rssJvm, long rssServers, int threads,
                  Map<String, Double> coreByThreadKind, long recoveryP50, long recoveryMax, long recoveryAll,
                  Map<Decision.Proof, Integer> proofs, List<String> violations, int liveHostsFenced, int fencedInSetUp,
                  int leasesHeld, int liveHosts, long lapsed, long suspectsIdle, List<String> recordMismatches,
                  Map<VmId, Set<HostId>> killedVmHolders, long closeNanos, List<String> noted) {

        String row() {
            StringBuilder p = new StringBuilder();
            proofs.forEach((k, v) -> p.append(p.length() == 0 ? "" : ", ").append(v).append(' ')
                    .append(k.name().toLowerCase(Locale.ROOT).replace('_', '-')));
            return String.format(Locale.ROOT, "| %s | %d (%d) | %d | %d (%d) | %.0f s | %.2f%% | %.0f%% | %.0f%% | %.1f "
                            + "| %.1f MiB | %.2f MiB | %s | %s | %s | %s | %d | %d | %d of %d | %d |",
                    fence ? "yes" : "no", hosts, runningIdle, vms, killed, killedVms, setupNanos / 1e9, 100 * idleCorePerHost,
                    100 * idleCoreJvm, 100 * idleCoreServers, heartbeatsPerHostPerSecond, mib(rssPerHost),
                    mib(heapPerHost), CoordLoad.ms(recoveryP50), CoordLoad.ms(recoveryMax), CoordLoad.ms(recoveryAll),
                    p.length() == 0 ? "none" : p, violations.size(), liveHostsFenced, leasesHeld, liveHosts, lapsed);
        }

        List<String> notes() {
            List<String> n = new ArrayList<>();
            StringBuilder t = new StringBuilder();
            coreByThreadKind.forEach((k, v) -> t.append(t.length() == 0 ? "" : ", ").append(k)
                    .append(String.format(Locale.ROOT, " %.1f%%", 100 * v)));
            String m = fence ? "with fence devices" : "without fence devices";
            n.add(String.format(Locale.ROOT, "%s: idle CPU of this JVM by thread kind (%% of one core, all hosts): %s; "
                    + "%d threads; JVM RSS %.0f MiB, the three servers' RSS %.0f MiB; suspicions while idle: %d; live "
                    + "hosts fenced during the set-up: %d; the killed hosts' parts closed in %s", m, t, threads,
                    mib(rssJvm), mib(rssServers), suspectsIdle, fencedInSetUp, CoordLoad.ms(closeNanos)));
            for (String v : violations) {
                n.add(m + ": VIOLATION " + v);
            }
            for (String r : recordMismatches) {
                n.add(m + ": record " + r);
            }
            for (String d : noted) {
                n.add(m + ": " + d);
            }
            return n;
        }
    }

    private final class Run {
        final ZkEnsemble zk;
        final boolean fence;
        final long baseRss;
        final long baseHeap;
        final Settings settings = digestHosts == null ? Settings.defaults()
                : Settings.defaults().with(java.util.Map.of("digestHosts", digestHosts));
        final String cluster;
        final ScheduledThreadPoolExecutor hardware = new ScheduledThreadPoolExecutor(2, daemon("scale-hardware"));
        final ExecutorService closer = Executors.newFixedThreadPool(16, daemon("scale-closer"));
        final ScaleWorld world = new ScaleWorld(hardware);
        final Map<HostId, ScaleHost> all = new ConcurrentHashMap<>();
        final List<HostId> ids = new ArrayList<>();
        final Map<HostId, List<VmId>> vmsOf = new LinkedHashMap<>();

        Run(ZkEnsemble zk, boolean fence, long baseRss, long baseHeap) {
            this.zk = zk;
            this.fence = fence;
            this.baseRss = baseRss;
            this.baseHeap = baseHeap;
            this.cluster = "scale-" + (fence ? "fence" : "expiry") + "-" + hosts;
        }

        Result run() throws Exception {
            try {
                return measure();
            } finally {
                List<Future<?>> closing = new ArrayList<>();
                for (ScaleHost h : all.values()) {
                    closing.add(closer.submit(h::close));
                }
                for (Future<?> f : closing) {
                    try {
                        f.get(30, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        // a host that did not close in time is abandoned with the JVM
                    }
                }
                closer.shutdownNow();
                hardware.shutdownNow();
            }
        }

        private Result measure() throws Exception {
            long t0 = System.nanoTime();
            long deadline = t0 + SETUP_BOUND.toNanos();
            byte[] key = new byte[32];
            new SecureRandom().nextBytes(key);
            for (int i = 0; i < hosts; i++) {
                HostId id = HostId.of(String.format(Locale.ROOT, "host%04d", i + 1));
                ids.add(id);
                world.addMachine(id, fence ? "ipmi-" + id : null);
                List<VmId> vms = new ArrayList<>();
                for (int j = 0; j < vmsPerHost; j++) {
                    VmId vm = VmId.of(id.value() + "-vm" + (j + 1));
                    vms.add(vm);
                    world.place(id, vm);
                }
                vmsOf.put(id, vms);
            }
            seed(key, deadline);
            ScaleHost.Hardware hw = new ScaleHost.Hardware(20, startMs, 2_000, 2_000, fenceMs, 5_000);
            for (int first = 0; first < hosts; first += START_BATCH) {
                for (int i = first; i < Math.min(hosts, first + START_BATCH); i++) {
                    HostId id = ids.get(i);
                    all.put(id, new ScaleHost(id, world, zk.connectString(), cluster, key, settings,
                            world.fenceDevice(id), hw, world::decided, this::fencedAlive, all::get));
                }
                // the next batch once this one is ready (or gone), as daemons that start over a few minutes
                if (!world.await(() -> world.readyHosts() == world.poweredCount() - (hosts - all.size()), deadline)) {
                    throw new TimeoutException(world.readyHosts() + " of " + all.size() + " hosts started are ready "
                            + "within " + SETUP_BOUND + "; noted: " + world.noted());
                }
            }
            List<VmId> every = new ArrayList<>();
            vmsOf.values().forEach(every::addAll);
            if (!world.await(() -> world.readyHosts() == world.poweredCount() && world.leader() != null
                    && world.eachRunsOnce(every), deadline)) {
                throw new TimeoutException(world.readyHosts() + " of " + world.poweredCount() + " powered hosts ready, "
                        + "leader " + world.leader() + ", every VM running once: " + world.eachRunsOnce(every)
                        + ", within " + SETUP_BOUND + "; noted: " + world.noted());
            }
            long setup = System.nanoTime() - t0;
            int fencedInSetUp = world.liveHostsFenced();
            console.printf(Locale.ROOT, "  (%s fence devices: %d hosts ready in %.1f s, leader %s, %d live hosts fenced "
                    + "meanwhile)%n", fence ? "with" : "without", world.readyHosts(), setup / 1e9, world.leader(),
                    fencedInSetUp);
            if (settleSeconds > 0) {
                Thread.sleep(settleSeconds * 1_000L); // not a synchronisation: the idle window begins after it
            }

            // ---- idle
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            Map<Long, Long> threadCpu0 = threadCpu(threads);
            long sent0 = sent();
            long suspect0 = world.count(Decision.Kind.SUSPECT);
            long server0 = zk.cpuNanos();
            long cpu0 = processCpuNanos();
            long i0 = System.nanoTime();
            Thread.sleep(idleSeconds * 1_000L); // the window measured
            long cpu = processCpuNanos() - cpu0;
            long window = System.nanoTime() - i0;
            long server = zk.cpuNanos() - server0;
            long sent = sent() - sent0;
            Map<String, Double> byKind = byKind(threads, threadCpu0, window);
            long suspectsIdle = world.count(Decision.Kind.SUSPECT) - suspect0;
            int threadCount = threads.getThreadCount();
            // per host: of the hosts that run (a host fenced during the set-up has its parts closed)
            int running = world.poweredCount();
            long rssJvm = rss();
            long heap = CoordLoad.usedHeap();
            long rssServers = zk.rssBytes();

            // ---- power loss
            HostId leader = world.leader();
            List<HostId> victims = victims(leader);
            List<VmId> lost = new ArrayList<>();
            victims.forEach(v -> lost.addAll(vmsOf.get(v)));
            long lapsed0 = world.count(Decision.Kind.LEASE_LAPSED) + world.count(Decision.Kind.SELF_FENCE);
            long k0 = System.nanoTime();
            for (HostId v : victims) {
                world.powerOff(v, false);
                all.get(v).powerLost();
            }
            List<Future<?>> closing = new ArrayList<>();
            for (HostId v : victims) {
                closing.add(closer.submit(all.get(v)::close));
            }
            for (Future<?> f : closing) {
                f.get(30, TimeUnit.SECONDS);
            }
            long closed = System.nanoTime() - k0;
            long bound = k0 + recoveryBoundSeconds * 1_000_000_000L;
            boolean recovered = world.await(() -> {
                for (VmId vm : lost) {
                    Long up = world.upSince(vm);
                    if (up == null || up - k0 < 0 || world.holders(vm).size() != 1) {
                        return false;
                    }
                }
                return true;
            }, bound);
            List<Long> each = new ArrayList<>();
            Map<VmId, Set<HostId>> holders = new LinkedHashMap<>();
            for (VmId vm : lost) {
                Long up = world.upSince(vm);
                if (up != null && up - k0 >= 0) {
                    each.add(up - k0);
                }
                holders.put(vm, world.holders(vm));
            }
            Collections.sort(each);
            long allUp = recovered ? each.get(each.size() - 1) : -1;
            if (!recovered) {
                console.printf(Locale.ROOT, "  (not every VM ran again within %d s: %d of %d)%n", recoveryBoundSeconds,
                        each.size(), lost.size());
            }
            // the leader's records say the same: each VM running, owned by the host it runs on
            List<String> mismatches = recordsAgree(lost, bound);
            int liveHosts = 0;
            int leases = 0;
            long now = System.nanoTime();
            for (HostId id : ids) {
                ScaleHost h = all.get(id);
                if (!world.powered(id) || h.dead()) {
                    continue;
                }
                liveHosts++;
                Boolean holds = h.ask(n -> n.isReady() && !n.isSelfFenced());
                if (Boolean.TRUE.equals(holds) && h.watchdog.armedNow(now)) {
                    leases++;
                }
            }
            Map<Decision.Proof, Integer> proofs = new EnumMap<>(Decision.Proof.class);
            for (Decision d : world.recovered()) {
                if (d.timings() != null && d.vm() != null && lost.contains(d.vm())) {
                    proofs.merge(d.timings().proof(), 1, Integer::sum);
                }
            }
            List<String> noted = new ArrayList<>();
            for (Decision d : world.noted()) {
                noted.add(d.toString());
            }
            long lapsed = world.count(Decision.Kind.LEASE_LAPSED) + world.count(Decision.Kind.SELF_FENCE) - lapsed0;
            return new Result(fence, hosts, hosts * vmsPerHost, victims.size(), lost.size(), setup,
                    cpu / (double) window / running, cpu / (double) window, server / (double) window,
                    sent / (window / 1e9) / running, Math.max(0, rssJvm - baseRss) / running,
                    Math.max(0, heap - baseHeap) / running, running, rssJvm, rssServers, threadCount, byKind,
                    CoordLoad.pct(each, 50), each.isEmpty() ? -1 : each.get(each.size() - 1), allUp, proofs,
                    world.violations(), world.liveHostsFenced() - fencedInSetUp, fencedInSetUp, leases, liveHosts, lapsed, suspectsIdle, mismatches,
                    holders, closed, noted);
        }

        /** A fence device cut a host that was still alive: its daemon goes with it. */
        private void fencedAlive(HostId h) {
            ScaleHost host = all.get(h);
            if (host != null) {
                host.powerLost();
                closer.submit(host::close);
            }
        }

        /** The records as an earlier cluster left them: every VM running on its host, bound to no session. */
        private void seed(byte[] key, long deadline) throws Exception {
            LoadHost seeder = new LoadHost(HostId.of("seeder"), zk.connectString(), (int) settings.sessionTimeoutMs(),
                    cluster, key, settings.suspectAfterMs(), settings.leaseMs(), ViewScope.OWN);
            try {
                seeder.start();
                seeder.session.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                List<CoordOp> pending = new ArrayList<>();
                for (HostId id : ids) {
                    for (VmId vm : vmsOf.get(id)) {
                        pending.add(new CoordOp.PutVm(VmRecord.running(CoordLoad.spec(vm), id, 0), CoordOp.NEW));
                    }
                }
                for (int first = 0; first < pending.size(); first += START_BATCH) {
                    List<CoordOp> batch = pending.subList(first, Math.min(pending.size(), first + START_BATCH));
                    List<CompletableFuture<WriteOutcome>> answers = new ArrayList<>();
                    for (CoordOp op : batch) {
                        answers.add(seeder.write(List.of(op)));
                    }
                    for (int i = 0; i < batch.size(); i++) {
                        WriteOutcome o = answers.get(i).get(Math.max(1, deadline - System.nanoTime()),
                                TimeUnit.NANOSECONDS);
                        for (int attempt = 2; o == WriteOutcome.FAILED && attempt <= 5; attempt++) {
                            o = seeder.write(List.of(batch.get(i))).get(Math.max(1, deadline - System.nanoTime()),
                                    TimeUnit.NANOSECONDS);
                        }
                        if (o == WriteOutcome.FAILED) {
                            throw new IOException("seeding a VM record failed five times");
                        }
                        // CONFLICT after FAILED: the first try went through
                    }
                }
            } finally {
                seeder.close();
            }
        }

        /** Spread over the hosts, never the leader. */
        private List<HostId> victims(HostId leader) {
            int dead = killed();
            List<HostId> candidates = new ArrayList<>(ids);
            candidates.remove(leader);
            candidates.removeIf(h -> !world.powered(h));
            List<HostId> out = new ArrayList<>();
            double stride = candidates.size() / (double) dead;
            for (int i = 0; i < dead; i++) {
                out.add(candidates.get((int) Math.floor(i * stride + stride / 2)));
            }
            return out;
        }

        /**
         * Asks the leader (as it is now) for its records of {@code vms} until each shows the VM running,
         * owned by the one host it runs on, or the bound passes; returns what still disagrees.
         */
        private List<String> recordsAgree(List<VmId> vms, long bound) throws InterruptedException {
            long end = Math.min(bound, System.nanoTime() + ASK_BOUND.toNanos());
            List<String> wrong = new ArrayList<>();
            while (true) {
                wrong.clear();
                HostId leader = world.leader();
                ScaleHost h = leader == null ? null : all.get(leader);
                ClusterState s = h == null || h.dead() ? null : h.ask(n -> n.isLeader() ? n.clusterState() : null);
                if (s == null) {
                    wrong.add("no live leader answered");
                } else {
                    for (VmId vm : vms) {
                        VmRecord r = s.vms().get(vm);
                        Set<HostId> on = world.holders(vm);
                        if (r == null || r.phase() != VmPhase.RUNNING || on.size() != 1
                                || !on.contains(r.owner()) || !s.isLive(r.owner())) {
                            wrong.add(vm + ": " + (r == null ? "no record" : r.phase() + " on " + r.owner()) + ", held by "
                                    + on);
                        }
                    }
                }
                if (wrong.isEmpty() || System.nanoTime() - end > 0) {
                    return List.copyOf(wrong);
                }
                // the leader's view follows ZooKeeper's watches: look again after the next change or shortly
                world.await(() -> false, Math.min(end, System.nanoTime() + 200_000_000L));
            }
        }

        private long sent() {
            long s = 0;
            for (ScaleHost h : all.values()) {
                s += h.heartbeatsSent();
            }
            return s;
        }
    }

    /** CPU time of each live thread now (ns). */
    private static Map<Long, Long> threadCpu(ThreadMXBean threads) {
        Map<Long, Long> out = new HashMap<>();
        for (long id : threads.getAllThreadIds()) {
            long t = threads.getThreadCpuTime(id);
            if (t >= 0) {
                out.put(id, t);
            }
        }
        return out;
    }

    /** The CPU used since {@code before}, by kind of thread, as a share of one core over {@code window}. */
    private static Map<String, Double> byKind(ThreadMXBean threads, Map<Long, Long> before, long window) {
        Map<String, Long> sum = new LinkedHashMap<>();
        for (String k : List.of("node loops", "Netty transports", "ZooKeeper clients", "coordinators", "Curator",
                "simulated hardware", "other")) {
            sum.put(k, 0L);
        }
        for (long id : threads.getAllThreadIds()) {
            long t = threads.getThreadCpuTime(id);
            java.lang.management.ThreadInfo info = threads.getThreadInfo(id);
            if (t < 0 || info == null) {
                continue;
            }
            long used = t - before.getOrDefault(id, 0L);
            sum.merge(kind(info.getThreadName()), used, Long::sum);
        }
        Map<String, Double> out = new LinkedHashMap<>();
        sum.forEach((k, v) -> out.put(k, v / (double) window));
        return out;
    }

    private static String kind(String thread) {
        if (thread.contains("SendThread") || thread.contains("EventThread")) {
            return "ZooKeeper clients";
        }
        if (thread.startsWith("havn-node-")) {
            return "node loops";
        }
        if (thread.startsWith("havn-transport")) {
            return "Netty transports";
        }
        if (thread.startsWith("havn-coord")) {
            return "coordinators";
        }
        if (thread.startsWith("Curator")) {
            return "Curator";
        }
        if (thread.startsWith("scale-hardware")) {
            return "simulated hardware";
        }
        return "other";
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    private static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean s ? s.getProcessCpuTime() : 0;
    }

    /** This JVM's resident memory now (VmRSS; bytes). */
    static long rss() {
        return rssOf(Path.of("/proc/self/status"));
    }

    /** The VmRSS line of a {@code /proc/<pid>/status} file, in bytes; 0 where it cannot be read. */
    static long rssOf(Path status) {
        try {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith("VmRSS:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024L;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or the process is gone
        }
        return 0;
    }

    static double mib(long bytes) {
        return bytes / 1048576.0;
    }
}
