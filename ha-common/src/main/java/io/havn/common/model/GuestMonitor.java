package io.havn.common.model;

/**
 * Guest health through the QEMU guest agent, opted into per VM ({@link VmSpec#guestMonitor()}): the
 * owner pings the guest's agent every {@code intervalMs}; after {@code misses} pings in a row go
 * unanswered it resets the guest, at most {@code maxResets} times within {@code windowMs}, and past
 * that it gives the VM up (phase error, with the reason). A guest is not judged for {@code graceMs}
 * after it started, was reset or was resumed (it boots), nor while it is paused, nor if it has no
 * agent channel at all.
 */
public record GuestMonitor(long intervalMs, int misses, long graceMs, int maxResets, long windowMs) {
    public static final long DEFAULT_INTERVAL_MS = 10_000;
    public static final int DEFAULT_MISSES = 3;
    public static final long DEFAULT_GRACE_MS = 120_000;
    public static final int DEFAULT_MAX_RESETS = 3;
    public static final long DEFAULT_WINDOW_MS = 3_600_000;

    public GuestMonitor {
        if (intervalMs < 1_000 || intervalMs > 3_600_000) {
            throw new IllegalArgumentException("guest monitor intervalMs must be 1000-3600000, got " + intervalMs);
        }
        if (misses < 1 || misses > 100) {
            throw new IllegalArgumentException("guest monitor misses must be 1-100, got " + misses);
        }
        if (graceMs < 0 || graceMs > 3_600_000) {
            throw new IllegalArgumentException("guest monitor graceMs must be 0-3600000, got " + graceMs);
        }
        if (maxResets < 0 || maxResets > 100) {
            throw new IllegalArgumentException("guest monitor maxResets must be 0-100, got " + maxResets);
        }
        if (windowMs < intervalMs || windowMs > 86_400_000L * 7) {
            throw new IllegalArgumentException("guest monitor windowMs must be at least intervalMs (" + intervalMs
                    + ") and at most 604800000, got " + windowMs);
        }
    }

    /** Masakari's and vSphere's usual values: every 10 s, 3 misses, 2 min of boot grace, 3 resets an hour. */
    public static GuestMonitor defaults() {
        return new GuestMonitor(DEFAULT_INTERVAL_MS, DEFAULT_MISSES, DEFAULT_GRACE_MS, DEFAULT_MAX_RESETS, DEFAULT_WINDOW_MS);
    }
}
