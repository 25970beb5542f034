package io.havn.daemon.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.VmRecord;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.ChangeRequest;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.EpochChanged;
import io.havn.common.node.NodeEvent.RequestChanged;
import io.havn.common.node.NodeEvent.VmChanged;
import io.havn.common.node.NodeEvent.WriteDone;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.daemon.coord.RecordRefusals.Kind;
import io.havn.daemon.coord.RecordSeal.Refusal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Only a holder of the cluster key writes what the cluster acts on: records written into
 * ZooKeeper by any other client (one with write access but without the key) are refused by the
 * real adapter before they reach the node, counted, and the node keeps the last verified record.
 * One in-process ZooKeeper server; each test has its own cluster (chroot). A refusal is not an
 * event, so each test waits for a later genuine write to arrive (one session's reads are answered
 * in order) before it asserts what did not.
 */
class RecordSealingTest {
    private static final long WAIT_MS = 10_000;
    private static final HostId NODE1 = CoordinatorContract.NODE1;
    private static final HostId NODE2 = CoordinatorContract.NODE2;
    private static final HostId NODE3 = CoordinatorContract.NODE3;
    private static final AtomicInteger TESTS = new AtomicInteger();
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
        cluster = "seal" + TESTS.incrementAndGet();
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
    void aVmRecordRewrittenOutsideHavnToAddAHostDiskIsRefusedAndTheNodeKeepsTheVerifiedOne() throws Exception {
        VmRecord genuine = CoordinatorContract.vm("vm1", NODE1, p1.session());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(genuine, CoordOp.NEW)));
        await(p2, VmChanged.class, v -> v.record() != null && v.record().value().equals(genuine));

        VmRecord tampered = genuine.withSpec(new io.havn.common.model.VmSpec(genuine.id(), "vm1", 1, 1024,
                genuine.spec().priority(), true,
                "<domain><devices><disk type='block'><source dev='/dev/sda'/></disk></devices></domain>"));
        raw.setData().forPath("/vms/vm1", Json.toBytes(tampered));
        int mark = p2.mark();
        markerWrite("vm9");

        assertFalse(p2.has(mark, VmChanged.class, v -> v.vm().equals(genuine.id())),
                "the rewritten record reached the node: " + p2);
        assertEquals(1, refused(p2, Kind.VM, Refusal.UNSIGNED), "counted once");
        assertEquals(1, ((CuratorCoordinator) p2.coordinator()).refusals().total(), "systemd's status line shows it");
        assertEquals(WriteOutcome.OK, write(p2, new CoordOp.PutVm(CoordinatorContract.vm("vm8", NODE2, p2.session()),
                CoordOp.NEW)), "the cluster still works");
    }

    @Test
    void aHostWithItsOwnViewRefusesAForgedMoveAwayAndKeepsItsRecordAndItsIndexEntry() throws Exception {
        Probe p3 = started(NODE3, io.havn.common.port.ViewScope.OWN);
        VmRecord genuine = CoordinatorContract.vm("vm1", NODE3, p3.session());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(genuine, CoordOp.NEW)));
        await(p3, VmChanged.class, v -> v.record() != null && v.record().value().equals(genuine));

        // unsealed, and naming node1 alone: were it believed, node3 would forget the VM and its entry
        raw.setData().forPath("/vms/vm1", Json.toBytes(CoordinatorContract.vm("vm1", NODE1, p1.session())));
        int mark = p3.mark();
        VmRecord marker = CoordinatorContract.vm("vm9", NODE3, p3.session());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(marker, CoordOp.NEW)));
        assertTrue(awaitUntil(() -> p3.has(mark, VmChanged.class, v -> v.vm().equals(marker.id()))), "" + p3);

        assertFalse(p3.has(mark, VmChanged.class, v -> v.vm().equals(genuine.id())), "the forgery reached the node: " + p3);
        assertEquals(1, refused(p3, Kind.VM, Refusal.UNSIGNED));
        assertEquals(1, raw.getChildren().forPath("/hostvms/node3").stream().filter(n -> n.startsWith("vm1-")).count(),
                "node3's entry stands: only a verified record that names it no more spends it");
    }

    @Test
    void aWriteOnTheRefusedRecordConflictsAndIsAnsweredNoSoonerThanARetryInterval() throws Exception {
        VmRecord genuine = CoordinatorContract.vm("vm1", NODE1, p1.session());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(genuine, CoordOp.NEW)));
        await(p2, VmChanged.class, v -> v.record() != null);
        raw.setData().forPath("/vms/vm1", Json.toBytes(genuine.withPhase(genuine.phase(), "tampered")));
        markerWrite("vm9");
        assertEquals(1, refused(p2, Kind.VM, Refusal.UNSIGNED));

        long start = System.nanoTime();
        // the node still holds version 0: its write conflicts, and must not come back at once to be retried
        assertEquals(WriteOutcome.CONFLICT, write(p2, new CoordOp.PutVm(genuine.withPhase(genuine.phase(), "x"), 0)));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(tookMs >= CuratorCoordinator.RETRY_MS, "answered after " + tookMs + " ms");
    }

    @Test
    void anOlderSignedRecordWrittenBackAtItsOwnPathIsRefused() throws Exception {
        VmRecord first = CoordinatorContract.vm("vm1", NODE1, p1.session());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(first, CoordOp.NEW)));
        byte[] firstBytes = raw.getData().forPath("/vms/vm1");
        VmRecord moved = first.handedOverTo(NODE2, p2.session());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(moved, 0)));
        await(p2, VmChanged.class, v -> v.record() != null && v.record().value().equals(moved));

        raw.setData().forPath("/vms/vm1", firstBytes); // the previous owner, correctly sealed for version 0
        int mark = p2.mark();
        markerWrite("vm9");

        assertFalse(p2.has(mark, VmChanged.class, v -> v.vm().equals(first.id())), "replayed: " + p2);
        assertEquals(1, refused(p2, Kind.VM, Refusal.BAD_SEAL));
    }

    @Test
    void aSignedRecordCopiedToAnotherPathIsRefused() throws Exception {
        VmRecord genuine = CoordinatorContract.vm("vm1", NODE1, p1.session());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(genuine, CoordOp.NEW)));
        raw.create().withMode(CreateMode.PERSISTENT).forPath("/vms/vm3", raw.getData().forPath("/vms/vm1"));
        // if one listing finds both, new records are read in name order: vm3's refusal comes before vm9
        markerWrite("vm9");

        assertFalse(p2.has(0, VmChanged.class, v -> v.vm().value().equals("vm3")), "moved record: " + p2);
        assertTrue(p2.has(0, VmChanged.class, v -> v.vm().equals(genuine.id()) && v.record() != null),
                "the genuine record flows: " + p2);
        assertEquals(1, refused(p2, Kind.VM, Refusal.BAD_SEAL));
    }

    @Test
    void aForgedRequestWithAnotherHostsSessionIsRefusedAndNeverReachesTheLeader() throws Exception {
        // the attacker reads node1's session from live/ and files a request in its name
        List<String> sessions = raw.getChildren().forPath("/live/node1");
        assertEquals(1, sessions.size(), "node1's presence: " + sessions);
        long s1 = Long.parseUnsignedLong(sessions.get(0), 16);
        assertEquals(p1.session(), s1);
        String id = "node1." + Long.toHexString(s1) + ".7";
        ChangeRequest forged = ChangeRequest.pending(id, NODE1, s1, new AdminCommand.Maintenance(NODE3, true), false);
        raw.create().withMode(CreateMode.PERSISTENT).forPath("/requests/" + id, Json.toBytes(forged));
        markerWrite("vm9");

        assertFalse(p2.has(0, RequestChanged.class, r -> r.id().equals(id)), "forged request passed on: " + p2);
        assertEquals(1, refused(p2, Kind.REQUEST, Refusal.UNSIGNED));

        // a genuine request of node1 still flows
        ChangeRequest real = ChangeRequest.pending("node1." + Long.toHexString(s1) + ".8", NODE1, s1,
                new AdminCommand.Maintenance(NODE2, true), false);
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutRequest(real, CoordOp.NEW)));
        await(p2, RequestChanged.class, r -> r.id().equals(real.id()) && r.record() != null);
    }

    @Test
    void aDecidedRequestWrittenBackAfterItWasRemovedIsRefused() throws Exception {
        long s1 = p1.session();
        ChangeRequest filed = ChangeRequest.pending("node1." + Long.toHexString(s1) + ".1", NODE1, s1,
                new AdminCommand.Maintenance(NODE3, true), false);
        String path = "/requests/" + filed.id();
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutRequest(filed, CoordOp.NEW)));
        byte[] asFiled = raw.getData().forPath(path); // sealed for version 0, as every new request is
        await(p2, RequestChanged.class, r -> r.id().equals(filed.id()) && r.record() != null);
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.DeleteRequest(filed.id(), 0)));
        await(p2, RequestChanged.class, r -> r.id().equals(filed.id()) && r.record() == null);
        int mark = p2.mark();

        raw.create().withMode(CreateMode.PERSISTENT).forPath(path, asFiled); // its seal is valid: version 0 again
        markerWrite("vm9");

        assertFalse(p2.has(mark, RequestChanged.class, r -> r.id().equals(filed.id())), "filed again: " + p2);
        assertEquals(1, refused(p2, Kind.REQUEST, Refusal.REPLAYED));
    }

    @Test
    void aForgedLeaderNameOnTheEpochIsWithheldButTheEpochNumberCounts() throws Exception {
        p1.coordinator().joinElection();
        await(p1, NodeEvent.LeadershipChanged.class, NodeEvent.LeadershipChanged::leader);
        long t = p1.claimEpoch();
        NodeEvent.EpochClaimed claimed = await(p1, NodeEvent.EpochClaimed.class, c -> c.token() == t);
        assertEquals(1, claimed.epoch());
        await(p2, EpochChanged.class, e -> e.epoch() == 1 && NODE1.equals(e.leader()));

        raw.setData().forPath("/epoch", "node3".getBytes(StandardCharsets.UTF_8));
        EpochChanged forged = await(p2, EpochChanged.class, e -> e.epoch() == 2);
        assertNull(forged.leader(), "the forged name reached the node: " + forged);
        assertEquals(1, refused(p2, Kind.EPOCH, Refusal.UNSIGNED));

        await(p1, EpochChanged.class, e -> e.epoch() == 2); // a claim from an older view fails and is tried again
        long t2 = p1.claimEpoch();
        assertEquals(3, await(p1, NodeEvent.EpochClaimed.class, c -> c.token() == t2).epoch(), "the leader claims on");
        await(p2, EpochChanged.class, e -> e.epoch() == 3 && NODE1.equals(e.leader()));
    }

    // ---------------------------------------------------------------- helpers

    private Probe started(HostId host) {
        // every VM record, as the leader keeps them: what is refused does not depend on the scope
        return started(host, io.havn.common.port.ViewScope.WHOLE);
    }

    private Probe started(HostId host, io.havn.common.port.ViewScope scope) {
        Probe p = new Probe(host);
        CuratorCoordinator c = new CuratorCoordinator(server.getConnectString(), 5_000, null, cluster, host,
                RecordSeal.fromClusterKey(cluster, CuratorCoordinatorTest.KEY), arrivals.sinkOf(p));
        coordinators.add(c);
        c.start();
        p.attach(c, c::close);
        c.scope(scope);
        c.openSession();
        await(p, NodeEvent.SessionStarted.class, s -> true);
        long t = p.confirm();
        await(p, NodeEvent.Confirmed.class, x -> x.token() == t && x.ok());
        return p;
    }

    /** A genuine write by node1 that node2 sees: everything written before it has been read by then. */
    private void markerWrite(String vm) {
        VmRecord marker = CoordinatorContract.vm(vm, NODE1, p1.session());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(marker, CoordOp.NEW)));
        await(p2, VmChanged.class, v -> v.vm().equals(marker.id()) && v.record() != null);
    }

    private long refused(Probe p, Kind kind, Refusal reason) {
        return ((CuratorCoordinator) p.coordinator()).refusals().count(kind, reason);
    }

    private WriteOutcome write(Probe p, CoordOp... ops) {
        long t = p.write(List.of(ops));
        return await(p, WriteDone.class, w -> w.token() == t).outcome();
    }

    private <T extends NodeEvent> T await(Probe p, Class<T> type, java.util.function.Predicate<T> match) {
        int from = 0;
        assertTrue(awaitUntil(() -> p.has(from, type, match)), p.host + " never got a " + type.getSimpleName()
                + ": " + p);
        return p.find(from, type, match);
    }

    private boolean awaitUntil(BooleanSupplier condition) {
        return arrivals.awaitUntil(condition, WAIT_MS);
    }
}
