package io.havn.daemon.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmRecord;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.ClusterChanged;
import io.havn.common.node.NodeEvent.VmChanged;
import io.havn.common.node.NodeEvent.WriteDone;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.daemon.coord.RecordRefusals.Kind;
import io.havn.daemon.coord.RecordSeal.Refusal;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The cluster record ({@code cluster} under the chroot) on the real adapter: mirrored like a host
 * record (in the initial state, as absent or as stored, and each change after), written and checked
 * by version in a multi ({@code PutCluster}, {@code CheckCluster}, NEW meaning absent), sealed like
 * every record the leader writes, and refused, with the defaults kept, when someone without the
 * cluster key writes it. One in-process ZooKeeper server; each test has its own cluster (chroot).
 */
class ClusterRecordZnodeTest {
    private static final long WAIT_MS = 10_000;
    private static final HostId NODE1 = CoordinatorContract.NODE1;
    private static final HostId NODE2 = CoordinatorContract.NODE2;
    private static final HostId NODE3 = CoordinatorContract.NODE3;
    private static final AtomicInteger TESTS = new AtomicInteger();
    private static final ClusterRecord DISARMED = ClusterRecord.DEFAULT.disarm(ClusterRecord.Disarm.KEEP_WATCHDOGS);
    private static TestingServer server;

    private final Arrivals arrivals = new Arrivals();
    private final List<CuratorCoordinator> coordinators = new ArrayList<>();
    private String cluster;
    private CuratorFramework raw;
    private Probe p1;
    private Probe p2;

    @BeforeAll
    static void startServer() throws Exception {
        int[] ports = FreePorts.take(3);
        server = new TestingServer(new InstanceSpec(null, ports[0], ports[1], ports[2], true, -1, 200, -1), true);
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    @BeforeEach
    void twoHosts() {
        cluster = "crec" + TESTS.incrementAndGet();
        p1 = started(NODE1);
        p2 = started(NODE2);
        raw = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .namespace("havn/" + cluster).sessionTimeoutMs(5_000).connectionTimeoutMs(5_000)
                .retryPolicy(new RetryNTimes(0, 0)).build();
        raw.start();
    }

    @AfterEach
    void close() {
        raw.close();
        coordinators.forEach(CuratorCoordinator::close);
    }

    @Test
    void anAbsentRecordIsInTheInitialStateAsNullBeforeTheHostsAndSessionStarted() {
        List<NodeEvent> events = p1.events();
        int c = p1.indexOf(0, ClusterChanged.class, e -> e.record() == null);
        assertTrue(c >= 0, "ClusterChanged(null) in the initial state: " + events);
        assertEquals(1, p1.all(0, ClusterChanged.class).size(), "once: " + events);
        int started = p1.indexOf(0, NodeEvent.SessionStarted.class, e -> true);
        assertTrue(c < started, "before SessionStarted: " + events);
        int firstHost = p1.indexOf(0, NodeEvent.HostChanged.class, e -> true);
        assertTrue(firstHost < 0 || c < firstHost, "before the hosts: " + events);
    }

    @Test
    void theRecordIsCreatedWrittenAtItsVersionAndEachVersionReachesTheOtherHosts() throws Exception {
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.CheckCluster(CoordOp.NEW),
                new CoordOp.PutCluster(DISARMED, CoordOp.NEW)));
        await(p2, 0, ClusterChanged.class, e -> new Versioned<>(DISARMED, 0).equals(e.record()));
        assertEquals(WriteOutcome.CONFLICT, write(p1, new CoordOp.PutCluster(DISARMED, CoordOp.NEW)), "exists now");
        assertEquals(WriteOutcome.CONFLICT, write(p1, new CoordOp.CheckCluster(CoordOp.NEW)), "not absent any more");

