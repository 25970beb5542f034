package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.havn.common.model.HostId;
import io.havn.common.node.HostSignal;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.StorageRound;
import io.havn.daemon.config.HavnConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hosts' storage heartbeats on real files with their own threads: each instance is one host's
 * daemon, its rounds read from a queue with a bounded wait.
 */
class StorageHeartbeatTest {
    static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    private final List<StorageHeartbeat> running = new java.util.ArrayList<>();

    @AfterEach
    void stop() {
        running.forEach(StorageHeartbeat::close);
    }

    /** The config of {@code host} in cluster {@code cluster} with {@code storage} (YAML flow mapping). */
    static HavnConfig config(Path dir, String cluster, String host, String storage) {
        return HavnConfig.parse("""
                cluster: %s
                host: {name: %s, cpus: 4, memoryMiB: 4096, address: "127.0.0.1:7405"}
                zookeeper: {connect: "127.0.0.1:2181", allowInsecure: true}
                watchdog: {stateFile: "%s/%s/watchdog.state", required: false}
                storage: %s
                settings: {storageIntervalMs: 50, storageTimeoutMs: 2000}
                """.formatted(cluster, host, dir, host, storage), host + ".yaml");
    }

    /** A heartbeat for {@code cfg}, started, whose rounds go to {@code rounds}. */
    StorageHeartbeat start(HavnConfig cfg, BlockingQueue<NodeEvent> rounds, long incarnation) throws Exception {
        StorageHeartbeat h = StorageHeartbeat.open(cfg, SlotCodecTest.KEY, incarnation, rounds::add, (d, ok) -> { },
                StorageHeartbeat.QEMU_IO, dir);
        running.add(h);
        h.start();
        return h;
    }

    /** The first round on {@code queue} that {@code match} accepts, waiting at most {@link #WAIT}. */
    static StorageRound await(BlockingQueue<NodeEvent> queue, Predicate<StorageRound> match, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        List<StorageRound> seen = new java.util.ArrayList<>();
        for (long left = WAIT.toNanos(); left > 0; left = deadline - System.nanoTime()) {
            NodeEvent e = queue.poll(left, TimeUnit.NANOSECONDS);
            if (e == null) {
                break;
            }
            StorageRound r = (StorageRound) e;
            if (match.test(r)) {
                return r;
            }
            if (seen.size() < 5) {
                seen.add(r);
            }
        }
        return fail("no " + what + " within " + WAIT.toMillis() + " ms; first rounds seen: " + seen);
    }

    static Set<HostId> writers(StorageRound r) {
        return r.slots().stream().map(HostSignal::from).collect(Collectors.toSet());
    }

    @Test
    void hostsOnOneFileReadEachOthersRecordsAndAHostOnAnotherFileDoesNot() throws Exception {
        String shared = "{hosts: [node1, node2, node3], datastores: [{name: vmstore, path: \"" + dir.resolve("shared")
                + "\"}]}";
        BlockingQueue<NodeEvent> one = new LinkedBlockingQueue<>();
        BlockingQueue<NodeEvent> two = new LinkedBlockingQueue<>();
        BlockingQueue<NodeEvent> three = new LinkedBlockingQueue<>();
        start(config(dir, "prod", "node1", shared), one, 11);
        start(config(dir, "prod", "node2", shared), two, 22);
        start(config(dir, "prod", "node3", "{hosts: [node1, node2, node3], datastores: [{name: vmstore, path: \""
                + dir.resolve("elsewhere") + "\"}]}"), three, 33);

        Set<HostId> both = Set.of(new HostId("node1"), new HostId("node2"));
        StorageRound r1 = await(one, r -> r.ok() && writers(r).equals(both), "a round of node1 with node2's record");
        StorageRound r2 = await(two, r -> r.ok() && writers(r).equals(both), "a round of node2 with node1's record");
        assertEquals("vmstore", r1.datastore());
        HostSignal node2 = r1.slots().stream().filter(s -> s.from().equals(new HostId("node2"))).findFirst().get();
        assertEquals(22, node2.incarnation(), "node2's daemon's incarnation");
        assertEquals(HostSignal.Guard.RELEASED, node2.guard(), "nothing published on node2: its signal says released");
        assertTrue(r2.slots().stream().anyMatch(s -> s.from().equals(new HostId("node1")) && s.incarnation() == 11));

        StorageRound later = await(one, r -> r.ok() && writers(r).equals(both), "a later round of node1");
        HostSignal mine = later.slots().stream().filter(s -> s.from().equals(new HostId("node1"))).findFirst().get();
        assertTrue(mine.sequence() > 1, "node1 writes again every interval: " + mine);

        for (int i = 0; i < 5; i++) {
            StorageRound r = await(three, StorageRound::ok, "a round of node3");
            assertEquals(Set.of(new HostId("node3")), writers(r), "node3 shares no datastore with them");
        }
    }

    @Test
    void anotherClustersRecordsOnTheSameFileAreIgnored() throws Exception {
        String shared = "{hosts: [node1, node2], datastores: [{name: vmstore, path: \"" + dir.resolve("shared") + "\"}]}";
        BlockingQueue<NodeEvent> prod = new LinkedBlockingQueue<>();
        BlockingQueue<NodeEvent> test = new LinkedBlockingQueue<>();
        start(config(dir, "prod", "node1", shared), prod, 1);
        start(config(dir, "test", "node2", shared), test, 2);
        await(test, r -> r.ok() && r.slots().size() == 1, "a round of test's node2");
        for (int i = 0; i < 5; i++) {
            StorageRound r = await(prod, StorageRound::ok, "a round of prod's node1");
            assertEquals(Set.of(new HostId("node1")), writers(r), "test's record in slot 1 fails prod's seal");
        }
    }

    @Test
    void aDatastoreThatCannotBeReachedFailsEveryRoundSayingWhy() throws Exception {
        BlockingQueue<NodeEvent> rounds = new LinkedBlockingQueue<>();
        start(config(dir, "prod", "node1", "{hosts: [node1], datastores: [{name: vmstore, path: \""
                + dir.resolve("not-mounted/heartbeat") + "\"}]}"), rounds, 1);
        for (int i = 0; i < 3; i++) {
            StorageRound r = await(rounds, x -> true, "a round");
            assertFalse(r.ok(), r.toString());
            assertTrue(r.error().contains("not-mounted"), r.error());
            assertEquals(List.of(), r.slots());
        }
    }

    @Test
    void startIsOnceAndAConfigWithoutDatastoresHasNoHeartbeat() throws Exception {
        StorageHeartbeat h = start(config(dir, "prod", "node1", "{hosts: [node1], datastores: [{name: vmstore, path: \""
                + dir.resolve("hb") + "\"}]}"), new LinkedBlockingQueue<>(), 1);
        assertThrows(IllegalStateException.class, h::start);
        assertEquals(List.of("vmstore"), h.datastores());
        h.close();
        h.close();
        assertThrows(IllegalArgumentException.class, () -> StorageHeartbeat.open(config(dir, "prod", "node1", "{}"),
                SlotCodecTest.KEY, 1, e -> { }, (d, ok) -> { }, StorageHeartbeat.QEMU_IO, dir));
    }
}
