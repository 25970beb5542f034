package io.havn.daemon.net;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Who may hold a connection slot, with no I/O: {@code open} slots for anyone and {@code reserved}
 * more for privileged peers (root on the admin socket). When the slots are full, a newcomer takes
 * the slot of the oldest connection still sending its request (a slow sender yields to a new
 * one); an unprivileged newcomer never takes a privileged peer's slot. A connection whose request
 * is complete is never evicted: it is being answered, within a budget of its own.
 *
 * <p>Not thread-safe: the server's I/O thread is its only user.
 *
 * @param <C> the connection
 */
final class Slots<C> {
    /** What to do with a newcomer: admit it (first closing {@code victim} if not null), or turn it away. */
    record Verdict<C>(boolean admit, C victim) {
        static <C> Verdict<C> busy() {
            return new Verdict<>(false, null);
        }
    }

    private static final class Entry {
        final boolean privileged;
        boolean sending = true;

        Entry(boolean privileged) {
            this.privileged = privileged;
        }
    }

    private final int open;
    private final int reserved;
    /** Every admitted connection, oldest first; at most {@code open + reserved}, at most {@code open} unprivileged. */
    private final Map<C, Entry> held = new LinkedHashMap<>();
    private int unprivileged;

    Slots(int open, int reserved) {
        if (open < 1 || reserved < 0) {
            throw new IllegalArgumentException("need at least one open slot and no negative reserve: " + open + ", "
                    + reserved);
        }
        this.open = open;
        this.reserved = reserved;
    }

    /** Where a newcomer goes; {@link #add} it if admitted, after removing the victim if any. */
    Verdict<C> admit(boolean privileged) {
        if (held.size() < open + reserved && (privileged || unprivileged < open)) {
            return new Verdict<>(true, null);
        }
        // an unprivileged sender yields first; a privileged one only to another privileged newcomer
        C victim = oldestSending(false);
        if (victim == null && privileged) {
            victim = oldestSending(true);
        }
        if (victim != null) {
            return new Verdict<>(true, victim);
        }
        return Verdict.busy();
    }

    private C oldestSending(boolean privileged) {
        for (Map.Entry<C, Entry> e : held.entrySet()) {
            if (e.getValue().sending && e.getValue().privileged == privileged) {
                return e.getKey();
            }
        }
        return null;
    }

    void add(C c, boolean privileged) {
        held.put(c, new Entry(privileged));
        if (!privileged) {
            unprivileged++;
        }
    }

    /** The connection's request is complete: it is no longer evicted for a newcomer. */
    void requestComplete(C c) {
        Entry e = held.get(c);
        if (e != null) {
            e.sending = false;
        }
    }

    void remove(C c) {
        Entry e = held.remove(c);
        if (e != null && !e.privileged) {
            unprivileged--;
        }
    }

    int size() {
        return held.size();
    }

    /** A copy of the held connections, oldest first. */
    List<C> held() {
        return new ArrayList<>(held.keySet());
    }
}
