package io.havn.daemon.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Json;
import io.havn.common.model.VmRecord;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.EpochChanged;
import io.havn.common.node.NodeEvent.HostChanged;
import io.havn.common.node.NodeEvent.VmChanged;
import io.havn.daemon.coord.RecordSeal.Unsigned;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.CreateMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * An existing cluster upgraded in place: its records, written by a version before seals, carry
 * none. {@code havnd --sign-records} seals those that read as havn records, once, and leaves the
 * rest refused; the {@code unsignedRecords} policy lets daemons run beside older ones meanwhile.
 */
class RecordSignerTest {
    private static final long WAIT_MS = 10_000;
    private static final HostId NODE1 = CoordinatorContract.NODE1;
    private static final String CLUSTER = "upgraded";

    private final Arrivals arrivals = new Arrivals();
    private final RecordSeal seal = RecordSeal.fromClusterKey(CLUSTER, CuratorCoordinatorTest.KEY);
    private TestingServer server;
    private CuratorFramework raw;
    private CuratorCoordinator coordinator;

    @BeforeEach
    void anOldClustersRecords() throws Exception {
        int[] ports = FreePorts.take(3);
        server = new TestingServer(new InstanceSpec(null, ports[0], ports[1], ports[2], true, -1, 200, -1), true);
        raw = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .namespace("havn/" + CLUSTER).sessionTimeoutMs(5_000).connectionTimeoutMs(5_000)
                .retryPolicy(new RetryNTimes(0, 0)).build();
        raw.start();
        // as the version before seals wrote them: plain JSON, the leader's plain name
        HostRecord host = new HostRecord(NODE1, new HostCapacity(8, 16_384), "127.0.0.1:7405", null,
                HostAdminState.ACTIVE, false);
        raw.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT).forPath("/hosts/node1",
                Json.toBytes(host));
        raw.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT).forPath("/vms/vm1",
                Json.toBytes(CoordinatorContract.vm("vm1", NODE1, 0)));
        raw.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT).forPath("/requests");
        raw.create().withMode(CreateMode.PERSISTENT).forPath("/epoch", new byte[0]);
        raw.setData().forPath("/epoch", "node1".getBytes(StandardCharsets.UTF_8));
        // and what must stay refused: a seal for another version, bytes that are no record, a record named otherwise
        raw.create().forPath("/vms/vm2", seal.sealed("/vms/vm2", 5, Json.toBytes(CoordinatorContract.vm("vm2", NODE1, 0))));
        raw.create().forPath("/vms/vm3", "<disk type='block'><source dev='/dev/sda'/></disk>"
                .getBytes(StandardCharsets.UTF_8));
        raw.create().forPath("/vms/vm4", Json.toBytes(CoordinatorContract.vm("vm5", NODE1, 0)));
    }

    @AfterEach
    void close() throws Exception {
        if (coordinator != null) {
            coordinator.close();
        }
        raw.close();
        server.close();
    }

    @Test
    void signingSealsTheOldRecordsOnceAndLeavesWhatIsNoHavnRecordRefused() throws Exception {
        Signed first = sign(seal, null);
        String out = first.out();

        assertEquals(3, first.left(), out);
        assertTrue(out.contains("/vms/vm1: sealed: {"), out);
        assertTrue(out.contains("/hosts/node1: sealed: {"), out);
        assertTrue(out.contains("/epoch: sealed: node1"), out);
        assertTrue(out.contains("/vms/vm2: left alone: its seal does not match"), out);
        assertTrue(out.contains("/vms/vm3: left alone: not a havn record"), out);
        assertTrue(out.contains("/vms/vm4: left alone: not a havn record (it names vm5, not vm4)"), out);
        assertTrue(out.contains("3 sealed now, 0 sealed before, 3 left refused"), out);

        Probe p = started(seal);
        await(p, VmChanged.class, v -> v.vm().value().equals("vm1") && v.record() != null);
        await(p, HostChanged.class, h -> h.host().equals(NODE1) && h.record() != null);
        await(p, EpochChanged.class, e -> e.epoch() == 2 && NODE1.equals(e.leader()));
        assertFalse(p.has(0, VmChanged.class, v -> !v.vm().value().equals("vm1")), "only vm1 flows: " + p);
        assertEquals(3, coordinator.refusals().count(RecordRefusals.Kind.VM, RecordSeal.Refusal.UNSIGNED)
                + coordinator.refusals().count(RecordRefusals.Kind.VM, RecordSeal.Refusal.BAD_SEAL), "vm2, vm3, vm4");

        Signed again = sign(seal, null);
        assertEquals(3, again.left(), again.out());
        assertTrue(again.out().contains("0 sealed now, 3 sealed before, 3 left refused"), again.out());
    }

    @Test
    void afterAKeyRotationRecordsSealedWithThePreviousKeyAreSealedAgainWithTheNewOne() throws Exception {
        byte[] newKey = CuratorCoordinatorTest.KEY.clone();
        newKey[0] ^= 1;
        RecordSeal rotated = RecordSeal.fromClusterKey(CLUSTER, newKey);
        assertEquals(3, sign(seal, null).left(), "the old key's seals");

        Signed withNewKey = sign(rotated, seal);
        String out = withNewKey.out();
        assertEquals(3, withNewKey.left(), out);
        assertTrue(out.contains("/vms/vm1: sealed with the new key: {"), out);
        assertTrue(out.contains("/vms/vm2: left alone: its seal does not match"), "sealed for another version: " + out);

        Probe p = started(rotated);
        await(p, VmChanged.class, v -> v.vm().value().equals("vm1") && v.record() != null);
        await(p, EpochChanged.class, e -> e.epoch() == 3 && NODE1.equals(e.leader()));
    }

    @Test
    void beforeSigningTheOldRecordsAreRefusedUnlessTheUpgradePolicyAcceptsThem() throws Exception {
        Probe p = started(seal.withUnsigned(Unsigned.ACCEPT));
        await(p, VmChanged.class, v -> v.vm().value().equals("vm1") && v.record() != null);
        await(p, EpochChanged.class, e -> e.epoch() == 1 && NODE1.equals(e.leader()));
        assertFalse(p.has(0, VmChanged.class, v -> v.vm().value().equals("vm2")), "a bad seal stays refused: " + p);
        coordinator.close();
        coordinator = null;

        Probe refusing = started(seal);
        await(refusing, NodeEvent.SessionStarted.class, s -> true);
        assertFalse(refusing.has(0, VmChanged.class, v -> v.vm().value().equals("vm1")), "unsigned: " + refusing);
        assertEquals(1, coordinator.refusals().count(RecordRefusals.Kind.HOST, RecordSeal.Refusal.UNSIGNED));
        assertEquals(1, coordinator.refusals().count(RecordRefusals.Kind.EPOCH, RecordSeal.Refusal.UNSIGNED));
    }

    @Test
    void besideDaemonsOlderThanSealsADaemonWritesRecordsTheyCanRead() throws Exception {
        Probe p = started(seal.withUnsigned(Unsigned.WRITE));
        VmRecord vm7 = CoordinatorContract.vm("vm7", NODE1, p.session());
        long t = p.write(java.util.List.of(new io.havn.common.port.CoordOp.PutVm(vm7, -1)));
        await(p, NodeEvent.WriteDone.class, w -> w.token() == t && w.outcome() == NodeEvent.WriteOutcome.OK);
        assertEquals(vm7, Json.fromJson(raw.getData().forPath("/vms/vm7"), VmRecord.class), "plain JSON");
    }

    private record Signed(int left, String out) {
    }

    private Signed sign(RecordSeal with, RecordSeal previous) throws Exception {
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        int left = RecordSigner.signAll(server.getConnectString(), 5_000, null, null, CLUSTER, NODE1, with, previous,
                new PrintStream(text, true, StandardCharsets.UTF_8));
        return new Signed(left, text.toString(StandardCharsets.UTF_8));
    }

    private Probe started(RecordSeal s) {
        Probe p = new Probe(NODE1);
        coordinator = new CuratorCoordinator(server.getConnectString(), 5_000, null, CLUSTER, NODE1, s,
                arrivals.sinkOf(p));
        coordinator.start();
        p.attach(coordinator, coordinator::close);
        // every VM record, as the leader keeps them: the upgrade is about seals, whatever the scope
        coordinator.scope(io.havn.common.port.ViewScope.WHOLE);
        coordinator.openSession();
        await(p, NodeEvent.SessionStarted.class, x -> true);
        return p;
    }

    private <T extends NodeEvent> void await(Probe p, Class<T> type, java.util.function.Predicate<T> match) {
        assertTrue(arrivals.awaitUntil(() -> p.has(0, type, match), WAIT_MS),
                "no " + type.getSimpleName() + " within " + WAIT_MS + " ms: " + p);
    }
}