        ClusterRecord armed = DISARMED.arm().withShutdownPolicy(ShutdownPolicy.FREEZE);
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.CheckCluster(0), new CoordOp.PutCluster(armed, 0)));
        await(p2, 0, ClusterChanged.class, e -> new Versioned<>(armed, 1).equals(e.record()));
        assertEquals(WriteOutcome.CONFLICT, write(p1, new CoordOp.CheckCluster(0)), "version 1 now");
        assertEquals(WriteOutcome.CONFLICT, write(p1, new CoordOp.PutCluster(DISARMED, 0)), "version 1 now");
        assertEquals(WriteOutcome.CONFLICT, write(p1, new CoordOp.CheckCluster(-2)), "no version is -2");
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.CheckCluster(1)));

        Stat stat = new Stat();
        byte[] stored = raw.getData().storingStatIn(stat).forPath("/cluster");
        assertEquals(1, stat.getVersion(), "znode version = record version");
        assertEquals(armed, Json.fromJson(RecordSeal.fromClusterKey(cluster, CuratorCoordinatorTest.KEY)
                .open("/cluster", 1, stored).payload(), ClusterRecord.class), "sealed for its path and version");

        Probe p3 = started(NODE3);
        assertEquals(List.of(new ClusterChanged(new Versioned<>(armed, 1))), p3.all(0, ClusterChanged.class),
                "a new session reads it in its initial state");
    }

    @Test
    void checkingThatNoRecordExistsLeavesNone() throws Exception {
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.CheckCluster(CoordOp.NEW)));
        assertNull(raw.checkExists().forPath("/cluster"), "the check's create is undone in the same multi");
        int mark = p2.mark();
        markerWrite("vm9");
        assertFalse(p2.has(mark, ClusterChanged.class, e -> true), "nothing changed for the node: " + p2);
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutCluster(DISARMED, CoordOp.NEW)),
                "and it can be created after");
        await(p2, mark, ClusterChanged.class, e -> e.record() != null);
    }

    @Test
    void aRemovedRecordIsReportedAbsentAndItsCreationAgainIsSeen() throws Exception {
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutCluster(DISARMED, CoordOp.NEW)));
        await(p2, 0, ClusterChanged.class, e -> e.record() != null);
        int mark = p2.mark();
        raw.delete().forPath("/cluster");
        await(p2, mark, ClusterChanged.class, e -> e.record() == null);
        ClusterRecord again = DISARMED.arm();
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutCluster(again, CoordOp.NEW)));
        await(p2, mark, ClusterChanged.class, e -> new Versioned<>(again, 0).equals(e.record()));
    }

    @Test
    void aClusterRecordWrittenWithoutTheKeyIsRefusedAndTheDefaultsHold() throws Exception {
        // someone who reaches ZooKeeper disarms the cluster by hand: nobody may take that
        raw.create().withMode(CreateMode.PERSISTENT).forPath("/cluster", Json.toBytes(DISARMED));
        int mark = p2.mark();
        markerWrite("vm9");
        assertFalse(p2.has(mark, ClusterChanged.class, e -> e.record() != null), "forged record passed on: " + p2);
        assertEquals(1, refused(p2, Refusal.UNSIGNED), "counted once");
        assertEquals(WriteOutcome.CONFLICT, write(p2, new CoordOp.PutCluster(DISARMED, CoordOp.NEW)),
                "the node still sees none, and its write conflicts");

        // a genuine record, copied from another cluster's path, is refused as well
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(CoordinatorContract.vm("vm1", NODE1,
                p1.session()), CoordOp.NEW)));
        raw.setData().withVersion(0).forPath("/cluster", raw.getData().forPath("/vms/vm1"));
        markerWrite("vm8");
        assertFalse(p2.has(mark, ClusterChanged.class, e -> e.record() != null), "moved record passed on: " + p2);
        assertEquals(1, refused(p2, Refusal.BAD_SEAL));
    }

    @Test
    void aRecordAsLargeAsTheLeaderWritesIsWrittenSealedAndReachesTheOtherHostsWhole() {
        io.havn.common.model.PlacementPolicy p = io.havn.common.model.PlacementPolicy.EMPTY;
        List<io.havn.common.model.Rule> rules = new ArrayList<>();
        for (int i = 0; i < 11_000; i++) {
            // near the most the leader writes (AdminChecks: 900,000 bytes), under ZooKeeper's 1 MB
            rules.add(new io.havn.common.model.Rule.Apart("apart-" + i, List.of(
                    new io.havn.common.model.VmId("vm-" + i + "-0"), new io.havn.common.model.VmId("vm-" + (i + 1) + "-0")),
                    true, null));
        }
        ClusterRecord big = ClusterRecord.DEFAULT.withPlacement(new io.havn.common.model.PlacementPolicy(p.groups(),
                rules, 1, true, null));
        int bytes = Json.toBytes(big).length;
        assertTrue(bytes > 800_000 && bytes < 900_000, "near the leader's limit: " + bytes);
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.CheckCluster(CoordOp.NEW),
                new CoordOp.PutCluster(big, CoordOp.NEW)));
        await(p2, 0, ClusterChanged.class, e -> new Versioned<>(big, 0).equals(e.record()));
        ClusterRecord fewer = big.withPlacement(big.placement().withoutRule("apart-10999"));
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.CheckCluster(0), new CoordOp.PutCluster(fewer, 0)));
        await(p2, 0, ClusterChanged.class, e -> new Versioned<>(fewer, 1).equals(e.record()));
    }

    // ---------------------------------------------------------------- helpers

    private Probe started(HostId host) {
        Probe p = new Probe(host);
        CuratorCoordinator c = new CuratorCoordinator(server.getConnectString(), 5_000, null, cluster, host,
                RecordSeal.fromClusterKey(cluster, CuratorCoordinatorTest.KEY), arrivals.sinkOf(p));
        coordinators.add(c);
        c.start();
        p.attach(c, c::close);
        // every VM record, as the leader keeps them: what is refused does not depend on the scope
        c.scope(io.havn.common.port.ViewScope.WHOLE);
        c.openSession();
        await(p, 0, NodeEvent.SessionStarted.class, s -> true);
        long t = p.confirm();
        await(p, 0, NodeEvent.Confirmed.class, x -> x.token() == t && x.ok());
        return p;
    }

    /** A genuine write by node1 that node2 sees: everything written before it has been read by then. */
    private void markerWrite(String vm) {
        VmRecord marker = CoordinatorContract.vm(vm, NODE1, p1.session());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(marker, CoordOp.NEW)));
        await(p2, 0, VmChanged.class, v -> v.vm().equals(marker.id()) && v.record() != null);
    }

    private long refused(Probe p, Refusal reason) {
        return ((CuratorCoordinator) p.coordinator()).refusals().count(Kind.CLUSTER, reason);
    }

    private WriteOutcome write(Probe p, CoordOp... ops) {
        long t = p.write(List.of(ops));
        return await(p, 0, WriteDone.class, w -> w.token() == t).outcome();
    }

    private <T extends NodeEvent> T await(Probe p, int from, Class<T> type, Predicate<T> match) {
        assertTrue(arrivals.awaitUntil(() -> p.has(from, type, match), WAIT_MS),
                p.host + " never got a matching " + type.getSimpleName() + ": " + p);
        return p.find(from, type, match);
    }
}
