package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.HostSignal;
import io.havn.common.node.HostSignal.Guard;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.StorageRound;
import io.havn.daemon.watchdog.WatchdogGuard;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One datastore's heartbeat driven by hand: a clock the test moves, an I/O "thread" whose queued
 * rounds the test runs when it wants (a round not run is one that hangs), and slots in memory.
 */
class DatastoreHeartbeatTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final HostId NODE3 = new HostId("node3");
    private static final long INCARNATION = 1_765_000_000_000L;
    private static final long TIMEOUT_MS = 5_000;

    /** Slots in memory; counts the calls; fails them while {@link #failure} is set. */
    static final class MemorySlots implements SlotIo {
        byte[] area = new byte[3 * SlotLayout.SLOT_BYTES];
        int reads;
        int writes;
        int aborts;
        IOException failure;
        /** Run after each write, before the read: another party's write. */
        Runnable between = () -> { };

        @Override
        public byte[] read(int bytes) throws IOException {
            reads++;
            if (failure != null) {
                throw failure;
            }
            return java.util.Arrays.copyOf(area, bytes);
        }

        @Override
        public byte[] writeThenRead(long offset, byte[] slot, int bytes) throws IOException {
            writes++;
            if (failure != null) {
                throw failure;
            }
            System.arraycopy(slot, 0, area, (int) offset, slot.length);
            between.run();
            return java.util.Arrays.copyOf(area, bytes);
        }

        @Override
        public void abort() {
            aborts++;
        }

        @Override
        public void close() {
        }
    }

    private final SlotCodec codec = SlotCodec.fromClusterKey("prod", "vmstore", SlotCodecTest.KEY);
    private final SlotLayout layout = SlotLayout.of(List.of(NODE1, NODE2, NODE3), NODE2);
    private final MemorySlots io = new MemorySlots();
    private final ArrayDeque<Runnable> ioThread = new ArrayDeque<>();
    private final List<NodeEvent> events = new ArrayList<>();
    private final List<String> rounds = new ArrayList<>();
    private long nowNanos = 1_000_000_000L;
    private final DatastoreHeartbeat beat = new DatastoreHeartbeat("vmstore", io, layout, codec,
            now -> new WatchdogGuard.Reading(Guard.ARMED, 4_000, "armed"), INCARNATION, TIMEOUT_MS, events::add,
            (d, ok) -> rounds.add(d + (ok ? " ok" : " failed")), ioThread::add, () -> nowNanos);

    private void advanceMs(long ms) {
        nowNanos += TimeUnit.MILLISECONDS.toNanos(ms);
    }

    /** Runs the round the I/O thread holds. */
    private void runRound() {
        assertEquals(1, ioThread.size(), "one round queued");
        ioThread.poll().run();
    }

    private StorageRound last() {
        return (StorageRound) events.get(events.size() - 1);
    }

    private HostSignal mine(long sequence) {
        return new HostSignal(NODE2, INCARNATION, sequence, Guard.ARMED, 4_000);
    }

    private void put(HostSignal record, int slot) {
        System.arraycopy(codec.encode(record, slot, 3), 0, io.area, slot * SlotLayout.SLOT_BYTES,
                SlotLayout.SLOT_BYTES);
    }

    @Test
    void aRoundWritesWhatTheSignalSaysAndPostsEveryRecordWhoseSealHolds() {
        HostSignal node1 = new HostSignal(NODE1, 5, 77, Guard.RELEASED, 0);
        put(node1, 0);
        byte[] forged = codec.encode(new HostSignal(NODE3, 5, 9, Guard.ARMED, 60_000), 2, 3);
        forged[20] ^= 1;
        System.arraycopy(forged, 0, io.area, 2 * SlotLayout.SLOT_BYTES, forged.length);

        beat.tick();
        runRound();
        assertEquals(List.of(new StorageRound("vmstore", true, null, List.of(node1, mine(1)))), events,
                "node3's record fails its seal: left out");
        assertEquals(List.of("vmstore ok"), rounds);
        assertEquals(new SlotCodec.Slot(SlotCodec.Kind.RECORD, mine(1), 3), codec.decode(io.area, 1),
                "written in its own slot, with the members it counts");

        advanceMs(1_000);
        beat.tick();
        runRound();
        assertEquals(mine(2), last().slots().get(1), "the sequence grows by one per write");
    }

    @Test
    void aRoundThatHangsIsSaidEveryIntervalAbortedAtTheTimeoutAndNoOtherStarts() {
        beat.tick(); // the round hangs: the test does not run it
        advanceMs(1_000);
        beat.tick();
        assertEquals(List.of(new StorageRound("vmstore", false, "no answer from the datastore for 1000 ms",
                List.of())), events);
        assertEquals(1, ioThread.size(), "no second round while the first is in flight");
        assertEquals(0, io.aborts, "not yet at the timeout");
        advanceMs(4_000);
        beat.tick();
        assertEquals(new StorageRound("vmstore", false, "no answer from the datastore for 5000 ms", List.of()), last());
        assertEquals(1, io.aborts, "at the timeout the call is aborted where it can be");
        assertEquals(1, ioThread.size());

        advanceMs(1_000);
        runRound(); // it answers at last, after 6 s
        assertEquals(new StorageRound("vmstore", false, "the datastore answered after 6000 ms, more than "
                + "storageTimeoutMs (5000 ms)", List.of()), last());
        assertEquals(List.of("vmstore failed", "vmstore failed", "vmstore failed"), rounds);
        beat.tick();
        runRound();
        assertTrue(last().ok(), "the next round starts afresh: " + last());
    }

    @Test
    void aFailedRoundSaysWhyAndTheSlotIsLookedAtAgainBeforeTheNextWrite() {
        beat.tick();
        runRound();
        assertEquals(1, io.reads, "its slot looked at before the first write");
        beat.tick();
        runRound();
        assertEquals(1, io.reads, "not before every write");

        io.failure = new IOException("Input/output error");
        beat.tick();
        runRound();
        assertEquals(new StorageRound("vmstore", false, "Input/output error", List.of()), last());
        io.failure = null;
        beat.tick();
        runRound();
        assertEquals(2, io.reads, "looked at again: the device may have changed");
        assertTrue(last().ok(), last().toString());
        assertEquals(mine(4), last().slots().get(0), "the failed round's write counted too");
    }

    @Test
    void dataThatIsNoHavnRecordInItsSlotIsNeverWrittenOver() {
        io.area[SlotLayout.SLOT_BYTES + 510] = 0x55; // a boot sector where node2's slot would be
        io.area[SlotLayout.SLOT_BYTES + 511] = (byte) 0xaa;
        beat.tick();
        runRound();
        StorageRound r = last();
        assertEquals(false, r.ok());
        assertTrue(r.error().startsWith("slot 1 (bytes 4096-8191) of ") && r.error().contains("holds data that is no "
                + "havn storage record: not writing over it"), r.error());
        assertEquals(0, io.writes);
        beat.tick();
        runRound();
        assertEquals(0, io.writes, "nor at the next round");
    }

    @Test
    void aSlotThatDoesNotHoldTheRecordJustWrittenFailsTheRound() {
        HostSignal intruder = new HostSignal(NODE3, 5, 1, Guard.RELEASED, 0);
        io.between = () -> put(intruder, 1); // a host that counts other members writes node2's slot
        beat.tick();
        runRound();
        StorageRound r = last();
        assertEquals(false, r.ok());
        assertTrue(r.error().startsWith("slot 1 does not hold the record just written"), r.error());
    }

    @Test
    void afterCloseNothingIsPosted() {
        beat.tick();
        beat.close();
        runRound();
        advanceMs(1_000);
        beat.tick();
        assertEquals(List.of(), events);
        assertEquals(0, ioThread.size(), "no round started after close");
    }
}
