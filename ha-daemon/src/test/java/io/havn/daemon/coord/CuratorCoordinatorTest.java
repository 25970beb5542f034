package io.havn.daemon.coord;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Json;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.LeadershipChanged;
import io.havn.common.node.NodeEvent.LiveChanged;
import io.havn.common.node.NodeEvent.VmChanged;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.CuratorWatcher;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.InstanceSpec;
import org.apache.curator.test.KillSession;
import org.apache.curator.test.TestingCluster;
import org.apache.curator.test.TestingServer;
import org.apache.curator.utils.ThreadUtils;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.FourLetterWordMain;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.client.ZKClientConfig;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.data.Stat;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The coordinator contract on a real three-server ZooKeeper ensemble (curator-test's
 * TestingCluster, shared by the class; each test has its own cluster name, so its own chroot),
 * reached as havnd reaches it: over TLS with a member's certificate ({@link TlsEnsemble}). Plus
 * what only the real adapter has: the znode layout, the index of VM records by host, the ACL that
 * keeps everyone but the members out, and closing without ending the session. Real time; every
 * wait is a bounded wait on the event queue (or on a watch of the znodes looked at).
 */
class CuratorCoordinatorTest extends CoordinatorContract {
    static final int SESSION_TIMEOUT_MS = 3_000;
    /** Server tick: sessions between 300 ms and 6 s, quick elections. */
    static final int TICK_MS = 300;
    static final long SERVING_MS = 30_000;
    /** How long a client that must not get in is given to try. */
    static final long REFUSED_MS = 3_000;
    static final AtomicInteger TESTS = new AtomicInteger();
    /** The cluster key of every test's cluster. */
    static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    static TlsEnsemble ensemble;
    static TestingCluster cluster;

    @BeforeAll
    static void startEnsemble() throws Exception {
        ensemble = TlsEnsemble.start(3, TICK_MS);
        cluster = ensemble.cluster();
        for (InstanceSpec s : cluster.getInstances()) {
            awaitServing(s);
        }
    }

    @AfterAll
    static void stopEnsemble() throws Exception {
        if (ensemble != null) {
            ensemble.close();
        }
    }

    @Override
    CoordinationHarness newHarness(String testName) {
        String name = "t" + TESTS.incrementAndGet() + "-" + testName;
        return new CuratorHarness(name.length() > 63 ? name.substring(0, 63) : name, null);
    }

    // ---------------------------------------------------------------- the real adapter only

