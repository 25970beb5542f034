package io.havn.daemon.watchdog;

import io.havn.daemon.watchdog.WatchdogPetter.Reason;
import io.havn.daemon.watchdog.WatchdogPetter.Verdict;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * What the state file allows now, as {@link WatchdogPetter} judges it (its class comment has the
 * rules): read afresh at every call, the last valid state holding when the file disappears, an
 * untrusted file voiding it. The petter pets by it; {@link WatchdogGuard} tells peers what it
 * enforces by the same judgement, so the two can never disagree about a file.
 *
 * <p>Not thread-safe: its user serialises the calls.
 */
final class StateJudge {
    private final StateFile file;
    private final long maxAheadNanos;
    private WatchdogState lastRead;
    private boolean untrusted;

    /** Judges {@code file}; a deadline more than {@code maxAheadNanos} ahead is implausible. */
    StateJudge(StateFile file, long maxAheadNanos) {
        this.file = Objects.requireNonNull(file, "state file");
        if (maxAheadNanos <= 0) {
            throw new IllegalArgumentException("the max-ahead bound must be positive, got " + maxAheadNanos + " ns");
        }
        this.maxAheadNanos = maxAheadNanos;
    }

    StateFile file() {
        return file;
    }

    /** Reads the file and judges it at {@code now} (CLOCK_MONOTONIC); never throws. */
    Verdict judge(long now) {
        StateFile.Reading r = file.read();
        WatchdogState s;
        String note = "";
        if (r instanceof StateFile.Reading.Published p) {
            s = p.state();
            lastRead = s;
            untrusted = false;
        } else if (r instanceof StateFile.Reading.Unusable u) {
            untrusted = true;
            return new Verdict(Reason.UNTRUSTED, u.why());
        } else {
            String why = ((StateFile.Reading.Absent) r).why();
            if (untrusted) {
                return new Verdict(Reason.UNTRUSTED, why + ", after an unusable one");
            }
            if (lastRead == null) {
                return new Verdict(Reason.NOTHING_PUBLISHED, why + ": nothing published in this boot");
            }
            s = lastRead;
            note = " (" + why + "; the last state read holds)";
        }
        if (s instanceof WatchdogState.Armed a) {
            long ms = TimeUnit.NANOSECONDS.toMillis(a.deadlineNanos() - now);
            if (!a.ahead(now)) {
                return new Verdict(Reason.DEADLINE_PASSED, "the published deadline passed " + -ms + " ms ago" + note);
            }
            if (a.implausible(now, maxAheadNanos)) {
                return new Verdict(Reason.IMPLAUSIBLE, "the published deadline is " + ms + " ms ahead, more than "
                        + TimeUnit.NANOSECONDS.toMillis(maxAheadNanos) + " ms: not a lease" + note);
            }
            return new Verdict(Reason.ARMED, "armed, deadline in " + ms + " ms" + note, a.deadlineNanos());
        }
        return new Verdict(Reason.RELEASED, "released, no HA VM to guard" + note);
    }
}
