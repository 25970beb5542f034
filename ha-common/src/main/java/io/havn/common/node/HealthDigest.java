package io.havn.common.node;

import java.util.Arrays;

/**
 * What a host passes on, in each heartbeat, of every host's health (SAFETY.md, "Monitors and
 * gossiped health"): for each registered host, in name order, two bytes. The first is the newest
 * statement the sender knows that host made of itself (healthy, or lost: unconfirmed past
 * suspectAfter, or frozen) and how old it was at the sending, at most; the second how old, at
 * most, the newest sign was that the host's own signal sender or storage heartbeat showed it alive
 * apart from its daemon. Ages are counted in {@link #UNIT_MS} steps and rounded up, so a receiver
 * never takes a statement for newer than it is. {@code members} is {@link Monitors#membersHash} of
 * the hosts the sender indexed: a receiver that sees other hosts ignores the digest. A digest may
 * speak of a run of those hosts only, from the one at {@code offset} in name order (a cluster of
 * more than {@code digestHosts} hosts, Settings): it then says nothing of the others.
 */
public final class HealthDigest {
    /** The step ages are counted in. */
    public static final int UNIT_MS = 25;
    /** The oldest age a digest can say. */
    public static final int MAX_AGE_MS = 126 * UNIT_MS;
    /** The most hosts a heartbeat's digest may speak of (its last one's place, plus one; the wire's bound). */
    public static final int MAX_HOSTS = 2048;
    /** A byte that says nothing is known. */
    public static final byte NONE = (byte) 0xFF;
    private static final int LOST = 0x80;

    private final long members;
    private final int offset;
    private final byte[] entries;

    /** A digest of {@code entries} (two per host, in name order; not copied: the caller hands it over). */
    public HealthDigest(long members, byte[] entries) {
        this(members, 0, entries);
    }

    /**
     * A digest of the hosts from the one at {@code offset} in name order on: {@code entries} (two per
     * host; not copied: the caller hands it over).
     */
    public HealthDigest(long members, int offset, byte[] entries) {
        if (entries == null || entries.length % 2 != 0) {
            throw new IllegalArgumentException("a digest has two bytes per host, got "
                    + (entries == null ? "none" : entries.length));
        }
        if (offset < 0) {
            throw new IllegalArgumentException("a digest's first host has a place from 0 on, got " + offset);
        }
        this.members = members;
        this.offset = offset;
        this.entries = entries;
    }

    public long members() {
        return members;
    }

    /** The place, in name order, of the first host it speaks of. */
    public int offset() {
        return offset;
    }

    /** How many hosts it speaks of. */
    public int hosts() {
        return entries.length / 2;
    }

    /** The raw bytes (two per host), for the codec; not to be changed. */
    public byte[] bytes() {
        return entries;
    }

    /** The statement byte of its {@code i}-th host (the host at {@code offset + i} in name order). */
    byte statement(int i) {
        return entries[2 * i];
    }

    /** The alive-apart byte of host {@code i}. */
    byte apart(int i) {
        return entries[2 * i + 1];
    }

    /** A statement: healthy or lost, {@code ageNanos} old at most; NONE when older than MAX_AGE_MS. */
    static byte statementOf(boolean healthy, long ageNanos) {
        int units = units(ageNanos);
        if (units > 126) {
            return NONE;
        }
        return (byte) (healthy ? units : LOST | units);
    }

    /** A sign of life apart from the daemon, {@code ageNanos} old at most; NONE when older than MAX_AGE_MS. */
    static byte apartOf(long ageNanos) {
        int units = units(ageNanos);
        return units > 126 ? NONE : (byte) units;
    }

    private static int units(long ageNanos) {
        long unit = UNIT_MS * 1_000_000L;
        long u = (Math.max(0, ageNanos) + unit - 1) / unit;
        return (int) Math.min(127, u);
    }

    /** Whether byte {@code b} says something. */
    static boolean known(byte b) {
        return b != NONE;
    }

    /** Whether statement byte {@code b} says healthy. */
    static boolean healthy(byte b) {
        return (b & LOST) == 0;
    }

    /** The age byte {@code b} says, in nanoseconds (an upper bound). */
    static long ageNanos(byte b) {
        return (b & 0x7F) * UNIT_MS * 1_000_000L;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HealthDigest d && d.members == members && d.offset == offset
                && Arrays.equals(d.entries, entries);
    }

    @Override
    public int hashCode() {
        return (Long.hashCode(members) * 31 + offset) * 31 + Arrays.hashCode(entries);
    }

    @Override
    public String toString() {
        return "HealthDigest[members=" + Long.toHexString(members) + ", offset=" + offset + ", hosts=" + hosts() + "]";
    }
}
