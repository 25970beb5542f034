package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.StorageRound;
import io.havn.daemon.config.HavnConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The storage heartbeat on a real iSCSI LUN, through qemu-io and QEMU's own initiator: a tgtd of
 * the test's ({@link TgtTarget}). Runs as root where tgt, qemu-utils and qemu-block-extra are
 * installed; skipped, saying which is missing, elsewhere.
 */
class IscsiDatastoreTest {
    @TempDir
    Path dir;

    private TgtTarget target;
    private final List<StorageHeartbeat> running = new java.util.ArrayList<>();

    @BeforeEach
    void startTarget() throws Exception {
        String missing = TgtTarget.unavailable();
        assumeTrue(missing == null, "no iSCSI test: " + missing);
        Path image = Files.write(dir.resolve("heartbeat.img"), new byte[1 << 20]);
        target = TgtTarget.start(dir, image);
    }

    @AfterEach
    void stop() throws Exception {
        running.forEach(StorageHeartbeat::close);
        if (target != null) {
            target.close();
        }
    }

    private HavnConfig config(String host) {
        return HavnConfig.parse("""
                cluster: prod
                host: {name: %s, cpus: 4, memoryMiB: 4096, address: "127.0.0.1:7405"}
                zookeeper: {connect: "127.0.0.1:2181", allowInsecure: true}
                watchdog: {stateFile: "%s/%s/watchdog.state", required: false}
                storage: {hosts: [node1, node2], datastores: [{name: lun1, url: "%s"}]}
                settings: {storageIntervalMs: 200, storageTimeoutMs: 1000}
                """.formatted(host, dir, host, target.url()), host + ".yaml");
    }

    private BlockingQueue<NodeEvent> start(String host, long incarnation) throws Exception {
        BlockingQueue<NodeEvent> rounds = new LinkedBlockingQueue<>();
        StorageHeartbeat h = StorageHeartbeat.open(config(host), SlotCodecTest.KEY, incarnation, rounds::add,
                (d, ok) -> { }, StorageHeartbeat.QEMU_IO, dir);
        running.add(h);
        h.start();
        return rounds;
    }

    private static long qemuIoProcesses() {
        return ProcessHandle.current().descendants()
                .filter(p -> p.isAlive() && p.info().command().orElse("").endsWith("qemu-io")).count();
    }

    @Test
    void twoHostsOnOneLunReadEachOthersRecordsThroughQemuIo() throws Exception {
        BlockingQueue<NodeEvent> one = start("node1", 1);
        BlockingQueue<NodeEvent> two = start("node2", 2);
        Set<HostId> both = Set.of(new HostId("node1"), new HostId("node2"));
        StorageRound r1 = StorageHeartbeatTest.await(one, r -> r.ok() && StorageHeartbeatTest.writers(r).equals(both),
                "a round of node1 with node2's record");
        assertEquals("lun1", r1.datastore());
        StorageHeartbeatTest.await(two, r -> r.ok() && StorageHeartbeatTest.writers(r).equals(both),
                "a round of node2 with node1's record");
    }

    @Test
    void aLunThatHangsFailsEveryIntervalWithOneQemuIoAtMostAndIsReachedAgainWhenItAnswers() throws Exception {
        BlockingQueue<NodeEvent> rounds = start("node1", 1);
        StorageHeartbeatTest.await(rounds, StorageRound::ok, "a round on the LUN");
        target.freeze();
        // a round that began before the freeze may still end well; one whose qemu-io was killed hung on it
        StorageHeartbeatTest.await(rounds, r -> !r.ok() && r.error().equals("no answer from the datastore for 1000 ms "
                + "(qemu-io killed)"), "a round whose qemu-io is killed at the timeout");
        for (int i = 0; i < 8; i++) {
            StorageRound r = StorageHeartbeatTest.await(rounds, x -> true, "a round every interval while it hangs");
            assertTrue(!r.ok(), "no round succeeds while the LUN hangs: " + r);
            assertTrue(qemuIoProcesses() <= 1, "at most one qemu-io in flight: " + qemuIoProcesses());
        }
        target.thaw();
        StorageHeartbeatTest.await(rounds, StorageRound::ok, "a round once the LUN answers again");
    }
}
