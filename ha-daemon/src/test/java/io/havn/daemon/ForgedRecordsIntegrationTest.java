package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.ChangeRequest;
import io.havn.common.node.Decision;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.loop.EventLoop;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two real daemons and a client of the same ZooKeeper without the cluster key, as on the demo
 * cluster where one forged a request in another host's name: the leader never acts on it.
 */
class ForgedRecordsIntegrationTest {
    private static final long BOUND_S = 30;

    private record Seen(String host, Decision decision) { }

    private final BlockingQueue<Seen> decisions = new LinkedBlockingQueue<>();
    private final BlockingQueue<AdminReply> replies = new LinkedBlockingQueue<>();
    private final List<Seen> seen = new ArrayList<>();

    @Test
    void aRequestForgedInAnotherHostsNameWithItsLiveSessionIsNeverActedOn(@TempDir Path dir) throws Exception {
        List<Havnd> daemons = new ArrayList<>();
        try (TestingServer zk = new TestingServer(true)) {
            Path key = DaemonFixture.clusterKey(dir);
            EventLoop leader = boot(daemons, "node1", zk, dir, key);
            await("node1", Decision.Kind.LEADER_ELECTED, null);
            EventLoop node2 = boot(daemons, "node2", zk, dir, key);
            await("node2", Decision.Kind.READY, null);
            try (CuratorFramework outsider = CuratorFrameworkFactory.builder().connectString(zk.getConnectString())
                    .namespace("havn/forge").sessionTimeoutMs(5_000).connectionTimeoutMs(5_000)
                    .retryPolicy(new RetryNTimes(0, 0)).build()) {
                outsider.start();
                // the outsider reads node2's session from live/ and asks, as node2, for node2's maintenance
                List<String> live = outsider.getChildren().forPath("/live/node2");
                assertEquals(1, live.size(), "node2's presence: " + live);
                long s2 = Long.parseUnsignedLong(live.get(0), 16);
                // sequence 0 is never used by node2 itself, and sorts before its own first request
                String id = "node2." + live.get(0) + ".0";
                ChangeRequest forged = ChangeRequest.pending(id, new HostId("node2"), s2,
                        new AdminCommand.Maintenance(new HostId("node2"), true), false);
                outsider.create().withMode(CreateMode.PERSISTENT).forPath("/requests/" + id, Json.toBytes(forged));

                // an operator's genuine request on node2 after it: the leader reads and decides requests in
                // order, so once this one is carried out, the forged one would have been too
                node2.post(new NodeEvent.AdminRequest(1, new AdminCommand.Maintenance(new HostId("node1"), true)));
                AdminReply r = replies.poll(BOUND_S, TimeUnit.SECONDS);
                assertNotNull(r, "no answer to the genuine request");
                assertTrue(r.ok(), r.toString());
                await("node1", Decision.Kind.MAINTENANCE, "node1");

                List<Seen> all = new ArrayList<>(seen);
                decisions.drainTo(all);
                for (Seen s : all) {
                    assertTrue(!"node2".equals(String.valueOf(s.decision().subject()))
                                    || (s.decision().kind() != Decision.Kind.MAINTENANCE
                                    && s.decision().kind() != Decision.Kind.ADMIN),
                            "acted on the forged request: " + s.decision());
                }
                leader.post(new NodeEvent.AdminRequest(2, new AdminCommand.Status()));
                AdminReply status = replies.poll(BOUND_S, TimeUnit.SECONDS);
                assertNotNull(status, "no status answer");
                assertTrue(status.state() != null && status.message() != null
                        && status.message().startsWith("1 record in the coordination service refused"),
                        "the status answer says so: " + status.message());
                assertNotNull(outsider.checkExists().forPath("/requests/" + id),
                        "the forged request lies there unread: nobody decided or removed it");
                byte[] node2Record = outsider.getData().forPath("/hosts/node2");
                assertTrue(new String(node2Record, java.nio.charset.StandardCharsets.UTF_8).contains("\"admin\":\"active\""),
                        "node2 stays active");
            }
        } finally {
            for (Havnd d : daemons) {
                d.close();
            }
        }
    }

    private EventLoop boot(List<Havnd> daemons, String host, TestingServer zk, Path dir, Path key) throws Exception {
        Havnd h = new Havnd();
        daemons.add(h);
        return h.start(DaemonFixture.config("forge", host, zk.getConnectString(), 4_000, dir, key,
                "metrics: {enabled: false}\nsettings: {leaseMs: 2000, watchdogMs: 1000, suspectAfterMs: 1000, graceMs: 500}\n"),
                d -> decisions.add(new Seen(host, d)), (id, r) -> replies.add(r));
    }

    /**
     * Waits at most BOUND_S for a decision of {@code kind} by {@code host} (about {@code subject}, if
     * not null), keeping every decision seen.
     */
    private void await(String host, Decision.Kind kind, String subject) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(BOUND_S);
        while (System.nanoTime() < deadline) {
            Seen s = decisions.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (s == null) {
                break;
            }
            seen.add(s);
            if (s.host().equals(host) && s.decision().kind() == kind
                    && (subject == null || subject.equals(String.valueOf(s.decision().subject())))) {
                return;
            }
        }
        throw new AssertionError("no " + kind + " from " + host + " within " + BOUND_S + " s: " + seen);
    }
}
