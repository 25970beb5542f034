package io.havn.daemon.admin;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.VmId;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Caller;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.AdminReplies;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin socket: a Unix socket (mode 0660, group {@code admin.socketGroup}) taking one JSON
 * request per line and answering one JSON line each. Only root and the users the config gives a
 * role may talk to it (checked by the peer's credentials, see {@link Access}); the node refuses a
 * command the caller's role does not cover. Every change request is audited ({@link AdminAudit}). A request is translated into an {@link AdminCommand} for the node; the answer is
 * the node's, or a clear error. Bad input changes nothing; a silent, slow or flooding client
 * only ever costs its own connection: lines are capped, idle connections are closed, and the
 * number of connections is bounded.
 *
 * <p>Request: {@code {"id": 7, "command": "migrate", "vm": "...", "host": "..."}}; commands:
 * status, migrate, relocate (vm, host), maintenance (host, on), fence-confirm (host), vm-stop,
 * vm-start, vm-enable, vm-disable (vm), vm-add (spec: a {@link io.havn.common.model.VmSpec} as JSON,
 * checked by {@link VmSpecRequest}). Answer: {@code {"id": 7, "ok": true, "message": ...}} or
 * {@code {"id": 7, "ok": false, "code": "unknown-vm", "message": ...}}.
 */
public final class AdminSocketServer implements AdminReplies, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AdminSocketServer.class);
    public static final int MAX_LINE_BYTES = 64 * 1024;
    static final int MAX_CONNECTIONS = 16;

    private enum State { LATENT, STARTED, CLOSED }

    private final Path path;
    private final String socketGroup;
    private final Access access;
    private final Consumer<NodeEvent> node;
    private final Duration answerTimeout;
    private final Duration idleTimeout;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, CompletableFuture<AdminReply>> pending = new ConcurrentHashMap<>();
    private final ThreadPoolExecutor connections = new ThreadPoolExecutor(MAX_CONNECTIONS, MAX_CONNECTIONS, 30,
            TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(), r -> daemonThread(r, "havn-admin"));
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(
            r -> daemonThread(r, "havn-admin-timer"));
    private final ExecutorService acceptor = Executors.newSingleThreadExecutor(r -> daemonThread(r, "havn-admin-accept"));
    private ServerSocketChannel server;
    /** Told of every answer: the request line (null if refused before one) and the answer line (metrics). */
    private volatile java.util.function.BiConsumer<String, String> answered = (request, answer) -> { };

    /**
     * @param path           the socket's path (its directory must exist)
     * @param socketGroup    the group the socket is bound with, so its members can reach it (mode 0660)
     * @param access         who may use the socket, with which role
     * @param node           where requests go (the node's event loop)
     * @param answerTimeout  how long a request waits for the node's answer
     * @param idleTimeout    how long a connection may stay silent
     */
    public AdminSocketServer(Path path, String socketGroup, Access access, Consumer<NodeEvent> node,
                             Duration answerTimeout, Duration idleTimeout) {
        this.path = path;
        this.socketGroup = socketGroup;
        this.access = access;
        this.node = node;
        this.answerTimeout = answerTimeout;
        this.idleTimeout = idleTimeout;
    }

    private static Thread daemonThread(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * Binds the socket (replacing a stale one) with mode 0660 and the socket group, and starts
     * accepting. Once only. A group the host does not know leaves the socket to root alone, and says so.
     */
    public void start() throws IOException {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("admin socket already started or closed");
        }
        Files.deleteIfExists(path);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(path));
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw----"));
        setGroup();
        acceptor.execute(this::acceptLoop);
        LOG.info("admin socket listening on {}", path);
    }

    private void setGroup() throws IOException {
        GroupPrincipal g;
        try {
            g = path.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(socketGroup);
        } catch (UserPrincipalNotFoundException e) {
            LOG.warn("admin socket {}: group {} does not exist, so only root can use the socket; create it "
                    + "(groupadd --system {}) or set admin.socketGroup", path, socketGroup, socketGroup);
            return;
        }
        Files.getFileAttributeView(path, PosixFileAttributeView.class).setGroup(g);
    }

    /** Calls {@code hook} with each request line (null if refused before one) and its answer line. */
    public void onAnswer(java.util.function.BiConsumer<String, String> hook) {
        this.answered = hook;
    }


    private void acceptLoop() {
        while (state.get() == State.STARTED) {
            SocketChannel c;
            try {
                c = server.accept();
            } catch (IOException e) {
                if (state.get() == State.STARTED) {
                    LOG.warn("admin socket accept failed: {}", e.toString());
                }
                return;
            }
            try {
                connections.execute(() -> serve(c));
            } catch (RejectedExecutionException e) {
                answerAndClose(c, error(null, "busy", "too many admin connections; try again"));
            }
        }
    }

    private void serve(SocketChannel c) {
        ScheduledFuture<?> idle = timers.schedule(() -> closeQuietly(c), idleTimeout.toMillis(), TimeUnit.MILLISECONDS);
        try (c) {
            String user = peerUser(c);
            java.util.Optional<Caller> caller = user == null ? java.util.Optional.empty() : access.caller(user);
            if (caller.isEmpty()) {
                String refused = error(null, "forbidden", "user " + user + " has no havn role (admin.users, "
                        + "admin.groups in the daemon's config): it may not use the admin socket");
                AdminAudit.refused(user == null ? -1 : access.uid(user), String.valueOf(user), refused);
                answered.accept(null, refused);
                write(c, refused);
                return;
            }
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(8192);
            while (c.read(buf) >= 0) {
                buf.flip();
                while (buf.hasRemaining()) {
                    byte b = buf.get();
                    if (b == '\n') {
                        idle.cancel(false);
                        String request = line.toString(StandardCharsets.UTF_8);
                        String answer = handle(request, caller.get());
                        answered.accept(request, answer);
                        write(c, answer);
                        line.reset();
                        idle = timers.schedule(() -> closeQuietly(c), idleTimeout.toMillis(), TimeUnit.MILLISECONDS);
                    } else if (line.size() >= MAX_LINE_BYTES) {
                        write(c, error(null, "request-too-large", "a request line may hold at most "
                                + MAX_LINE_BYTES + " bytes"));
                        return;
                    } else {
                        line.write(b);
                    }
                }
                buf.clear();
            }
        } catch (IOException e) {
            // the client went away or was closed for idling: nothing to answer
        } finally {
            idle.cancel(false);
        }
    }

    private static String peerUser(SocketChannel c) {
        try {
            UnixDomainPrincipal p = c.getOption(ExtendedSocketOptions.SO_PEERCRED);
            return p.user().getName();
        } catch (IOException | UnsupportedOperationException e) {
            return null;
        }
    }

    /** Answers one request line (a JSON object) from {@code caller}, and audits it; never throws. */
    String handle(String line, Caller caller) {
        JsonNode req;
        try {
            req = Json.mapper().readTree(line);
        } catch (IOException e) {
            return badRequest(caller, null, "not JSON: " + e.getMessage().split("\n")[0]);
        }
        if (req == null || !req.isObject()) {
            return badRequest(caller, null, "a request is a JSON object");
        }
        JsonNode id = req.get("id");
        AdminCommand cmd;
        try {
            cmd = command(req);
        } catch (IllegalArgumentException e) {
            return badRequest(caller, id, e.getMessage());
        }
        String answer = ask(id, cmd, caller);
        AdminAudit.request(caller, cmd, answer);
        return answer;
    }

    private static String badRequest(Caller caller, JsonNode id, String message) {
        String answer = error(id, "bad-request", message);
        AdminAudit.badRequest(caller, answer);
        return answer;
    }

    /** Hands {@code cmd} to the node and waits for its answer. */
    private String ask(JsonNode id, AdminCommand cmd, Caller caller) {
        long internal = ids.incrementAndGet();
        CompletableFuture<AdminReply> answer = new CompletableFuture<>();
        pending.put(internal, answer);
        try {
            node.accept(new NodeEvent.AdminRequest(internal, cmd, caller));
            return answer(id, answer.get(answerTimeout.toMillis(), TimeUnit.MILLISECONDS));
        } catch (TimeoutException e) {
            return error(id, "timeout", "the daemon did not answer within " + answerTimeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return error(id, "unavailable", "interrupted");
        } catch (Exception e) {
            return error(id, "unavailable", e.toString());
        } finally {
            pending.remove(internal);
        }
    }

    private static AdminCommand command(JsonNode req) {
        String c = text(req, "command");
        return switch (c) {
            case "status" -> new AdminCommand.Status();
            case "migrate" -> new AdminCommand.Migrate(vm(req), host(req));
            case "relocate" -> new AdminCommand.Relocate(vm(req), host(req));
            case "maintenance" -> {
                JsonNode on = req.get("on");
                if (on == null || !on.isBoolean()) {
                    throw new IllegalArgumentException("maintenance needs \"on\": true or false");
                }
                yield new AdminCommand.Maintenance(host(req), on.booleanValue());
            }
            case "fence-confirm" -> new AdminCommand.FenceConfirm(host(req));
            case "vm-stop" -> new AdminCommand.VmStop(vm(req));
            case "vm-start" -> new AdminCommand.VmStart(vm(req));
            case "vm-enable" -> new AdminCommand.VmEnable(vm(req));
            case "vm-disable" -> new AdminCommand.VmDisable(vm(req));
            case "vm-add" -> new AdminCommand.VmAdd(VmSpecRequest.read(req.get("spec")));
            default -> throw new IllegalArgumentException("unknown command '" + c + "'; known: status, migrate, "
                    + "relocate, maintenance, fence-confirm, vm-stop, vm-start, vm-enable, vm-disable, vm-add");
        };
    }

    private static String text(JsonNode req, String field) {
        JsonNode n = req.get(field);
        if (n == null || !n.isTextual() || n.asText().isBlank()) {
            throw new IllegalArgumentException("\"" + field + "\" is required (a string)");
        }
        return n.asText();
    }

    private static VmId vm(JsonNode req) {
        return new VmId(text(req, "vm"));
    }

    private static HostId host(JsonNode req) {
        return new HostId(text(req, "host"));
    }

    private static String answer(JsonNode id, AdminReply r) {
        ObjectNode out = Json.mapper().createObjectNode();
        out.set("id", id);
        out.put("ok", r.ok());
        if (r.code() != null) {
            out.put("code", r.code());
        }
        if (r.message() != null) {
            out.put("message", r.message());
        }
        if (r.state() != null) {
            out.set("state", Json.mapper().valueToTree(r.state()));
        }
        if (r.from() != null) {
            out.put("from", r.from().value());
        }
        if (r.peers() != null) {
            ObjectNode peers = out.putObject("peers");
            for (io.havn.common.node.PeerStat p : r.peers()) {
                ObjectNode o = peers.putObject(p.host().value());
                o.put("health", p.health());
                o.put("suspected", p.suspected());
                o.put("phi", Math.round(p.phi() * 100) / 100.0);
                if (!Double.isNaN(p.rttMs())) {
                    o.put("rttMs", Math.round(p.rttMs() * 1000) / 1000.0);
                }
                o.put("sinceLastMs", p.sinceLastMs());
            }
        }
        return out.toString();
    }

    private static String error(JsonNode id, String code, String message) {
        return answer(id, AdminReply.error(code, message));
    }

    /** The node's answer to request {@code requestId} (called on the node's thread). */
    @Override
    public void reply(long requestId, AdminReply reply) {
        CompletableFuture<AdminReply> f = pending.get(requestId);
        if (f != null) {
            f.complete(reply);
        }
    }

    private static void write(SocketChannel c, String json) throws IOException {
        ByteBuffer b = ByteBuffer.wrap((json + "\n").getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    private static void answerAndClose(SocketChannel c, String json) {
        try (c) {
            write(c, json);
        } catch (IOException e) {
            // gone
        }
    }

    private static void closeQuietly(SocketChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // already closed
        }
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) != State.STARTED) {
            return;
        }
        try {
            server.close();
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.warn("closing the admin socket: {}", e.toString());
        }
        acceptor.shutdownNow();
        connections.shutdownNow();
        timers.shutdownNow();
    }
}
