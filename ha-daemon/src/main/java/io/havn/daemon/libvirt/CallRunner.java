package io.havn.daemon.libvirt;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.libvirt.LibvirtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs libvirt calls on a bounded pool of workers, each with a deadline, and reports each call's
 * outcome exactly once.
 *
 * <p>The deadline counts from submission, so a call stuck in the queue behind hung ones fails too,
 * and a call whose deadline passed before a worker took it is never run (a START the node was told
 * failed must not start anything later): its failure is definite, not {@code timedOut}. A call that
 * hangs in libvirt (dead storage) cannot be interrupted: its worker stays busy until libvirt
 * returns, possibly forever, and the pool is one worker smaller meanwhile. Its failure says
 * {@code timedOut} (the call may still complete), and if it does return, its result goes to the
 * {@code late} callback. When every worker hangs and the queue is full, calls are rejected at once.
 *
 * <p>Threading: {@code done} and {@code late} run on a worker, on the timer thread (deadline) or,
 * for a rejection, on the caller's thread; they must not block.
 */
final class CallRunner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CallRunner.class);

    /** Runs on the worker before each call; tests block in it to make a call hang. */
    @FunctionalInterface
    interface Hook {
        Hook NONE = call -> { };

        void before(String call) throws InterruptedException;
    }

    /**
     * A call's outcome: a value, or an error text. {@code timedOut}: the deadline ended the wait
     * while the call was inside libvirt, so it may still complete (and its outcome then goes to
     * {@code late}).
     */
    record Result<T>(T value, String error, boolean timedOut) {
        static <T> Result<T> ok(T value) {
            return new Result<>(value, null, false);
        }

        static <T> Result<T> failed(String error) {
            return new Result<>(null, error, false);
        }

        boolean ok() {
            return error == null;
        }
    }

    // the phases of one call; each ends in exactly one report to done (ABANDONED, TIMED_OUT, FINISHED)
    private static final int QUEUED = 0;
    private static final int RUNNING = 1;
    private static final int ABANDONED = 2;
    private static final int TIMED_OUT = 3;
    private static final int FINISHED = 4;

    /** How long closing waits for running calls to end. */
    static final long CLOSE_WAIT_MS = 1_000;

    private final LibvirtConnection connection;
    private final ThreadPoolExecutor workers;
    private final ScheduledThreadPoolExecutor timer;
    private final long timeoutMs;
    private final int queueCapacity;
    private final Hook hook;

    CallRunner(LibvirtConnection connection, long timeoutMs, int workerCount, int queueCapacity, Hook hook) {
        this.connection = connection;
        this.timeoutMs = timeoutMs;
        this.queueCapacity = queueCapacity;
        this.hook = hook;
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(workerCount, workerCount, 60, TimeUnit.SECONDS,
                new ArrayBlockingQueue<>(queueCapacity), r -> daemon(r, "havn-libvirt-" + n.incrementAndGet()),
                new ThreadPoolExecutor.AbortPolicy());
        workers.allowCoreThreadTimeOut(true);
        this.timer = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "havn-libvirt-timer"));
        timer.setRemoveOnCancelPolicy(true);
        timer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * Runs {@code call} on a worker; {@code done} gets its outcome within the timeout (a failure
     * when it timed out, waited out its deadline in the queue or could not be queued), {@code late}
     * the outcome of a call that returned after a {@code timedOut} failure had been reported.
     */
    <T> void run(String name, LibvirtCall<T> call, Consumer<Result<T>> done, Consumer<Result<T>> late) {
        AtomicInteger phase = new AtomicInteger(QUEUED);
        ScheduledFuture<?> deadline;
        try {
            deadline = timer.schedule(() -> {
                if (phase.compareAndSet(QUEUED, ABANDONED)) {
                    LOG.warn("libvirt call '{}' waited {} ms for a worker; it is not run", name, timeoutMs);
                    deliver(done, Result.failed("timed out after " + timeoutMs + " ms waiting for a free libvirt"
                            + " worker (" + name + "); not run"));
                } else if (phase.compareAndSet(RUNNING, TIMED_OUT)) {
                    LOG.warn("libvirt call '{}' did not return within {} ms; its worker stays busy until it does",
                            name, timeoutMs);
                    deliver(done, new Result<>(null, "timed out after " + timeoutMs + " ms waiting for libvirt ("
                            + name + ")", true));
                }
            }, timeoutMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            deliver(done, Result.failed("the libvirt adapter is closed"));
            return;
        }
        try {
            workers.execute(() -> {
                if (!phase.compareAndSet(QUEUED, RUNNING)) {
                    return; // its deadline passed in the queue: the caller was told it failed
                }
                Result<T> r = invoke(name, call);
                if (phase.compareAndSet(RUNNING, FINISHED)) {
                    deadline.cancel(false);
                    deliver(done, r);
                } else {
                    LOG.warn("libvirt call '{}' returned after its timeout: {}", name, r.ok() ? "ok" : r.error());
                    deliver(late, r);
                }
            });
        } catch (RejectedExecutionException e) {
            deadline.cancel(false);
            if (phase.compareAndSet(QUEUED, ABANDONED)) {
                deliver(done, Result.failed(workers.isShutdown() ? "the libvirt adapter is closed"
                        : "rejected: all " + workers.getMaximumPoolSize() + " libvirt workers are busy and "
                        + queueCapacity + " calls are queued"));
            }
        }
    }

    /** Runs {@code task} on the timer thread after {@code delayMs}; false when closed. */
    boolean schedule(long delayMs, Runnable task) {
        try {
            timer.schedule(task, delayMs, TimeUnit.MILLISECONDS);
            return true;
        } catch (RejectedExecutionException e) {
            return false;
        }
    }

    /** Runs {@code task} on the timer thread every {@code periodMs}, the first time at once. */
    void every(long periodMs, Runnable task) {
        timer.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                LOG.error("periodic libvirt task failed", e); // keep the schedule alive
            }
        }, 0, periodMs, TimeUnit.MILLISECONDS);
    }

    private <T> Result<T> invoke(String name, LibvirtCall<T> call) {
        NativeConnect c = null;
        try {
            hook.before(name);
            c = connection.get();
            return Result.ok(call.call(c));
        } catch (LibvirtException e) {
            if (c != null) {
                connection.failed(c, e);
            }
            return Result.failed(name + ": " + LibvirtConnection.message(e));
        } catch (CallFailed e) {
            return Result.failed(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Result.failed(name + ": interrupted");
        } catch (Exception e) {
            LOG.warn("libvirt call '{}' failed unexpectedly", name, e);
            return Result.failed(name + ": " + e);
        }
    }

    private static <T> void deliver(Consumer<Result<T>> to, Result<T> r) {
        try {
            to.accept(r);
        } catch (RuntimeException e) {
            LOG.error("handling a libvirt result failed", e);
        }
    }

    /**
     * Stops the timer and the workers. Queued calls are dropped without a result; running ones are
     * interrupted, which a call blocked inside libvirt ignores (its daemon thread lingers). Waits at
     * most {@link #CLOSE_WAIT_MS} for the workers; returns whether they all ended.
     */
    boolean shutdown() {
        timer.shutdownNow();
        workers.shutdownNow();
        try {
            return workers.awaitTermination(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public void close() {
        shutdown();
    }
}
