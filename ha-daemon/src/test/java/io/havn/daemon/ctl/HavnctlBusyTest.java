package io.havn.daemon.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.Json;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.admin.AdminSocketServer;
import io.havn.daemon.net.OneRequestServer;
import io.havn.daemon.net.UnixClient;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** havnctl shows the daemon's own reason when it is turned away, not the socket error it met on the way. */
class HavnctlBusyTest {
    private static final String BUSY = "{\"id\":null,\"ok\":false,\"code\":\"busy\","
            + "\"message\":\"too many admin connections; try again\"}\n";

    @TempDir
    Path dir;

    @Test
    void againstABusyDaemonHavnctlPrintsBusyAndExitsThree() throws Exception {
        Path sock = dir.resolve("admin.sock");
        BlockingQueue<NodeEvent> reached = new LinkedBlockingQueue<>();
        // one slot and no reserve; the stand-in node never answers, so the first request holds the slot
        try (AdminSocketServer server = new AdminSocketServer(sock, "root",
                new io.havn.daemon.admin.Access(java.util.Map.of(), java.util.Map.of()), reached::add, Duration.ofSeconds(30),
                new OneRequestServer.Limits(Duration.ofSeconds(5), Duration.ofSeconds(5), 1024, 1, 0))) {
            server.start();
            SocketChannel holder = UnixClient.connect(sock);
            UnixClient.send(holder, "{\"id\":1,\"command\":\"status\"}\n");
            assertTrue(reached.poll(10, TimeUnit.SECONDS) instanceof NodeEvent.AdminRequest, "the slot is held");
            HavnctlTest.Result r = HavnctlTest.run(Map.of(), "--socket", sock.toString(), "--timeout", "10",
                    "status");
            assertEquals(Failure.UNREACHABLE, r.code(), r.toString());
            assertTrue(r.err().contains("too many admin connections; try again (busy)"), r.toString());
            assertTrue(!r.err().contains("Broken pipe"), r.toString());
            holder.close();
        }
    }

    @Test
    void theAnswerIsReadEvenWhenTheRequestCouldNotBeSent() throws Exception {
        Path sock = dir.resolve("busy.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            Thread busy = new Thread(() -> {
                // as the daemon does when every slot is taken: answer at once, close, never read
                try (SocketChannel c = server.accept()) {
                    c.write(ByteBuffer.wrap(BUSY.getBytes(StandardCharsets.UTF_8)));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            busy.start();
            // a request far larger than the socket's buffers: its write fails on the closed connection
            var request = Json.mapper().createObjectNode().put("command", "status").put("pad", "x".repeat(8 << 20));
            Failure f = assertThrows(Failure.class, () -> new AdminClient(sock, Duration.ofSeconds(10)).ask(request));
            busy.join(10_000);
            assertEquals(Failure.UNREACHABLE, f.exitCode());
            assertTrue(f.getMessage().contains("does not admit this request: too many admin connections; try again "
                    + "(busy)"), f.getMessage());
        }
    }
}
