package io.havn.daemon.watchdog;

/**
 * What the daemon publishes to the watchdog petter: until when this host may keep running its HA
 * VMs, or that it runs none. Times are CLOCK_MONOTONIC nanoseconds ({@link System#nanoTime()} on
 * Linux), which every process of one boot shares.
 */
sealed interface WatchdogState {

    /** Keep the machine alive until {@code deadlineNanos}; past it, let the hardware reset it. */
    record Armed(long deadlineNanos) implements WatchdogState {
        /** Whether the deadline is still ahead of {@code nowNanos} (a nanoTime comparison, overflow-safe). */
        boolean ahead(long nowNanos) {
            return deadlineNanos - nowNanos > 0;
        }

        /**
         * Whether the deadline is further ahead than any lease could be: then it is not a lease but
         * a bug (a wall-clock time, say), and it must not keep the machine alive.
         */
        boolean implausible(long nowNanos, long maxAheadNanos) {
            return deadlineNanos - nowNanos > maxAheadNanos;
        }
    }

    /** This host runs no HA VM: nothing to guard, no reset needed. */
    record Released() implements WatchdogState { }
}
