package io.havn.daemon.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.havn.common.model.ClusterState;
import io.havn.common.model.Json;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.NodeEvent;
import java.io.ByteArrayOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdminSocketServerTest {
    @TempDir
    Path dir;

    private final List<AdminCommand> seen = new CopyOnWriteArrayList<>();
    private AdminSocketServer server;

    /** A stand-in node: answers status with an empty state, everything else with "accepted". */
    private AdminSocketServer start(Duration idle) throws Exception {
        Path sock = dir.resolve("admin.sock");
        AdminSocketServer[] s = new AdminSocketServer[1];
        s[0] = new AdminSocketServer(sock, Set.of("alice"), e -> {
            NodeEvent.AdminRequest r = (NodeEvent.AdminRequest) e;
            seen.add(r.command());
            CompletableFuture.runAsync(() -> s[0].reply(r.requestId(), r.command() instanceof AdminCommand.Status
                    ? AdminReply.state(new ClusterState(3, null, null, null, null)) : AdminReply.ok("accepted")));
        }, Duration.ofSeconds(5), idle);
        s[0].start();
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
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(dir.resolve("admin.sock")));
        return c;
    }

    private static void send(SocketChannel c, String text) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
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
    void vmAddCarriesTheSpecToTheNode() throws Exception {
        start(Duration.ofSeconds(30));
        VmSpec spec = new VmSpec(new VmId("6f1c5c2e-2f6b-4a55-9c39-3d1d2d6f0a01"), "web1", 1, 256, Priority.HIGH,
                true, "<domain type='test'/>");
        JsonNode a = ask("{\"id\": 2, \"command\": \"vm-add\", \"spec\": " + Json.toJson(spec) + "}");
        assertTrue(a.get("ok").asBoolean(), a.toString());
        assertEquals(List.of(new AdminCommand.VmAdd(spec)), seen);
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
            {"{\"id\":1,\"command\":\"vm-add\"}", "\"spec\" is required"},
            {"{\"id\":1,\"command\":\"vm-add\",\"spec\":{\"id\":\"v1\",\"name\":\"v\",\"cpus\":0,"
                    + "\"memoryMiB\":128,\"priority\":\"high\",\"ha\":true}}", "cpus must be >= 1"},
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
    void aSilentClientBlocksNobodyAndIsClosedWhenIdle() throws Exception {
        start(Duration.ofMillis(300));
        try (SocketChannel silent = connect()) {
            assertTrue(ask("{\"id\":1,\"command\":\"status\"}").get("ok").asBoolean(), "another client is served");
            assertEquals("", readLine(silent), "the silent one is closed after its idle time, with no answer");
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
    void onlyRootAndConfiguredUsersMayTalkAndTheSocketIs0660() throws Exception {
        AdminSocketServer s = start(Duration.ofSeconds(30));
        assertTrue(s.allowed("root"));
        assertTrue(s.allowed("alice"));
        assertFalse(s.allowed("mallory"));
        assertEquals("rw-rw----", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("admin.sock"))));
    }
}
