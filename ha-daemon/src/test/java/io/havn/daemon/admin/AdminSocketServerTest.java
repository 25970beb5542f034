package io.havn.daemon.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.model.ClusterState;
import io.havn.common.model.Json;
import io.havn.common.model.GuestMonitor;
import io.havn.common.model.Priority;
import io.havn.common.model.StorageErrorPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Caller;
import io.havn.common.node.Role;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.net.OneRequestServer;
import io.havn.daemon.net.UnixClient;
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
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.ArrayList;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminSocketServerTest {
    @TempDir
    Path dir;

    private final List<AdminCommand> seen = new CopyOnWriteArrayList<>();
    private final List<Caller> callers = new CopyOnWriteArrayList<>();
    private AdminSocketServer server;

    private final BlockingQueue<OneRequestServer.Cut> cuts = new LinkedBlockingQueue<>();
    /** What the stand-in node answers to vm-stop. */
    private volatile String stopMessage = "accepted";

    private AdminSocketServer start(Duration requestTime) throws Exception {
        return start(requestTime, "daemon");
    }

    private AdminSocketServer start(Duration requestTime, String group) throws Exception {
        AdminSocketServer s = build(new OneRequestServer.Limits(requestTime, AdminSocketServer.LIMITS.writeTime(),
                AdminSocketServer.MAX_LINE_BYTES, 16, 4), group);
        s.start();
        return s;
    }

    /** A stand-in node: answers status with an empty state, vm-stop with {@link #stopMessage}, the rest "accepted". */
    private AdminSocketServer build(OneRequestServer.Limits limits) {
        return build(limits, "daemon");
    }

    private AdminSocketServer build(OneRequestServer.Limits limits, String group) {
        Path sock = dir.resolve("admin.sock");
        AdminSocketServer[] s = new AdminSocketServer[1];
        s[0] = new AdminSocketServer(sock, group, new Access(Map.of("alice", Role.OPERATOR), Map.of()), e -> {
            NodeEvent.AdminRequest r = (NodeEvent.AdminRequest) e;
            seen.add(r.command());
            callers.add(r.caller());
            if (!r.caller().role().covers(r.command().role())) { // as the node answers
                CompletableFuture.runAsync(() -> s[0].reply(r.requestId(), AdminReply.error("denied", "denied: "
                        + r.command().name() + " needs role " + r.command().role() + "; " + r.caller().user()
                        + " has " + r.caller().role())));
                return;
            }
            CompletableFuture.runAsync(() -> s[0].reply(r.requestId(), r.command() instanceof AdminCommand.Status
                    ? AdminReply.state(new ClusterState(3, null, null, null, null), new io.havn.common.model.HostId("node1"),
                            java.util.List.of(new io.havn.common.node.PeerStat(new io.havn.common.model.HostId("node2"),
                                    "HEALTHY", false, 0.41, 1.25, 120),
                                    new io.havn.common.node.PeerStat(new io.havn.common.model.HostId("node3"),
                                    "UNKNOWN", true, 15.0, Double.NaN, -1)))
                    : AdminReply.ok(r.command() instanceof AdminCommand.VmStop ? stopMessage : "accepted")));
        }, Duration.ofSeconds(5), limits);
        s[0].onCut(cuts::add);
        server = s[0];
        return s[0];
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
    }

    private SocketChannel connect() throws Exception {
        return UnixClient.connect(dir.resolve("admin.sock"));
    }

    private static void send(SocketChannel c, String text) throws Exception {
        UnixClient.send(c, text);
    }

    /** Reads one answer line (or what came before the connection closed), waiting at most 10 s. */
    private static String readLine(SocketChannel c) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer one = ByteBuffer.allocate(1);
            try {
                while (c.read(one) > 0) {
                    one.flip();
                    byte b = one.get();
                    one.clear();
                    if (b == '\n') {
                        break;
                    }
                    out.write(b);
                }
            } catch (Exception e) {
                // closed: return what came
            }
            return out.toString(StandardCharsets.UTF_8);
        }).get(10, TimeUnit.SECONDS);
    }

    private JsonNode ask(String request) throws Exception {
        try (SocketChannel c = connect()) {
            send(c, request + "\n");
            return Json.mapper().readTree(readLine(c));
        }
    }

    @Test
    void statusIsAnsweredWithTheClusterStateAndTheRequestId() throws Exception {
        start(Duration.ofSeconds(30));
        JsonNode a = ask("{\"id\": 7, \"command\": \"status\"}");
        assertEquals(7, a.get("id").asInt());
        assertTrue(a.get("ok").asBoolean(), a.toString());
        assertEquals(3, a.get("state").get("epoch").asInt());
        assertEquals("node1", a.get("from").asText());
        JsonNode n2 = a.get("peers").get("node2");
        assertEquals("HEALTHY", n2.get("health").asText());
        assertEquals(1.25, n2.get("rttMs").asDouble());
        assertEquals(120, n2.get("sinceLastMs").asLong());
        JsonNode n3 = a.get("peers").get("node3");
        assertTrue(n3.get("suspected").asBoolean());
        assertFalse(n3.has("rttMs"), "no round trip measured yet: the field is left out, not NaN: " + n3);
    }

    @Test
    void aRequestBecomesTheNodesCommandAndItsAnswerComesBack() throws Exception {
        start(Duration.ofSeconds(30));
        JsonNode a = ask("{\"id\": \"m1\", \"command\": \"maintenance\", \"host\": \"node2\", \"on\": true}");
        assertEquals("m1", a.get("id").asText());
        assertTrue(a.get("ok").asBoolean(), a.toString());
        assertEquals(List.of(new AdminCommand.Maintenance(new io.havn.common.model.HostId("node2"), true)), seen);
    }

    @Test
    void badInputGetsAClearErrorAndReachesNothing() throws Exception {
        start(Duration.ofSeconds(30));
        String[][] cases = {
            {"not json", "not JSON"},
            {"[1,2]", "a JSON object"},
            {"{\"id\":1,\"command\":\"reboot-everything\"}", "unknown command 'reboot-everything'"},
            {"{\"id\":1,\"command\":\"migrate\",\"host\":\"node2\"}", "\"vm\" is required"},
            {"{\"id\":1,\"command\":\"maintenance\",\"host\":\"node2\"}", "\"on\": true or false"},
            {"{\"id\":1,\"command\":\"fence-confirm\",\"host\":\"bad host!\"}", "invalid host name"},
            {"{\"id\":1,\"command\":\"disarm\"}", "\"watchdogs\" is required"},
            {"{\"id\":1,\"command\":\"disarm\",\"watchdogs\":\"keep-watchdogs\"}", "keep or release"},
            {"{\"id\":1,\"command\":\"shutdown-policy\"}", "needs \"policy\""},
            {"{\"id\":1,\"command\":\"shutdown-policy\",\"policy\":\"hibernate\"}", "unknown shutdown policy"},
            {"{\"id\":1,\"command\":\"shutdown-policy\",\"policy\":\"freeze\",\"host\":\"bad host!\"}",
                "invalid host name"},
        };
        for (String[] c : cases) {
            JsonNode a = ask(c[0]);
            assertFalse(a.get("ok").asBoolean(), c[0] + " -> " + a);
            assertEquals("bad-request", a.get("code").asText(), c[0] + " -> " + a);
            assertTrue(a.get("message").asText().contains(c[1]), c[0] + " -> " + a);
        }
        assertEquals(List.of(), seen, "nothing reached the node");
    }

    @Test
    void disarmArmAndShutdownPolicyBecomeTheNodesCommands() throws Exception {
        start(Duration.ofSeconds(30));
        for (String req : List.of("{\"id\":1,\"command\":\"disarm\",\"watchdogs\":\"keep\"}",
                "{\"id\":2,\"command\":\"disarm\",\"watchdogs\":\"release\"}", "{\"id\":3,\"command\":\"arm\"}",
                "{\"id\":4,\"command\":\"shutdown-policy\",\"policy\":\"freeze\"}",
                "{\"id\":5,\"command\":\"shutdown-policy\",\"policy\":\"failover\",\"host\":\"node2\"}",
                "{\"id\":6,\"command\":\"shutdown-policy\",\"host\":\"node2\",\"policy\":null}")) {
            assertTrue(ask(req).get("ok").asBoolean(), req);
        }
        io.havn.common.model.HostId node2 = new io.havn.common.model.HostId("node2");
        assertEquals(List.of(new AdminCommand.Disarm(io.havn.common.model.ClusterRecord.Disarm.KEEP_WATCHDOGS),
                new AdminCommand.Disarm(io.havn.common.model.ClusterRecord.Disarm.RELEASE_WATCHDOGS),
                new AdminCommand.Arm(),
                new AdminCommand.SetShutdownPolicy(null, io.havn.common.model.ShutdownPolicy.FREEZE),
                new AdminCommand.SetShutdownPolicy(node2, io.havn.common.model.ShutdownPolicy.FAILOVER),
                new AdminCommand.SetShutdownPolicy(node2, null)), seen);
    }

    @Test
    void placementRequestsBecomeTheNodesCommands() throws Exception {
        start(Duration.ofSeconds(30));
        for (String req : List.of(
                "{\"id\":1,\"command\":\"rule-add\",\"rule\":{\"kind\":\"apart\",\"id\":\"db\",\"vms\":[\"a\",\"b\"],"
                        + "\"hard\":true}}",
                "{\"id\":2,\"command\":\"rule-add\",\"rule\":{\"kind\":\"after\",\"id\":\"o\",\"vms\":[\"b\"],"
                        + "\"after\":[\"a\"],\"timeoutMs\":60000,\"onTimeout\":\"stay-down\"}}",
                "{\"id\":3,\"command\":\"rule-remove\",\"rule\":\"db\"}",
                "{\"id\":4,\"command\":\"group-set\",\"group\":\"rack-a\",\"hosts\":[\"node1\",\"node2\"]}",
                "{\"id\":5,\"command\":\"group-remove\",\"group\":\"rack-a\"}",
                "{\"id\":6,\"command\":\"admission\",\"tolerate\":1,\"strict\":true,\"reserved\":[\"node3\"]}",
                "{\"id\":7,\"command\":\"admission\",\"tolerate\":0,\"strict\":false}",
                "{\"id\":8,\"command\":\"what-if\",\"hosts\":[\"node1\"]}")) {
            assertTrue(ask(req).get("ok").asBoolean(), req);
        }
        io.havn.common.model.HostId node1 = new io.havn.common.model.HostId("node1");
        io.havn.common.model.HostId node2 = new io.havn.common.model.HostId("node2");
        VmId a = new VmId("a");
        VmId b = new VmId("b");
        assertEquals(List.of(
                new AdminCommand.RuleAdd(new io.havn.common.model.Rule.Apart("db", List.of(a, b), true, null)),
                new AdminCommand.RuleAdd(new io.havn.common.model.Rule.After("o", List.of(b), List.of(a), null, 60_000,
                        io.havn.common.model.Rule.OnTimeout.STAY_DOWN)),
                new AdminCommand.RuleRemove("db"), new AdminCommand.GroupSet("rack-a", List.of(node1, node2)),
                new AdminCommand.GroupRemove("rack-a"),
                new AdminCommand.SetAdmission(1, true, List.of(new io.havn.common.model.HostId("node3"))),
                new AdminCommand.SetAdmission(0, false, List.of()), new AdminCommand.WhatIf(List.of(node1))), seen);
    }

    @Test
    void placementChangesAreAuditedUnderTheirCommandsNameAndWhatIfIsNot() throws Exception {
        ch.qos.logback.classic.Logger audit = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                AdminAudit.LOGGER);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
                new ch.qos.logback.core.read.ListAppender<>();
        lines.start();
        audit.addAppender(lines);
        try {
            AdminSocketServer s = start(Duration.ofSeconds(30));
            Caller alice = new Caller("alice", 1001, Role.OPERATOR);
            s.handle("{\"id\":1,\"command\":\"what-if\",\"hosts\":[\"node1\"]}", alice);
            s.handle("{\"id\":2,\"command\":\"group-set\",\"group\":\"rack-a\",\"hosts\":[\"node1\"]}", alice);
            s.handle("{\"id\":3,\"command\":\"group-remove\",\"group\":\"rack-a\"}", alice);
            s.handle("{\"id\":4,\"command\":\"rule-remove\",\"rule\":\"db\"}", alice);
            List<String> logged = new java.util.ArrayList<>();
            for (ch.qos.logback.classic.spi.ILoggingEvent e : lines.list) {
                JsonNode l = Json.mapper().readTree(e.getFormattedMessage());
                logged.add(l.get("command").asText() + " " + l.get("args"));
            }
            assertEquals(List.of("group-set {\"group\":\"rack-a\",\"hosts\":[\"node1\"]}",
                    "group-remove {\"group\":\"rack-a\"}", "rule-remove {\"id\":\"db\"}"), logged,
                    "what-if looks and changes nothing");
        } finally {
            audit.detachAppender(lines);
        }
    }

    @Test
    void aBadPlacementRequestGetsAClearErrorAndReachesNothing() throws Exception {
        start(Duration.ofSeconds(30));
        String[][] cases = {
            {"{\"id\":1,\"command\":\"rule-add\"}", "rule-add needs \"rule\""},
            {"{\"id\":1,\"command\":\"rule-add\",\"rule\":{\"kind\":\"near\",\"id\":\"x\",\"vms\":[\"a\"]}}",
                "rule: Could not resolve type id 'near'"},
            {"{\"id\":1,\"command\":\"rule-add\",\"rule\":{\"kind\":\"apart\",\"id\":\"x\",\"vms\":[\"a\"],"
                + "\"hard\":true}}", "rule: rule x: needs at least 2 VMs"},
            {"{\"id\":1,\"command\":\"rule-add\",\"rule\":{\"kind\":\"apart\",\"id\":\"x\",\"vms\":[\"a\",\"b\"],"
                + "\"hard\":false,\"weight\":0}}", "weight must be between 1 and 1000"},
            {"{\"id\":1,\"command\":\"rule-add\",\"rule\":{\"kind\":\"delay\",\"id\":\"x\",\"vms\":[\"a\"],"
                + "\"delayMs\":1,\"speed\":2}}", "rule: Unrecognized field \"speed\""},
            {"{\"id\":1,\"command\":\"rule-remove\"}", "\"rule\" is required"},
            {"{\"id\":1,\"command\":\"group-set\",\"group\":\"g\"}", "\"hosts\" is required"},
            {"{\"id\":1,\"command\":\"group-set\",\"group\":\"g\",\"hosts\":\"node1\"}", "a list of host names"},
            {"{\"id\":1,\"command\":\"group-set\",\"group\":\"g\",\"hosts\":[\"bad host!\"]}", "invalid host name"},
            {"{\"id\":1,\"command\":\"group-remove\"}", "\"group\" is required"},
            {"{\"id\":1,\"command\":\"admission\",\"strict\":true}", "\"tolerate\": a whole number"},
            {"{\"id\":1,\"command\":\"admission\",\"tolerate\":1}", "\"strict\": true or false"},
            {"{\"id\":1,\"command\":\"what-if\",\"hosts\":[]}", "what-if needs at least one host"},
        };
        for (String[] c : cases) {
            JsonNode a = ask(c[0]);
            assertFalse(a.get("ok").asBoolean(), c[0] + " -> " + a);
            assertEquals("bad-request", a.get("code").asText(), c[0] + " -> " + a);
            assertTrue(a.get("message").asText().contains(c[1]), c[0] + " -> " + a);
        }
        assertEquals(List.of(), seen, "nothing reached the node");
    }

    private static final String UUID = "6f1c5c2e-2f6b-4a55-9c39-3d1d2d6f0a01";
    private static final String DOMAIN = "<domain type='kvm'><name>web1</name><uuid>" + UUID + "</uuid>"
            + "<memory unit='KiB'>2097152</memory><vcpu>2</vcpu><os><type>hvm</type></os></domain>";

    private static ObjectNode specJson() {
        return Json.mapper().valueToTree(new VmSpec(new VmId(UUID), "web1", 2, 2048, Priority.HIGH, true, DOMAIN));
    }

    private static String vmAdd(JsonNode spec) {
        ObjectNode req = Json.mapper().createObjectNode().put("id", 9).put("command", "vm-add");
        return req.set("spec", spec).toString();
    }

    @Test
    void vmAddCarriesTheSpecToTheNode() throws Exception {
        start(Duration.ofSeconds(30));
        JsonNode a = ask(vmAdd(specJson()));
        assertTrue(a.get("ok").asBoolean(), a.toString());
        assertEquals(List.of(new AdminCommand.VmAdd(new VmSpec(new VmId(UUID), "web1", 2, 2048, Priority.HIGH, true,
                DOMAIN))), seen);
        ObjectNode minimal = specJson();
        minimal.remove("priority");
        minimal.remove("ha");
        ask(vmAdd(minimal));
        assertEquals(new VmSpec(new VmId(UUID), "web1", 2, 2048, Priority.MEDIUM, true, DOMAIN),
                ((AdminCommand.VmAdd) seen.get(1)).spec(), "priority medium and HA on unless said otherwise");
    }

    @Test
    void vmAddCarriesTheDatastoresTheStorageErrorPolicyAndTheGuestMonitor() throws Exception {
        start(Duration.ofSeconds(30));
        VmSpec full = new VmSpec(new VmId(UUID), "web1", 2, 2048, Priority.HIGH, true, DOMAIN).withStorage(
                List.of("vmstore", "lun2"), StorageErrorPolicy.RESTART_ELSEWHERE,
                new GuestMonitor(5_000, 4, 60_000, 2, 1_800_000));
        ObjectNode json = Json.mapper().valueToTree(full);
        assertEquals("restart-elsewhere", json.get("onStorageError").asText(), "the word operators use: " + json);
        JsonNode a = ask(vmAdd(json));
        assertTrue(a.get("ok").asBoolean(), a.toString());
        assertEquals(List.of(new AdminCommand.VmAdd(full)), seen);
        ObjectNode defaults = specJson();
        defaults.putArray("datastores");
        defaults.putNull("onStorageError");
        ask(vmAdd(defaults));
        VmSpec plain = ((AdminCommand.VmAdd) seen.get(1)).spec();
        assertEquals(List.of(), plain.datastores());
        assertEquals(StorageErrorPolicy.RESUME, plain.storageErrorPolicy(), "resume unless said otherwise");
        assertEquals(null, plain.guestMonitor(), "not monitored unless said");
    }

    @Test
    void badStorageAndGuestMonitorFieldsAreRefusedNamingTheField() throws Exception {
        start(Duration.ofSeconds(30));
        ObjectNode monitor = Json.mapper().valueToTree(GuestMonitor.defaults());
        Object[][] cases = {
            {specJson().put("datastores", "vmstore"), "spec.datastores: must be a list of datastore names"},
            {withArray("datastores", "vmstore", "bad name"), "spec.datastores[1]: 'bad name' is not a datastore name"},
            {withArray("datastores", "vmstore", "vmstore"), "spec.datastores[1]: 'vmstore' is named twice"},
            {withArray("datastores", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p",
                    "q"), "spec.datastores: at most 16 datastores, got 17"},
            {specJson().put("onStorageError", "reboot"), "spec.onStorageError: unknown storage error policy 'reboot': "
                    + "expected resume, leave-paused or restart-elsewhere"},
            {specJson().put("onStorageError", 1), "spec.onStorageError: must be resume, leave-paused or restart-elsewhere"},
            {specJson().put("guestMonitor", "on"), "spec.guestMonitor: must be an object with graceMs, intervalMs, "
                    + "maxResets, misses, windowMs"},
            {withMonitor(monitor.deepCopy().put("intervalMs", 999)),
                "spec.guestMonitor.intervalMs: must be 1000-3600000, got 999"},
            {withMonitor(monitor.deepCopy().put("misses", 0)), "spec.guestMonitor.misses: must be 1-100, got 0"},
            {withMonitor(monitor.deepCopy().put("graceMs", -1)), "spec.guestMonitor.graceMs: must be 0-3600000, got -1"},
            {withMonitor(monitor.deepCopy().put("maxResets", 101)), "spec.guestMonitor.maxResets: must be 0-100, got 101"},
            {withMonitor(monitor.deepCopy().put("windowMs", 5_000)),
                "spec.guestMonitor.windowMs: must be at least intervalMs (10000)"},
            {withMonitor(monitor.deepCopy().put("misses", 2.5)), "spec.guestMonitor.misses: required, a whole number"},
            {withMonitor(monitor.deepCopy().put("intervalMs", 1L << 40)),
                "spec.guestMonitor.intervalMs: required, a whole number"},
            {withMonitor(removed(monitor, "windowMs")), "spec.guestMonitor.windowMs: required"},
            {withMonitor(monitor.deepCopy().put("reboot", true)), "spec.guestMonitor.reboot: unknown field"},
        };
        for (Object[] c : cases) {
            ObjectNode req = Json.mapper().createObjectNode().put("id", 1).put("command", "vm-add");
            req.set("spec", (JsonNode) c[0]);
            JsonNode a = ask(req.toString());
            assertFalse(a.get("ok").asBoolean(), req + " -> " + a);
            assertEquals("bad-request", a.get("code").asText(), req + " -> " + a);
            assertTrue(a.get("message").asText().contains((String) c[1]), req + " -> " + a);
        }
        assertEquals(List.of(), seen, "nothing reached the node");
    }

    private static ObjectNode withArray(String field, String... values) {
        ObjectNode s = specJson();
        com.fasterxml.jackson.databind.node.ArrayNode a = s.putArray(field);
        for (String v : values) {
            a.add(v);
        }
        return s;
    }

    private static ObjectNode withMonitor(ObjectNode monitor) {
        ObjectNode s = specJson();
        s.set("guestMonitor", monitor);
        return s;
    }

    private static ObjectNode removed(ObjectNode n, String field) {
        ObjectNode copy = n.deepCopy();
        copy.remove(field);
        return copy;
    }

    @Test
    void aBadVmAddSpecIsRefusedNamingItsField() throws Exception {
        start(Duration.ofSeconds(30));
        Object[][] cases = {
            {null, "vm-add needs \"spec\""},
            {Json.mapper().getNodeFactory().textNode("web1"), "vm-add needs \"spec\""},
            {specJson().put("colour", "blue"), "spec.colour: unknown field"},
            {specJson().put("id", "not a uuid!"), "spec.id: invalid VM id"},
            {specJson().put("name", " "), "spec.name: required"},
            {specJson().put("cpus", 0), "spec.cpus: required, a whole number from 1"},
            {specJson().put("cpus", "2"), "spec.cpus"},
            {specJson().put("memoryMiB", 1.5), "spec.memoryMiB"},
            {specJson().put("priority", "urgent"), "spec.priority: invalid priority 'urgent'"},
            {specJson().put("ha", "yes"), "spec.ha: must be true or false"},
            {specJson().put("domainXml", "<domain><name>web1"), "spec.domainXml: not well-formed XML"},
            {specJson().put("domainXml", DOMAIN.replace("<memory unit='KiB'>2097152</memory>", "")),
                "spec.domainXml: no <memory> element"},
            {specJson().put("domainXml", DOMAIN.replace(UUID, "11111111-2222-3333-4444-555555555555")),
                "spec.domainXml: defines UUID 11111111-2222-3333-4444-555555555555, but spec.id is " + UUID},
            {specJson().put("domainXml", DOMAIN.replace("web1", "web2")),
                "spec.domainXml: names the domain 'web2', but spec.name is 'web1'"},
            {specJson().put("name", "web1\nvm2 running node3"), "spec.name: invalid VM name 'web1\\u000avm2"},
            {specJson().put("domainXml", "<!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/shadow'>]>"
                    + DOMAIN.replace("web1", "&x;")), "DOCTYPE"},
        };
        for (Object[] c : cases) {
            ObjectNode req = Json.mapper().createObjectNode().put("id", 1).put("command", "vm-add");
            if (c[0] != null) {
                req.set("spec", (JsonNode) c[0]);
            }
            JsonNode a = ask(req.toString());
            assertFalse(a.get("ok").asBoolean(), req + " -> " + a);
            assertEquals("bad-request", a.get("code").asText(), req + " -> " + a);
            assertTrue(a.get("message").asText().contains((String) c[1]), req + " -> " + a);
        }
        assertEquals(List.of(), seen, "nothing reached the node");
    }

    @Test
    void aSilentClientBlocksNobodyAndIsClosedAfterItsRequestTime() throws Exception {
        start(Duration.ofMillis(300));
        try (SocketChannel silent = connect()) {
            assertTrue(ask("{\"id\":1,\"command\":\"status\"}").get("ok").asBoolean(), "another client is served");
            assertEquals("", readLine(silent), "the silent one is closed after its request time, with no answer");
        }
    }

    @Test
    void tenMegabytesWithoutANewlineAreRefusedAndTheConnectionClosed() throws Exception {
        start(Duration.ofSeconds(30));
        try (SocketChannel flood = connect()) {
            byte[] chunk = new byte[1 << 16];
            java.util.Arrays.fill(chunk, (byte) 'x');
            CompletableFuture<String> answer = CompletableFuture.supplyAsync(() -> {
                try {
                    return readLine(flood);
                } catch (Exception e) {
                    return "";
                }
            });
            try {
                for (int i = 0; i < 160; i++) { // 10 MiB
                    send(flood, new String(chunk, StandardCharsets.US_ASCII));
                }
            } catch (java.io.IOException closedOnUs) {
                // the server gave up on the flood, as it should
            }
            JsonNode a = Json.mapper().readTree(answer.get(10, TimeUnit.SECONDS));
            assertEquals("request-too-large", a.get("code").asText(), a.toString());
        }
        assertTrue(ask("{\"id\":2,\"command\":\"status\"}").get("ok").asBoolean(), "others are still served");
        assertEquals(List.of(new AdminCommand.Status()), seen);
    }

    @Test
    void theSocketIsBoundWithTheConfiguredGroupAndMode0660SoItsMembersNeedNoLooserModes() throws Exception {
        start(Duration.ofSeconds(30), "daemon");
        Path sock = dir.resolve("admin.sock");
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
        assertEquals("daemon", Files.readAttributes(sock, PosixFileAttributes.class).group().getName());
    }

    @Test
    void aSocketGroupTheHostDoesNotKnowLeavesTheSocketToItsOwnerAndTheDaemonRuns() throws Exception {
        start(Duration.ofSeconds(30), "no-such-group-here");
        Path sock = dir.resolve("admin.sock");
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(sock)));
        assertEquals(Files.readAttributes(dir, PosixFileAttributes.class).group(),
                Files.readAttributes(sock, PosixFileAttributes.class).group(), "the directory's group, as bound");
        assertTrue(ask("{\"id\":1,\"command\":\"status\"}").get("ok").asBoolean(), "still served");
    }

    @Test
    void theNodeIsToldWhoAskedWithTheirRole() throws Exception {
        start(Duration.ofSeconds(30));
        ask("{\"id\":1,\"command\":\"vm-stop\",\"vm\":\"web1\"}");
        assertEquals(List.of(new Caller("root", 0, Role.ADMIN)), callers, "this test runs as root");
    }

    @Test
    void everyChangeAndDenialIsAuditedWithWhoAskedWhatAndTheResultButNoDomainXml() throws Exception {
        ch.qos.logback.classic.Logger audit = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(
                AdminAudit.LOGGER);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
                new ch.qos.logback.core.read.ListAppender<>();
        lines.start();
        audit.addAppender(lines);
        try {
            AdminSocketServer s = start(Duration.ofSeconds(30));
            Caller alice = new Caller("alice", 1001, Role.OPERATOR);
            s.handle("{\"id\":1,\"command\":\"status\"}", alice);
            s.handle("{\"id\":2,\"command\":\"migrate\",\"vm\":\"web1\",\"host\":\"node2\"}", alice);
            s.handle(vmAdd(specJson()), alice);
            s.handle("{\"id\":4,\"command\":\"migrate\",\"vm\":\"a\\nb\"}", alice);
            s.handle("{\"id\":5,\"command\":\"fence-confirm\",\"host\":\"node3\"}", alice);
            List<JsonNode> logged = new java.util.ArrayList<>();
            for (ch.qos.logback.classic.spi.ILoggingEvent e : lines.list) {
                logged.add(Json.mapper().readTree(e.getFormattedMessage()));
            }
            assertEquals(4, logged.size(), "status is not audited; the change, the add, the bad request and the "
                    + "denied one are: " + logged);
            JsonNode migrate = logged.get(0);
            assertEquals(1001, migrate.get("uid").asLong());
            assertEquals("alice", migrate.get("user").asText());
            assertEquals("operator", migrate.get("role").asText());
            assertEquals("migrate", migrate.get("command").asText());
            assertEquals("{\"vm\":\"web1\",\"host\":\"node2\"}", migrate.get("args").toString());
            assertEquals("ok", migrate.get("result").asText());
            String xml = logged.get(1).get("args").get("spec").get("domainXml").asText();
            assertTrue(xml.startsWith("sha256:") && !xml.contains("<domain"), "the XML's digest, not its text: " + xml);
            assertEquals("bad-request", logged.get(2).get("result").asText());
            assertEquals("denied", logged.get(3).get("result").asText());
            assertEquals("denied: fence-confirm needs role admin; alice has operator",
                    logged.get(3).get("message").asText());
            assertTrue(lines.list.stream().noneMatch(e -> e.getFormattedMessage().contains("\n")), "one line each");
        } finally {
            audit.detachAppender(lines);
        }
    }

    @Test
    void moreSlowSendersThanSlotsDoNotStopRootsRequest() throws Exception {
        start(Duration.ofSeconds(30));
        ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
        List<SocketChannel> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 30; i++) {
                slow.add(connect());
            }
            // two thirds send a byte every 100 ms, never a whole request; the rest stay silent
            trickle.scheduleAtFixedRate(() -> {
                for (int i = 0; i < 20; i++) {
                    try {
                        send(slow.get(i), "{");
                    } catch (Exception e) {
                        // evicted: a newcomer took its slot
                    }
                }
            }, 0, 100, TimeUnit.MILLISECONDS);
            long asked = System.nanoTime();
            JsonNode a = ask("{\"id\":1,\"command\":\"status\"}");
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - asked);
            assertTrue(a.get("ok").asBoolean(), "root is answered despite 30 slow clients: " + a);
            // the slow ones' budgets are 30 s: an answer well before that did not wait for them
            assertTrue(tookMillis < 20_000, "answered, not after the slow ones' budgets: " + tookMillis + " ms");
            assertEquals(OneRequestServer.Cut.EVICTED, cuts.poll(10, TimeUnit.SECONDS),
                    "the oldest slow sender gave up its slot");
        } finally {
            trickle.shutdownNow();
            for (SocketChannel c : slow) {
                c.close();
            }
        }
    }

    @Test
    void clientsThatNeverReadAreCutOffWithinTheirWriteBudgetAndOthersAreServed() throws Exception {
        Duration writeTime = Duration.ofMillis(300);
        build(new OneRequestServer.Limits(Duration.ofSeconds(5), writeTime, AdminSocketServer.MAX_LINE_BYTES, 16, 4))
                .start();
        stopMessage = "x".repeat(2 << 20); // far more than a socket's buffers
        List<SocketChannel> deaf = new ArrayList<>();
        try {
            long sent = System.nanoTime();
            for (int i = 0; i < 16; i++) {
                SocketChannel c = connect();
                deaf.add(c);
                send(c, "{\"id\":1,\"command\":\"vm-stop\",\"vm\":\"web1\"}\n");
            }
            JsonNode other = ask("{\"id\":2,\"command\":\"status\"}");
            assertTrue(other.get("ok").asBoolean(), "others are served meanwhile: " + other);
            for (int i = 0; i < 16; i++) {
                assertEquals(OneRequestServer.Cut.WRITE_TIME, cuts.poll(10, TimeUnit.SECONDS), "cut " + i);
            }
            long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sent);
            // the cut's reason says it was the write budget; an upper bound on the wall clock would
            // only measure the machine's load
            assertTrue(tookMillis >= writeTime.toMillis(),
                    "none cut off before its budget of " + writeTime.toMillis() + " ms: " + tookMillis + " ms");
            String partial = UnixClient.untilClosed(deaf.get(0));
            assertTrue(partial.length() < (2 << 20), "closed before the whole answer: " + partial.length());
            assertTrue(ask("{\"id\":3,\"command\":\"vm-start\",\"vm\":\"web1\"}").get("ok").asBoolean(),
                    "served after the cut-off too");
        } finally {
            for (SocketChannel c : deaf) {
                c.close();
            }
        }
    }

    @Test
    void aRegularFileAtTheSocketPathIsLeftIntactAndStartIsRefused() throws Exception {
        Path file = dir.resolve("admin.sock");
        Files.writeString(file, "precious");
        AdminSocketServer s = build(AdminSocketServer.LIMITS);
        AdminSocketServer.PathTaken e = assertThrows(AdminSocketServer.PathTaken.class, s::start);
        assertTrue(e.getMessage().contains("admin.socket " + file + " is a regular file, not a socket"),
                e.getMessage());
        assertEquals("precious", Files.readString(file), "the file is untouched");
    }

    @Test
    void aDirectoryAtTheSocketPathIsLeftIntactAndStartIsRefused() throws Exception {
        Path d = Files.createDirectory(dir.resolve("admin.sock"));
        Files.writeString(d.resolve("inside"), "kept");
        AdminSocketServer.PathTaken e = assertThrows(AdminSocketServer.PathTaken.class,
                build(AdminSocketServer.LIMITS)::start);
        assertTrue(e.getMessage().contains("is a directory, not a socket"), e.getMessage());
        assertEquals("kept", Files.readString(d.resolve("inside")));
    }

    @Test
    void aSocketSomeoneListensOnIsNotTakenOver() throws Exception {
        try (ServerSocketChannel live = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            live.bind(UnixDomainSocketAddress.of(dir.resolve("admin.sock")));
            AdminSocketServer.PathTaken e = assertThrows(AdminSocketServer.PathTaken.class,
                    build(AdminSocketServer.LIMITS)::start);
            assertTrue(e.getMessage().contains("another process listens on"), e.getMessage());
            try (SocketChannel c = connect()) {
                assertTrue(c.isConnected(), "the live socket still takes connections");
            }
        }
    }

    @Test
    void aStaleSocketOfOursIsReplaced() throws Exception {
        try (ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            old.bind(UnixDomainSocketAddress.of(dir.resolve("admin.sock")));
        }
        assertTrue(Files.exists(dir.resolve("admin.sock")), "a closed server leaves its socket file: stale");
        build(AdminSocketServer.LIMITS).start();
        assertTrue(ask("{\"id\":1,\"command\":\"status\"}").get("ok").asBoolean());
    }

    @Test
    void aStaleSocketOfAnotherUserIsLeftAlone() throws Exception {
        Path sock = dir.resolve("admin.sock");
        try (ServerSocketChannel old = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            old.bind(UnixDomainSocketAddress.of(sock));
        }
        long me = new com.sun.security.auth.module.UnixSystem().getUid();
        org.junit.jupiter.api.Assumptions.assumeTrue(me == 0, "only root can give a file to another user");
        Files.setAttribute(sock, "unix:uid", 65534);
        AdminSocketServer.PathTaken e = assertThrows(AdminSocketServer.PathTaken.class,
                build(AdminSocketServer.LIMITS)::start);
        assertTrue(e.getMessage().contains("is a socket owned by uid 65534, not by uid 0"), e.getMessage());
        assertEquals(65534, Files.getAttribute(sock, "unix:uid"), "left in place");
    }

    @Test
    void closeRemovesOnlyTheSocketItBound() throws Exception {
        AdminSocketServer s = start(Duration.ofSeconds(30));
        Path sock = dir.resolve("admin.sock");
        Files.delete(sock);
        Files.writeString(sock, "someone else's");
        s.close();
        assertEquals("someone else's", Files.readString(sock), "a file put in its place is left alone");
        Files.delete(sock);
        AdminSocketServer again = build(AdminSocketServer.LIMITS);
        again.start();
        again.close();
        assertFalse(Files.exists(sock), "its own socket is removed on close");
        assertThrows(IOException.class, this::connect);
    }
}
