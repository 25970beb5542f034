package io.havn.common.node;

/**
 * How long to wait before trying a failed operation again: a base that doubles with each
 * consecutive failure up to a maximum, plus up to a quarter more drawn from what is retried, so
 * that VMs or hosts that failed together do not retry in step. Deterministic, as every decision
 * of the node: the spread comes from the key, not from a clock or an unseeded source.
 */
final class Backoff {
    private Backoff() { }

    /** The wait after {@code failures} (at least 1) consecutive failures of what {@code key} names. */
    static long waitMs(long baseMs, long maxMs, Object key, int failures) {
        if (failures < 1) {
            throw new IllegalArgumentException("failures must be >= 1, got " + failures);
        }
        long wait = Math.min(maxMs, baseMs << Math.min(failures - 1, 20));
        long spread = Math.floorMod((long) key.hashCode() * 31 + failures, wait / 4 + 1);
        return wait + spread;
    }
}
