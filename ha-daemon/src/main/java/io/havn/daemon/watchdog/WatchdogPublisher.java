package io.havn.daemon.watchdog;

import io.havn.common.port.Watchdog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's side of the {@link Watchdog} port: it publishes the node's deadline, or "released",
 * to the state file that {@link WatchdogPetter}, a separate process, reads every second; and it
 * tells the node whether that petter guards this host ({@link #problem}).
 *
 * <p>Clock: the node's deadlines are passed through unchanged. That is right only because the
 * daemon's node clock is {@link System#nanoTime()}, which on Linux is CLOCK_MONOTONIC: one clock
 * for every process of a boot, so the petter's {@code System.nanoTime()} compares with it directly
 * ({@code WatchdogProcessTest} checks this across two JVMs). A node clock with another origin would
 * need translating here.
 *
 * <p>A write that fails is logged, and is a {@link #problem} until a write succeeds; it is tried
 * again at each recheck. Meanwhile the petter keeps the last state it read, so an old deadline
 * simply lapses and the machine resets, the safe direction. But a petter that never read a state
 * in this boot pets on ("nothing published": nothing to guard), so a state that cannot be written
 * must keep this host from running HA VMs: without that, a daemon whose first lease never reached
 * the petter would run them with no watchdog behind it.
 *
 * <p>Problem: the petter writes a status file beside the state file ({@link StatusFile}) once it
 * has set the device's timeout and read it back. The watchdog guards the host only while that file
 * is of this boot, its petter's pid lives and its verified timeout is at most the node's
 * {@code watchdogMs}. The file is read again at most once a {@link #RECHECK_NANOS} and the answer
 * kept in between, so the node may ask on every tick. Not required ({@code watchdog.required:
 * false}: demos, tests), there is never a problem.
 *
 * <p>Threading: calls may come from any thread; the node calls them all from its own. With an
 * {@code io} executor (the daemon's), the file work leaves the caller's thread, so a slow or hung
 * file system does not stall the node (and with it the heartbeats): a later deadline, and a
 * release, are handed to {@code io}, which writes the newest one (an older deadline the petter
 * keeps meanwhile was safe when it was published, and is earlier, so it resets sooner, never
 * later); {@link #problem} answers from the last check and asks {@code io} for a new one once it is
 * a {@link #RECHECK_NANOS} old. One write stays on the caller's thread: arming after a release (or
 * at the first arm), because a released file guards nothing and the node may start a VM right
 * after it asked to arm. {@link #inheritedDeadline} reads the file on the caller's thread, once at
 * the node's start.
 */
public final class WatchdogPublisher implements Watchdog {
    private static final Logger LOG = LoggerFactory.getLogger(WatchdogPublisher.class);
    public static final Path DEFAULT_STATE_FILE = Path.of("/run/havn/watchdog.state");
    /** How old an answer of {@link #problem} may be. */
    static final long RECHECK_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final StateFile file;
    private final StatusFile status;
    private final LongSupplier monotonicNanos;
    private final long maxAheadNanos;
    private final long watchdogMs;
    private final boolean required;
    private final LongPredicate alive;
    /** Runs the file work, one task at a time, in order; {@code Runnable::run} keeps it on the caller's thread. */
    private final Executor io;
    /** Held while the files are read or written, so that writes land in the order asked. */
    private final Object files = new Object();
    // guarded by files
    /** The newest state whose write failed, null once one succeeded; and why it failed. */
    private WatchdogState unpublished;
    private String unpublishedWhy;
    // guarded by this
    /** The newest state asked for and not yet handed to a write; null when none waits. */
    private WatchdogState pending;
    /** The last state asked for, null before the first. */
    private WatchdogState asked;
    private boolean recheckQueued;
    /** The last answer of {@link #problem}, and when it was found; null before the first. */
    private volatile Optional<String> problem;
    private volatile long checkedAt;

    /**
     * Publishes to {@code stateFile}, with the petter's default plausibility bound; when
     * {@code required}, the petter must have verified a device timeout of at most {@code watchdogMs}.
     */
    public WatchdogPublisher(Path stateFile, long watchdogMs, boolean required) {
        this(stateFile, watchdogMs, required, Runnable::run);
    }

    /** As above, the file work on {@code io} (see the class comment), which must run one task at a time, in order. */
    public WatchdogPublisher(Path stateFile, long watchdogMs, boolean required, Executor io) {
        this(new StateFile(stateFile, StateFile.currentBootId()),
                new StatusFile(StatusFile.beside(stateFile), StateFile.currentBootId()), System::nanoTime,
                TimeUnit.MILLISECONDS.toNanos(WatchdogPetter.DEFAULT_MAX_AHEAD_MS), watchdogMs, required,
                pid -> ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), io);
    }

    WatchdogPublisher(StateFile file, StatusFile status, LongSupplier monotonicNanos, long maxAheadNanos,
                      long watchdogMs, boolean required, LongPredicate alive) {
        this(file, status, monotonicNanos, maxAheadNanos, watchdogMs, required, alive, Runnable::run);
    }

    WatchdogPublisher(StateFile file, StatusFile status, LongSupplier monotonicNanos, long maxAheadNanos,
                      long watchdogMs, boolean required, LongPredicate alive, Executor io) {
        this.io = Objects.requireNonNull(io, "io");
        this.file = Objects.requireNonNull(file, "state file");
        this.status = Objects.requireNonNull(status, "status file");
        this.monotonicNanos = Objects.requireNonNull(monotonicNanos, "clock");
        this.maxAheadNanos = maxAheadNanos;
        this.watchdogMs = watchdogMs;
        this.required = required;
        this.alive = Objects.requireNonNull(alive, "alive");
        if (!required) {
            LOG.warn("watchdog.required is false: HA VMs on this host run UNGUARDED BY A HARDWARE WATCHDOG; a hung "
                    + "host may keep running them while the cluster restarts them elsewhere. For demos and tests only.");
        }
    }

    @Override
    public void armUntil(long deadlineNanos) {
        WatchdogState.Armed armed = new WatchdogState.Armed(deadlineNanos);
        if (armed.implausible(monotonicNanos.getAsLong(), maxAheadNanos)) {
            LOG.error("watchdog deadline {} ns is more than {} ms ahead: the petter will refuse it and stop petting",
                    deadlineNanos, TimeUnit.NANOSECONDS.toMillis(maxAheadNanos));
        }
        boolean now;
        synchronized (this) {
            // the file holds an armed deadline already (the first arm after a release is written at once,
            // below) unless this arms after a release, or shortens what was asked
            now = !(asked instanceof WatchdogState.Armed a) || deadlineNanos < a.deadlineNanos();
            asked = armed;
            if (now) {
                pending = null; // superseded: written below, under the files' lock, after any write in flight
            }
        }
        if (now) {
            boolean failed;
            synchronized (files) {
                publish(armed);
                failed = unpublished != null;
            }
            if (failed) {
                synchronized (this) {
                    if (asked == armed) {
                        asked = null; // the file may still say released: the next arm is written at once too
                    }
                }
            }
        } else {
            later(armed);
        }
    }

    @Override
    public void release() {
        WatchdogState.Released released = new WatchdogState.Released();
        synchronized (this) {
            asked = released;
        }
        later(released);
    }

    /** Hands {@code state} to {@code io}; a state still waiting there is replaced, not queued behind. */
    private void later(WatchdogState state) {
        boolean queue;
        synchronized (this) {
            queue = pending == null;
            pending = state;
        }
        if (queue) {
            io.execute(this::flush);
        }
    }

    /** On {@code io}: writes the newest state asked for, if one waits. */
    private void flush() {
        synchronized (files) {
            WatchdogState s;
            synchronized (this) {
                s = pending;
                pending = null;
            }
            if (s != null) {
                publish(s);
            }
        }
    }

    /**
     * The deadline in the file, if a previous incarnation armed it in this boot, it is still ahead,
     * and the petter would honour it. Anything else (released, lapsed, absent, unreadable) is none.
     */
    @Override
    public OptionalLong inheritedDeadline() {
        StateFile.Reading r;
        synchronized (files) {
            r = file.read();
        }
        long now = monotonicNanos.getAsLong();
        if (r instanceof StateFile.Reading.Published p && p.state() instanceof WatchdogState.Armed a) {
            if (a.ahead(now) && !a.implausible(now, maxAheadNanos)) {
                LOG.info("watchdog: inherited a deadline {} ms ahead from the previous daemon",
                        TimeUnit.NANOSECONDS.toMillis(a.deadlineNanos() - now));
                return OptionalLong.of(a.deadlineNanos());
            }
            LOG.info("watchdog: the previous daemon's deadline is {}", a.ahead(now) ? "implausible" : "past");
        } else if (r instanceof StateFile.Reading.Unusable u) {
            LOG.warn("watchdog: {}", u.why());
        }
        return OptionalLong.empty();
    }

    /**
     * Why the petter does not guard this host, or empty when it does (or is not required). Reads
     * the status file at most once a second, on {@code io} but the first time; logs each change of
     * the answer. With an {@code io} of its own, the answer may be up to a recheck (and a read) old.
     */
    @Override
    public Optional<String> problem() {
        if (!required) {
            return Optional.empty();
        }
        Optional<String> p = problem;
        if (p == null) {
            return recheck(); // the first answer: none to give meanwhile (the daemon asks once before the node runs)
        }
        if (monotonicNanos.getAsLong() - checkedAt >= RECHECK_NANOS) {
            boolean queue;
            synchronized (this) {
                queue = !recheckQueued;
                recheckQueued = true;
            }
            if (queue) {
                io.execute(() -> {
                    synchronized (this) {
                        recheckQueued = false;
                    }
                    recheck();
                });
            }
        }
        return problem;
    }

    /** Reads the status (and retries a failed write) and keeps the answer. */
    private Optional<String> recheck() {
        synchronized (files) {
            Optional<String> found = check();
            if (!found.equals(problem)) {
                if (found.isPresent()) {
                    LOG.warn("watchdog: {}; no HA VM runs on this host until it is fixed", found.get());
                } else {
                    LOG.info("watchdog: guarded by the petter ({})", status.path());
                }
            }
            checkedAt = monotonicNanos.getAsLong();
            problem = found;
            return found;
        }
    }

    /** Under the files' lock. */
    private Optional<String> check() {
        if (unpublished != null) {
            publish(unpublished);
        }
        if (unpublished != null) {
            return Optional.of("cannot publish the watchdog state to " + file.path() + " (" + unpublishedWhy
                    + "): the petter cannot see this host's lease");
        }
        StatusFile.Reading r = status.read();
        if (r instanceof StatusFile.Reading.Absent a) {
            return Optional.of("no watchdog status from the petter (" + a.why() + "): havn-watchdog is not running, "
                    + "or it refused the device (see journalctl -u havn-watchdog), or it reads another state file than "
                    + file.path() + " (its --state; under systemd both must be in /run/havn: each unit has a /tmp of "
                    + "its own)");
        }
        if (r instanceof StatusFile.Reading.Unusable u) {
            return Optional.of("the watchdog status cannot be trusted: " + u.why());
        }
        StatusFile.Reading.Verified v = (StatusFile.Reading.Verified) r;
        if (!alive.test(v.pid())) {
            return Optional.of("the petter that verified " + v.device() + " (pid " + v.pid()
                    + ") is no longer running; " + status.path() + " is stale");
        }
        if (v.timeoutMs() > watchdogMs) {
            return Optional.of("the watchdog " + v.device() + " resets only after " + v.timeoutMs()
                    + " ms, longer than settings.watchdogMs (" + watchdogMs + " ms) that the lease assumes; give the "
                    + "petter --timeout-ms " + watchdogMs);
        }
        return Optional.empty();
    }

    /** Under the files' lock. */
    private void publish(WatchdogState state) {
        try {
            file.write(state);
            unpublished = null;
        } catch (IOException | RuntimeException e) {
            if (unpublished == null) {
                LOG.error("watchdog: cannot publish {} to {}: {}; the petter keeps the last state it read, and this host "
                        + "runs no HA VM until a write succeeds", state, file.path(), e.toString());
            }
            unpublished = state;
            unpublishedWhy = e.toString();
        }
    }
}
