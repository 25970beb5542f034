package io.havn.daemon.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.Json;
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
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * One request to havnd's admin socket and its answer, each one JSON line, within a deadline that
 * covers the whole exchange. Each request has a connection of its own. Every way of getting no
 * answer (no socket, nobody listening, permission denied, silence, a closed connection, garbage)
 * becomes a {@link Failure#unreachable} saying which; the daemon's refusals are answers. A daemon
 * that turns the connection away ({@code busy}, {@code forbidden}) answers before reading the request
 * and closes: its answer is read and shown even when sending the request failed on the closed socket.
 */
final class AdminClient {
    /** A status answer carries every VM's domain XML; this only bounds a runaway peer. */
    static final int MAX_ANSWER_BYTES = 64 << 20;
    /** Answers the server sends before reading the request: nobody gets through, so nothing was asked. */
    private static final Set<String> NOT_ADMITTED = Set.of("forbidden", "busy");

    /** The daemon's answer: its line as received and parsed. */
    record Answer(String line, JsonNode json) {
        boolean ok() {
            return json.path("ok").asBoolean(false);
        }

        String code() {
            return json.path("code").asText("unknown");
        }

        /** The answer's message, or null when it has none. */
        String message() {
            JsonNode m = json.get("message");
            return m == null || m.isNull() ? null : m.asText();
        }

        /** A refused answer as the command's failure. */
        Failure refusal() {
            return Failure.refused(code(), message() == null ? "(no message)" : DomainPolicy.printable(message()));
        }
    }

    private final Path socket;
    private final Duration timeout;
    private long nextId = 1;

    AdminClient(Path socket, Duration timeout) {
        this.socket = socket;
        this.timeout = timeout;
    }

    /** Sends {@code request} (given an id here) and returns the answer to it. */
    Answer ask(ObjectNode request) {
        long id = nextId++;
        ObjectNode req = request.deepCopy().put("id", id);
        long deadline = System.nanoTime() + timeout.toNanos();
        String line;
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX); Selector selector = Selector.open()) {
            c.connect(UnixDomainSocketAddress.of(socket));
            c.configureBlocking(false);
            c.register(selector, SelectionKey.OP_WRITE);
            String early = null;
            try {
                write(c, selector, req.toString() + "\n", deadline);
            } catch (IOException e) {
                // the daemon may have turned us away (busy, forbidden) and closed unread: its answer says why
                early = leftBehind(c, selector, deadline);
                if (early == null) {
                    throw e;
                }
            }
            line = early != null ? early : readLine(c, selector, deadline);
        } catch (IOException e) {
            throw Failure.unreachable(why(e));
        }
        JsonNode json;
        try {
            json = Json.mapper().readTree(line);
        } catch (IOException e) {
            throw Failure.unreachable("havnd at " + socket + " answered something that is not JSON: " + clip(line));
        }
        if (json == null || !json.isObject() || !json.path("ok").isBoolean()) {
            throw Failure.unreachable("havnd at " + socket + " answered something that is not an answer: "
                    + clip(line));
        }
        Answer a = new Answer(line, json);
        if (!a.ok() && NOT_ADMITTED.contains(a.code())) {
            throw Failure.unreachable("havnd at " + socket + " does not admit this request: " + a.message() + " ("
                    + a.code() + ")");
        }
        JsonNode answered = json.get("id");
        if (answered != null && !answered.isNull() && answered.asLong(-1) != id) {
            throw Failure.unreachable("havnd at " + socket + " answered another request (id " + answered
                    + ", not " + id + ")");
        }
        return a;
    }

    private void write(SocketChannel c, Selector selector, String text, long deadline) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            if (c.write(b) == 0) {
                await(selector, deadline);
            }
        }
    }

    /** The answer line the daemon sent before closing on a request it never read, or null if none came. */
    private String leftBehind(SocketChannel c, Selector selector, long deadline) {
        try {
            return readLine(c, selector, deadline);
        } catch (IOException | Failure e) {
            return null;
        }
    }

    private String readLine(SocketChannel c, Selector selector, long deadline) throws IOException {
        c.keyFor(selector).interestOps(SelectionKey.OP_READ);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
        while (true) {
            int n = c.read(buf);
            if (n < 0) {
                throw Failure.unreachable("havnd at " + socket + " closed the connection without answering");
            }
            if (n == 0) {
                await(selector, deadline);
                continue;
            }
            buf.flip();
            while (buf.hasRemaining()) {
                byte b = buf.get();
                if (b == '\n') {
                    return line.toString(StandardCharsets.UTF_8);
                }
                line.write(b);
            }
            buf.clear();
            if (line.size() > MAX_ANSWER_BYTES) {
                throw Failure.unreachable("havnd at " + socket + " sent an answer longer than " + MAX_ANSWER_BYTES
                        + " bytes");
            }
        }
    }

    private void await(Selector selector, long deadline) throws IOException {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0 || (selector.select(left) == 0 && System.nanoTime() >= deadline)) {
            throw Failure.unreachable("havnd at " + socket + " did not answer within " + seconds(timeout)
                    + " (--timeout to wait longer)");
        }
        selector.selectedKeys().clear();
    }

    private String why(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("Permission denied")) {
            return "permission denied on " + socket + ": run as root, or as a member of the socket's group "
                    + "(admin.socketGroup, default havn) with a role in admin.users or admin.groups";
        }
        if (m.contains("Connection refused")) {
            return "nothing listens on " + socket + ": is havnd running?";
        }
        if (m.contains("No such file")) {
            return "no admin socket at " + socket + ": is havnd running on this host? (--socket or HAVN_SOCKET "
                    + "name another)";
        }
        return "cannot talk to havnd at " + socket + ": " + m;
    }

    private static String seconds(Duration d) {
        return d.toMillis() % 1000 == 0 ? d.toSeconds() + " s" : d.toMillis() / 1000.0 + " s";
    }

    private static String clip(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
