package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.daemon.admin.AdminSocketServer;
import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.coord.TlsEnsemble;
import java.util.List;
import org.slf4j.LoggerFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class HavndTest {

    private record Run(int exit, String out, String err) { }

    private static Run havnd(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int exit = new CommandLine(new Havnd()).execute(args);
            return new Run(exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    /** A config with state in {@code state} and the admin socket at {@code sock}, whose cluster key is missing. */
    @Test
    void checkConfigPassesAValidFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384, address: "10.0.0.1:7405"}
                zookeeper: {connect: "127.0.0.1:2181", allowInsecure: true}
                """);
        Run r = havnd("--config", f.toString(), "--check-config");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("valid (host node1, cluster prod)"), r.out());
    }

    @Test
    void checkConfigLooksAtTheDatastoresAsThisHostFindsThemNamingEachKey(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("havn.yaml");
        String head = """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384, address: "10.0.0.1:7405"}
                zookeeper: {connect: "127.0.0.1:2181", allowInsecure: true}
                """;
        Files.writeString(f, head + "storage: {hosts: [node1, node2], datastores: [{name: vmstore, path: \""
                + dir.resolve("heartbeat") + "\"}]}\n");
        Run ok = havnd("--config", f.toString(), "--check-config");
        assertEquals(0, ok.exit(), ok.err());
        assertTrue(ok.out().contains("valid (host node1, cluster prod, 1 datastore)"), ok.out());

        Files.writeString(f, head + "storage: {hosts: [node1, node2], datastores: [{name: vmstore, path: \""
                + dir.resolve("heartbeat") + "\"}, {name: nfs, path: \"" + dir.resolve("unmounted/heartbeat")
                + "\"}]}\n");
        Run bad = havnd("--config", f.toString(), "--check-config");
        assertEquals(2, bad.exit(), bad.out());
        assertTrue(bad.err().contains("storage.datastores[1].path: " + dir.resolve("unmounted/heartbeat")
                + " does not exist, nor does its directory"), bad.err());
    }

    @Test
    void signRecordsSealsAnOldClustersRecordsAndSaysByItsExitWhetherAnyIsLeft(@TempDir Path dir) throws Exception {
        try (TestingServer zk = new TestingServer(true);
             CuratorFramework old = CuratorFrameworkFactory.newClient(zk.getConnectString(), new RetryNTimes(0, 0))) {
            old.start();
            VmRecord vm = VmRecord.running(new VmSpec(new VmId("vm1"), "vm1", 1, 1024, Priority.MEDIUM, true,
                    "<domain/>"), new HostId("node1"), 0);
            old.create().creatingParentsIfNeeded().forPath("/havn/prod/vms/vm1", Json.toBytes(vm));
            Path key = DaemonFixture.clusterKey(dir);
            Path f = dir.resolve("havn.yaml");
            Files.writeString(f, """
                    cluster: prod
                    host: {name: node1, cpus: 8, memoryMiB: 16384, address: "127.0.0.1:7405"}
                    zookeeper: {connect: "%s", allowInsecure: true}
                    heartbeat: {keyFile: "%s"}
                    """.formatted(zk.getConnectString(), key));

            Run r = havnd("--config", f.toString(), "--sign-records");
            assertEquals(0, r.exit(), r.out() + r.err());
            assertTrue(r.out().contains("/vms/vm1: sealed: {"), r.out());
            assertTrue(old.getData().forPath("/havn/prod/vms/vm1")[0] == 'H', "sealed in place");

            old.create().forPath("/havn/prod/vms/vm2", "not a record".getBytes(StandardCharsets.UTF_8));
            Run left = havnd("--config", f.toString(), "--sign-records");
            assertEquals(1, left.exit(), left.out() + left.err());
            assertTrue(left.out().contains("/vms/vm2: left alone: not a havn record"), left.out());

            Run noKey = havnd("--config", f.toString(), "--sign-records", "--previous-key-file",
                    dir.resolve("missing.key").toString());
            assertEquals(2, noKey.exit(), noKey.out() + noKey.err());
            assertTrue(noKey.err().contains("missing.key does not exist"), noKey.err());
        }
    }

    @Test
    void aBadConfigExitsNonZeroNamingTheKeyAndStartsNothing(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, "cluster: prod\nhost: {name: node1, cpus: 8}\n");
        Run r = havnd("--config", f.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("host.memoryMiB: required") && r.err().contains("zookeeper.connect: required"),
                r.err());
    }

    @Test
    void aCorruptIncarnationRecordStopsHavndWithStatus2NamingItBeforeItStartsAnything(@TempDir Path dir)
            throws Exception {
        Path state = Files.createDirectories(dir.resolve("state"));
        Files.writeString(state.resolve("incarnation"), "garbage\n");
        Path sock = dir.resolve("admin.sock");
        Run r = havnd("--config", config(dir, dir.resolve("no-key"), 7405).toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains(state.resolve("incarnation") + ": holds no incarnation"), r.err());
        assertEquals("garbage\n", Files.readString(state.resolve("incarnation")), "left as it was");
        // it stopped before reading the cluster key (missing here), publishing a watchdog state or listening
        assertTrue(!Files.exists(dir.resolve("watchdog.state")) && !Files.exists(sock), "nothing started");
    }

    /** A config whose daemon would start here: heartbeats on {@code port} of loopback, nothing else to reach. */
    private static Path config(Path dir, Path key, int port) throws Exception {
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384, address: "127.0.0.1:%d", stateDir: "%s"}
                zookeeper: {connect: "127.0.0.1:1", allowInsecure: true}
                heartbeat: {keyFile: "%s"}
                libvirt: {uri: "test:///default"}
                watchdog: {stateFile: "%s", required: false}
                admin: {socket: "%s"}
                metrics: {enabled: false}
                """.formatted(port, dir.resolve("state"), key, dir.resolve("watchdog.state"), dir.resolve("admin.sock")));
        return f;
    }

    @Test
    void aClusterKeyOthersMayReadStopsHavndWithStatus2NamingTheKey(@TempDir Path dir) throws Exception {
        Path key = DaemonFixture.clusterKey(dir);
        Files.setPosixFilePermissions(key, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        Run r = havnd("--config", config(dir, key, DaemonFixture.freeUdpPort()).toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("havnd: heartbeat.keyFile: cluster key file " + key + " may be read or changed by "
                + "others than its owner (rw-r--r--)"), r.err());
        assertTrue(!Files.exists(dir.resolve("admin.sock")) && !Files.exists(dir.resolve("watchdog.state")),
                "nothing started");
    }

    @Test
    void aHeartbeatPortHeldByAnotherProcessStopsHavndWithStatus2NamingHeartbeatBind(@TempDir Path dir)
            throws Exception {
        try (java.net.DatagramSocket squatter = new java.net.DatagramSocket(
                new java.net.InetSocketAddress("127.0.0.1", 0))) {
            int port = squatter.getLocalPort();
            Run r = havnd("--config", config(dir, DaemonFixture.clusterKey(dir), port).toString());
            assertEquals(2, r.exit(), "not 1, which systemd would restart in a loop: " + r.err());
            assertTrue(r.err().contains("havnd: heartbeat.bind: cannot bind the heartbeat transport to ")
                    && r.err().contains("127.0.0.1:" + port) && r.err().contains("Address already in use"), r.err());
            assertTrue(!Files.exists(dir.resolve("admin.sock")), "no admin socket: the daemon never ran");
        }
    }

    @Test
    void anAdminSocketPathHoldingAFileStopsHavndWithStatus2AndLeavesTheFile(@TempDir Path dir) throws Exception {
        Path state = dir.resolve("state");
        Path sock = dir.resolve("admin.sock");
        Files.writeString(sock, "someone's data\n");
        Run r = havnd("--config", config(dir, dir.resolve("no-key"), 7405).toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("admin.socket " + sock + " is a regular file, not a socket; refusing to replace"),
                r.err());
        assertEquals("someone's data\n", Files.readString(sock), "the file is left as it was");
        assertTrue(!Files.exists(dir.resolve("watchdog.state")) && !Files.exists(state.resolve("incarnation")),
                "nothing started");
    }

    @Test
    void aStopWithTheHostFollowsTheShutdownPolicyAndWaitsForItAStopOfTheDaemonAloneDoesNot() {
        Havnd.Stop host = Havnd.stop(true, 60_000, 600_000);
        assertTrue(host.event().hostShutdown());
        assertEquals(Havnd.STOP_REQUEST, host.event().requestId());
        assertEquals(600_000 + Havnd.HOST_SHUTDOWN_MARGIN_MS, host.waitMs(), "the migrations' time, and a margin");
        Havnd.Stop daemon = Havnd.stop(false, 60_000, 600_000);
        assertEquals(new io.havn.common.node.NodeEvent.Stopping(Havnd.STOP_REQUEST, 60_000, false), daemon.event());
        assertEquals(Havnd.STOP_WAIT_MS, daemon.waitMs());
    }

    @Test
    void aCleanStopAsksOnceWhetherTheHostIsShuttingDownAndTheNodesAnswerEndsTheWait(@TempDir Path dir)
            throws Exception {
        try (TestingServer zk = new TestingServer(true)) {
            HavnConfig cfg = DaemonFixture.config("down", "node1", zk.getConnectString(), 10_000, dir,
                    DaemonFixture.clusterKey(dir), "metrics: {enabled: false}\n");
            java.util.concurrent.atomic.AtomicInteger asked = new java.util.concurrent.atomic.AtomicInteger();
            Havnd h = new Havnd(System::currentTimeMillis, () -> asked.incrementAndGet() > 0);
            h.start(cfg, d -> { }, (id, reply) -> { });
            long start = System.nanoTime();
            h.close();
            h.close();
            assertEquals(1, asked.get(), "asked once, when the running daemon stops");
            assertTrue(System.nanoTime() - start < 20_000_000_000L, "the node answered: no wait for the whole "
                    + "shutdownMigrateMs");
        }
    }

    @Test
    void eachStartTakesAGreaterIncarnationAndRecordsItBeforeTheNodeRuns(@TempDir Path dir) throws Exception {
        try (TestingServer zk = new TestingServer(true)) {
            HavnConfig cfg = DaemonFixture.config("inc", "node1", zk.getConnectString(), 10_000, dir,
                    DaemonFixture.clusterKey(dir), "metrics: {enabled: false}\n");
            Path record = cfg.host().stateDir().resolve("incarnation");
            long wall = 1_760_000_000_000L;
            long[] clock = {wall};
            long first;
            try (Havnd h = new Havnd(() -> clock[0])) {
                h.start(cfg, d -> { }, (id, reply) -> { });
                first = h.incarnation();
                assertEquals(first + "\n", Files.readString(record), "on the disk once the daemon runs");
            }
            clock[0] = wall - 30_000; // the wall clock stepped back 30 s across the restart
            try (Havnd h = new Havnd(() -> clock[0])) {
                h.start(cfg, d -> { }, (id, reply) -> { });
                assertTrue(h.incarnation() > first, "restarted: " + h.incarnation() + " after " + first);
                assertEquals(h.incarnation() + "\n", Files.readString(record));
            }
        }
    }

    @Test
    void theDaemonCountsConnectionsCutOffOnTheAdminSocketAndTheMetricsEndpoint(@TempDir Path dir) throws Exception {
        int port;
        try (java.net.ServerSocket free = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        Path sock = dir.resolve("admin.sock");
        try (TestingServer zk = new TestingServer(true)) {
            HavnConfig cfg = DaemonFixture.config("cut", "node1", zk.getConnectString(), 10_000, dir,
                    DaemonFixture.clusterKey(dir), "admin: {socket: \"%s\"}\nmetrics: {bind: \"127.0.0.1:%d\"}\n"
                            .formatted(sock, port));
            try (Havnd h = new Havnd()) {
                h.start(cfg);
                // a request line and a request head each one byte over their limits: cut off at once
                try (java.nio.channels.SocketChannel c = io.havn.daemon.net.UnixClient.connect(sock)) {
                    io.havn.daemon.net.UnixClient.send(c, "x".repeat(AdminSocketServer.MAX_LINE_BYTES + 2));
                    assertTrue(io.havn.daemon.net.UnixClient.untilClosed(c).contains("request-too-large"));
                }
                try (java.net.Socket c = new java.net.Socket("127.0.0.1", port)) {
                    c.setSoTimeout(10_000);
                    c.getOutputStream().write(("GET /metrics HTTP/1.1\r\nX: " + "x".repeat(8192) + "\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    assertTrue(new String(c.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)
                            .startsWith("HTTP/1.1 431 "));
                }
                java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
                        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port
                                + "/metrics")).timeout(java.time.Duration.ofSeconds(10)).build(),
                        java.net.http.HttpResponse.BodyHandlers.ofString());
                io.havn.daemon.metrics.Exposition e = io.havn.daemon.metrics.Exposition.parse(r.body());
                assertEquals(1.0, e.value("havn_connections_cut_total", "endpoint", "admin", "reason",
                        "request_bytes").orElseThrow());
                assertEquals(1.0, e.value("havn_connections_cut_total", "endpoint", "metrics", "reason",
                        "request_bytes").orElseThrow());
            }
        }
    }

    @Test
    void withoutTlsTheConfigIsRefusedWithStatus2UnlessItAcceptsAnInsecureZooKeeper(@TempDir Path dir)
            throws Exception {
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384, address: "127.0.0.1:7405"}
                zookeeper: {connect: "127.0.0.1:2181"}
                """);
        Run refused = havnd("--config", f.toString(), "--check-config");
        assertEquals(2, refused.exit(), refused.out());
        assertTrue(refused.err().contains("zookeeper.tls: required"), refused.err());
        Files.writeString(f, Files.readString(f).replace("2181\"}", "2181\", allowInsecure: true}"));
        Run accepted = havnd("--config", f.toString(), "--check-config");
        assertEquals(0, accepted.exit(), accepted.err());
    }

    @Test
    void aKeyStoreThatCannotBeOpenedStopsHavndWithStatus2NamingTheKeyBeforeItStartsAnything(@TempDir Path dir)
            throws Exception {
        TlsEnsemble.Pki pki = TlsEnsemble.pki();
        Path wrong = Files.writeString(dir.resolve("wrong.password"), "not-the-password\n");
        Path state = dir.resolve("state");
        Path sock = dir.resolve("admin.sock");
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384, address: "127.0.0.1:7405", stateDir: "%s"}
                zookeeper:
                  connect: "127.0.0.1:2281"
                  tls: {keyStore: "%s", keyStorePasswordFile: "%s", trustStore: "%s", trustStorePasswordFile: "%s"}
                heartbeat: {keyFile: "%s"}
                watchdog: {stateFile: "%s", required: false}
                admin: {socket: "%s"}
                metrics: {enabled: false}
                """.formatted(state, pki.member(), wrong, pki.trustStore(), pki.password(), dir.resolve("no-key"),
                dir.resolve("watchdog.state"), sock));
        Run r = havnd("--config", f.toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains(f + ": zookeeper.tls.keyStore: cannot open " + pki.member()), r.err());
        assertTrue(!r.err().contains("not-the-password"), "no password in the message: " + r.err());
        assertTrue(!Files.exists(state) && !Files.exists(dir.resolve("watchdog.state")) && !Files.exists(sock),
                "nothing started");
    }

    @Test
    void aDaemonOnAnInsecureZooKeeperWarnsAtEveryStartAndASecureOneDoesNot(@TempDir Path dir) throws Exception {
        ch.qos.logback.classic.Logger log = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Havnd.class);
        ListAppender<ILoggingEvent> seen = new ListAppender<>();
        seen.start();
        log.addAppender(seen);
        try {
            Path key = DaemonFixture.clusterKey(dir);
            HavnConfig insecure = DaemonFixture.config("warn", "node1", "127.0.0.1:1", 10_000, dir, key,
                    "metrics: {enabled: false}\n");
            HavnConfig secure = DaemonFixture.secureConfig("warn", "node2", "127.0.0.1:1", 10_000, dir, key,
                    "metrics: {enabled: false}\n");
            for (HavnConfig cfg : List.of(insecure, insecure, secure)) {
                try (Havnd h = new Havnd()) {
                    h.start(cfg, d -> { }, (id, reply) -> { });
                }
            }
            List<String> warnings = seen.list.stream().filter(e -> e.getLevel() == Level.WARN)
                    .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("ZooKeeper without TLS")).toList();
            assertEquals(2, warnings.size(), "one warning per insecure start: " + warnings);
            assertTrue(warnings.get(0).contains("anyone who reaches 127.0.0.1:1 can read and rewrite"), warnings.get(0));
        } finally {
            log.detachAppender(seen);
        }
    }
    @Test
    void refusedRecordsAreSaidAfterAPartialAnswersNoteAndAWholeAnswerKeepsItsCount() {
        io.havn.common.model.ClusterState state = new io.havn.common.model.ClusterState(1, null,
                new java.util.TreeMap<>(), new java.util.TreeMap<>(), new java.util.TreeMap<>());
        HostId node1 = new HostId("node1");
        io.havn.common.node.AdminReply partial = io.havn.common.node.AdminReply.ownState(state, node1, List.of(),
                "node1 keeps only its own VM records");
        io.havn.common.node.AdminReply said = Havnd.withRefusals(partial, 2);
        assertTrue(said.partial(), said.toString());
        assertEquals("node1 keeps only its own VM records", said.partialView(), "the partial note stays as it was");
        assertEquals("2 records in the coordination service refused: no valid seal of the cluster key (see havnd's "
                + "log and SECURITY.md)", said.message());
        io.havn.common.place.Admission.Report count = new io.havn.common.place.Admission.Report(1, 1, false, 2, List.of(), null);
        io.havn.common.node.AdminReply whole = io.havn.common.node.AdminReply.state(state, node1, List.of(), count);
        assertEquals(count, Havnd.withRefusals(whole, 1).admission(), "the count taken before stays");
        assertEquals(whole, Havnd.withRefusals(whole, 0));
    }
}
