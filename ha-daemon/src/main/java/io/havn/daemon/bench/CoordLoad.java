package io.havn.daemon.bench;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.node.Settings;
import io.havn.common.port.CoordOp;
import io.havn.common.port.ViewScope;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The coordination load of N hosts on a real ZooKeeper ensemble: N real ZooKeeper adapters
 * ({@link io.havn.daemon.coord.CuratorCoordinator}, one session each) in this JVM against three
 * ZooKeeper servers on this machine ({@link ZkEnsemble}), doing what N havnd do.
 * <ol>
 *   <li>Set-up: each host opens its session, registers its host record and its VMs' records, and
 *       host 1 becomes leader, keeps every VM record and claims the epoch; host 2, next in line, keeps
 *       every record too. The others keep only the
 *       records that name them ({@code --view own}, as havnd does from {@code ownViewFromHosts} hosts
 *       on) or every one ({@code --view whole}, as havnd does below it).</li>
 *   <li>Steady state: every host confirms its session every {@code confirmIntervalMs}, for
 *       {@code --seconds}. Measured: the ensemble's writes per second, each confirmation's latency,
 *       and the longest a host went without a credited confirmation (rule 5's "unconfirmed", and
 *       the lease: a gap over the lease means it would have lapsed).</li>
 *   <li>A failover round: {@code --fail-percent} of the hosts lose power at once (their adapters
 *       are abandoned; ZooKeeper expires their sessions a session timeout later). With a fence
 *       device the leader has proof at once: it writes a placement for each of their VMs (a
 *       multi-op with its epoch and the target's live session, as the node's does), each target
 *       claims what it is given (a compare-and-set bound to its session), while every host goes on
 *       confirming. Measured: the time to every VM claimed, the VM deltas fanned out to the hosts,
 *       the confirmations meanwhile, and when the leader saw the dead sessions expire.</li>
 * </ol>
 * The hosts' heap is measured after set-up (all mirrors full), beside a baseline taken before.
 */
@Command(name = "coord-load", mixinStandardHelpOptions = true, version = "coord-load 0.1",
        description = "Measures what N havn hosts ask of a real three-server ZooKeeper ensemble on this machine: "
                + "confirmation latency and leases, writes per second, and a failover round.")
public final class CoordLoad implements Callable<Integer> {
    private static final Duration SETUP_BOUND = Duration.ofMinutes(5);
    private static final Duration ROUND_BOUND = Duration.ofMinutes(2);
    private static final int START_BATCH = 25;
    private static final int SET_UP_ATTEMPTS = 10;

    @Option(names = "--hosts", split = ",", defaultValue = "100,250,500", paramLabel = "N[,N...]",
            description = "host counts, each run in turn on the same ensemble (default ${DEFAULT-VALUE})")
    List<Integer> hosts;

    @Option(names = "--vms-per-host", defaultValue = "2", description = "VM records per host (default ${DEFAULT-VALUE})")
    int vmsPerHost;

    @Option(names = "--seconds", defaultValue = "30", description = "the steady state's length (default ${DEFAULT-VALUE})")
    int seconds;

    @Option(names = "--fail-percent", defaultValue = "10",
            description = "the share of hosts that lose power in the failover round (default ${DEFAULT-VALUE})")
    int failPercent;

    @Option(names = "--server-heap", defaultValue = "1g", description = "each ZooKeeper server's -Xmx (default ${DEFAULT-VALUE})")
    String serverHeap;

    @Option(names = "--view", defaultValue = "own", paramLabel = "own|whole",
            description = "which VM records a host that does not lead keeps: own (those that name it, as in a cluster of "
                    + "at least ownViewFromHosts hosts) or whole (every one); the leader keeps every one (default "
                    + "${DEFAULT-VALUE})")
    String view;

    @Option(names = "--dir", description = "the work directory (default: a new temporary one, removed at the end)")
    Path dir;

