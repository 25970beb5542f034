package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.loop.EventLoop;
import io.havn.daemon.metrics.Exposition;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real havnd with a datastore: its storage heartbeat writes this host's sealed record into its
 * slot of the file, with the daemon's incarnation, and its metrics say the datastore is reached.
 */
class HavndStorageIntegrationTest {
    private static final long BOUND_S = 30;

    @Test
    void aDaemonWritesItsSlotOnEachDatastoreAndItsMetricsSayItReachesIt(@TempDir Path dir) throws Exception {
        int metricsPort;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            metricsPort = s.getLocalPort();
        }
        Path heartbeat = dir.resolve("vmstore.heartbeat");
        try (TestingServer zk = new TestingServer(true)) {
            HavnConfig cfg = DaemonFixture.config("st", "node2", zk.getConnectString(), 10_000, dir,
                    DaemonFixture.clusterKey(dir), """
                    metrics: {bind: "127.0.0.1:%d"}
                    storage: {hosts: [node1, node2, node3], datastores: [{name: vmstore, path: "%s"}]}
                    settings: {storageIntervalMs: 100, storageTimeoutMs: 2000}
                    """.formatted(metricsPort, heartbeat));
            try (Havnd havnd = new Havnd()) {
                EventLoop loop = havnd.start(cfg, d -> { }, (id, r) -> { });
                Exposition e = scrapeUntil(loop, metricsPort,
                        x -> x.value("havn_datastore_reachable", "datastore", "vmstore").orElse(Double.NaN) == 1,
                        "node2 reaches vmstore");
                assertTrue(e.value("havn_storage_rounds_failed_total", "datastore", "vmstore").isPresent(),
                        "failed rounds are counted (the first, slower than 100 ms while the JVM warms, may be)");

                byte[] file = Files.readAllBytes(heartbeat);
                assertEquals(3 * 4096, file.length, "the slot area of three hosts");
                assertArrayEquals(new byte[4096], Arrays.copyOfRange(file, 0, 4096), "node1's slot untouched");
                ByteBuffer slot = ByteBuffer.wrap(file, 4096, 4096);
                byte[] magic = new byte[4];
                slot.get(magic);
                assertEquals("HVS\u0001", new String(magic, StandardCharsets.US_ASCII), "a storage record, version 1");
                assertEquals(3, slot.getShort(), "the hosts it counts");
                byte[] from = new byte[slot.get()];
                slot.get(from);
                assertEquals("node2", new String(from, StandardCharsets.US_ASCII), "in node2's slot, the second");
                assertEquals(havnd.incarnation(), slot.getLong(), "the daemon's incarnation");
                assertTrue(slot.getLong() >= 1, "a sequence");
            }
        }
    }

    /**
     * Scrapes /metrics until {@code p} holds; between scrapes it waits for a task the daemon's loop
     * runs 200 ms later (two storage rounds).
     */
    private static Exposition scrapeUntil(EventLoop loop, int port, java.util.function.Predicate<Exposition> p,
                                          String what) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        String body = "";
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port
                    + "/metrics")).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            body = r.body();
            Exposition e = Exposition.parse(body);
            if (p.test(e)) {
                return e;
            }
            CountDownLatch later = new CountDownLatch(1);
            loop.schedule(TimeUnit.MILLISECONDS.toNanos(200), later::countDown);
            assertTrue(later.await(BOUND_S, TimeUnit.SECONDS), "the loop runs");
        }
        throw new AssertionError("not within " + BOUND_S + " s: " + what + "\n" + body.lines()
                .filter(l -> l.startsWith("havn_datastore") || l.startsWith("havn_storage"))
                .collect(java.util.stream.Collectors.joining("\n")));
    }
}
