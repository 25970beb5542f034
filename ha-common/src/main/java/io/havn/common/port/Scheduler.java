package io.havn.common.port;

/**
 * Runs a task later on the node's own thread. The node never blocks and never reads time but
 * through {@link Clock}, so the simulator can drive it in virtual time.
 */
@FunctionalInterface
public interface Scheduler {
    /** Runs {@code task} on the node thread no earlier than {@code delayNanos} from now. */
    Cancellable schedule(long delayNanos, Runnable task);

    /** A scheduled task that may be cancelled; cancelling a task that ran is a no-op. */
    @FunctionalInterface
    interface Cancellable {
        void cancel();
    }
}
