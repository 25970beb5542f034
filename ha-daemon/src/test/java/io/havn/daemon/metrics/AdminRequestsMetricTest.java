package io.havn.daemon.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.admin.AdminSocketServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin socket's answers reach {@code havn_admin_requests_total} through its hook, over a real socket. */
class AdminRequestsMetricTest {

    @Test
    void eachAnsweredRequestIsCountedByCommandAndResult(@TempDir Path dir) throws Exception {
        Path sock = dir.resolve("admin.sock");
        AdminSocketServer[] server = new AdminSocketServer[1];
        // a stand-in node: status is fine, a migration names an unknown VM
        server[0] = new AdminSocketServer(sock, "root",
                new io.havn.daemon.admin.Access(java.util.Map.of(), java.util.Map.of()), e -> {
            NodeEvent.AdminRequest r = (NodeEvent.AdminRequest) e;
            CompletableFuture.runAsync(() -> server[0].reply(r.requestId(), r.command() instanceof AdminCommand.Status
                    ? AdminReply.ok("fine") : AdminReply.error("unknown-vm", "no such VM")));
        }, Duration.ofSeconds(5), Duration.ofSeconds(30));
        try (HavnMetrics metrics = new HavnMetrics("prod", new HostId("node1")); AdminSocketServer s = server[0]) {
            s.onAnswer(metrics::adminAnswered);
            s.start();
            for (String request : new String[] {
                    "{\"id\":1,\"command\":\"status\"}", "{\"id\":2,\"command\":\"status\"}",
                    "{\"id\":3,\"command\":\"migrate\",\"vm\":\"web1\",\"host\":\"node2\"}",
                    "{\"id\":4,\"command\":\"migrate\"}", "{not json"}) {
                // one request per connection
                try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                    c.connect(UnixDomainSocketAddress.of(sock));
                    BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c),
                            StandardCharsets.UTF_8));
                    c.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
                    String answer = CompletableFuture.supplyAsync(() -> {
                        try {
                            return in.readLine();
                        } catch (java.io.IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    }).get(10, TimeUnit.SECONDS);
                    assertTrue(answer != null && answer.startsWith("{"), request + " -> " + answer);
                }
            }
            Exposition e = Exposition.parse(metrics.scrape());
            assertEquals(2.0, e.value("havn_admin_requests_total", "command", "status", "result", "ok").orElseThrow());
            assertEquals(1.0, e.value("havn_admin_requests_total", "command", "migrate", "result", "unknown-vm")
                    .orElseThrow());
            assertEquals(1.0, e.value("havn_admin_requests_total", "command", "migrate", "result", "bad-request")
                    .orElseThrow(), "a request missing its fields");
            assertEquals(1.0, e.value("havn_admin_requests_total", "command", "invalid", "result", "bad-request")
                    .orElseThrow(), "not JSON");
        }
    }
}
