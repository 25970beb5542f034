package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Decision;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.loop.EventLoop;
import io.havn.daemon.metrics.Exposition;
import io.havn.daemon.signal.PeersFile;
import io.havn.daemon.signal.SignalSender;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real daemons in one JVM: a real ZooKeeper server, Netty heartbeats on loopback, each its
 * own private libvirt test-driver hypervisor (it vanishes with its daemon, as at power loss). A
 * daemon is stopped abruptly and the others restart its VMs; it comes back empty; then the leader
 * is stopped and a new one takes over and restarts its VMs (two of three hosts are a majority). A VM is started on a new host only once the host that ran
 * it is gone, so it never runs on two hypervisors. A second test runs four daemons that heartbeat
 * two monitors each and pass health on over the same real parts.
 */
class ThreeDaemonsIntegrationTest {
    private static final long BOUND_S = 60;

    private record Seen(HostId host, Decision decision) { }

    private final BlockingQueue<Seen> decisions = new LinkedBlockingQueue<>();
    private final List<Seen> all = new ArrayList<>();
    private final Map<String, Havnd> daemons = new HashMap<>();
    private final Map<String, EventLoop> loops = new HashMap<>();
    private final Set<String> gone = ConcurrentHashMap.newKeySet();
    /** Where each VM was last started, and the violations seen (a start while the previous host still ran). */
    private final Map<VmId, String> runningOn = new ConcurrentHashMap<>();
    private final List<String> violations = new ArrayList<>();

    private static String domain(String name, String uuid) {
        return """
                <domain type='test'>
                  <name>%s</name>
                  <uuid>%s</uuid>
                  <memory unit='MiB'>128</memory>
                  <vcpu>1</vcpu>
                  <os><type>hvm</type></os>
                </domain>
                """.formatted(name, uuid);
    }

    /** Decisions before this index in {@link #all} are history: awaits look only at what came later. */
    private int mark;