    @Option(names = "--out", description = "also write the results (Markdown) to this file")
    Path out;

    private final PrintStream console;

    public CoordLoad() {
        this(System.out);
    }

    CoordLoad(PrintStream console) {
        this.console = console;
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new CoordLoad()).execute(args));
    }

    /** The options' errors, each naming its option; empty when they are good. */
    List<String> check() {
        List<String> errors = new ArrayList<>();
        if (hosts == null || hosts.isEmpty()) {
            errors.add("--hosts: give at least one host count");
        } else {
            for (int n : hosts) {
                if (n < 3 || n > 2_000) {
                    errors.add("--hosts: " + n + " is outside 3..2000");
                }
            }
        }
        if (vmsPerHost < 1 || vmsPerHost > 100) {
            errors.add("--vms-per-host: " + vmsPerHost + " is outside 1..100");
        }
        if (seconds < 1 || seconds > 3_600) {
            errors.add("--seconds: " + seconds + " is outside 1..3600");
        }
        if (failPercent < 1 || failPercent > 49) {
            errors.add("--fail-percent: " + failPercent + " is outside 1..49 (a majority stays)");
        }
        if (!"own".equals(view) && !"whole".equals(view)) {
            errors.add("--view: '" + view + "' is neither own nor whole");
        }
        if (!serverHeap.matches("[1-9][0-9]*[mMgG]")) {
            errors.add("--server-heap: '" + serverHeap + "' is not a size such as 512m or 1g");
        }
        return errors;
    }

    @Override
    public Integer call() throws Exception {
        List<String> errors = check();
        if (!errors.isEmpty()) {
            errors.forEach(e -> System.err.println("coord-load: " + e));
            return 2;
        }
        for (String logger : List.of(org.slf4j.Logger.ROOT_LOGGER_NAME, "org.apache.curator", "org.apache.zookeeper",
                "io.havn")) {
            // the adapters' own log lines (an abandoned session, a reconnection) are not figures
            ((Logger) LoggerFactory.getLogger(logger)).setLevel(Level.ERROR);
        }
        boolean temporary = dir == null;
        Path work = temporary ? Files.createTempDirectory("havn-coord-load") : Files.createDirectories(dir);
        List<String> lines = new ArrayList<>();
        try (ZkEnsemble zk = ZkEnsemble.start(work, serverHeap)) {
            lines.add("ZooKeeper: " + ZkEnsemble.SERVERS + " servers (separate JVMs, -Xmx" + serverHeap + ", tick "
                    + ZkEnsemble.TICK_MS + " ms, plain connections, data in " + work + "); " + vmsPerHost
                    + " VMs per host; " + seconds + " s of steady state; " + failPercent + "% of the hosts fail; the hosts "
                    + "that do not lead keep " + ("own".equals(view) ? "only the VM records that name them" : "every VM record")
                    + ".");
            lines.add("");
            lines.add("| hosts | writes/s | confirm p50 | p99 | max | longest unconfirmed | over suspectAfter | over lease | sessions lost "
                    + "| round: VMs (placements, claims made again) | all claimed | the views that keep it show it | CPU meanwhile: servers / hosts | VM deltas fanned out | confirm p99 in round | longest unconfirmed in round | expiry seen | heap per host |");
            lines.add("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            lines.forEach(console::println);
            for (int n : hosts) {
                awaitNoSessionsLeft(zk);
                String row = new Run(zk, n, "load-" + n).run();
                console.println(row);
                lines.add(row);
            }
        } finally {
            if (temporary) {
                deleteTree(work);
            }
        }
        if (out != null) {
            Files.writeString(out, String.join("\n", lines) + "\n");
        }
        return 0;
    }

    /**
     * Waits until the sessions a run before abandoned have expired (no ephemeral node is left), so
     * that each run has the ensemble to itself.
     */
    static void awaitNoSessionsLeft(ZkEnsemble zk) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (zk.sum("zk_ephemerals_count") > 0) {
            if (System.nanoTime() > deadline) {
                throw new TimeoutException("the sessions of the run before did not expire within a minute");
            }
            Thread.sleep(200);
        }
    }

    /** One host count's run, in its own cluster (its own chroot), on the shared ensemble. */
    /** The scope of the hosts that do not lead. */
    private ViewScope scope() {
        return "whole".equals(view) ? ViewScope.WHOLE : ViewScope.OWN;
    }

    private final class Run {
        final ZkEnsemble zk;
        final int n;
        final String cluster;
        final Settings settings = Settings.defaults();
        final List<LoadHost> all = new ArrayList<>();

        Run(ZkEnsemble zk, int n, String cluster) {
            this.zk = zk;
            this.n = n;
            this.cluster = cluster;
        }

        String run() throws Exception {
            ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(2);
            try {
                long heapBefore = usedHeap();
                setUp();
                long heapPerHost = (usedHeap() - heapBefore) / n;
                LoadHost leader = all.get(0);
                List<ScheduledFuture<?>> confirming = new ArrayList<>();
                long interval = settings.confirmIntervalMs();
                for (int i = 0; i < n; i++) {
                    LoadHost h = all.get(i);
                    confirming.add(timer.scheduleAtFixedRate(h::confirm, i * interval / n, interval,
                            TimeUnit.MILLISECONDS));
                }
                // a first interval to settle, then the steady state
                Thread.sleep(2 * interval);
                takeConfirms(System.nanoTime());
                long w0 = zk.sum("zk_packets_received");
                long t0 = System.nanoTime();
                Thread.sleep(seconds * 1_000L);
                long t1 = System.nanoTime();
                List<LoadHost.ConfirmFigures> steady = takeConfirms(t1);
                double elapsed = (t1 - t0) / 1e9;
                long ok = 0;
                for (LoadHost.ConfirmFigures f : steady) {
                    ok += f.latencies().size();
                }
                double writesPerSecond = ok / elapsed;
                long packets = zk.sum("zk_packets_received") - w0;

                console.printf(Locale.ROOT, "  (%d hosts: %d confirmations answered in %.1f s, %d failed; %d packets "
                        + "received by the servers, %.0f/s)%n", n, ok, elapsed, failures(steady), packets,
                        packets / elapsed);
                Round round = failover(leader, confirming);
                for (ScheduledFuture<?> f : confirming) {
                    f.cancel(false);
                }
                List<Long> lat = latencies(steady);
                long longest = 0;
                long overSuspect = 0;
                long overLease = 0;
                for (LoadHost.ConfirmFigures f : steady) {
                    longest = Math.max(longest, f.longestUncreditedNanos());
                    overSuspect += f.overSuspect();
                    overLease += f.overLease();
                }
                long lost = 0;
                for (LoadHost h : all) {
                    lost += h.sessionsEnded.get();
                }
                return String.format(Locale.ROOT, "| %d | %.0f | %s | %s | %s | %s | %d | %d | %d | %d (%d, %d) | %s | %s | %.1f s / %.1f s "
                                + "| %d (%.0f per VM write) | %s | %s | %s | %.1f MiB |",
                        n, writesPerSecond, ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 100)), ms(longest),
                        overSuspect, overLease, lost, round.vms, round.placementRetries, round.claimRetries,
                        ms(round.allClaimedNanos), ms(round.allMirroredNanos), round.serverCpuNanos / 1e9,
                        round.hostsCpuNanos / 1e9, round.deltas, round.deltas / (double) Math.max(1, 2 * round.vms),
                        ms(round.confirmP99Nanos), ms(round.longestUnconfirmedNanos),
                        round.expirySeenNanos < 0 ? "not seen" : ms(round.expirySeenNanos),
                        heapPerHost / 1048576.0);
            } finally {
                timer.shutdownNow();
                for (LoadHost h : all) {
                    h.close();
                }
            }
        }

        private void setUp() throws Exception {
            SecureRandom random = new SecureRandom();
            byte[] key = new byte[32];
            random.nextBytes(key);
            long deadline = System.nanoTime() + SETUP_BOUND.toNanos();
            // the hosts start in batches, as daemons do that start over minutes, not in one instant
            for (int first = 0; first < n; first += START_BATCH) {
                List<LoadHost> batch = new ArrayList<>();
                for (int i = first; i < Math.min(n, first + START_BATCH); i++) {
                    LoadHost h = new LoadHost(HostId.of(String.format(Locale.ROOT, "host%04d", i + 1)),
                            zk.connectString(), (int) settings.sessionTimeoutMs(), cluster, key,
                            settings.suspectAfterMs(), settings.leaseMs(), scope());
                    all.add(h);
                    batch.add(h);
                    h.start();
                }
                for (LoadHost h : batch) {
                    await(h.session, deadline, h.id + "'s session");
                }
            }
            List<Write> writes = new ArrayList<>();
            for (LoadHost h : all) {
                h.confirm();
                writes.add(new Write(h, List.of(new CoordOp.PutHost(new HostRecord(h.id, new HostCapacity(64, 262_144),
                        null, "ipmi-" + h.id, HostAdminState.ACTIVE, false), CoordOp.NEW))));
            }
            setUpWrites(writes, deadline, "host records");
            writes.clear();
            for (LoadHost h : all) {
                long s = h.currentSession();
                for (int j = 0; j < vmsPerHost; j++) {
                    VmId vm = VmId.of(h.id.value() + "-vm" + (j + 1));
                    writes.add(new Write(h, List.of(new CoordOp.PutVm(VmRecord.running(spec(vm), h.id, s), CoordOp.NEW))));
                }
            }
            setUpWrites(writes, deadline, "VM records");
            int vms = n * vmsPerHost;
            LoadHost leader = all.get(0);
            if (scope() == ViewScope.OWN) {
                // the leader keeps every record; it claims its epoch once they are in. How long that load
                // takes is what a host elected to lead waits before it can act
                long t0 = System.nanoTime();
                leader.keepEveryRecord();
                await(leader.wholeLoaded, deadline, "the leader's whole view");
                console.printf(Locale.ROOT, "  (%d hosts: the leader's whole view, %d VM records, loaded in %.0f ms)%n", n,
                        leader.vms.size(), (System.nanoTime() - t0) / 1e6);
                all.get(1).keepEveryRecord(); // the host next in line to lead keeps every record too, as havnd's does
                await(all.get(1).wholeLoaded, deadline, "the successor's whole view");
            }
            for (LoadHost h : all) {
                int kept = h == leader || h == all.get(1) || scope() == ViewScope.WHOLE ? vms : vmsPerHost;
                while (h.vms.size() < kept) {
                    if (System.nanoTime() > deadline) {
                        throw new TimeoutException(h.id + " keeps " + h.vms.size() + " of " + kept + " VMs");
                    }
                    Thread.sleep(50);
                }
            }
            leader.joinElectionAndClaim();
            await(leader.epoch, deadline, "the leader's epoch");
            for (LoadHost h : all) {
                h.claimWhatIsPlacedHere();
            }
        }

        private Round failover(LoadHost leader, List<ScheduledFuture<?>> confirming) throws Exception {
            int dead = Math.max(1, n * failPercent / 100);
            List<LoadHost> victims = new ArrayList<>();
            List<LoadHost> living = new ArrayList<>();
            // neither the leader (host 1) nor the host next in line (host 2) is among them: the round
            // measures the leader's work with its successor in place
            int stride = Math.max(1, (n - 2) / dead);
            for (int i = 0; i < n; i++) {
                LoadHost h = all.get(i);
                if (i > 1 && (i - 2) % stride == 0 && victims.size() < dead) {
                    victims.add(h);
                } else {
                    living.add(h);
                }
            }
            long epoch = leader.epoch.get();
            long deltasBefore = deltas();
            takeConfirms(System.nanoTime());
            leader.goneSeen.clear();
            long serverCpu0 = zk.cpuNanos();
            long hostsCpu0 = hostsCpuNanos();
            long t0 = System.nanoTime();
            for (LoadHost v : victims) {
                confirming.get(all.indexOf(v)).cancel(false);
                v.close();
            }
            // the leader's round: a placement for each VM of the dead hosts, on the live hosts in turn;
            // a placement the ensemble did not answer in time is made again (the node's next round does)
            List<VmId> moved = new ArrayList<>();
            Map<VmId, LoadHost> targets = new java.util.LinkedHashMap<>();
            int next = 0;
            for (LoadHost v : victims) {
                for (int j = 0; j < vmsPerHost; j++) {
                    VmId vm = VmId.of(v.id.value() + "-vm" + (j + 1));
                    moved.add(vm);
                    targets.put(vm, living.get(1 + next++ % (living.size() - 1)));
                }
            }
            Map<VmId, CompletableFuture<WriteOutcome>> inFlight = new java.util.HashMap<>();
            long deadline = System.nanoTime() + ROUND_BOUND.toNanos();
            int placementWrites = 0;
            while (true) {
                boolean open = false;
                for (VmId vm : moved) {
                    Versioned<VmRecord> vr = leader.vms.get(vm);
                    LoadHost target = targets.get(vm);
                    if (vr.value().owner().equals(target.id)) {
                        continue; // placed (and perhaps claimed already)
                    }
                    open = true;
                    CompletableFuture<WriteOutcome> f = inFlight.get(vm);
                    if (f != null && (!f.isDone() || f.getNow(null) == WriteOutcome.OK)) {
                        continue; // answered OK: the leader's mirror shows it soon
                    }
                    long s = target.currentSession();
                    placementWrites++;
                    inFlight.put(vm, leader.write(List.of(new CoordOp.CheckEpoch(epoch),
                            new CoordOp.PutVm(vr.value().placedOn(target.id, s, 0, List.of()), vr.version()),
                            new CoordOp.CheckSessionLive(target.id, s))));
                }
                if (!open) {
                    break;
                }
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("not every VM was placed within " + ROUND_BOUND);
                }
                Thread.sleep(20);
            }
            long lastClaim = 0;
            for (VmId vm : moved) {
                Long at = null;
                while (at == null) {
                    for (LoadHost h : living) {
                        Long c = h.claimedAt.get(vm);
                        if (c != null) {
                            at = c;
                            break;
                        }
                    }
                    if (at == null) {
                        if (System.nanoTime() > deadline) {
                            throw new TimeoutException(vm + " was not claimed within " + ROUND_BOUND);
                        }
                        Thread.sleep(10);
                    }
                }
                lastClaim = Math.max(lastClaim, at - t0);
            }
            // every view that keeps a moved VM's record shows it running on its target: every live host's
            // (whole views), or the leader's and the target's (own views). A watch fires once for changes
            // made before it is set again, so a view may take the placement and the claim as one
            for (LoadHost h : living) {
                for (VmId vm : moved) {
                    if (scope() == ViewScope.OWN && h != leader && h != all.get(1) && h != targets.get(vm)) {
                        continue;
                    }
                    while (!runsOn(h.vms.get(vm), targets.get(vm))) {
                        if (System.nanoTime() > deadline) {
                            throw new TimeoutException(h.id + "'s mirror does not show " + vm + " running within "
                                    + ROUND_BOUND);
                        }
                        Thread.sleep(10);
                    }
                }
            }
            long mirrored = System.nanoTime() - t0;
            long serverCpu = zk.cpuNanos() - serverCpu0;
            long hostsCpu = hostsCpuNanos() - hostsCpu0;
            long deltas = deltas() - deltasBefore;
            List<LoadHost.ConfirmFigures> duringFigures = new ArrayList<>();
            long end = System.nanoTime();
            for (LoadHost h : living) { // the dead hosts' silence is not a figure of the round
                duringFigures.add(h.takeConfirmFigures(end));
            }
            List<Long> during = latencies(duringFigures);
            long longestDuring = 0;
            for (LoadHost.ConfirmFigures f : duringFigures) {
                longestDuring = Math.max(longestDuring, f.longestUncreditedNanos());
            }
            // the dead sessions' expiry, as the leader's mirror sees it
            long expiryDeadline = System.nanoTime() + 3 * settings.sessionTimeoutMs() * 1_000_000L;
            long expiry = -1;
            while (System.nanoTime() < expiryDeadline) {
                long latest = 0;
                boolean allSeen = true;
                for (LoadHost v : victims) {
                    Long at = leader.goneSeen.get(v.id);
                    if (at == null) {
                        allSeen = false;
                        break;
                    }
                    latest = Math.max(latest, at - t0);
                }
                if (allSeen) {
                    expiry = latest;
                    break;
                }
                Thread.sleep(50);
            }
            long claimsAgain = 0;
            for (LoadHost h : living) {
                claimsAgain += h.claimsFailed.get();
            }
            return new Round(moved.size(), placementWrites - moved.size(), claimsAgain, lastClaim, mirrored, serverCpu,
                    hostsCpu, deltas, pct(during, 99), longestDuring, expiry);
        }

        private long deltas() {
            long d = 0;
            for (LoadHost h : all) {
                d += h.vmDeltas.get();
            }
            return d;
        }

        private List<LoadHost.ConfirmFigures> takeConfirms(long now) {
            List<LoadHost.ConfirmFigures> out = new ArrayList<>();
            for (LoadHost h : all) {
                out.add(h.takeConfirmFigures(now));
            }
            return out;
        }
    }

    /** A write of the set-up: creating one record. */
    private record Write(LoadHost by, List<CoordOp> ops) {
    }

    /**
     * The set-up's writes, {@link #START_BATCH} in flight at a time. One that failed (no answer in
     * time: the ensemble is busy with every host reading what the others just wrote) is made again,
     * up to {@link #SET_UP_ATTEMPTS} times in all, and a conflict on a later try means an earlier
     * one went through.
     */
    private static void setUpWrites(List<Write> writes, long deadline, String what) throws Exception {
        for (int first = 0; first < writes.size(); first += START_BATCH) {
            List<Write> batch = writes.subList(first, Math.min(writes.size(), first + START_BATCH));
            List<Write> again = new ArrayList<>();
            List<CompletableFuture<WriteOutcome>> answers = new ArrayList<>();
            for (Write w : batch) {
                answers.add(w.by().write(w.ops()));
            }
            for (int i = 0; i < batch.size(); i++) {
                WriteOutcome o = answers.get(i).get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                if (o == WriteOutcome.FAILED) {
                    again.add(batch.get(i));
                } else if (o != WriteOutcome.OK) {
                    throw new IOException(what + ": a write by " + batch.get(i).by().id + " was refused (" + o + ")");
                }
            }
            for (Write w : again) {
                for (int attempt = 2; ; attempt++) {
                    WriteOutcome o = w.by().write(w.ops()).get(Math.max(1, deadline - System.nanoTime()),
                            TimeUnit.NANOSECONDS);
                    if (o != WriteOutcome.FAILED) {
                        break;
                    }
                    if (attempt == SET_UP_ATTEMPTS) {
                        throw new IOException(what + ": a write by " + w.by().id + " failed " + attempt + " times");
                    }
                }
            }
        }
    }

    private record Round(int vms, int placementRetries, long claimRetries, long allClaimedNanos, long allMirroredNanos,
                         long serverCpuNanos, long hostsCpuNanos, long deltas, long confirmP99Nanos, long longestUnconfirmedNanos, long expirySeenNanos) {
    }

    /** A VM's spec with a domain of a usual size (about 2 KB of XML: two disks on shared storage, a NIC, a console). */
    static VmSpec spec(VmId vm) {
        String name = vm.value();
        String xml = "<domain type='kvm'><name>" + name + "</name><memory unit='MiB'>1024</memory>"
                + "<vcpu>1</vcpu><os><type arch='x86_64' machine='q35'>hvm</type><boot dev='hd'/></os>"
                + "<features><acpi/><apic/></features><cpu mode='host-model'/><clock offset='utc'/>"
                + "<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>"
                + "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
                + "<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none' "
                + "error_policy='stop'/><source protocol='iscsi' name='iqn.2026-12.io.havn:san/" + name + "-root'>"
                + "<host name='10.0.0.10' port='3260'/></source><target dev='vda' bus='virtio'/></disk>"
                + "<disk type='network' device='disk'><driver name='qemu' type='raw' cache='none' "
                + "error_policy='stop'/><source protocol='iscsi' name='iqn.2026-12.io.havn:san/" + name + "-data'>"
                + "<host name='10.0.0.10' port='3260'/></source><target dev='vdb' bus='virtio'/></disk>"
                + "<interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>"
                + "<serial type='pty'><target port='0'/></serial><console type='pty'><target type='serial' "
                + "port='0'/></console><channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/>"
                + "</channel><memballoon model='virtio'/><rng model='virtio'><backend model='random'>/dev/urandom"
                + "</backend></rng></devices></domain>";
        return new VmSpec(vm, name, 1, 1024, Priority.MEDIUM, true, xml);
    }

    /** The CPU time this JVM (all the hosts' adapters) has used so far (ns). */
    private static long hostsCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean s ? s.getProcessCpuTime() : 0;
    }

    private static boolean runsOn(Versioned<VmRecord> vr, LoadHost target) {
        return vr != null && vr.value().phase() == io.havn.common.model.VmPhase.RUNNING
                && target.id.equals(vr.value().owner());
    }

    private static void await(CompletableFuture<?> f, long deadline, String what) throws Exception {
        long left = deadline - System.nanoTime();
        try {
            f.get(Math.max(1, left), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            throw new TimeoutException(what + " did not come within the set-up bound");
        }
    }

    private static List<Long> latencies(List<LoadHost.ConfirmFigures> figures) {
        List<Long> out = new ArrayList<>();
        for (LoadHost.ConfirmFigures f : figures) {
            out.addAll(f.latencies());
        }
        Collections.sort(out);
        return out;
    }

    private static long failures(List<LoadHost.ConfirmFigures> figures) {
        long n = 0;
        for (LoadHost.ConfirmFigures f : figures) {
            n += f.failures();
        }
        return n;
    }

    /** The {@code p}th percentile (nearest rank) of sorted {@code xs}; -1 if empty. */
    static long pct(List<Long> xs, int p) {
        if (xs.isEmpty()) {
            return -1;
        }
        int rank = (int) Math.ceil(p / 100.0 * xs.size());
        return xs.get(Math.min(xs.size() - 1, Math.max(0, rank - 1)));
    }

    static String ms(long nanos) {
        if (nanos < 0) {
            return "n/a";
        }
        double v = nanos / 1e6;
        return v >= 100 ? String.format(Locale.ROOT, "%.0f ms", v) : String.format(Locale.ROOT, "%.1f ms", v);
    }

    /** The heap in use after a few collections (bytes): what is live, near enough. */
    static long usedHeap() {
        Runtime rt = Runtime.getRuntime();
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return rt.totalMemory() - rt.freeMemory();
    }

    /** Removes {@code root} and everything below it, if it is there. */
    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
