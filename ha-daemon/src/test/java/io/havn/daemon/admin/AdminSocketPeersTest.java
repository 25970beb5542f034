package io.havn.daemon.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.havn.common.model.Json;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Caller;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.Role;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real peer that is not root: a client run as {@code nobody} (primary group {@code nogroup}, no
 * other group) reaches the socket through its group alone, in a directory of mode 0751, and gets
 * the role its group has. Needs root and setpriv, to run the client as another user.
 */
class AdminSocketPeersTest {
    private static final String CLIENT = """
            import java.net.StandardProtocolFamily;
            import java.net.UnixDomainSocketAddress;
            import java.nio.ByteBuffer;
            import java.nio.channels.SocketChannel;
            import java.nio.charset.StandardCharsets;

            public class Ask {
                public static void main(String[] a) throws Exception {
                    try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                        c.connect(UnixDomainSocketAddress.of(a[0]));
                        try {
                            c.write(ByteBuffer.wrap((a[1] + "\\n").getBytes(StandardCharsets.UTF_8)));
                        } catch (java.io.IOException e) {
                            // a refused peer is answered at once and closed: its answer is still there to read
                        }
                        ByteBuffer b = ByteBuffer.allocate(65536);
                        StringBuilder s = new StringBuilder();
                        while (s.indexOf("\\n") < 0 && c.read(b) >= 0) {
                            b.flip();
                            s.append(StandardCharsets.UTF_8.decode(b));
                            b.clear();
                        }
                        System.out.print(s);
                    }
                }
            }
            """;

    @TempDir
    Path dir;
    private final List<Caller> callers = new CopyOnWriteArrayList<>();

    @BeforeEach
    void onlyAsRootWithSetpriv() {
        assumeTrue("root".equals(System.getProperty("user.name")), "runs a client as another user: needs root");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv");
        assumeTrue(new NssAccounts().uid("nobody") == 65534, "needs the user nobody (65534)");
    }

    /** A stand-in node that refuses, as the node does, what the caller's role does not cover. */
    private AdminSocketServer server(Access access) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-x--x"));
        AdminSocketServer[] s = new AdminSocketServer[1];
        s[0] = new AdminSocketServer(dir.resolve("admin.sock"), "nogroup", access, e -> {
            NodeEvent.AdminRequest r = (NodeEvent.AdminRequest) e;
            callers.add(r.caller());
            AdminReply answer = r.caller().role().covers(r.command().role()) ? AdminReply.ok("done")
                    : AdminReply.error("denied", "denied: " + r.command().name() + " needs role "
                            + r.command().role() + "; " + r.caller().user() + " has " + r.caller().role());
            CompletableFuture.runAsync(() -> s[0].reply(r.requestId(), answer));
        }, Duration.ofSeconds(10), Duration.ofSeconds(30));
        s[0].start();
        return s[0];
    }

    /** Sends {@code request} as nobody:nogroup with no supplementary group; the answer. */
    private JsonNode askAsNobody(String request) throws Exception {
        Path client = dir.resolve("Ask.java");
        Files.writeString(client, CLIENT);
        Files.setPosixFilePermissions(client, PosixFilePermissions.fromString("rw-r--r--"));
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                java, client.toString(), dir.resolve("admin.sock").toString(), request)
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the client finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        return Json.mapper().readTree(out);
    }

    @Test
    void aMemberOfTheSocketGroupReachesItWithItsGroupsRoleAndIsDeniedWhatItDoesNotCover() throws Exception {
        try (AdminSocketServer s = server(new Access(Map.of(), Map.of("nogroup", Role.READ_ONLY)))) {
            JsonNode a = askAsNobody("{\"id\":1,\"command\":\"vm-stop\",\"vm\":\"web1\"}");
            assertEquals("denied", a.path("code").asText(), a.toString());
            assertEquals("denied: vm-stop needs role operator; nobody has read-only", a.path("message").asText());
            assertEquals(List.of(new Caller("nobody", 65534, Role.READ_ONLY)), callers);
        }
    }

    @Test
    void aPeerWithNoRoleIsRefusedBeforeAnyRequest() throws Exception {
        try (AdminSocketServer s = server(new Access(Map.of("alice", Role.ADMIN), Map.of()))) {
            JsonNode a = askAsNobody("{\"id\":1,\"command\":\"status\"}");
            assertEquals("forbidden", a.path("code").asText(), a.toString());
            assertTrue(a.path("message").asText().contains("user nobody has no havn role"), a.toString());
            assertEquals(List.of(), callers, "nothing reached the node");
        }
    }
}
