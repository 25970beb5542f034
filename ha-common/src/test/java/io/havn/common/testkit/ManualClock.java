package io.havn.common.testkit;

import io.havn.common.port.Clock;
import io.havn.common.port.Scheduler;
import java.util.PriorityQueue;

/**
 * Virtual time for tests: a clock and a scheduler whose tasks run only when the test advances
 * time, in time order (ties in submission order). Nothing here reads real time.
 */
public final class ManualClock implements Clock, Scheduler {
    private static final class Task implements Comparable<Task>, Cancellable {
        final long at;
        final long seq;
        final Runnable run;
        boolean cancelled;

        Task(long at, long seq, Runnable run) {
            this.at = at;
            this.seq = seq;
            this.run = run;
        }

        @Override
        public int compareTo(Task o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    private final PriorityQueue<Task> tasks = new PriorityQueue<>();
    private long now = 1_000_000_000L;
    private long seq;
    private Runnable afterEachTask = () -> { };

    @Override
    public long nanos() {
        return now;
    }

    @Override
    public Cancellable schedule(long delayNanos, Runnable task) {
        Task t = new Task(now + Math.max(0, delayNanos), seq++, task);
        tasks.add(t);
        return t;
    }

    /** A check run after every task (the invariants). */
    public void afterEachTask(Runnable check) {
        this.afterEachTask = check;
    }

    /** Runs every task due up to now + {@code nanos}, then sets the clock there. */
    public void advance(long nanos) {
        long until = now + nanos;
        while (!tasks.isEmpty() && tasks.peek().at <= until) {
            Task t = tasks.poll();
            now = Math.max(now, t.at);
            if (!t.cancelled) {
                t.run.run();
                afterEachTask.run();
            }
        }
        now = until;
    }

    public void advanceMs(long ms) {
        advance(ms * 1_000_000L);
    }
}
