package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import io.havn.common.model.Json;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Decision;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.loop.EventLoop;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryOneTime;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * A fence device whose options carry recognisable secrets (a password, an SNMP community, a
 * reservation key) is used for real: two daemons, the one holding an HA VM stops, and the leader
 * runs the device's agent, which prints everything it was given and fails. Then every log line,
 * every decision, a metrics scrape, a status answer and every znode of the cluster are searched
 * for the secrets; the agent's echo must be there, with the secrets hidden.
 */
class SecretsStayHiddenIntegrationTest {
    private static final List<String> SECRETS = List.of("pw-Q7x2-hunter", "cm-Zq81-private", "0x5ec7e7a1");
    private static final long BOUND_S = 60;

    private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
    private final ch.qos.logback.classic.Logger root =
            (ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    private final ch.qos.logback.classic.Logger havn = (ch.qos.logback.classic.Logger) LoggerFactory.getLogger("io.havn");
    private Level havnLevel;

    @BeforeEach
    void captureEveryLogLine() {
        logs.start();
        root.addAppender(logs);
        havnLevel = havn.getLevel();
        havn.setLevel(Level.DEBUG); // the daemon's debug lines too
    }

    @AfterEach
    void stopCapturing() {
        root.detachAppender(logs);
        havn.setLevel(havnLevel);
    }

    @Test
    void noSecretOfAFenceDeviceReachesALogADecisionAMetricAStatusOrAZnode(@TempDir Path dir) throws Exception {
        Path agent = dir.resolve("fence_fake_echoes_input.sh");
        try (InputStream in = getClass().getResourceAsStream("/fence/fence_fake_echoes_input.sh")) {
            assertNotNull(in, "test resource fence/fence_fake_echoes_input.sh");
            Files.copy(in, agent);
        }
        Files.setPosixFilePermissions(agent, PosixFilePermissions.fromString("rwx------"));
        String devices = """
                  devices:
                    pdu-node2: {agent: "%s", options: {ip: 10.0.1.2, username: admin, password: %s, community: %s, key: %s, plug: 2}}
                """.formatted(agent, SECRETS.get(0), SECRETS.get(1), SECRETS.get(2));
        String timing = "settings: {leaseMs: 2000, watchdogMs: 1000, suspectAfterMs: 1000, graceMs: 500}\n";
        int metricsPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            metricsPort = s.getLocalPort();
        }
        BlockingQueue<Decision> decisions = new LinkedBlockingQueue<>();
        List<String> decided = java.util.Collections.synchronizedList(new ArrayList<>());
        BlockingQueue<AdminReply> replies = new LinkedBlockingQueue<>();
        try (TestingServer zk = new TestingServer(true)) {
            Path key = DaemonFixture.clusterKey(dir);
            // node1 offers 1 vCPU, so the 2-vCPU VM can only run on node2, which node1 then fences
            HavnConfig c1 = DaemonFixture.config("sec", "node1", 1, zk.getConnectString(), 4_000, dir, key,
                    timing + "metrics: {bind: \"127.0.0.1:" + metricsPort + "\"}\nfence:\n" + devices);
            HavnConfig c2 = DaemonFixture.config("sec", "node2", 8, zk.getConnectString(), 4_000, dir, key,
                    timing + "metrics: {enabled: false}\nfence:\n  device: pdu-node2\n" + devices);
            try (Havnd h1 = new Havnd()) {
                EventLoop l1 = h1.start(c1, d -> {
                    decided.add(d.toString());
                    decisions.add(d);
                }, (id, r) -> replies.add(r));
                DaemonFixture.await(decisions, Decision.Kind.LEADER_ELECTED, "node1 leads");
                Havnd h2 = new Havnd();
                try {
                    BlockingQueue<Decision> node2 = new LinkedBlockingQueue<>();
                    h2.start(c2, d -> {
                        decided.add(d.toString());
                        node2.add(d);
                    }, (id, r) -> { });
                    DaemonFixture.await(node2, Decision.Kind.READY, "node2 takes work");
                    String uuid = "5ec7e7a1-0000-4000-8000-000000000001";
                    VmSpec spec = new VmSpec(new VmId(uuid), "vm1", 2, 128, Priority.MEDIUM, true, """
                            <domain type='test'><name>vm1</name><uuid>%s</uuid><memory unit='MiB'>128</memory>
                            <vcpu>2</vcpu><os><type>hvm</type></os></domain>""".formatted(uuid));
                    l1.post(new NodeEvent.AdminRequest(1, new AdminCommand.VmAdd(spec)));
                    AdminReply added = replies.poll(BOUND_S, TimeUnit.SECONDS);
                    assertTrue(added != null && added.ok(), "the VM is accepted: " + added);
                    DaemonFixture.await(node2, Decision.Kind.START, "vm1 starts on node2");
                } finally {
                    h2.abandon(); // node2 dies with its VM: node1 must fence it
                }
                Decision failed = DaemonFixture.await(decisions, Decision.Kind.FENCE_FAILED, "node1 fences node2");
                assertTrue(failed.detail().contains("got community=***") && failed.detail().contains("got key=***")
                        && failed.detail().contains("got password=***") && failed.detail().contains("got ip=10.0.1.2"),
                        "the agent ran and its echo is in the decision, secrets hidden: " + failed.detail());

                l1.post(new NodeEvent.AdminRequest(2, new AdminCommand.Status()));
                AdminReply status = replies.poll(BOUND_S, TimeUnit.SECONDS);
                assertNotNull(status, "a status answer");
                String scrape = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).timeout(Duration.ofSeconds(10))
                        .build(), HttpResponse.BodyHandlers.ofString()).body();
                assertTrue(scrape.contains("havn_fence_attempts_total"), "a real scrape");

                List<String> places = new ArrayList<>();
                synchronized (logs.list) {
                    for (ILoggingEvent e : logs.list) {
                        places.add("log: " + e.getFormattedMessage() + (e.getThrowableProxy() == null ? ""
                                : " " + ThrowableProxyUtil.asString(e.getThrowableProxy())));
                    }
                }
                synchronized (decided) {
                    decided.forEach(d -> places.add("decision: " + d));
                }
                places.add("metrics: " + scrape);
                places.add("status: " + status + " " + Json.mapper().writeValueAsString(status));
                places.addAll(znodes(zk.getConnectString()));
                assertTrue(places.stream().anyMatch(p -> p.startsWith("log: ") && p.contains("got community=***")),
                        "the fencer's warning with the agent's echo was logged");
                for (String secret : SECRETS) {
                    for (String p : places) {
                        assertFalse(p.contains(secret), secret + " leaked in " + p);
                    }
                }
            }
        }
    }

    /** Every znode's path and data, as text. */
    private static List<String> znodes(String connect) throws Exception {
        List<String> out = new ArrayList<>();
        try (CuratorFramework c = CuratorFrameworkFactory.newClient(connect, new RetryOneTime(100))) {
            c.start();
            assertTrue(c.blockUntilConnected(30, TimeUnit.SECONDS), "connected to ZooKeeper");
            List<String> todo = new ArrayList<>(List.of("/"));
            while (!todo.isEmpty()) {
                String p = todo.remove(todo.size() - 1);
                byte[] data = c.getData().forPath(p);
                out.add("znode " + p + ": " + (data == null ? "" : new String(data, StandardCharsets.UTF_8)));
                for (String child : c.getChildren().forPath(p)) {
                    todo.add(p.equals("/") ? "/" + child : p + "/" + child);
                }
            }
        }
        assertTrue(out.stream().anyMatch(z -> z.contains("/havn/sec")), "the cluster's znodes: " + out);
        return out;
    }
}
