package io.havn.sim.world;

import io.havn.common.port.Watchdog;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The watchdog of one simulated host: it only records the deadline the daemon arms. The world's
 * tick resets the host once that deadline plus the watchdog timeout has passed; the state lives
 * on the {@link SimHost}, so it outlives the daemon that armed it. The guard beside the daemon (the
 * petter) runs unless a test stops it; without it, or with a device slower than W, it says so.
 */
final class SimWatchdog implements Watchdog {
    private final SimClock clock;
    private final SimHost host;

    SimWatchdog(SimClock clock, SimHost host) {
        this.clock = clock;
        this.host = host;
    }

    @Override
    public void armUntil(long deadlineNanos) {
        host.watchdogArmed = true;
        host.watchdogDeadline = deadlineNanos;
    }

    @Override
    public void release() {
        host.watchdogArmed = false;
    }

    @Override
    public OptionalLong inheritedDeadline() {
        return host.watchdogArmed && host.watchdogDeadline > clock.nanos()
                ? OptionalLong.of(host.watchdogDeadline) : OptionalLong.empty();
    }

    @Override
    public Optional<String> problem() {
        if (host.watchdogProblem != null) {
            return Optional.of(host.watchdogProblem);
        }
        if (!host.guardRunning) {
            return Optional.of("no watchdog guard runs on " + host.name + ": nothing would reset it");
        }
        if (host.guardSlowerThanW) {
            return Optional.of("the watchdog device of " + host.name + " resets only after more than watchdogMs");
        }
        return Optional.empty();
    }
}
