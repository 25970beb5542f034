package io.havn.daemon.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.model.ClusterState;
import io.havn.common.model.Json;
import io.havn.common.model.VmSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A client of a havnd's admin socket (see {@code AdminSocketServer}): one JSON request line, one
 * JSON answer line, all within a deadline, so a daemon that hangs or dies never holds the demo.
 */
final class AdminClient {
    private static final int MAX_ANSWER_BYTES = 16 << 20;

    private AdminClient() {
    }

    /** The cluster state as the daemon at {@code socket} sees it. */
    static ClusterState status(Path socket, Duration timeout) throws IOException {
        ObjectNode req = Json.mapper().createObjectNode().put("id", 1).put("command", "status");
        JsonNode a = ok(ask(socket, req, timeout));
        return Json.mapper().treeToValue(a.get("state"), ClusterState.class);
    }

    /** Puts {@code spec} under HA through the daemon at {@code socket}; its answer's message. */
    static String vmAdd(Path socket, VmSpec spec, Duration timeout) throws IOException {
        ObjectNode req = Json.mapper().createObjectNode().put("id", 1).put("command", "vm-add");
        req.set("spec", Json.mapper().valueToTree(spec));
        return ok(ask(socket, req, timeout)).path("message").asText("");
    }

    private static JsonNode ok(JsonNode answer) throws IOException {
        if (!answer.path("ok").asBoolean(false)) {
            throw new IOException(answer.path("code").asText("error") + ": " + answer.path("message").asText(""));
        }
        return answer;
    }

    /** Sends {@code request} and reads the answer line; an IOException past the deadline. */
    static JsonNode ask(Path socket, JsonNode request, Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        ByteBuffer out = ByteBuffer.wrap((request.toString() + "\n").getBytes(StandardCharsets.UTF_8));
        ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX); Selector selector = Selector.open()) {
            c.connect(UnixDomainSocketAddress.of(socket)); // a local socket: connected or refused at once
            c.configureBlocking(false);
            SelectionKey key = c.register(selector, SelectionKey.OP_WRITE);
            while (true) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    throw new IOException(socket + ": no answer within " + timeout.toMillis() + " ms");
                }
                selector.select(left);
                selector.selectedKeys().clear();
                if (out.hasRemaining()) {
                    c.write(out);
                    if (!out.hasRemaining()) {
                        key.interestOps(SelectionKey.OP_READ);
                    }
                    continue;
                }
                if (c.read(in) < 0) {
                    throw new IOException(socket + ": the daemon closed the connection without an answer");
                }
                in.flip();
                while (in.hasRemaining()) {
                    byte b = in.get();
                    if (b == '\n') {
                        return Json.mapper().readTree(line.toString(StandardCharsets.UTF_8));
                    }
                    line.write(b);
                }
                in.clear();
                if (line.size() > MAX_ANSWER_BYTES) {
                    throw new IOException(socket + ": an answer longer than " + MAX_ANSWER_BYTES + " bytes");
                }
            }
        }
    }
}
