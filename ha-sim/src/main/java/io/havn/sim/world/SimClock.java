package io.havn.sim.world;

import io.havn.common.port.Clock;
import java.util.PriorityQueue;

/**
 * Virtual time and the one event queue of a simulation. Events run in time order, ties in the
 * order they were scheduled, so a run is a pure function of its seed and schedule.
 */
public final class SimClock implements Clock {
    private static final class Event implements Comparable<Event> {
        final long at;
        final long seq;
        final Runnable task;
        boolean cancelled;

        Event(long at, long seq, Runnable task) {
            this.at = at;
            this.seq = seq;
            this.task = task;
        }

        @Override
        public int compareTo(Event o) {
            int c = Long.compare(at, o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }

    public static final long MS = 1_000_000L;

    private final PriorityQueue<Event> queue = new PriorityQueue<>(1 << 12);
    private long now;
    private long seq;
    private long executed;

    @Override
    public long nanos() {
        return now;
    }

    public long nowMs() {
        return now / MS;
    }

    /** Runs {@code task} at now + {@code delayNanos}; returns a handle that can cancel it. */
    public Runnable schedule(long delayNanos, Runnable task) {
        Event e = new Event(now + Math.max(0, delayNanos), seq++, task);
        queue.add(e);
        return () -> e.cancelled = true;
    }

    public void scheduleAt(long atNanos, Runnable task) {
        schedule(atNanos - now, task);
    }

    /** Runs the next event if it is due no later than {@code untilNanos}; returns false when none is. */
    public boolean runNext(long untilNanos) {
        Event e = queue.peek();
        if (e == null || e.at > untilNanos) {
            return false;
        }
        queue.poll();
        now = e.at;
        if (!e.cancelled) {
            executed++;
            e.task.run();
        }
        return true;
    }

    /** Sets the clock forward to {@code atNanos} once every earlier event has run. */
    public void advanceTo(long atNanos) {
        if (atNanos > now) {
            now = atNanos;
        }
    }

    public long executed() {
        return executed;
    }

    public int pending() {
        return queue.size();
    }
}
