package io.havn.common.node;

import io.havn.common.model.HostId;
import java.util.HashMap;
import java.util.Map;

/**
 * The second liveness signal: what each peer's signal sender, a process apart from havnd, last
 * said ({@link HostSignal}) and when it arrived. A host whose sender was heard within a heartbeat
 * timeout, saying its watchdog is armed toward a deadline still ahead (or that it guards no HA VM),
 * is alive whatever its daemon does: the manager does not fence it ({@link Fencing}). It detects
 * only; it never proves anything dead, and a host never heard from is judged on its heartbeats
 * alone, as before.
 */
final class Signals {
    /** The last signal taken from a host and when it arrived; updated in place (every host, every interval). */
    private static final class Last {
        HostSignal signal;
        long arrival;

        Last(HostSignal signal, long arrival) {
            this.signal = signal;
            this.arrival = arrival;
        }
    }

    /** How long a signal counts after it arrived. */
    private final long timeoutMs;
    /** What the signal is, in the reasons {@link #alive} gives ("its signal", "its storage heartbeat on d"). */
    private final String what;
    /**
     * How long past an armed deadline the signal still counts: the next signal, which says whether the
     * host self-fenced in time (released) or not (lapsed), may come that much later.
     */
    private final long slackMs;
    private final Map<HostId, Last> last = new HashMap<>();
    /** Told, on every signal taken, until when it shows its host alive ({@link #aliveUntil}). */
    private UntilChanged untilChanged = (h, until) -> { };

    /** Hears until when a host's last signal shows it alive, each time that signal changes. */
    interface UntilChanged {
        void changed(HostId h, long until);
    }

    /** The signal senders' signals, counting for a heartbeat timeout. */
    Signals(Settings settings) {
        this(settings.heartbeatTimeoutMs(), 0, "its signal");
    }

    Signals(long timeoutMs, long slackMs, String what) {
        this.timeoutMs = timeoutMs;
        this.slackMs = slackMs;
        this.what = what;
    }

    /**
     * Takes {@code s} as arriving now whatever the last one said (its source judged it new: a
     * storage slot's counter advanced).
     */
    void advanced(HostSignal s, long now) {
        advanced(last.get(s.from()), s, now);
    }

    private void advanced(Last l, HostSignal s, long now) {
        if (l == null) {
            l = new Last(s, now);
            last.put(s.from(), l);
        } else {
            l.signal = s;
            l.arrival = now;
        }
        untilChanged.changed(s.from(), until(l));
    }

    /** Tells {@code to}, from now on, until when each host's signal shows it alive whenever it changes. */
    void onUntilChanged(UntilChanged to) {
        this.untilChanged = java.util.Objects.requireNonNull(to, "to");
    }

    /**
     * Until when (exclusive) {@code h}'s last signal shows it alive, MIN_VALUE if it does not: while
     * {@code now < aliveUntil(h)}, {@link #alive} names a reason, and never after.
     */
    long aliveUntil(HostId h) {
        Last l = last.get(h);
        return l == null ? Long.MIN_VALUE : until(l);
    }

    /**
     * Until when (exclusive) the signal {@code l} shows its host alive: for a heartbeat timeout after it
     * arrived, and, armed, no longer than the deadline it stated (counted from the arrival, so never
     * earlier than the host's own deadline); never, lapsed.
     */
    private long until(Last l) {
        long heard = l.arrival + Peers.ms(timeoutMs);
        return switch (l.signal.guard()) {
            case RELEASED -> heard;
            case ARMED -> Math.min(heard, l.arrival + Peers.ms(l.signal.remainingMs() + slackMs));
            case LAPSED -> Long.MIN_VALUE;
        };
    }

    /** Takes a signal; returns false if it was ignored (not after the last one taken from its host). */
    boolean received(HostSignal s, long now) {
        Last l = last.get(s.from());
        if (l != null && !s.isAfter(l.signal)) {
            return false;
        }
        advanced(l, s, now);
        return true;
    }

    /** Forgets {@code h} (gone from the cluster state). */
    void remove(HostId h) {
        last.remove(h);
    }

    /** When a signal from {@code h} last arrived, MIN_VALUE if none did. */
    long lastArrival(HostId h) {
        Last l = last.get(h);
        return l == null ? Long.MIN_VALUE : l.arrival;
    }

    /** The last signal taken from {@code h}, or null. */
    HostSignal last(HostId h) {
        Last l = last.get(h);
        return l == null ? null : l.signal;
    }

    /**
     * Why {@code h} is alive now by its signal, or null when the signal does not show it alive:
     * never heard, silent for a heartbeat timeout, its watchdog lapsed, or the deadline it stated
     * has passed (counted from the arrival, so never earlier than the host's own deadline).
     */
    String alive(HostId h, long now) {
        Last l = last.get(h);
        if (l == null || now >= until(l)) {
            return null;
        }
        HostSignal s = l.signal;
        return s.guard() == HostSignal.Guard.RELEASED ? what + " says it runs and guards no HA VM"
                : what + " says it runs, its watchdog armed for another "
                        + (l.arrival + Peers.ms(s.remainingMs() + slackMs) - now) / 1_000_000L + " ms";
    }
}