    /**
     * Waits for a decision matching {@code p} that came after the mark: one already seen by an
     * earlier wait counts too, so the order in which decisions of different hosts arrive does not matter.
     */
    private Seen await(Predicate<Seen> p, String what) throws InterruptedException {
        synchronized (all) {
            for (Seen s : all.subList(mark, all.size())) {
                if (p.test(s)) {
                    return s;
                }
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (System.nanoTime() < deadline) {
            Seen s = decisions.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (s == null) {
                break;
            }
            synchronized (all) {
                all.add(s);
            }
            if (p.test(s)) {
                return s;
            }
        }
        throw new AssertionError("not within " + BOUND_S + " s: " + what + "\nseen: " + tail());
    }

    private String tail() {
        synchronized (all) {
            StringBuilder b = new StringBuilder();
            for (Seen s : all.subList(Math.max(0, all.size() - 40), all.size())) {
                b.append("\n  ").append(s.decision());
            }
            return b.toString();
        }
    }

    private void onDecision(String host, Decision d) {
        if (d.kind() == Decision.Kind.START || d.kind() == Decision.Kind.RESUME) {
            String before = runningOn.put(d.vm(), host);
            if (before != null && !before.equals(host) && !gone.contains(before)) {
                synchronized (violations) {
                    violations.add(d.vm() + " started on " + host + " while " + before + " still ran it");
                }
            }
        }
        decisions.add(new Seen(new HostId(host), d));
    }

    /** Each running daemon's metrics port. */
    private final Map<String, Integer> metricsPorts = new HashMap<>();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private static int freeTcpPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private void boot(String host, TestingServer zk, Path dir, Path key) throws Exception {
        boot(host, zk, dir, key, "");
    }

    /** Boots {@code host}; {@code moreSettings} is added to the settings map ("" or ", key: value..."). */
    private void boot(String host, TestingServer zk, Path dir, Path key, String moreSettings) throws Exception {
        // a 4 s session timeout, and a lease and watchdog that fit in it, so that failover is quick
        int metricsPort = freeTcpPort();
        metricsPorts.put(host, metricsPort);
        HavnConfig cfg = DaemonFixture.config("it3", host, zk.getConnectString(), 4_000, dir, key, """
                settings: {leaseMs: 2000, watchdogMs: 1000, suspectAfterMs: 1000, graceMs: 500%s}
                metrics: {bind: "127.0.0.1:%d"}
                """.formatted(moreSettings, metricsPort));
        configs.put(host, cfg);
        Havnd h = new Havnd();
        daemons.put(host, h);
        loops.put(host, h.start(cfg, d -> onDecision(host, d), (id, r) -> replies.add(r)));
    }

    private final BlockingQueue<AdminReply> replies = new LinkedBlockingQueue<>();
    private final Map<String, HavnConfig> configs = new ConcurrentHashMap<>();

    /**
     * Each daemon lists the other two in the peers file beside its watchdog state; a signal sender
     * of node2 (as havn-signal runs it, from node2's config) reaches node1's heartbeat socket, which
     * takes it.
     */
    private void theSignalSendersPeersAreListedAndItsSignalsTaken(Path dir) throws Exception {
        scrapeUntil("node1", e -> value(e, "havn_hosts", "state", "live") == 3, "node1 sees the three hosts live");
        // the peers file is written before the node sees a host record, so it lists both now
        Path peers = PeersFile.beside(DaemonFixture.watchdogState(dir, "node1"));
        List<String> expected = new ArrayList<>();
        for (String h : List.of("node2", "node3")) {
            InetSocketAddress a = configs.get(h).host().address();
            expected.add(h + " " + a.getHostString() + ":" + a.getPort());
        }
        assertEquals(expected, Files.readAllLines(peers), peers.toString());

        try (SignalSender node2 = SignalSender.open(configs.get("node2"),
                System.currentTimeMillis())) {
            SignalSender.Round round = node2.tick(System.nanoTime());
            assertEquals(2, round.sent(), round.toString());
            Exposition e = scrapeUntil("node1", x -> value(x, "havn_signal_received_total") >= 1,
                    "node1 takes node2's signal");
            assertEquals(0, value(e, "havn_signal_dropped_total", "reason", "bad_mac"));
            assertEquals(0, value(e, "havn_signal_dropped_total", "reason", "not_for_me"));
        }
    }

    /**
     * Scrapes {@code host}'s /metrics over HTTP until {@code p} holds. Between scrapes it waits for
     * a task the daemon's loop runs one sampling period later, so each retry sees a fresh sample
     * of the node's state.
     */
    private Exposition scrapeUntil(String host, Predicate<Exposition> p, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        String body = "";
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + metricsPorts.get(host) + "/metrics"))
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            body = r.body();
            Exposition e = Exposition.parse(body);
            if (p.test(e)) {
                return e;
            }
            CountDownLatch sampled = new CountDownLatch(1);
            loops.get(host).schedule(TimeUnit.MILLISECONDS.toNanos(1_100), sampled::countDown);
            assertTrue(sampled.await(BOUND_S, TimeUnit.SECONDS), host + "'s loop runs");
        }
        throw new AssertionError("not within " + BOUND_S + " s: " + what + "\n" + body.lines()
                .filter(l -> l.startsWith("havn_")).collect(java.util.stream.Collectors.joining("\n")));
    }

    private static double value(Exposition e, String name, String... labels) {
        return e.value(name, labels).orElse(Double.NaN);
    }

    private void stop(String host) {
        synchronized (all) {
            decisions.drainTo(all);
            mark = all.size();
        }
        gone.add(host);
        daemons.remove(host).abandon(); // dies: no planned restart
        loops.remove(host);
    }

    /**
     * Adds three VMs (vm{@code tag}1 to vm{@code tag}3) through {@code via}'s admin port, each accepted,
     * and waits until all three have started; returns them.
     */
    private List<VmId> addThreeVmsAndAwaitTheirStart(String via, int tag) throws InterruptedException {
        List<VmId> vms = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            String uuid = "0d9e4a52-6a4f-4c4b-8f0e-0000000000" + tag + i;
            String name = "vm" + (tag == 0 ? "" : String.valueOf(tag)) + i;
            VmSpec spec = new VmSpec(new VmId(uuid), name, 1, 128, Priority.MEDIUM, true, domain(name, uuid));
            vms.add(spec.id());
            loops.get(via).post(new NodeEvent.AdminRequest(10 * tag + i, new AdminCommand.VmAdd(spec)));
            AdminReply r = replies.poll(BOUND_S, TimeUnit.SECONDS);
            assertNotNull(r);
            assertTrue(r.ok(), r.toString());
        }
        Set<VmId> started = new java.util.HashSet<>();
        while (started.size() < 3) {
            started.add(await(s -> s.decision().kind() == Decision.Kind.START
                    && !started.contains(s.decision().vm()), "all three VMs start").decision().vm());
        }
        return vms;
    }

    private static String otherThan(String a, String b) {
        for (String h : List.of("node1", "node2", "node3")) {
            if (!h.equals(a) && !h.equals(b)) {
                return h;
            }
        }
        throw new IllegalArgumentException(a + ", " + b);
    }

    @Test
    void theOthersRestartAStoppedDaemonsVmsAndANewLeaderTakesOver(@TempDir Path dir) throws Exception {
        try (TestingServer zk = new TestingServer(true)) {
            Path key = DaemonFixture.clusterKey(dir);
            try {
                boot("node1", zk, dir, key);
                await(s -> s.decision().kind() == Decision.Kind.LEADER_ELECTED, "node1 leads");
                boot("node2", zk, dir, key);
                boot("node3", zk, dir, key);
                Set<String> ready = new java.util.HashSet<>();
                while (ready.size() < 3) {
                    ready.add(await(s -> s.decision().kind() == Decision.Kind.READY
                            && !ready.contains(s.host().value()), "every daemon ready").host().value());
                }
                theSignalSendersPeersAreListedAndItsSignalsTaken(dir);
                List<VmId> vms = addThreeVmsAndAwaitTheirStart("node1", 0);
                // a daemon that is not the leader dies with its hypervisor
                String victim = runningOn.get(vms.get(0)).equals("node1") ? runningOn.get(vms.get(1)) : runningOn.get(vms.get(0));
                if (victim.equals("node1")) {
                    victim = "node2";
                }
                List<VmId> itsVms = new ArrayList<>();
                for (VmId v : vms) {
                    if (victim.equals(runningOn.get(v))) {
                        itsVms.add(v);
                    }
                }
                stop(victim);
                for (VmId v : itsVms) {
                    String from = victim;
                    await(s -> s.decision().kind() == Decision.Kind.START && v.equals(s.decision().vm())
                            && !s.host().value().equals(from), v + " restarts away from " + from);
                    await(s -> s.decision().kind() == Decision.Kind.RECOVERED && v.equals(s.decision().vm())
                            && s.host().value().equals("node1"), "the leader reports " + v + " recovered");
                }
                // the leader's metrics show the failovers (no fence device: proven by session expiry) and the dead host
                int failedOver = itsVms.size();
                Exposition leader = scrapeUntil("node1", e -> value(e, "havn_hosts", "state", "down") == 1,
                        "the leader's metrics count " + victim + " down");
                assertEquals(1, value(leader, "havn_leader"));
                assertEquals(2, value(leader, "havn_hosts", "state", "live"));
                assertTrue(value(leader, "havn_failovers_total", "proof", "session_expired") >= failedOver,
                        "failovers counted: " + leader.find("havn_failovers_total"));
                assertTrue(value(leader, "havn_failover_phase_seconds_count", "phase", "restart",
                        "proof", "session_expired") >= failedOver, leader.find("havn_failover_phase_seconds_count").toString());
                assertEquals(0, value(leader, "havn_failovers_total", "proof", "fence_device"), "no fence device here");
                assertTrue(value(leader, "havn_vms", "phase", "running") >= 1, leader.find("havn_vms").toString());
                assertEquals(1, value(leader, "havn_peer_healthy", "peer", otherThan("node1", victim)),
                        "the surviving peer is healthy");
                // the stopped host comes back (empty), so that a majority survives the next failure
                gone.remove(victim);
                boot(victim, zk, dir, key);
                String back = victim;
                await(s -> s.decision().kind() == Decision.Kind.READY && s.host().value().equals(back),
                        back + " is back and ready");
                // now the leader dies; a new leader takes over and restarts its VMs
                List<VmId> leadersVms = new ArrayList<>();
                for (VmId v : vms) {
                    if ("node1".equals(runningOn.get(v))) {
                        leadersVms.add(v);
                    }
                }
                stop("node1");
                Seen newLeader = await(s -> s.decision().kind() == Decision.Kind.LEADER_ELECTED
                        && !s.host().value().equals("node1"), "a new leader");
                assertTrue(newLeader.decision().epoch() > 1, newLeader.toString());
                for (VmId v : leadersVms) {
                    await(s -> s.decision().kind() == Decision.Kind.START && v.equals(s.decision().vm())
                            && !s.host().value().equals("node1"), v + " restarts away from the old leader");
                }
                synchronized (violations) {
                    assertTrue(violations.isEmpty(), violations + tail());
                }
            } finally {
                for (String h : new ArrayList<>(daemons.keySet())) {
                    stop(h);
                }
            }
        }
    }

    /**
     * Four daemons heartbeating two monitors each (node1 heartbeats node3 and node4): node1 hears of
     * node2 only through the health they pass on over real Netty, counts it healthy, lists only its
     * monitors for its signal sender, and restarts node2's VM once node2 dies.
     */
    @Test
    void fourDaemonsWithTwoMonitorsEachPassHealthOnAndFailOver(@TempDir Path dir) throws Exception {
        List<HostId> four = List.of(new HostId("node1"), new HostId("node2"), new HostId("node3"), new HostId("node4"));
        assertEquals(List.of(new HostId("node3"), new HostId("node4")),
                io.havn.common.node.Monitors.of(four, new HostId("node1"), 2));
        String monitors = ", monitors: 2, gossipTimeoutMs: 1500";
        try (TestingServer zk = new TestingServer(true)) {
            Path key = DaemonFixture.clusterKey(dir);
            try {
                boot("node1", zk, dir, key, monitors);
                await(s -> s.decision().kind() == Decision.Kind.LEADER_ELECTED, "node1 leads");
                for (String h : List.of("node2", "node3", "node4")) {
                    boot(h, zk, dir, key, monitors);
                }
                Set<String> ready = new java.util.HashSet<>();
                while (ready.size() < 4) {
                    ready.add(await(s -> s.decision().kind() == Decision.Kind.READY
                            && !ready.contains(s.host().value()), "every daemon ready").host().value());
                }
                // node2 is no monitor of node1: healthy in node1's eyes through what node3 and node4 pass on
                scrapeUntil("node1", e -> value(e, "havn_hosts", "state", "live") == 4
                        && value(e, "havn_peer_healthy", "peer", "node2") == 1, "node1 counts node2 healthy");
                Path peers = PeersFile.beside(DaemonFixture.watchdogState(dir, "node1"));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
                List<String> listed = Files.readAllLines(peers);
                while (listed.size() != 2 && System.nanoTime() < deadline) {
                    CountDownLatch written = new CountDownLatch(1);
                    loops.get("node1").schedule(TimeUnit.MILLISECONDS.toNanos(200), written::countDown);
                    assertTrue(written.await(BOUND_S, TimeUnit.SECONDS));
                    listed = Files.readAllLines(peers);
                }
                assertEquals(List.of("node3", "node4"), listed.stream().map(l -> l.split(" ")[0]).toList(),
                        "the signal sender signals node1's monitors only: " + peers);

                List<VmId> vms = addThreeVmsAndAwaitTheirStart("node2", 4);
                // a host other than the leader dies with its hypervisor
                VmId moved = vms.stream().filter(v -> !"node1".equals(runningOn.get(v))).findFirst()
                        .orElseThrow(() -> new AssertionError("every VM was placed on the leader: " + runningOn));
                String victim = runningOn.get(moved);
                stop(victim);
                await(s -> s.decision().kind() == Decision.Kind.START && moved.equals(s.decision().vm())
                        && !s.host().value().equals(victim), moved + " restarts away from " + victim);
                synchronized (violations) {
                    assertTrue(violations.isEmpty(), violations + tail());
                }
            } finally {
                for (String h : new ArrayList<>(daemons.keySet())) {
                    stop(h);
                }
            }
        }
    }
}
