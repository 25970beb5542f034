package io.havn.common.node;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;

/**
 * The phases of the last failovers this node led ({@link Decision.Timings}), for what-if's expected
 * recovery time: the median of the last {@link #KEPT} of each phase, by kind of proof. A node that
 * led none (a follower, a new leader) has none, and what-if falls back on its settings' estimates.
 */
final class MeasuredPhases {
    /** How many of each phase are kept. */
    static final int KEPT = 50;

    private final Deque<Long> detect = new ArrayDeque<>();
    private final Deque<Long> fenced = new ArrayDeque<>();
    private final Deque<Long> expired = new ArrayDeque<>();
    private final Deque<Long> restart = new ArrayDeque<>();

    void add(Decision.Timings t) {
        if (t.detectNanos() >= 0) {
            keep(detect, t.detectNanos());
        }
        if (t.fenceNanos() >= 0 && t.proof() == Decision.Proof.FENCE_DEVICE) {
            keep(fenced, t.fenceNanos());
        } else if (t.fenceNanos() >= 0 && t.proof() == Decision.Proof.SESSION_EXPIRED) {
            keep(expired, t.fenceNanos());
        }
        if (t.restartNanos() >= 0) {
            keep(restart, t.restartNanos());
        }
    }

    private static void keep(Deque<Long> d, long nanos) {
        d.addLast(nanos);
        if (d.size() > KEPT) {
            d.removeFirst();
        }
    }

    /** The median of the kept detections in ms, or {@code otherwise} when none is kept. */
    long detectMs(long otherwise) {
        return median(detect, otherwise);
    }

    long fencedProofMs(long otherwise) {
        return median(fenced, otherwise);
    }

    long expiryProofMs(long otherwise) {
        return median(expired, otherwise);
    }

    long restartMs(long otherwise) {
        return median(restart, otherwise);
    }

    /** How many failovers' phases are kept (at most {@link #KEPT}). */
    int count() {
        return restart.size();
    }

    private static long median(Deque<Long> d, long otherwise) {
        if (d.isEmpty()) {
            return otherwise;
        }
        long[] v = d.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(v);
        return v[v.length / 2] / 1_000_000L;
    }
}
