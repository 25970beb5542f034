package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Decision;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.loop.EventLoop;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import io.havn.daemon.coord.TlsEnsemble;
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One real havnd: a real ZooKeeper ensemble reached over TLS with a member's certificate, Netty on
 * loopback, libvirt's test driver. It registers, wins the election, and when an operator adds a VM
 * it places, claims and starts it in libvirt; the records it wrote are the members' alone.
 */
class HavndIntegrationTest {
    private static final String DOMAIN = """
            <domain type='test'>
              <name>web1</name>
              <uuid>6f1c5c2e-2f6b-4a55-9c39-3d1d2d6f0a01</uuid>
              <memory unit='MiB'>256</memory>
              <vcpu>1</vcpu>
              <os><type>hvm</type></os>
            </domain>
            """;

    @Test
    void aDaemonJoinsLeadsAndStartsAnAddedVmInLibvirt(@TempDir Path dir) throws Exception {
        try (TlsEnsemble zk = TlsEnsemble.start(3, 1_000)) {
            HavnConfig cfg = DaemonFixture.secureConfig("it", "node1", zk.connectString(), 10_000, dir,
                    DaemonFixture.clusterKey(dir), "");
            BlockingQueue<Decision> decisions = new LinkedBlockingQueue<>();
            BlockingQueue<AdminReply> replies = new LinkedBlockingQueue<>();
            try (Havnd havnd = new Havnd()) {
                EventLoop loop = havnd.start(cfg, decisions::add, (id, r) -> replies.add(r));
                // in either order: the daemon may reconcile before it has claimed the epoch
                DaemonFixture.awaitAll(decisions, java.util.Set.of(Decision.Kind.LEADER_ELECTED, Decision.Kind.READY),
                        "the only daemon leads, reconciled and takes work");
                VmSpec spec = new VmSpec(new VmId("6f1c5c2e-2f6b-4a55-9c39-3d1d2d6f0a01"), "web1", 1, 256,
                        Priority.HIGH, true, DOMAIN);
                loop.post(new NodeEvent.AdminRequest(1, new AdminCommand.VmAdd(spec)));
                AdminReply reply = replies.poll(30, TimeUnit.SECONDS);
                assertNotNull(reply, "an answer to vm add");
                assertTrue(reply.ok(), reply.toString());
                Decision placed = DaemonFixture.await(decisions, Decision.Kind.PLACE, "the leader places the new VM");
                assertTrue(placed.subject().value().equals("node1"), placed.toString());
                DaemonFixture.await(decisions, Decision.Kind.CLAIM, "the host claims it");
                Decision started = DaemonFixture.await(decisions, Decision.Kind.START, "libvirt started it");
                assertTrue(started.vm().equals(spec.id()), started.toString());
                assertTrue(Files.readString(DaemonFixture.watchdogState(dir, "node1")).contains("armed"),
                        "the watchdog guards the running HA VM");
                String record = "/vms/" + spec.id().value();
                try (CuratorFramework member = zk.client(TlsEnsemble.member(), "havn/it");
                     CuratorFramework stranger = zk.client(TlsEnsemble.stranger(), "havn/it")) {
                    assertTrue(member.getData().forPath(record).length > 0, "the VM record is written");
                    assertEquals(List.of(new ACL(ZooDefs.Perms.ALL, new Id("x509", TlsEnsemble.MEMBER))),
                            member.getACL().forPath(record));
                    assertThrows(KeeperException.NoAuthException.class, () -> stranger.getData().forPath(record));
                    // a clean stop (SIGTERM) records a planned restart bound to the session, then keeps
                    // the watchdog armed for the restart window, so the VM runs on while no daemon does
                    long before = System.nanoTime();
                    havnd.close();
                    long after = System.nanoTime();
                    String host = new String(member.getData().forPath("/hosts/node1"), StandardCharsets.UTF_8);
                    assertTrue(host.contains("\"windowMs\":60000"), "the planned restart is recorded: " + host);
                    String[] state = Files.readString(DaemonFixture.watchdogState(dir, "node1")).trim().split(" ");
                    assertEquals("armed", state[3], String.join(" ", state));
                    long deadline = Long.parseLong(state[4]);
                    long window = TimeUnit.SECONDS.toNanos(60);
                    assertTrue(deadline >= before + window && deadline <= after + window,
                            "armed for the window from the stop, not the lease: "
                            + TimeUnit.NANOSECONDS.toMillis(deadline - before) + " ms after the stop began");
                    assertTrue(decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.RESTART_ANNOUNCED),
                            "and says so: " + decisions);
                }
            }
        }
    }
}
