package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.model.Json;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Decision;
import io.havn.daemon.admin.AdminSocketServer;
import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.ctl.Havnctl;
import io.havn.daemon.loop.EventLoop;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code havnctl} against a real daemon: ZooKeeper, Netty, libvirt's test driver and the admin
 * socket. A domain running in the host's libvirt is put under HA with {@code vm add} (its disk on
 * the configured shared storage), the leader accepts it, and {@code status} shows it, as a table
 * and as JSON.
 */
class HavnctlIntegrationTest {
    private static final String UUID = "2b7f3f4e-8c1d-4d7e-9a55-0c6a1f2e3d41";

    private record Run(int exit, String out, String err) { }

    private static Run havnctl(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit = Havnctl.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static final String EVIL = "0e7c1f2a-5b6d-4e8f-9a0b-1c2d3e4f5a6b";

    @Test
    void vmAddThenStatusAgainstARunningDaemon(@TempDir Path dir) throws Exception {
        Path shared = Files.createDirectories(dir.resolve("shared"));
        Path node = dir.resolve("node1-node.xml");
        try (TestingServer zk = new TestingServer(true)) {
            Path key = DaemonFixture.clusterKey(dir);
            Path sock = dir.resolve("admin.sock");
            String extra = "admin: {socket: \"" + sock + "\"}\nmetrics: {enabled: false}\n";
            HavnConfig cfg = DaemonFixture.config("ctl", "node1", zk.getConnectString(), 10_000, dir, key, extra);
            // the host's libvirt runs one guest, its disk on the shared storage
            Files.writeString(node, """
                    <node>
                      <domain type='test'>
                        <name>app1</name>
                        <uuid>%s</uuid>
                        <memory unit='MiB'>512</memory>
                        <vcpu>2</vcpu>
                        <os><type>hvm</type></os>
                        <devices>
                          <disk type='file' device='disk'>
                            <source file='%s/app1.qcow2'/>
                            <target dev='vda' bus='virtio'/>
                          </disk>
                        </devices>
                      </domain>
                    </node>
                    """.formatted(UUID, shared));
            // havnctl reads the shared storage paths from the host's config file
            Path cfgFile = dir.resolve("havn.yaml");
            Files.writeString(cfgFile, """
                    cluster: ctl
                    host: {name: node1, cpus: 8, memoryMiB: 16384, address: "127.0.0.1:7405"}
                    zookeeper: {connect: "%s", allowInsecure: true}
                    libvirt: {uri: "test://%s", sharedStorage: ["%s"]}
                    """.formatted(zk.getConnectString(), node, shared));
            BlockingQueue<Decision> decisions = new LinkedBlockingQueue<>();
            try (Havnd havnd = new Havnd()) {
                EventLoop loop = new EventLoop("havn-node");
                AdminSocketServer admin = new AdminSocketServer(sock, "root",
                        new io.havn.daemon.admin.Access(java.util.Map.of(), java.util.Map.of()), loop.sink(),
                        Duration.ofSeconds(30), Duration.ofSeconds(60));
                havnd.start(cfg, loop, decisions::add, admin::reply);
                try (AdminSocketServer server = admin) {
                    server.start();
                    // in either order: the daemon may reconcile before it has claimed the epoch
                    DaemonFixture.awaitAll(decisions, java.util.Set.of(Decision.Kind.LEADER_ELECTED, Decision.Kind.READY),
                            "the only daemon leads, reconciled and takes work");

                    Run add = havnctl("--socket", sock.toString(), "vm", "add", "app1", "--config", cfgFile.toString(),
                            "--libvirt-uri", "test://" + node);
                    assertEquals(0, add.exit(), add.out() + add.err());
                    assertTrue(add.out().contains("accepted by the leader node1"), add.out());

                    Run status = havnctl("--socket", sock.toString(), "status");
                    assertEquals(0, status.exit(), status.err());
                    assertTrue(status.out().contains("node1"), status.out());
                    assertTrue(status.out().contains("app1"), status.out());
                    assertTrue(status.out().toLowerCase().contains("running"), status.out());

                    Run json = havnctl("--socket", sock.toString(), "--json", "status");
                    assertEquals(0, json.exit(), json.err());
                    JsonNode a = Json.mapper().readTree(json.out());
                    assertEquals("node1", a.get("from").asText());
                    assertEquals("node1", a.get("state").get("leader").asText());
                    JsonNode vm = a.get("state").get("vms").get(UUID);
                    assertEquals("running", vm.get("phase").asText().toLowerCase(), vm.toString());
                    assertEquals("node1", vm.get("owner").asText());
                    assertEquals(2, vm.get("spec").get("cpus").asInt());
                    assertEquals(512, vm.get("spec").get("memoryMiB").asInt());

                    Run again = havnctl("--socket", sock.toString(), "vm", "add", "app1", "--config",
                            cfgFile.toString(), "--libvirt-uri", "test://" + node);
                    assertEquals(1, again.exit(), "the daemon refuses a second add: " + again.out() + again.err());
                    assertTrue(again.err().contains("exists"), again.err());

                    // raw JSON past havnctl: the daemon checks the domain itself and starts nothing
                    String evil = "<domain type='kvm'><name>evil</name><uuid>" + EVIL + "</uuid><memory unit='MiB'>"
                            + "64</memory><devices><disk type='block'><source dev='/dev/sda'/><target dev='vda'/>"
                            + "</disk><disk type='file'><source file='/etc/shadow'/><target dev='vdb'/></disk>"
                            + "</devices></domain>";
                    ObjectNode req = Json.mapper().createObjectNode().put("id", 7).put("command", "vm-add");
                    req.set("spec", Json.mapper().valueToTree(new VmSpec(new VmId(EVIL), "evil", 1, 64,
                            Priority.HIGH, true, evil)));
                    JsonNode refused = DaemonFixture.ask(sock, req.toString());
                    assertEquals("refused-domain", refused.path("code").asText(), refused.toString());
                    assertTrue(refused.get("message").asText().contains("/dev/sda is not on shared storage")
                            && refused.get("message").asText().contains("/etc/shadow"), refused.toString());
                    Run after = havnctl("--socket", sock.toString(), "--json", "status");
                    assertTrue(Json.mapper().readTree(after.out()).get("state").get("vms").get(EVIL) == null,
                            "nothing added: " + after.out());
                }
            }
        }
    }
}
