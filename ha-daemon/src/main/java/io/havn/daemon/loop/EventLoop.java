package io.havn.daemon.loop;

import io.havn.common.node.Node;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.Clock;
import io.havn.common.port.Scheduler;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one thread that drives a {@link Node}: adapters post events from their own threads with
 * {@link #post}; the node's timers run here too. Nothing else touches the node.
 *
 * <p>Order: between any two tasks the loop takes, first, the heartbeats received (in the order
 * they came), then the timers that are due (the node's tick, which sends this host's heartbeats),
 * then the next of every other event and task, in the order posted. So a backlog of ordinary work
 * (a burst of cluster-state changes, libvirt results, admin requests) delays a heartbeat send by one
 * task at most, not by the whole backlog, while a node stuck in one task sends nothing: the sends
 * run on this thread with the node's own state, so a hung node looks hung to its peers. Heartbeats
 * come before the tick because the tick judges the peers' silence: a heartbeat that was read (and
 * stamped by the transport) must be counted before that judgement. Each is cheap (no effect but a
 * rare alarm), so they cannot starve the tick unless peers send faster than the node counts.
 *
 * <p>The node must never throw; if it does, the event is logged and counted and the loop goes on
 * (a daemon that stops handling events would stop confirming its lease and self-fence, which is
 * the safe outcome anyway, but an exception is a bug to see, not a reason to stop).
 *
 * <p>Adapters start before the node does (the node's start uses them), so events can come before
 * {@link #start}: a peer's heartbeat, the first poll of libvirt. They are kept, up to
 * {@link #EARLY_EVENTS}, and handed to the node right after its start, in the order they came,
 * before anything posted later.
 */
public final class EventLoop implements Clock, Scheduler, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventLoop.class);

    private enum State { LATENT, STARTED, CLOSED }

    /** Events kept before start; more are dropped (and counted as failures): heartbeats come again. */
    static final int EARLY_EVENTS = 1024;
    /** How long {@link #close} waits for the thread to finish what was queued. */
    static final long CLOSE_WAIT_MS = 5_000;

    private final String name;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final AtomicLong failures = new AtomicLong();
    /** Where posted events go once started (the node's driver); null before. */
    private volatile Consumer<NodeEvent> handler;
    /** Events posted before start, guarded by itself; handed over and emptied by start. */
    private final List<NodeEvent> early = new ArrayList<>();

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    // the three lanes, guarded by lock; see the class comment for the order they are taken in
    private final ArrayDeque<Runnable> heartbeats = new ArrayDeque<>();
    private final PriorityQueue<Timer> timers = new PriorityQueue<>();
    private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
    private long timerSequence;
    /** Set by close: finish what is queued (timers aside) and end. */
    private boolean draining;
    /** Started at the first task, so a loop never used holds no thread. */
    private Thread thread;
    /** What close queues for the node once started: the node's stop. */
    private volatile Runnable stopNode = () -> { };

    public EventLoop(String name) {
        this.name = name;
    }

    /** A timer: due at {@code dueNanos}, ties in the order scheduled. */
    private record Timer(long dueNanos, long sequence, Runnable task) implements Comparable<Timer> {
        @Override
        public int compareTo(Timer o) {
            int c = Long.compare(dueNanos - o.dueNanos, 0); // monotonic times compare by difference
            return c != 0 ? c : Long.compare(sequence, o.sequence);
        }
    }

    /**
     * Binds the node this loop drives (through the driver that carries its effects out) and starts
     * it on the loop's thread, then hands it the events posted before. Once only.
     */
    public void start(NodeDriver n) {
        start(() -> n.start(), e -> n.handle(e), () -> n.node().stop());
    }

    /**
     * As {@link #start(NodeDriver)}: {@code start} runs first, then {@code handler} takes every
     * event; {@link #close} runs {@code stop} after what was queued.
     */
    void start(Runnable start, Consumer<NodeEvent> handler, Runnable stop) {
        synchronized (early) {
            if (!state.compareAndSet(State.LATENT, State.STARTED)) {
                throw new IllegalStateException("event loop already started or closed");
            }
            List<NodeEvent> before = List.copyOf(early);
            early.clear();
            // in the first lane, so that nothing posted from now on reaches the node before its start
            enqueue(heartbeats, () -> {
                guarded(start);
                before.forEach(e -> guarded(() -> handler.accept(e)));
            });
            this.stopNode = stop;
            this.handler = handler;
        }
    }

    /** Hands an event to the node, on the loop's thread (kept until start). Thread-safe; never blocks. */
    public void post(NodeEvent event) {
        Consumer<NodeEvent> h = handler;
        if (h == null) {
            synchronized (early) {
                h = handler;
                if (h == null) {
                    if (state.get() != State.LATENT) {
                        return; // closed before it started
                    }
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
        Consumer<NodeEvent> to = h;
        enqueue(event instanceof NodeEvent.HeartbeatReceived ? heartbeats : tasks, () -> to.accept(event));
    }

    /** The sink adapters post to. */
    public Consumer<NodeEvent> sink() {
        return this::post;
    }

    /** Runs {@code task} on the loop's thread, in order with posted events (dropped once closed). */
    public void run(Runnable task) {
        enqueue(tasks, task);
    }

    private void enqueue(ArrayDeque<Runnable> lane, Runnable task) {
        lock.lock();
        try {
            if (state.get() == State.CLOSED) {
                return;
            }
            lane.add(task);
            wake();
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock: starts the thread if needed and tells it there is work. */
    private void wake() {
        if (thread == null) {
            thread = new Thread(this::loop, name);
            thread.setDaemon(false);
            thread.start();
        }
        work.signal();
    }

    @Override
    public long nanos() {
        return System.nanoTime();
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
        lock.lock();
        try {
            if (state.get() == State.CLOSED) {
                return () -> { };
            }
            Timer t = new Timer(nanos() + Math.max(0, delayNanos), timerSequence++, task);
            timers.add(t);
            wake();
            return () -> {
                lock.lock();
                try {
                    timers.remove(t);
                } finally {
                    lock.unlock();
                }
            };
        } finally {
            lock.unlock();
        }
    }

    /** The loop's thread: takes the next task in lane order, or waits for one (or for a timer to fall due). */
    private void loop() {
        while (true) {
            Runnable next;
            lock.lock();
            try {
                next = next();
            } catch (InterruptedException e) {
                return; // close gave up waiting for what was queued
            } finally {
                lock.unlock();
            }
            if (next == null) {
                return;
            }
            guarded(next);
        }
    }

    /** Under the lock: the next task, waiting for one; null once closed and drained. */
    private Runnable next() throws InterruptedException {
        while (true) {
            Runnable r = heartbeats.poll();
            if (r != null) {
                return r;
            }
            Timer t = timers.peek();
            long wait = Long.MAX_VALUE;
            if (t != null && !draining) {
                wait = t.dueNanos - nanos();
                if (wait <= 0) {
                    return timers.poll().task;
                }
            }
            r = tasks.poll();
            if (r != null) {
                return r;
            }
            if (draining) {
                return null;
            }
            if (wait == Long.MAX_VALUE) {
                work.await();
            } else {
                work.awaitNanos(wait);
            }
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

    /** How many events or timers threw. */
    public long failures() {
        return failures.get();
    }

    /**
     * Stops the node (on its thread, after what was already queued), drops the timers and ends the
     * thread; waits at most {@link #CLOSE_WAIT_MS} for it, then interrupts it. Idempotent.
     */
    @Override
    public void close() {
        Thread t;
        lock.lock();
        try {
            if (state.getAndSet(State.CLOSED) == State.CLOSED) {
                return;
            }
            if (handler != null) {
                tasks.add(stopNode);
            }
            draining = true;
            timers.clear();
            t = thread;
            if (t != null) {
                work.signal();
            }
        } finally {
            lock.unlock();
        }
        if (t == null || t == Thread.currentThread()) {
            return;
        }
        try {
            t.join(CLOSE_WAIT_MS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            t.interrupt();
        }
    }
}
