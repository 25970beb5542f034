package io.havn.daemon.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.Rule;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.VmId;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Caller;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.AdminReplies;
import io.havn.daemon.net.OneRequestServer;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
 * request line per connection and answering one JSON line. Only root and the users the config
 * gives a role may talk to it (checked by the peer's credentials, see {@link Access}); the node
 * refuses a command the caller's role does not cover, and every change request is audited
 * ({@link AdminAudit}). A request is translated into an {@link AdminCommand} for the node; the
 * answer is the node's, or a clear error. Bad input changes nothing; a silent, slow or flooding
 * client only ever costs its own connection, never a thread: the socket is served by a
 * {@link OneRequestServer} with the budgets of {@link #LIMITS} (the whole request within 5 s and
 * 64 KiB, the whole answer taken within 10 s), 16 connections for anyone and 4 more that only
 * root may hold, so root is answered whatever other users' clients do.
 *
 * <p>Request: {@code {"id": 7, "command": "migrate", "vm": "...", "host": "..."}}; commands:
 * status, migrate, relocate (vm, host), maintenance (host, on), fence-confirm (host), vm-stop,
 * vm-start, vm-enable, vm-disable (vm), vm-add (spec: a {@link io.havn.common.model.VmSpec} as JSON,
 * checked by {@link VmSpecRequest}), disarm (watchdogs: keep or release), arm, shutdown-policy
 * (policy: migrate, freeze or failover, for the cluster or, with host, for one host; host without
 * policy: that host follows the cluster's again), rule-add (rule: a {@link Rule} as JSON, its kind
 * in {@code kind}), rule-remove (rule: the rule's id), group-set (group, hosts), group-remove (group),
 * admission (tolerate, strict, reserved), what-if (hosts). Answer: {@code {"id": 7, "ok": true, "message": ...}} or
 * {@code {"id": 7, "ok": false, "code": "unknown-vm", "message": ...}}. A client turned away
 * before its request is read gets {@code busy} or {@code forbidden} and the connection closes.
 */
public final class AdminSocketServer implements AdminReplies, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AdminSocketServer.class);
    public static final int MAX_LINE_BYTES = 64 * 1024;
    /** The admin socket's budgets: see the class comment and SECURITY.md. */
    public static final OneRequestServer.Limits LIMITS = new OneRequestServer.Limits(Duration.ofSeconds(5),
            Duration.ofSeconds(10), MAX_LINE_BYTES, 16, 4);

    /** Start refused: the socket path holds something that is not a stale socket of ours. Nothing was changed. */
    public static final class PathTaken extends IOException {
        PathTaken(String message) {
            super(message);
        }
    }

    private enum State { LATENT, STARTED, CLOSED }

    private final Path path;
    private final String socketGroup;
    private final Access access;
    private final Consumer<NodeEvent> node;
    private final Duration answerTimeout;
    private final OneRequestServer.Limits limits;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, CompletableFuture<AdminReply>> pending = new ConcurrentHashMap<>();
    private OneRequestServer<Caller> server;
    /** The socket file this server bound, to remove it on close only if it is still that one. */
    private Object boundFile;
    /** Told of every answer: the request line (null if refused before one) and the answer line (metrics). */
    private volatile java.util.function.BiConsumer<String, String> answered = (request, answer) -> { };
    private volatile Consumer<OneRequestServer.Cut> cuts = cut -> { };

    /**
     * @param path           the socket's path (its directory must exist)
     * @param socketGroup    the group the socket is bound with, so its members can reach it (mode 0660)
     * @param access         who may use the socket, with which role
     * @param node           where requests go (the node's event loop)
     * @param answerTimeout  how long a request waits for the node's answer
     * @param limits         the connections' budgets and slots ({@link #LIMITS} in the daemon)
     */
    public AdminSocketServer(Path path, String socketGroup, Access access, Consumer<NodeEvent> node,
                             Duration answerTimeout, OneRequestServer.Limits limits) {
        this.path = path;
        this.socketGroup = socketGroup;
        this.access = access;
        this.node = node;
        this.answerTimeout = answerTimeout;
        this.limits = limits;
    }

    /** As above with {@link #LIMITS} but {@code requestTime} for a whole request to arrive. */
    public AdminSocketServer(Path path, String socketGroup, Access access, Consumer<NodeEvent> node,
                             Duration answerTimeout, Duration requestTime) {
        this(path, socketGroup, access, node, answerTimeout, new OneRequestServer.Limits(requestTime, LIMITS.writeTime(),
                LIMITS.requestBytes(), LIMITS.connections(), LIMITS.reserved()));
    }

    /**
     * Binds the socket with mode 0660 and the socket group, and starts accepting. Once only. A group
     * the host does not know leaves the socket to root alone, and says so. A stale socket of ours (a
     * socket owned by this user that nobody listens on) is replaced; anything else at the path is
     * left alone and start fails with {@link PathTaken}.
     */
    public void start() throws IOException {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("admin socket already started or closed");
        }
        SocketPath.clearStale(path);
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.bind(UnixDomainSocketAddress.of(path));
            boundFile = SocketPath.fileKey(path);
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw----"));
            setGroup();
            server = new OneRequestServer<>("havn-admin", channel, new Protocol(), limits);
        } catch (IOException | RuntimeException e) {
            channel.close();
            SocketPath.removeIfSame(path, boundFile);
            throw e;
        }
        server.onCut(cut -> cuts.accept(cut));
        server.start();
        LOG.info("admin socket listening on {}", path);
    }

    /**
     * Throws {@link PathTaken} if {@code path} holds anything but a stale socket of ours, so a
     * daemon can refuse to start before it joins the cluster. Changes nothing.
     */
    public static void checkPath(Path path) throws IOException {
        SocketPath.staleOrAbsent(path);
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

    /** Calls {@code hook} with each connection cut off for a budget or turned away busy (metrics). */
    public void onCut(Consumer<OneRequestServer.Cut> hook) {
        this.cuts = hook;
    }

    /**
     * The JSON-lines protocol: the peer is the caller its credentials and the config's roles make
     * it, and root (uid 0) holds the reserved slots.
     */
    private final class Protocol implements OneRequestServer.Protocol<Caller> {
        @Override
        public OneRequestServer.Admission<Caller> admit(SocketChannel c) {
            String user = peerUser(c);
            java.util.Optional<Caller> caller = user == null ? java.util.Optional.empty() : access.caller(user);
            if (caller.isEmpty()) {
                String refused = error(null, "forbidden", "user " + user + " has no havn role (admin.users, "
                        + "admin.groups in the daemon's config): it may not use the admin socket");
                AdminAudit.refused(user == null ? -1 : access.uid(user), String.valueOf(user), refused);
                answered.accept(null, refused);
                return new OneRequestServer.Refuse<>(line(refused));
            }
            return new OneRequestServer.Admit<>(caller.get(), caller.get().uid() == 0);
        }

        @Override
        public byte[] terminator() {
            return new byte[] {'\n'};
        }

        @Override
        public byte[] answer(Caller caller, byte[] request) {
            String line = new String(request, StandardCharsets.UTF_8);
            String answer = handle(line, caller);
            answered.accept(line, answer);
            return line(answer);
        }

        @Override
        public byte[] busy() {
            return line(error(null, "busy", "too many admin connections; try again"));
        }

        @Override
        public byte[] tooLarge() {
            return line(error(null, "request-too-large", "a request line may hold at most " + MAX_LINE_BYTES
                    + " bytes"));
        }

        private static byte[] line(String json) {
            return (json + "\n").getBytes(StandardCharsets.UTF_8);
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
            case "disarm" -> new AdminCommand.Disarm(watchdogs(text(req, "watchdogs")));
            case "arm" -> new AdminCommand.Arm();
            case "shutdown-policy" -> shutdownPolicy(req);
            case "rule-add" -> new AdminCommand.RuleAdd(rule(req));
            case "rule-remove" -> new AdminCommand.RuleRemove(text(req, "rule"));
            case "group-set" -> new AdminCommand.GroupSet(text(req, "group"), hosts(req, "hosts", true));
            case "group-remove" -> new AdminCommand.GroupRemove(text(req, "group"));
            case "admission" -> admission(req);
            case "what-if" -> new AdminCommand.WhatIf(hosts(req, "hosts", true));
            default -> throw new IllegalArgumentException("unknown command '" + c + "'; known: status, migrate, "
                    + "relocate, maintenance, fence-confirm, vm-stop, vm-start, vm-enable, vm-disable, vm-add, "
                    + "disarm, arm, shutdown-policy, rule-add, rule-remove, group-set, group-remove, admission, "
                    + "what-if");
        };
    }

    /** The {@code rule} of a rule-add request: a {@link Rule} as JSON, its shape checked by its own record. */
    private static Rule rule(JsonNode req) {
        JsonNode r = req.get("rule");
        if (r == null || !r.isObject()) {
            throw new IllegalArgumentException("rule-add needs \"rule\": an object with \"kind\" (together, apart, "
                    + "hosts, after or delay), \"id\" and \"vms\"");
        }
        try {
            return Json.mapper().treeToValue(r, Rule.class);
        } catch (JsonProcessingException e) {
            Throwable cause = e.getCause();
            throw new IllegalArgumentException("rule: " + (cause instanceof IllegalArgumentException
                    ? cause.getMessage() : e.getOriginalMessage().split("\n")[0]));
        }
    }

    /** How many host failures to tolerate, strict or not, and the reserved hosts (none if left out). */
    private static AdminCommand admission(JsonNode req) {
        JsonNode tolerate = req.get("tolerate");
        JsonNode strict = req.get("strict");
        if (tolerate == null || !tolerate.isInt()) {
            throw new IllegalArgumentException("admission needs \"tolerate\": a whole number of host failures");
        }
        if (strict == null || !strict.isBoolean()) {
            throw new IllegalArgumentException("admission needs \"strict\": true or false");
        }
        return new AdminCommand.SetAdmission(tolerate.intValue(), strict.booleanValue(), hosts(req, "reserved", false));
    }

    /** A list of host names; left out, it is required or empty. */
    private static List<HostId> hosts(JsonNode req, String field, boolean required) {
        JsonNode n = req.get(field);
        if (n == null || n.isNull()) {
            if (required) {
                throw new IllegalArgumentException("\"" + field + "\" is required (a list of host names)");
            }
            return List.of();
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException("\"" + field + "\" is a list of host names");
        }
        List<HostId> out = new ArrayList<>();
        for (JsonNode h : n) {
            if (!h.isTextual()) {
                throw new IllegalArgumentException("\"" + field + "\" is a list of host names, not " + h);
            }
            out.add(new HostId(h.asText()));
        }
        return out;
    }

    private static ClusterRecord.Disarm watchdogs(String word) {
        for (ClusterRecord.Disarm d : ClusterRecord.Disarm.values()) {
            if (d.word().equals(word)) {
                return d;
            }
        }
        throw new IllegalArgumentException("\"watchdogs\" is keep or release, got '" + word + "'");
    }

    /** The cluster's policy (no host), a host's own (host and policy), or a host back to the cluster's (host alone). */
    private static AdminCommand shutdownPolicy(JsonNode req) {
        JsonNode h = req.get("host");
        JsonNode p = req.get("policy");
        HostId host = h == null || h.isNull() ? null : host(req);
        ShutdownPolicy policy = p == null || p.isNull() ? null : ShutdownPolicy.of(text(req, "policy"));
        if (host == null && policy == null) {
            throw new IllegalArgumentException("shutdown-policy needs \"policy\" (migrate, freeze or failover), "
                    + "or \"host\" alone to let that host follow the cluster's policy again");
        }
        return new AdminCommand.SetShutdownPolicy(host, policy);
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
        // the reply as the model writes it (ok, code, message, state, from, and whatever reports a newer
        // reply carries), every field it leaves out absent; only the peers are shaped here
        ObjectNode reply = Json.mapper().valueToTree(r);
        reply.remove("peers");
        out.setAll(reply);
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

    /** Stops serving and removes the socket file, if it is still the one this server bound. */
    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) != State.STARTED || server == null) {
            return;
        }
        server.close();
        SocketPath.removeIfSame(path, boundFile);
    }
}
