package io.havn.daemon.transport;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Lets each authentic heartbeat through at most once, and never one older than what was already
 * let through from the same sender.
 *
 * <p>The rule: per sender, a heartbeat is accepted only if it comes after the last one accepted
 * from that sender in the order of {@link Heartbeat#isAfter}: a later incarnation, or in the same
 * incarnation a later {@code (sentNanos, sequence)}. Within one incarnation both numbers grow, so
 * every fresh heartbeat passes; a restarted or rebooted daemon has a later incarnation (its
 * wall-clock start time), so its heartbeats pass even though its monotonic clock and sequence
 * began again. An exact duplicate, an older heartbeat, and anything of an older incarnation are
 * rejected: one total order, so a replay of the past can never pass again.
 *
 * <p>Thread-safe. Memory: one entry per authentic sender, that is per cluster member.
 */
public final class ReplayGuard {
    private record Mark(Heartbeat hb) {
        boolean isBefore(Heartbeat next) {
            return next.isAfter(hb);
        }
    }

    private final ConcurrentHashMap<HostId, Mark> last = new ConcurrentHashMap<>();

    /** Whether {@code hb} is new; if so, it becomes the mark later heartbeats of its sender must pass. */
    public boolean accept(Heartbeat hb) {
        Objects.requireNonNull(hb, "hb");
        Mark next = new Mark(hb);
        // compute is atomic per sender: two threads cannot both accept one datagram
        Mark now = last.compute(hb.from(), (host, prev) -> prev == null || prev.isBefore(hb) ? next : prev);
        return now == next;
    }

    /** Forgets {@code sender}: its next heartbeat is accepted whatever its numbers. */
    public void forget(HostId sender) {
        last.remove(Objects.requireNonNull(sender, "sender"));
    }
}
