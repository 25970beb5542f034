package io.havn.daemon.watchdog;

import io.havn.common.node.HostSignal.Guard;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;

/**
 * What this host's watchdog enforces, as a {@link Guard} for the host signal: read from the state
 * havnd publishes and the petter's status beside it, never from havnd itself.
 *
 * <ul>
 * <li>{@link Guard#ARMED}, with the time left until the deadline: the state is armed and the
 * petter would pet (the deadline ahead, and not more than the petter's max-ahead bound), and the
 * status file of this boot names a petter that lives.</li>
 * <li>{@link Guard#RELEASED}: released, or nothing published in this boot; no petter is needed
 * for that, as nothing is guarded.</li>
 * <li>{@link Guard#LAPSED}: anything else: the deadline passed or is implausible, the state file
 * cannot be trusted, or it is armed with no live petter (no status, a stale or untrusted one).</li>
 * </ul>
 * The state file is judged as the petter judges it ({@link StateJudge}): a file that disappears
 * after a valid read leaves the last state in force, an untrusted one voids it.
 *
 * <p>Threading: calls are serialised.
 */
public final class WatchdogGuard {
    /** What {@link #read} found: the guard, the milliseconds left when armed (else 0), and why. */
    public record Reading(Guard guard, int remainingMs, String why) {
        public Reading {
            Objects.requireNonNull(guard, "guard");
            Objects.requireNonNull(why, "why");
        }
    }

    private final StateJudge judge;
    private final StatusFile status;
    private final LongPredicate alive;

    /**
     * The guard of the state file {@code stateFile} (havnd's {@code watchdog.stateFile}) and the
     * petter's status beside it, in this boot, with the petter's default max-ahead bound.
     */
    public WatchdogGuard(Path stateFile) {
        this(new StateFile(stateFile, StateFile.currentBootId()),
                new StatusFile(StatusFile.beside(stateFile), StateFile.currentBootId()),
                TimeUnit.MILLISECONDS.toNanos(WatchdogPetter.DEFAULT_MAX_AHEAD_MS),
                pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
    }

    WatchdogGuard(StateFile file, StatusFile status, long maxAheadNanos, LongPredicate alive) {
        this.judge = new StateJudge(file, maxAheadNanos);
        this.status = Objects.requireNonNull(status, "status file");
        this.alive = Objects.requireNonNull(alive, "alive");
    }

    /** The state file read. */
    public Path stateFile() {
        return judge.file().path();
    }

    /** Reads both files and says what the watchdog enforces at {@code nowNanos} (CLOCK_MONOTONIC); never throws. */
    public synchronized Reading read(long nowNanos) {
        WatchdogPetter.Verdict v = judge.judge(nowNanos);
        switch (v.reason()) {
            case RELEASED, NOTHING_PUBLISHED -> {
                return new Reading(Guard.RELEASED, 0, v.detail());
            }
            case ARMED -> {
                String petter = petterProblem();
                if (petter != null) {
                    return new Reading(Guard.LAPSED, 0, v.detail() + ", but " + petter);
                }
                long ms = TimeUnit.NANOSECONDS.toMillis(v.deadlineNanos() - nowNanos);
                return new Reading(Guard.ARMED, (int) Math.max(1, Math.min(Integer.MAX_VALUE, ms)), v.detail());
            }
            default -> {
                return new Reading(Guard.LAPSED, 0, v.detail());
            }
        }
    }

    /** Why no live petter of this boot guards the host, or null when one does. */
    private String petterProblem() {
        StatusFile.Reading r = status.read();
        if (r instanceof StatusFile.Reading.Verified v) {
            return alive.test(v.pid()) ? null : "the petter that wrote " + status.path() + " (pid " + v.pid()
                    + ") is no longer running";
        }
        if (r instanceof StatusFile.Reading.Absent a) {
            return "no petter runs (" + a.why() + ")";
        }
        return "the petter's status cannot be trusted (" + ((StatusFile.Reading.Unusable) r).why() + ")";
    }
}
