package io.havn.common.port;

/** Monotonic time, the only time the node logic knows. Real: System.nanoTime; simulated: virtual. */
@FunctionalInterface
public interface Clock {
    /** Nanoseconds since an arbitrary origin; never goes back. */
    long nanos();
}
