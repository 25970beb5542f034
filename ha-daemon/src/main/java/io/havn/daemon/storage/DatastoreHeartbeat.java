package io.havn.daemon.storage;

import io.havn.common.node.HostSignal;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.watchdog.WatchdogGuard;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongFunction;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage heartbeat on one datastore. At every {@link #tick} (each {@code storageIntervalMs})
 * it starts a round on the datastore's own I/O thread: it builds this host's record, what havn's
 * signal says of the host ({@link WatchdogGuard}: the guard, with the time left until the published
 * deadline when armed), with the daemon's incarnation and a sequence growing by one per write;
 * seals it ({@link SlotCodec}); writes its slot; reads every slot; and posts
 * {@code StorageRound(datastore, ok, error, slots)} with the records whose seal holds, its own
 * included. {@code ok}: the write and the read completed within {@code storageTimeoutMs}.
 *
 * <p>At most one round is in flight: a tick that finds the last one still running starts none, and
 * posts {@code StorageRound(datastore, false, "no answer from the datastore for N ms", [])}; once the
 * round has run for {@code storageTimeoutMs} it is aborted where that can be done ({@link
 * SlotIo#abort}: a qemu-io process is killed). A round that ends after that is posted as failed.
 * So a hung datastore costs one thread, never more, and the node hears of it every interval.
 *
 * <p>Before its first write, and after every failed round, it reads the area and looks at its own
 * slot: data that is no havn storage record there (a wrong device named) is never written over.
 * What the slots say of the other hosts' configuration (a slot holding another host than its place
 * says, a host that counts other members) is logged, once each.
 *
 * <p>Threading: {@link #tick} on the ticker's thread, rounds on the I/O executor; events go to the
 * sink from both, which must be thread-safe.
 */
final class DatastoreHeartbeat {
    private static final Logger LOG = LoggerFactory.getLogger(DatastoreHeartbeat.class);

    private final String name;
    private final SlotIo io;
    private final SlotLayout layout;
    private final SlotCodec codec;
    private final LongFunction<WatchdogGuard.Reading> guard;
    private final long incarnation;
    private final long timeoutMs;
    private final Consumer<NodeEvent> sink;
    private final StorageHeartbeat.Rounds rounds;
    private final Executor ioThread;
    private final LongSupplier nanos;

    // guarded by this
    private boolean inFlight;
    private long inFlightSince;
    private boolean closed;
    /** The failure last logged, until a round succeeds; null while none is. */
    private String failing;

    // the I/O thread's
    private long sequence;
    private boolean verified;
    private Set<String> noted = Set.of();

    /**
     * @param guard       what the watchdog enforces at a CLOCK_MONOTONIC time ({@link WatchdogGuard#read})
     * @param incarnation the daemon's incarnation
     * @param timeoutMs   {@code settings.storageTimeoutMs}: the most one round may take
     * @param ioThread    the datastore's own thread (one; rounds never overlap)
     * @param nanos       CLOCK_MONOTONIC
     */
    DatastoreHeartbeat(String name, SlotIo io, SlotLayout layout, SlotCodec codec,
                       LongFunction<WatchdogGuard.Reading> guard, long incarnation, long timeoutMs,
                       Consumer<NodeEvent> sink, StorageHeartbeat.Rounds rounds, Executor ioThread, LongSupplier nanos) {
        this.name = Objects.requireNonNull(name, "name");
        this.io = Objects.requireNonNull(io, "io");
        this.layout = Objects.requireNonNull(layout, "layout");
        this.codec = Objects.requireNonNull(codec, "codec");
        this.guard = Objects.requireNonNull(guard, "guard");
        if (incarnation <= 0) {
            throw new IllegalArgumentException("incarnation must be positive, got " + incarnation);
        }
        this.incarnation = incarnation;
        if (timeoutMs < 1) {
            throw new IllegalArgumentException("timeoutMs must be positive, got " + timeoutMs);
        }
        this.timeoutMs = timeoutMs;
        this.sink = Objects.requireNonNull(sink, "sink");
        this.rounds = Objects.requireNonNull(rounds, "rounds");
        this.ioThread = Objects.requireNonNull(ioThread, "ioThread");
        this.nanos = Objects.requireNonNull(nanos, "nanos");
    }

    String name() {
        return name;
    }

    /** One interval: starts a round, or says that the last one has not answered yet. */
    void tick() {
        long now = nanos.getAsLong();
        synchronized (this) {
            if (closed) {
                return;
            }
            if (inFlight) {
                long waited = TimeUnit.NANOSECONDS.toMillis(now - inFlightSince);
                if (waited >= timeoutMs) {
                    io.abort(); // a qemu-io is killed; a read the kernel holds goes on
                }
                // a round slower than an interval is said at once, but logged only once it is lost
                report(false, "no answer from the datastore for " + waited + " ms", List.of(), waited < timeoutMs);
                return;
            }
            inFlight = true;
            inFlightSince = now;
        }
        try {
            ioThread.execute(() -> round(now));
        } catch (RejectedExecutionException e) {
            synchronized (this) {
                inFlight = false; // closing
            }
        }
    }

    /** Stops: no round starts and nothing is posted afterwards. */
    synchronized void close() {
        closed = true;
    }

    private void round(long started) {
        List<HostSignal> slots = null;
        String error = null;
        try {
            slots = exchange();
        } catch (IOException | RuntimeException e) {
            error = e.getMessage() == null ? e.toString() : e.getMessage();
            verified = false; // the device may have changed under us: look at the slot again before writing
        }
        long took = TimeUnit.NANOSECONDS.toMillis(nanos.getAsLong() - started);
        synchronized (this) {
            inFlight = false;
            if (closed) {
                return;
            }
            if (error != null) {
                report(false, error, List.of(), false);
            } else if (took > timeoutMs) {
                report(false, "the datastore answered after " + took + " ms, more than storageTimeoutMs ("
                        + timeoutMs + " ms)", List.of(), false);
            } else {
                report(true, null, slots, false);
            }
        }
    }

    /** Writes this host's record and reads every slot; the records whose seal holds. */
    private List<HostSignal> exchange() throws IOException {
        int bytes = layout.areaBytes();
        int self = layout.self();
        if (!verified) {
            SlotCodec.Kind k = codec.decode(io.read(bytes), self).kind();
            if (k == SlotCodec.Kind.FOREIGN) {
                throw new IOException("slot " + self + " (bytes " + layout.offset(self) + "-"
                        + (layout.offset(self) + SlotLayout.SLOT_BYTES - 1) + ") of " + io + " holds data that is no "
                        + "havn storage record: not writing over it. Is it the right device or file? Zeros there "
                        + "let havn use it");
            }
            verified = true;
        }
        WatchdogGuard.Reading g = guard.apply(nanos.getAsLong());
        HostSignal mine = new HostSignal(layout.host(), incarnation, ++sequence, g.guard(), g.remainingMs());
        byte[] area = io.writeThenRead(layout.offset(self), codec.encode(mine, self, layout.slots()), bytes);
        Set<String> notes = new LinkedHashSet<>();
        List<HostSignal> out = new ArrayList<>();
        for (int i = 0; i < layout.slots(); i++) {
            SlotCodec.Slot s = codec.decode(area, i);
            switch (s.kind()) {
                case RECORD -> {
                    out.add(s.record());
                    if (!s.record().from().equals(layout.members().get(i))) {
                        notes.add("slot " + i + " holds " + s.record().from() + "'s record, where "
                                + layout.members().get(i) + "'s belongs: storage.hosts differs between the hosts");
                    } else if (s.members() != layout.slots()) {
                        notes.add(s.record().from() + " counts " + s.members() + " hosts sharing the datastore, this "
                                + "host " + layout.slots() + ": storage.hosts differs between the hosts");
                    }
                }
                case BAD_SEAL -> notes.add("slot " + i + " holds a record whose seal fails (another cluster's or "
                        + "key's, or forged): ignored");
                case MALFORMED -> notes.add("slot " + i + " holds a record this havn cannot read: ignored");
                case FOREIGN -> notes.add("slot " + i + " holds data that is no havn storage record: ignored");
                case EMPTY -> { }
            }
        }
        for (String n : notes) {
            if (!noted.contains(n)) {
                LOG.warn("storage heartbeat {} on {}: {}", name, io, n);
            }
        }
        noted = notes;
        if (!out.contains(mine)) {
            throw new IOException("slot " + self + " does not hold the record just written: another host writes "
                    + "there (storage.hosts differs between the hosts?), or a cache hides the writes");
        }
        return out;
    }

    /**
     * Posts one round; logs when the datastore starts failing and when it works again, but not a
     * round that is only slow ({@code slow}: unanswered for less than the timeout). Under the lock.
     */
    private void report(boolean ok, String error, List<HostSignal> slots, boolean slow) {
        if (!ok && !slow && failing == null) {
            LOG.warn("storage heartbeat {} on {} fails: {}", name, io, error);
            failing = error;
        } else if (ok && failing != null) {
            LOG.info("storage heartbeat {} on {} works again", name, io);
            failing = null;
        }
        try {
            sink.accept(new NodeEvent.StorageRound(name, ok, error, slots));
        } catch (RuntimeException e) {
            LOG.error("the event sink refused a storage round of {}", name, e);
        }
        rounds.round(name, ok);
    }
}
