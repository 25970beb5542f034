package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    @Test
    void checkConfigPassesAValidFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384}
                zookeeper: {connect: "127.0.0.1:2181", allowInsecure: true}
                """);
        Run r = havnd("--config", f.toString(), "--check-config");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("valid (host node1, cluster prod)"), r.out());
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
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384, stateDir: "%s"}
                zookeeper: {connect: "127.0.0.1:2181", allowInsecure: true}
                heartbeat: {keyFile: "%s"}
                watchdog: {stateFile: "%s", required: false}
                admin: {socket: "%s"}
                metrics: {enabled: false}
                """.formatted(state, dir.resolve("no-key"), dir.resolve("watchdog.state"), sock));
        Run r = havnd("--config", f.toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains(state.resolve("incarnation") + ": holds no incarnation"), r.err());
        assertEquals("garbage\n", Files.readString(state.resolve("incarnation")), "left as it was");
        // it stopped before reading the cluster key (missing here), publishing a watchdog state or listening
        assertTrue(!Files.exists(dir.resolve("watchdog.state")) && !Files.exists(sock), "nothing started");
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
    void withoutTlsTheConfigIsRefusedWithStatus2UnlessItAcceptsAnInsecureZooKeeper(@TempDir Path dir)
            throws Exception {
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384}
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
                host: {name: node1, cpus: 8, memoryMiB: 16384, stateDir: "%s"}
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
}
