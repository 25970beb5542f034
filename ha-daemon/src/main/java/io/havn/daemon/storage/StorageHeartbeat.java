package io.havn.daemon.storage;

import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.watchdog.WatchdogGuard;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage heartbeat of this host: one {@link DatastoreHeartbeat} per configured datastore
 * ({@code storage.datastores}), each with an I/O thread of its own, so that a datastore that hangs
 * holds up neither the node's event loop nor another datastore. One ticker thread, which never
 * blocks, starts their rounds every {@code settings.storageIntervalMs}. Every round ends in a
 * {@code NodeEvent.StorageRound} on the sink, and in the {@link Rounds} listener (the metrics).
 *
 * <p>Lifecycle: LATENT until {@link #start} (once), CLOSED after {@link #close}, which stops the
 * ticks and posts nothing more; a round the kernel holds is left to end on its daemon thread.
 */
public final class StorageHeartbeat implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StorageHeartbeat.class);

    /** Told the outcome of every round: whether this host reached the datastore. */
    @FunctionalInterface
    public interface Rounds {
        void round(String datastore, boolean ok);
    }

    /** The qemu-io program datastores given by URL are reached through (Debian: qemu-utils). */
    public static final Path QEMU_IO = QemuIoSlots.QEMU_IO;

    private enum State { LATENT, STARTED, CLOSED }

    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final List<DatastoreHeartbeat> datastores;
    private final List<SlotIo> ios;
    private final List<ExecutorService> ioThreads;
    private final ScheduledExecutorService ticker;
    private final long intervalMs;

    private StorageHeartbeat(List<DatastoreHeartbeat> datastores, List<SlotIo> ios, List<ExecutorService> ioThreads,
                             long intervalMs) {
        this.datastores = List.copyOf(datastores);
        this.ios = List.copyOf(ios);
        this.ioThreads = List.copyOf(ioThreads);
        this.intervalMs = intervalMs;
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "havn-storage-tick"));
    }

    /**
     * The heartbeat {@code cfg} describes (it must name at least one datastore): its datastores, the
     * members that share them, the watchdog state file its records speak of, and the timings.
     *
     * @param clusterKey  the cluster key (the heartbeat key file's content; not kept)
     * @param incarnation the daemon's incarnation, which every record carries
     * @param sink        where the rounds go (the node's event loop); thread-safe
     * @param qemuIo      the qemu-io program, for datastores given by URL
     * @param scratch     a private directory for qemu-io's files (the daemon's /tmp)
     */
    public static StorageHeartbeat open(HavnConfig cfg, byte[] clusterKey, long incarnation, Consumer<NodeEvent> sink,
                                        Rounds rounds, Path qemuIo, Path scratch) throws IOException {
        HavnConfig.Storage storage = cfg.storage();
        if (storage.datastores().isEmpty()) {
            throw new IllegalArgumentException("no storage.datastores: no storage heartbeat to run");
        }
        HostId self = cfg.host().name();
        SlotLayout layout = SlotLayout.of(storage.hosts(), self);
        WatchdogGuard guard = new WatchdogGuard(cfg.watchdog().stateFile());
        long timeoutMs = cfg.settings().storageTimeoutMs();
        List<DatastoreHeartbeat> beats = new ArrayList<>();
        List<SlotIo> ios = new ArrayList<>();
        List<ExecutorService> threads = new ArrayList<>();
        try {
            for (HavnConfig.Storage.Datastore d : storage.datastores()) {
                SlotIo io = d.path() != null ? new FileSlots(d.name(), d.path())
                        : new QemuIoSlots(d.name(), qemuIo, d.url(), timeoutMs, scratch);
                ios.add(io);
                ExecutorService thread = Executors.newSingleThreadExecutor(r -> daemon(r, "havn-storage-" + d.name()));
                threads.add(thread);
                beats.add(new DatastoreHeartbeat(d.name(), io, layout,
                        SlotCodec.fromClusterKey(cfg.cluster(), d.name(), clusterKey), guard::read, incarnation,
                        timeoutMs, sink, rounds, thread, System::nanoTime));
            }
        } catch (IOException | RuntimeException e) {
            ios.forEach(SlotIo::close);
            threads.forEach(ExecutorService::shutdownNow);
            throw e;
        }
        LOG.info("storage heartbeat of {}: slot {} of {} ({}), every {} ms on {}", self, layout.self(), layout.slots(),
                layout.members(), cfg.settings().storageIntervalMs(), storage.datastores().stream()
                        .map(d -> d.name() + " (" + d.where() + ")").toList());
        return new StorageHeartbeat(beats, ios, threads, cfg.settings().storageIntervalMs());
    }

    /** The datastores' names, in the config's order. */
    public List<String> datastores() {
        return datastores.stream().map(DatastoreHeartbeat::name).toList();
    }

    /** Starts the rounds: the first at once, then every interval. */
    public void start() {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("the storage heartbeat cannot be started more than once");
        }
        for (DatastoreHeartbeat d : datastores) {
            ticker.scheduleAtFixedRate(() -> {
                try {
                    d.tick();
                } catch (RuntimeException e) {
                    LOG.error("storage heartbeat {}: a tick failed", d.name(), e); // the next tick tries again
                }
            }, 0, intervalMs, TimeUnit.MILLISECONDS);
        }
    }

    /** Stops the ticks and the rounds; nothing is posted afterwards. A second call does nothing. */
    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) == State.CLOSED) {
            return;
        }
        ticker.shutdownNow();
        datastores.forEach(DatastoreHeartbeat::close);
        ios.forEach(SlotIo::close);
        ioThreads.forEach(ExecutorService::shutdownNow);
        // a round under way ends before close returns, so that nothing of this heartbeat touches its
        // files afterwards; bounded, since a round stuck on a hung datastore must not hold the shutdown
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MS);
        List<ExecutorService> all = new ArrayList<>(ioThreads);
        all.add(ticker);
        for (ExecutorService e : all) {
            try {
                if (!e.awaitTermination(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                    LOG.warn("storage heartbeat: a thread still runs {} ms after close (a round stuck on its datastore)",
                            CLOSE_WAIT_MS);
                    return;
                }
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** How long {@link #close} waits for a round under way to end. */
    static final long CLOSE_WAIT_MS = 2_000;

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    @Override
    public String toString() {
        return "StorageHeartbeat" + datastores();
    }
}
