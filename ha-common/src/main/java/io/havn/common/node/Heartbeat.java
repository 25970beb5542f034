package io.havn.common.node;

import io.havn.common.model.HostId;
import java.util.Objects;

/**
 * What one daemon tells another every heartbeat interval. No clock sync is needed: times are the
 * sender's own monotonic clock, and {@code echoNanos} returns to the receiver the {@code sentNanos}
 * of the last heartbeat the sender got from it, so the receiver can judge freshness on its own
 * clock (DESIGN.md rule 5).
 *
 * @param from           the sender
 * @param incarnation    the sender daemon's incarnation: grows with every start of the daemon, across
 *                       reboots too (the daemon takes its wall-clock start time), so a rebooted host,
 *                       whose monotonic clock began again, is told apart from a replay of its past
 * @param sequence       grows by one per heartbeat from this sender incarnation
 * @param epoch          the leader epoch the sender knows
 * @param sentNanos      the sender's monotonic time at sending
 * @param echoNanos      the receiver's {@code sentNanos} last seen by the sender, or {@link #NO_ECHO}
 * @param unconfirmedMs  how long the sender has gone without a confirmation, capped; {@link #NEVER} if never
 * @param frozen         the sender has frozen (rule 5)
 * @param digest         what the sender passes on of every host's health, or null: sent only while hosts
 *                       heartbeat their monitors rather than all to all ({@link Monitors})
 */
public record Heartbeat(HostId from, long incarnation, long sequence, long epoch, long sentNanos, long echoNanos,
                        int unconfirmedMs, boolean frozen, HealthDigest digest) {
    public static final long NO_ECHO = Long.MIN_VALUE;
    public static final int NEVER = Integer.MAX_VALUE;

    public Heartbeat {
        Objects.requireNonNull(from, "from");
        if (unconfirmedMs < 0) {
            throw new IllegalArgumentException("unconfirmedMs must be >= 0, got " + unconfirmedMs);
        }
    }

    /** A heartbeat with no digest. */
    public Heartbeat(HostId from, long incarnation, long sequence, long epoch, long sentNanos, long echoNanos,
                     int unconfirmedMs, boolean frozen) {
        this(from, incarnation, sequence, epoch, sentNanos, echoNanos, unconfirmedMs, frozen, null);
    }

    /** A heartbeat of incarnation 0 (tests). */
    public Heartbeat(HostId from, long sequence, long epoch, long sentNanos, long echoNanos, int unconfirmedMs,
                     boolean frozen) {
        this(from, 0, sequence, epoch, sentNanos, echoNanos, unconfirmedMs, frozen, null);
    }

    /** Whether this heartbeat comes after {@code earlier} of the same sender: a later incarnation, or a later send. */
    public boolean isAfter(Heartbeat earlier) {
        if (incarnation != earlier.incarnation) {
            return incarnation > earlier.incarnation;
        }
        return sentNanos > earlier.sentNanos || (sentNanos == earlier.sentNanos && sequence > earlier.sequence);
    }
}