    @Test
    void theStateLivesWhereTheDesignSaysWithZnodeVersionsAsRecordVersions() throws Exception {
        Probe p1 = started(NODE1);
        long s1 = p1.session();
        confirmOk(p1);
        HostRecord host1 = hostRecord(NODE1);
        VmRecord vm1 = vm("vm1", NODE1, s1);
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutHost(host1, CoordOp.NEW)));
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(vm1, CoordOp.NEW)));
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(vm1.withPhase(vm1.phase(), "again"), 0)));
        p1.coordinator().joinElection();
        await(p1, 0, LeadershipChanged.class, LeadershipChanged::leader, ANSWER_MS);
        assertEquals(1, claim(p1));

        try (CuratorFramework raw = raw(h().cluster, null)) {
            Stat stat = new Stat();
            byte[] data = raw.getData().storingStatIn(stat).forPath("/hosts/node1");
            assertEquals(host1, Json.fromJson(h().seal.open("/hosts/node1", 0, data).payload(), HostRecord.class),
                    "a sealed record");
            assertEquals(0, stat.getVersion());
            raw.getData().storingStatIn(stat).forPath("/vms/vm1");
            assertEquals(1, stat.getVersion(), "znode version = record version");

            String live = "/live/node1/" + Long.toHexString(s1);
            assertEquals(s1, raw.checkExists().forPath(live).getEphemeralOwner(), "live node bound to the session");

            byte[] leader = raw.getData().storingStatIn(stat).forPath("/epoch");
            assertEquals(1, stat.getVersion(), "the epoch is the epoch znode's version");
            assertArrayEquals("node1".getBytes(StandardCharsets.UTF_8), h().seal.open("/epoch", 1, leader).payload());

            List<String> election = raw.getChildren().forPath("/leader");
            assertEquals(1, election.size(), "election: " + election);
            assertTrue(election.get(0).startsWith(Long.toHexString(s1) + "-node1-"), "election: " + election);
            assertEquals(s1, raw.checkExists().forPath("/leader/" + election.get(0)).getEphemeralOwner());
        }
    }

    @Test
    void onlyTheMembersSubjectMayReadOrWriteTheClustersZnodes() throws Exception {
        Probe p1 = started(NODE1);
        confirmOk(p1);
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutVm(vm("vm1", NODE1, p1.session()), CoordOp.NEW)));
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.PutCluster(io.havn.common.model.ClusterRecord.DEFAULT
                .disarm(io.havn.common.model.ClusterRecord.Disarm.KEEP_WATCHDOGS), CoordOp.NEW)));
        String name = ((CuratorHarness) h).cluster;

        // no certificate, on a port that asks for none: only an address
        try (CuratorFramework anonymous = raw(ensemble.plainConnectString(), name, null, null)) {
            assertRefused("a client without a certificate", anonymous);
        }
        // a certificate of the cluster's CA, with another subject
        try (CuratorFramework stranger = raw(ensemble.connectString(), name, TlsEnsemble.stranger(), null)) {
            assertTrue(stranger.getZookeeperClient().blockUntilConnectedOrTimedOut(), "the stranger got in over TLS");
            assertRefused("a client with the CA's certificate for " + TlsEnsemble.STRANGER, stranger);
        }
        try (CuratorFramework member = raw(name, null)) {
            assertTrue(member.getData().forPath("/vms/vm1").length > 0);
            String entry = "/hostvms/node1/" + member.getChildren().forPath("/hostvms/node1").get(0);
            for (String path : List.of("/", "/hosts", "/vms", "/requests", "/live", "/leader", "/epoch", "/cluster", "/vms/vm1",
                    "/live/node1", CoordPaths.live(NODE1, p1.session()), "/hostvms", "/hostvms/node1", entry)) {
                assertEquals(List.of(new ACL(ZooDefs.Perms.ALL, new Id("x509", TlsEnsemble.MEMBER))),
                        member.getACL().forPath(path), path);
            }
        }
    }

    /** {@code c} can neither read nor change a VM record, nor post a request, nor list the VMs. */
    private static void assertRefused(String who, CuratorFramework c) {
        assertThrows(KeeperException.NoAuthException.class, () -> c.getData().forPath("/vms/vm1"), who + " read");
        assertThrows(KeeperException.NoAuthException.class, () -> c.checkExists().forPath("/vms/vm1"), who + " saw");
        assertThrows(KeeperException.NoAuthException.class, () -> c.getChildren().forPath("/vms"), who + " listed");
        assertThrows(KeeperException.NoAuthException.class, () -> c.setData().forPath("/vms/vm1", new byte[] {'{'}),
                who + " rewrote");
        assertThrows(KeeperException.NoAuthException.class, () -> c.delete().forPath("/vms/vm1"), who + " deleted");
        assertThrows(KeeperException.NoAuthException.class,
                () -> c.create().withMode(CreateMode.PERSISTENT).forPath("/requests/forged", new byte[] {'{'}),
                who + " forged a request");
        assertThrows(KeeperException.NoAuthException.class, () -> c.getACL().forPath("/vms/vm1"), who + " read the ACL");
    }

    @Test
    void theTlsPortRefusesAClientWithoutACertificate() throws Exception {
        CountDownLatch member = connected(ensemble.connectString(), TlsEnsemble.member().clientConfig());
        CountDownLatch anonymous = connected(ensemble.connectString(), TlsEnsemble.withoutCertificate());
        assertTrue(member.await(START_MS, TimeUnit.MILLISECONDS), "a member gets in over TLS");
        assertFalse(anonymous.await(REFUSED_MS, TimeUnit.MILLISECONDS), "a client without a certificate got in");
    }

    private final List<ZooKeeper> handles = new ArrayList<>();

    /** A latch that opens when a plain ZooKeeper handle with {@code config} connects (closed after the test). */
    private CountDownLatch connected(String connect, ZKClientConfig config) throws Exception {
        CountDownLatch connected = new CountDownLatch(1);
        handles.add(new ZooKeeper(connect, SESSION_TIMEOUT_MS, e -> {
            if (e.getState() == KeeperState.SyncConnected) {
                connected.countDown();
            }
        }, config));
        return connected;
    }

    @AfterEach
    void closeHandles() throws InterruptedException {
        for (ZooKeeper zk : handles) {
            zk.close();
        }
    }

    @Test
    void aClusterWhoseZnodesWereCreatedOpenIsReportedAtEachSession() throws Exception {
        String name = "t" + TESTS.incrementAndGet() + "-open";
        try (CuratorFramework byHand = raw(ensemble.connectString(), name, TlsEnsemble.member(), null)) {
            byHand.create().creatingParentsIfNeeded().forPath("/vms"); // ZooKeeper's default ACL: anyone
        }
        ch.qos.logback.classic.Logger log =
                (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(CoordSession.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen =
                new ch.qos.logback.core.read.ListAppender<>();
        seen.start();
        log.addAppender(seen);
        CuratorHarness open = new CuratorHarness(name, null);
        try {
            Probe p = open.connect(NODE1);
            p.coordinator().openSession();
            assertTrue(open.awaitUntil(() -> p.has(0, NodeEvent.SessionStarted.class, x -> true), START_MS),
                    "no session: " + p);
            List<String> warnings = seen.list.stream()
                    .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
                    .map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
            assertTrue(warnings.stream().anyMatch(w -> w.contains("/havn/" + name + " is open to anyone")
                    && w.contains("setAcl -R /havn/" + name + " x509:" + TlsEnsemble.MEMBER + ":cdrwa")), "" + warnings);
        } finally {
            log.detachAppender(seen);
            open.close();
        }
    }

    @Test
    void digestCredentialsOverTlsAreASecondMemberIdentity() throws Exception {
        CuratorHarness secured = new CuratorHarness("t" + TESTS.incrementAndGet() + "-acl", "havn:s3cret");
        try {
            Probe p = secured.connect(NODE1);
            p.coordinator().openSession();
            assertTrue(secured.awaitUntil(() -> p.has(0, NodeEvent.SessionStarted.class, x -> true), START_MS),
                    "no session: " + p);
            long t = p.write(List.of(new CoordOp.PutVm(vm("vm1", NODE1, p.session()), CoordOp.NEW)));
            assertTrue(secured.awaitUntil(() -> p.has(0, NodeEvent.WriteDone.class,
                    w -> w.token() == t && w.outcome() == WriteOutcome.OK), ANSWER_MS), "write: " + p);

            try (CuratorFramework stranger = raw(ensemble.plainConnectString(), secured.cluster, null, "havn:guess")) {
                assertThrows(KeeperException.NoAuthException.class, () -> stranger.getData().forPath("/vms/vm1"));
            }
            try (CuratorFramework friend = raw(ensemble.plainConnectString(), secured.cluster, null, "havn:s3cret")) {
                assertTrue(friend.getData().forPath("/vms/vm1").length > 0);
                for (String path : List.of("/", "/hosts", "/vms", "/live", "/leader", "/epoch", "/vms/vm1")) {
                    List<ACL> acl = friend.getACL().forPath(path);
                    assertEquals(List.of("x509:" + TlsEnsemble.MEMBER, "digest:havn:"),
                            acl.stream().map(a -> a.getId().getScheme() + ":" + a.getId().getId()
                                    .replaceAll(":.*", ":")).toList(), path + ": " + acl);
                }
            }
        } finally {
            secured.close();
        }
    }

    @Test
    void closingAbandonsTheSessionSoPresenceLastsUntilItExpires() {
        Probe p1 = started(NODE1);
        Probe p2 = started(NODE2);
        long s1 = p1.session();
        confirmOk(p1);
        await(p2, 0, LiveChanged.class, l -> l.equals(new LiveChanged(NODE1, Set.of(s1))), ANSWER_MS);
        int mark = p2.mark();

        p1.close();
        // closing the session would delete node1's presence at once, while its lease may still be valid
        assertFalse(h.awaitUntil(() -> p2.has(mark, LiveChanged.class, l -> l.host().equals(NODE1)),
                SESSION_TIMEOUT_MS / 2), "node1's presence went at once: " + p2);
        await(p2, mark, LiveChanged.class, l -> l.equals(new LiveChanged(NODE1, Set.of())), SESSION_TIMEOUT_MS + 6_000);
    }

    @Test
    void sessionStartedCarriesTheTimeoutTheEnsembleNegotiatedNotTheOneAskedFor() throws Exception {
        // tick 200 ms and a maximum of 20 ticks, ZooKeeper's default: 10 s asked for becomes 4 s
        int[] ports = FreePorts.take(3);
        InstanceSpec spec = new InstanceSpec(null, ports[0], ports[1], ports[2], true, -1, 200, -1,
                Map.of("maxSessionTimeout", "4000"));
        BlockingQueue<NodeEvent> events = new LinkedBlockingQueue<>();
        try (TestingServer server = new TestingServer(spec, true);
             CuratorCoordinator c = new CuratorCoordinator(server.getConnectString(), 10_000, null,
                     "t" + TESTS.incrementAndGet() + "-negotiated", NODE1, RecordSeal.fromClusterKey("negotiated", KEY),
                     events::add)) {
            c.start();
            c.openSession();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_MS);
            NodeEvent e;
            do {
                e = events.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } while (e != null && !(e instanceof NodeEvent.SessionStarted));
            assertTrue(e instanceof NodeEvent.SessionStarted, "no session within " + START_MS + " ms");
            NodeEvent.SessionStarted started = (NodeEvent.SessionStarted) e;
            assertEquals(4_000, started.timeoutMs(), "the ensemble's 4 s, which the lease must fit in: " + started);
            assertEquals(4_000, c.zooKeeper().getSessionTimeout(), "what the client holds");
        }
    }

    // ---------------------------------------------------------------- the index of VM records by host

    @Test
    void aPutIndexesItsRecordUnderEachHostItComesToNameInTheSameMulti() throws Exception {
        // a writer in WHOLE, as the leader is, that the records never name: it deletes none of their entries
        Probe p9 = startedWhole(NODE9);
        long s9 = p9.session();
        VmRecord a = vm("a", NODE1, s9).migratingTo(NODE2, 77);
        assertEquals(WriteOutcome.OK, write(p9, new CoordOp.PutVm(a, CoordOp.NEW)));
        try (CuratorFramework raw = raw(h().cluster, null)) {
            assertEquals(List.of("a"), indexed(raw, NODE1), "the owner");
            assertEquals(List.of("a"), indexed(raw, NODE2), "the migration target");
            String entry = "/hostvms/node1/" + raw.getChildren().forPath("/hostvms/node1").get(0);
            assertEquals(0, raw.getData().forPath(entry).length, "an entry is only a name");
            assertEquals(0, raw.checkExists().forPath(entry).getEphemeralOwner(), "and outlives sessions");

            // a write that fails writes no entry either
            VmRecord b = vm("b", NODE3, s9);
            assertEquals(WriteOutcome.CONFLICT, write(p9, new CoordOp.PutVm(a.withPhase(VmPhase.MIGRATING, "x"), 5)));
            assertEquals(WriteOutcome.CONFLICT, write(p9, new CoordOp.PutVm(b, CoordOp.NEW),
                    new CoordOp.PutVm(a.withPhase(VmPhase.MIGRATING, "y"), 7)));
            assertEquals(WriteOutcome.CONFLICT, write(p9, new CoordOp.CheckEpoch(3), new CoordOp.PutVm(b, CoordOp.NEW)));
            assertEquals(List.of("a"), indexed(raw, NODE1));
            assertEquals(List.of("a"), indexed(raw, NODE2));
            assertEquals(List.of(), indexed(raw, NODE3), "no entry for a record that was not written");

            // against the version the writer keeps: a host already named gets no second entry, a new one gets one
            await(p9, 0, VmChanged.class, e -> e.equals(new VmChanged(a.id(), new Versioned<>(a, 0))), ANSWER_MS);
            VmRecord same = a.withPhase(VmPhase.MIGRATING, "the same hosts");
            assertEquals(WriteOutcome.OK, write(p9, new CoordOp.PutVm(same, 0)));
            await(p9, 0, VmChanged.class, e -> e.equals(new VmChanged(a.id(), new Versioned<>(same, 1))), ANSWER_MS);
            VmRecord moved = vm("a", NODE3, s9);
            assertEquals(WriteOutcome.OK, write(p9, new CoordOp.PutVm(moved, 1)));
            assertEquals(List.of("a"), indexed(raw, NODE1));
            assertEquals(List.of("a"), indexed(raw, NODE2));
            assertEquals(List.of("a"), indexed(raw, NODE3));

            // a writer that does not keep the version it writes over indexes every host named: a harmless duplicate
            Probe p8 = started(new io.havn.common.model.HostId("node8"));
            assertEquals(WriteOutcome.OK, write(p8, new CoordOp.PutVm(moved.withPhase(VmPhase.RUNNING, "z"), 2)));
            assertEquals(List.of("a", "a"), indexed(raw, NODE3));
        }
    }

    @Test
    void aHostDeletesItsOwnSpentEntriesOnlyOnceTheRecordNamesItNoMore() throws Exception {
        Probe p1 = started(NODE1);
        Probe p9 = startedWhole(NODE9);
        long s9 = p9.session();
        VmRecord a = vm("a", NODE1, s9);
        VmRecord c = vm("c", NODE1, s9);
        assertEquals(WriteOutcome.OK, write(p9, new CoordOp.PutVm(a, CoordOp.NEW)));
        assertEquals(WriteOutcome.OK, write(p9, new CoordOp.PutVm(c, CoordOp.NEW)));
        await(p1, 0, VmChanged.class, e -> e.equals(new VmChanged(a.id(), new Versioned<>(a, 0))), ANSWER_MS);
        await(p1, 0, VmChanged.class, e -> e.equals(new VmChanged(c.id(), new Versioned<>(c, 0))), ANSWER_MS);
        try (CuratorFramework raw = raw(h().cluster, null)) {
            // entries whose VM has no record: node1 deletes its own, and never another host's
            raw.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL).forPath("/hostvms/node1/ghost-");
            raw.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT_SEQUENTIAL)
                    .forPath("/hostvms/node2/ghost-");
            awaitIndexed(raw, NODE1, List.of("a", "c"));

            await(p9, 0, VmChanged.class, e -> e.equals(new VmChanged(a.id(), new Versioned<>(a, 0))), ANSWER_MS);
            VmRecord moved = vm("a", NODE2, s9);
            assertEquals(WriteOutcome.OK, write(p9, new CoordOp.PutVm(moved, 0)));
            await(p1, 0, VmChanged.class, e -> e.equals(new VmChanged(a.id(), new Versioned<>(moved, 1))), ANSWER_MS);
            awaitIndexed(raw, NODE1, List.of("c"));
            assertEquals(List.of("a", "ghost"), indexed(raw, NODE2), "node2's entries are node2's to delete");
        }
    }

    @Test
    void aLeaderWriteToALiveTargetFindsItsIndexParentAndTheTargetIsPassedOnTheRecord() throws Exception {
        Probe p2 = started(NODE2);
        long s2 = p2.session();
        try (CuratorFramework raw = raw(h().cluster, null)) {
            assertTrue(raw.checkExists().forPath("/hostvms/node2") != null, "made before the session can be live");
        }
        confirmOk(p2);
        Probe p1 = startedWhole(NODE1);
        p1.coordinator().joinElection();
        await(p1, 0, LeadershipChanged.class, LeadershipChanged::leader, ANSWER_MS);
        assertEquals(1, claim(p1));

        VmRecord placed = vm("a", NODE1, p1.session()).placedOn(NODE2, s2, 0, List.of());
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.CheckEpoch(1), new CoordOp.CheckSessionLive(NODE2, s2),
                new CoordOp.PutVm(placed, CoordOp.NEW)));
        await(p2, 0, VmChanged.class, e -> e.equals(new VmChanged(placed.id(), new Versioned<>(placed, 0))), ANSWER_MS);
        // a host that never had a session: its parent is made before the multi
        VmRecord elsewhere = vm("b", NODE9, 99);
        assertEquals(WriteOutcome.OK, write(p1, new CoordOp.CheckEpoch(1), new CoordOp.PutVm(elsewhere, CoordOp.NEW)));
        try (CuratorFramework raw = raw(h().cluster, null)) {
            assertEquals(List.of("a"), indexed(raw, NODE2));
            assertEquals(List.of("b"), indexed(raw, NODE9));
        }
    }

    @Test
    void aRecordWithoutAnEntryIsIndexedByTheLeaderSoTheHostItNamesFindsIt() throws Exception {
        Probe p2 = started(NODE2);
        VmRecord old = vm("a", NODE2, p2.session());
        try (CuratorFramework raw = raw(h().cluster, null)) {
            // as written before the index existed: sealed, with no entry
            raw.create().forPath("/vms/a", h().seal.seal("/vms/a", 0, Json.toBytes(old)));
        }
        confirmOk(p2);
        h.pass(GAP_MS);
        assertFalse(p2.has(0, VmChanged.class, e -> e.vm().equals(old.id())), "no entry, nothing found: " + p2);

        Probe p1 = startedWhole(NODE1);
        p1.coordinator().joinElection();
        await(p1, 0, LeadershipChanged.class, LeadershipChanged::leader, ANSWER_MS);
        await(p2, 0, VmChanged.class, e -> e.equals(new VmChanged(old.id(), new Versioned<>(old, 0))), ANSWER_MS);
        try (CuratorFramework raw = raw(h().cluster, null)) {
            assertEquals(List.of("a"), indexed(raw, NODE2), "one entry, and the leader adds none where there is one");
        }
    }

    /** The VMs of {@code host}'s index entries, in name order (one per entry). */
    private static List<String> indexed(CuratorFramework raw, io.havn.common.model.HostId host) throws Exception {
        if (raw.checkExists().forPath(CoordPaths.hostVmsDir(host)) == null) {
            return List.of();
        }
        return vmsOf(raw.getChildren().forPath(CoordPaths.hostVmsDir(host)));
    }

    private static List<String> vmsOf(List<String> entries) {
        return entries.stream().map(n -> CoordPaths.parseIndexEntry(n).map(VmId::value).orElse("?" + n)).sorted()
                .toList();
    }

    /** Waits, on a watch of the index with a bound, until {@code host}'s entries stand for exactly {@code vms}. */
    private static void awaitIndexed(CuratorFramework raw, io.havn.common.model.HostId host, List<String> vms)
            throws Exception {
        awaitChildren(raw, CoordPaths.hostVmsDir(host), names -> vmsOf(names).equals(vms), ANSWER_MS);
    }

    /** Lists {@code path} with a watch until {@code ok} holds, waiting for each change at most until {@code withinMs} passed. */
    private static void awaitChildren(CuratorFramework raw, String path, Predicate<List<String>> ok, long withinMs)
            throws Exception {
        BlockingQueue<Object> changed = new LinkedBlockingQueue<>();
        CuratorWatcher w = changed::add;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(withinMs);
        while (true) {
            List<String> now = raw.getChildren().usingWatcher(w).forPath(path);
            if (ok.test(now)) {
                return;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || changed.poll(left, TimeUnit.NANOSECONDS) == null) {
                throw new AssertionError(path + " is still " + now + " after " + withinMs + " ms");
            }
        }
    }

    CuratorHarness h() {
        return (CuratorHarness) h;
    }

    // ---------------------------------------------------------------- the harness

    /** Clients of the shared ensemble under {@code /havn/<cluster>}; events arrive on one queue. */
    static final class CuratorHarness implements CoordinationHarness {
        final String cluster;
        final RecordSeal seal;
        private final String credentials;
        private final Arrivals arrivals = new Arrivals();
        private final List<Probe> probes = new ArrayList<>();
        private final Set<InstanceSpec> down = new LinkedHashSet<>();

        CuratorHarness(String cluster, String credentials) {
            this.cluster = cluster;
            this.seal = RecordSeal.fromClusterKey(cluster, KEY);
            this.credentials = credentials;
        }

        @Override
        public long sessionTimeoutMs() {
            return SESSION_TIMEOUT_MS;
        }

        @Override
        public Probe connect(HostId host) {
            Probe p = new Probe(host);
            CuratorCoordinator c = new CuratorCoordinator(ensemble.connectString(), SESSION_TIMEOUT_MS,
                    TlsEnsemble.member(), credentials, cluster, host, seal, arrivals.sinkOf(p));
            c.start();
            p.attach(c, c::close);
            probes.add(p);
            return p;
        }

        @Override
        public boolean awaitUntil(BooleanSupplier condition, long withinMs) {
            return arrivals.awaitUntil(condition, withinMs);
        }

        /** Expires the session on the client side at once; the ensemble expires it a session timeout later. */
        @Override
        public void expire(Probe p) {
            ZooKeeper zk = ((CuratorCoordinator) p.coordinator()).zooKeeper();
            assertTrue(zk != null, p.host + " has no ZooKeeper handle");
            KillSession.kill(zk);
        }

        @Override
        public void crashServer() {
            InstanceSpec leader = ensembleLeader();
            kill(leader);
        }

        @Override
        public void restartServer() {
            restartAll();
        }

        @Override
        public void loseQuorum() {
            List<InstanceSpec> all = new ArrayList<>(CuratorCoordinatorTest.cluster.getInstances());
            kill(all.get(0));
            kill(all.get(1));
        }

        @Override
        public void regainQuorum() {
            restartAll();
        }

        @Override
        public void close() {
            for (Probe p : probes) {
                p.close();
            }
            restartAll();
            for (InstanceSpec s : CuratorCoordinatorTest.cluster.getInstances()) {
                awaitServing(s);
            }
        }

        private void kill(InstanceSpec s) {
            try {
                assertTrue(CuratorCoordinatorTest.cluster.killServer(s), "no server " + s);
                down.add(s);
            } catch (Exception e) {
                ThreadUtils.checkInterrupted(e);
                throw new AssertionError("cannot kill " + s, e);
            }
        }

        private void restartAll() {
            for (InstanceSpec s : new ArrayList<>(down)) {
                try {
                    CuratorCoordinatorTest.cluster.restartServer(s);
                    down.remove(s);
                } catch (Exception e) {
                    ThreadUtils.checkInterrupted(e);
                    throw new AssertionError("cannot restart " + s, e);
                }
            }
        }
    }

    /** The ensemble's current leader, asked with the four-letter word {@code srvr}. */
    static InstanceSpec ensembleLeader() {
        for (InstanceSpec s : cluster.getInstances()) {
            try {
                String srvr = FourLetterWordMain.send4LetterWord(s.getHostname(), s.getPort(), "srvr");
                if (srvr.contains("Mode: leader")) {
                    return s;
                }
            } catch (Exception e) {
                ThreadUtils.checkInterrupted(e);
                // not answering: not the leader
            }
        }
        throw new AssertionError("the ensemble has no leader");
    }

    /** Waits until {@code s} serves clients, which a server does only as part of a quorum. */
    static void awaitServing(InstanceSpec s) {
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = null;
        try {
            zk = new ZooKeeper(s.getConnectString(), 10_000, e -> {
                if (e.getState() == KeeperState.SyncConnected) {
                    connected.countDown();
                }
            });
            assertTrue(connected.await(SERVING_MS, TimeUnit.MILLISECONDS), s + " does not serve");
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            throw new AssertionError("cannot reach " + s, e);
        } finally {
            if (zk != null) {
                try {
                    zk.close();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /** A member's client of the cluster's chroot, outside the adapter, to look at the znodes. */
    static CuratorFramework raw(String clusterName, String credentials) {
        return raw(ensemble.connectString(), clusterName, TlsEnsemble.member(), credentials);
    }

    /** A client of the cluster's chroot on {@code connect}, over TLS as {@code tls} unless null, with digest credentials unless null. */
    static CuratorFramework raw(String connect, String clusterName, ClientTls tls, String credentials) {
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .namespace("havn/" + clusterName)
                .sessionTimeoutMs(SESSION_TIMEOUT_MS)
                .connectionTimeoutMs(SESSION_TIMEOUT_MS)
                .retryPolicy(new RetryNTimes(0, 0));
        if (tls != null) {
            b.zkClientConfig(tls.clientConfig());
        }
        if (credentials != null) {
            b.authorization("digest", credentials.getBytes(StandardCharsets.UTF_8));
        }
        CuratorFramework c = b.build();
        c.start();
        return c;
    }
}
