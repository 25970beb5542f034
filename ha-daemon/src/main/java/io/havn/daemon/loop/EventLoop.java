package io.havn.daemon.loop;

import io.havn.common.node.Node;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.Clock;
import io.havn.common.port.Scheduler;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that drives a {@link Node}: adapters post events from their own threads with
 * {@link #post}; the node's timers run here too. Nothing else touches the node.
 *
 * <p>The node must never throw; if it does, the event is logged and counted and the loop goes on
 * (a daemon that stops handling events would stop confirming its lease and self-fence, which is
 * the safe outcome anyway, but an exception is a bug to see, not a reason to stop).
 *
 * <p>Adapters start before the node does (the node's start uses them), so events can come before
 * {@link #start}: a peer's heartbeat, the first poll of libvirt. They are kept, up to
 * {@link #EARLY_EVENTS}, and handed to the node right after its start, in the order they came.
 */
public final class EventLoop implements Clock, Scheduler, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);

    private enum State { LATENT, STARTED, CLOSED }

    /** Events kept before start; more are dropped (and counted as failures): heartbeats come again. */
    static final int EARLY_EVENTS = 1024;

    private final ScheduledThreadPoolExecutor executor;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final AtomicLong failures = new AtomicLong();
    private volatile NodeDriver node;
    /** Events posted before start, guarded by itself; handed over and emptied by start. */
    private final List<NodeEvent> early = new ArrayList<>();

    public EventLoop(String name) {
        executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(false);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
    }

    /**
     * Binds the node this loop drives (through the driver that carries its effects out) and starts
     * it on the loop's thread, then hands it the events posted before. Once only.
     */
    public void start(NodeDriver n) {
        synchronized (early) {
            if (!state.compareAndSet(State.LATENT, State.STARTED)) {
                throw new IllegalStateException("event loop already started or closed");
            }
            this.node = n;
            run(n::start);
            early.forEach(e -> run(() -> n.handle(e)));
            early.clear();
        }
    }

    /** Hands an event to the node, on the loop's thread (kept until start). Thread-safe; never blocks. */
    public void post(NodeEvent event) {
        if (node == null) {
            synchronized (early) {
                if (state.get() == State.LATENT) {
                    if (early.size() < EARLY_EVENTS) {
                        early.add(event);
                    } else {
                        failures.incrementAndGet();
                        LOG.warn("dropping {}: {} events already wait for the node to start", event, EARLY_EVENTS);
                    }
                    return;
                }
            }
        }
        run(() -> node.handle(event));
    }

    /** The sink adapters post to. */
    public Consumer<NodeEvent> sink() {
        return this::post;
    }

    /** Runs {@code task} on the loop's thread (dropped once closed). */
    public void run(Runnable task) {
        if (state.get() == State.CLOSED) {
            return;
        }
        try {
            executor.execute(() -> guarded(task));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closed meanwhile
        }
    }

    private void guarded(Runnable task) {
        try {
            task.run();
        } catch (RuntimeException e) {
            failures.incrementAndGet();
            LOG.error("the node threw while handling an event; continuing", e);
        }
    }

    @Override
    public long nanos() {
        return System.nanoTime();
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
        if (state.get() == State.CLOSED) {
            return () -> { };
        }
        try {
            ScheduledFuture<?> f = executor.schedule(() -> guarded(task), Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
            return () -> f.cancel(false);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return () -> { };
        }
    }

    /** How many events or timers threw. */
    public long failures() {
        return failures.get();
    }

    /** The executor, for adapters that want to run small tasks on the loop (tests). */
    ScheduledExecutorService executor() {
        return executor;
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) == State.CLOSED) {
            return;
        }
        NodeDriver n = node;
        if (n != null) {
            executor.execute(n.node()::stop);
        }
        executor.shutdown();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            executor.shutdownNow();
        }
    }
}
