package io.havn.daemon.demo;

import io.havn.common.model.ClusterState;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision.Kind;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The one-command demo of a real failover: a ZooKeeper server in this process, three real havnd
 * processes on this machine (heartbeats on loopback, each host its own libvirt test-driver
 * hypervisor, which lives in its daemon's process), six HA VMs; then one host loses power
 * (SIGKILL) and the others detect it, fence it (a fence agent that makes sure its havnd is dead)
 * or wait for its ZooKeeper session to expire ({@code --no-fence}), and restart its VMs. It prints
 * each event as it happens and the time of each phase, and leaves nothing running behind, unless
 * {@code --keep}.
 */
@Command(name = "havn-demo", mixinStandardHelpOptions = true, version = "havn-demo 0.1",
        description = "Runs three havnd daemons on this machine (ZooKeeper in this process, libvirt's test driver "
                + "as their hypervisors), puts six VMs under HA, powers one host off and shows the others "
                + "restart its VMs, with the time of each phase.")
public final class Demo implements Callable<Integer> {
    /** Where the demo's own logging goes: errors only, so that its console tells the story. */
    static final String DEMO_LOGBACK = "io/havn/daemon/demo/demo-logback.xml";
    private static final int VMS_PER_HOST = 2;
    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration VMS_BOUND = Duration.ofSeconds(30);

    @Option(names = "--dir", paramLabel = "DIR",
            description = "the work directory, new or empty (default: a fresh temporary directory); "
                    + "removed at the end unless --keep")
    Path dir;

    @Option(names = "--keep", description = "after the failover, keep ZooKeeper and the surviving daemons running "
            + "(until Ctrl-C) and the work directory")
    boolean keep;

    @Option(names = "--no-fence",
            description = "no fence devices: recovery waits for the dead host's session to expire")
    boolean noFence;

    @Option(names = "--quick", description = "the smallest sane timings, for CI: the same real failover, sooner")
    boolean quick;

    @Spec
    CommandSpec spec;

    private final PrintStream out;

    Demo(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        if (System.getProperty("logback.configurationFile") == null) {
            System.setProperty("logback.configurationFile", DEMO_LOGBACK);
        }
        System.exit(run(args, System.out));
    }

    /** Runs the demo with {@code args}, printing to {@code out}; the exit status (0: the failover happened). */
    static int run(String[] args, PrintStream out) {
        PrintWriter w = new PrintWriter(out, true);
        return new CommandLine(new Demo(out)).setOut(w).setErr(w).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        Profile profile = quick ? Profile.QUICK : Profile.NORMAL;
        checkDir();
        Console console = new Console(out, Instant.now());
        console.plain("havn demo: three havnd daemons keep six VMs running while one of their hosts loses power"
                + (noFence ? " (no fence devices: recovery waits for its session to expire)" : "") + ".");
        if (!LibvirtLibrary.ensure(console)) {
            return 1;
        }
        Path work = dir == null ? Files.createTempDirectory("havn-demo-") : Files.createDirectories(dir);
        Cluster cluster = new Cluster(console, new WorkDir(work));
        Thread hook = new Thread(cluster::close, "havn-demo-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            String survivor = failover(console, cluster, profile);
            if (keep) {
                cluster.keepDir();
                printHowToPlay(console, cluster, survivor);
                new CountDownLatch(1).await(); // until Ctrl-C: the shutdown hook stops everything
            }
            return 0;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            console.event("FAILED: " + (e instanceof StepFailed ? e.getMessage() : e.toString()));
            cluster.keepDir();
            cluster.reportLogs();
            return 1;
        } finally {
            cluster.close();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is shutting down: the hook runs (and finds everything stopped)
            }
        }
    }

    /** A given --dir must be new or empty, and short enough for Unix sockets; nothing is touched otherwise. */
    private void checkDir() throws IOException {
        if (dir == null) {
            return;
        }
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--dir " + dir + ": not a directory");
        }
        if (Files.isDirectory(dir)) {
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--dir " + dir
                            + ": not empty; give a new or empty directory (the demo removes it at the end)");
                }
            }
        }
        String problem = WorkDir.socketPathProblem(dir);
        if (problem != null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--dir " + dir + ": " + problem);
        }
    }

    /** Every step up to the VMs of the killed host running again; returns a surviving host. */
    private String failover(Console console, Cluster cluster, Profile profile)
            throws StepFailed, IOException, InterruptedException {
        WorkDir wd = cluster.dir();
        console.event("work dir " + wd.path());
        String zk = cluster.startZooKeeper();
        console.event("ZooKeeper server (in this process) listening on " + zk
                + ": TLS only, client certificates of the demo's CA required");
        List<DemoVm> vms = DemoVm.plan(Cluster.HOSTS, VMS_PER_HOST);
        Map<VmId, String> names = vms.stream().collect(Collectors.toMap(DemoVm::id, DemoVm::name, (a, b) -> a,
                LinkedHashMap::new));
        wd.write(Cluster.HOSTS, vms, zk, profile, !noFence);
        console.event("wrote the cluster key, a config and a libvirt test-driver hypervisor per host"
                + (noFence ? "; no fence devices" : ", and a fence agent that powers a host off by killing its havnd"));
        for (String h : Cluster.HOSTS) {
            Daemon d = cluster.startDaemon(h);
            console.event("started havnd " + h + " (pid " + d.pid() + "), log " + d.log());
        }
        Instant lastReady = awaitReady(console, cluster, profile.startBound());
        for (DemoVm v : vms) {
            try {
                AdminClient.vmAdd(wd.socket(v.host()), v.spec(), ASK_TIMEOUT);
            } catch (IOException e) {
                throw new StepFailed("vm-add " + v.name() + " on " + v.host() + ": " + e.getMessage());
            }
            console.event("vm-add " + v.name() + " (" + v.memoryMiB() + " MiB, " + v.priority().name().toLowerCase()
                    + " priority) through " + v.host() + "'s admin socket: ok");
        }
        ClusterState state = awaitVmsRunning(console, cluster, vms);
        console.event("the cluster:");
        StatusTable.lines(state, names).forEach(console::more);
        awaitSettled(console, cluster, lastReady.plus(profile.settle()));

        String leader = state.leader().value();
        String victim = Cluster.HOSTS.stream().filter(h -> !h.equals(leader)).reduce((a, b) -> b).orElseThrow();
        List<DemoVm> lost = new ArrayList<>();
        for (DemoVm v : vms) {
            VmRecord r = state.vms().get(v.id());
            if (r != null && r.owner() != null && r.owner().value().equals(victim)) {
                lost.add(v);
            }
        }
        long pid = cluster.daemon(victim).pid();
        Instant killedAt = Instant.now();
        cluster.kill(victim);
        console.event(killedAt, "power loss on " + victim + ": SIGKILL to its havnd (pid " + pid
                + "); its hypervisor and " + lost.stream().map(DemoVm::name).collect(Collectors.joining(", "))
                + " die with it");
        Failover f = new Failover(console, cluster, leader, victim, lost, names, killedAt);
        ClusterState after = f.watch(profile.failoverBound());
        f.printTimings();
        console.plain("");
        console.event("the cluster:");
        StatusTable.lines(after, names).forEach(console::more);
        return leader;
    }

    /** Waits until every daemon logged READY, showing who leads; returns when the last one did. */
    private static Instant awaitReady(Console console, Cluster cluster, Duration bound)
            throws StepFailed, IOException, InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        Set<String> ready = new LinkedHashSet<>();
        Instant last = null;
        while (ready.size() < Cluster.HOSTS.size()) {
            cluster.requireAlive();
            List<DecisionLine> seen = new ArrayList<>();
            for (String h : Cluster.HOSTS) {
                seen.addAll(cluster.newDecisions(h));
            }
            seen.sort(Comparator.comparing(DecisionLine::at));
            for (DecisionLine d : seen) {
                if (d.kind() == Kind.LEADER_ELECTED) {
                    console.event(d.at(), d.host() + " leads (" + d.reason() + ")");
                } else if (d.kind() == Kind.READY && ready.add(d.host())) {
                    console.event(d.at(), d.host() + " is ready: joined, reconciled with its hypervisor, taking work");
                    last = d.at();
                }
            }
            if (ready.size() < Cluster.HOSTS.size()) {
                if (System.nanoTime() > deadline) {
                    List<String> missing = new ArrayList<>(Cluster.HOSTS);
                    missing.removeAll(ready);
                    throw new StepFailed("not ready within " + bound.toSeconds() + " s: " + String.join(", ", missing));
                }
                cluster.pause(POLL);
            }
        }
        return last;
    }

    /** Waits until the status shows every VM running on the host it was added on. */
    private static ClusterState awaitVmsRunning(Console console, Cluster cluster, List<DemoVm> vms)
            throws StepFailed, InterruptedException {
        long deadline = System.nanoTime() + VMS_BOUND.toNanos();
        String last = "no answer";
        while (true) {
            cluster.requireAlive();
            try {
                ClusterState s = AdminClient.status(cluster.dir().socket(Cluster.HOSTS.get(0)), ASK_TIMEOUT);
                List<String> notYet = new ArrayList<>();
                for (DemoVm v : vms) {
                    VmRecord r = s.vms().get(v.id());
                    if (r == null || r.phase() != VmPhase.RUNNING || r.owner() == null
                            || !r.owner().value().equals(v.host())) {
                        notYet.add(v.name() + (r == null ? " (no record)" : " (" + r.phase() + ")"));
                    }
                }
                if (notYet.isEmpty()) {
                    console.event("all " + vms.size() + " VMs are under HA and running");
                    return s;
                }
                last = String.join(", ", notYet);
            } catch (IOException e) {
                last = e.getMessage();
            }
            if (System.nanoTime() > deadline) {
                throw new StepFailed("the VMs were not all running within " + VMS_BOUND.toSeconds() + " s: " + last);
            }
            cluster.pause(POLL);
        }
    }

    /**
     * The leader fences and restarts only once a strict majority has been healthy for the settle
     * time: waits for that (the daemons staying up), so that the failover's timings are its own.
     */
    private static void awaitSettled(Console console, Cluster cluster, Instant settledAt)
            throws StepFailed, InterruptedException {
        Duration left = Duration.between(Instant.now(), settledAt);
        if (left.isNegative() || left.isZero()) {
            return;
        }
        console.event(String.format("letting the cluster settle for %.1f s (the leader acts only on a majority "
                + "healthy that long)", left.toMillis() / 1e3));
        while (Instant.now().isBefore(settledAt)) {
            cluster.requireAlive();
            Duration d = Duration.between(Instant.now(), settledAt);
            cluster.pause(d.compareTo(POLL) < 0 ? d : POLL);
        }
    }

    private void printHowToPlay(Console console, Cluster cluster, String survivor) {
        WorkDir wd = cluster.dir();
        String victimHost = Cluster.HOSTS.stream().filter(h -> !cluster.daemon(h).alive()).findFirst().orElse("host3");
        console.plain("");
        console.plain("ZooKeeper and the surviving daemons keep running (--keep); Ctrl-C stops everything. Try:");
        console.plain("  java -jar " + havnctlJar() + " --socket " + wd.socket(survivor) + " status");
        console.plain("  power " + victimHost + " on again:  " + cluster.daemon(victimHost).restartCommand());
        console.plain("    its hypervisor boots with its old VMs, which now run elsewhere: its havnd destroys them "
                + "and rejoins. It runs, logging to " + wd.log(victimHost) + ":");
        console.plain("    " + wd.javaCommandLine(victimHost));
        console.plain("  the logs: " + Cluster.HOSTS.stream().map(h -> wd.log(h).toString())
                .collect(Collectors.joining(" ")));
    }

    /** havnctl.jar next to this demo's jar, or where a build from the repository's root puts it. */
    private static String havnctlJar() {
        try {
            Path self = Path.of(Demo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isRegularFile(self)) {
                return self.resolveSibling("havnctl.jar").toString();
            }
        } catch (URISyntaxException | SecurityException | NullPointerException e) {
            // fall through to the build's path
        }
        return "ha-daemon/target/havnctl.jar";
    }
}
