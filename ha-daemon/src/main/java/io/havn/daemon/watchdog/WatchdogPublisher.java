package io.havn.daemon.watchdog;

import io.havn.common.port.Watchdog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's side of the {@link Watchdog} port: it publishes the node's deadline, or "released",
 * to the state file that {@link WatchdogPetter}, a separate process, reads every second.
 *
 * <p>Clock: the node's deadlines are passed through unchanged. That is right only because the
 * daemon's node clock is {@link System#nanoTime()}, which on Linux is CLOCK_MONOTONIC: one clock
 * for every process of a boot, so the petter's {@code System.nanoTime()} compares with it directly
 * ({@code WatchdogProcessTest} checks this across two JVMs). A node clock with another origin would
 * need translating here.
 *
 * <p>A write that fails is logged and not retried: the petter keeps the last state it read, so an
 * old deadline simply lapses and the machine resets, the safe direction. Calls may come from any
 * thread (they are serialised).
 */
public final class WatchdogPublisher implements Watchdog {
    private static final Logger LOG = LoggerFactory.getLogger(WatchdogPublisher.class);
    public static final Path DEFAULT_STATE_FILE = Path.of("/run/havn/watchdog.state");

    private final StateFile file;
    private final LongSupplier monotonicNanos;
    private final long maxAheadNanos;

    /** Publishes to {@code stateFile}, with the petter's default plausibility bound. */
    public WatchdogPublisher(Path stateFile) {
        this(new StateFile(stateFile, StateFile.currentBootId()), System::nanoTime,
                TimeUnit.MILLISECONDS.toNanos(WatchdogPetter.DEFAULT_MAX_AHEAD_MS));
    }

    WatchdogPublisher(StateFile file, LongSupplier monotonicNanos, long maxAheadNanos) {
        this.file = Objects.requireNonNull(file, "state file");
        this.monotonicNanos = Objects.requireNonNull(monotonicNanos, "clock");
        this.maxAheadNanos = maxAheadNanos;
    }

    @Override
    public synchronized void armUntil(long deadlineNanos) {
        WatchdogState.Armed armed = new WatchdogState.Armed(deadlineNanos);
        if (armed.implausible(monotonicNanos.getAsLong(), maxAheadNanos)) {
            LOG.error("watchdog deadline {} ns is more than {} ms ahead: the petter will refuse it and stop petting",
                    deadlineNanos, TimeUnit.NANOSECONDS.toMillis(maxAheadNanos));
        }
        publish(armed);
    }

    @Override
    public synchronized void release() {
        publish(new WatchdogState.Released());
    }

    /**
     * The deadline in the file, if a previous incarnation armed it in this boot, it is still ahead,
     * and the petter would honour it. Anything else (released, lapsed, absent, unreadable) is none.
     */
    @Override
    public synchronized OptionalLong inheritedDeadline() {
        StateFile.Reading r = file.read();
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

    private void publish(WatchdogState state) {
        try {
            file.write(state);
        } catch (IOException | RuntimeException e) {
            LOG.error("watchdog: cannot publish {} to {}: {}; the petter keeps the last state it read", state, file.path(), e.toString());
        }
    }
}
