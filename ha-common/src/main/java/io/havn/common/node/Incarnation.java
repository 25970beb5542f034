package io.havn.common.node;

import java.util.OptionalLong;

/**
 * A daemon's incarnation (see {@link Heartbeat#incarnation()}): peers drop every heartbeat whose
 * incarnation is below the highest they have seen from that host, so it must grow with every start
 * of the daemon on a host, whatever the wall clock does. The last one used is kept on the host's
 * disk; the wall clock only helps when that record is lost.
 */
public final class Incarnation {
    private Incarnation() { }

    /**
     * The incarnation of a new start: above the last one recorded on this host, and at least the
     * wall clock in milliseconds (so a host whose record was lost still starts above its old ones
     * if its clock is right). A wall clock that stepped back cannot take it below the record.
     */
    public static long next(OptionalLong lastRecorded, long wallMillis) {
        long floor = Math.max(1, wallMillis);
        if (lastRecorded.isEmpty()) {
            return floor;
        }
        long last = lastRecorded.getAsLong();
        if (last == Long.MAX_VALUE) {
            throw new IllegalStateException("the recorded incarnation is at its maximum: " + last);
        }
        return Math.max(last + 1, floor);
    }
}
