package io.havn.daemon.watchdog;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.node.Settings;
import io.havn.common.port.Watchdog;
import io.havn.sim.world.SimClock;
import io.havn.sim.world.SimHost;
import io.havn.sim.world.SimWorld;

/**
 * The watchdog contract on the simulator's watchdog, so that what the simulator proves is about a
 * watchdog that behaves like the petter and its publisher. One host, no daemon running: the
 * subject's daemon is the watchdog it makes. The guard is the simulated host's (the world's tick
 * resets the host once a deadline has passed by W), and it gave the machine up exactly when it
 * reset it. Time is the world's virtual clock, run by {@link Subject#advanceMs}.
 */
class SimWatchdogContractTest extends WatchdogContract {
    private static final HostId HOST = new HostId("sim1");

    @Override
    protected Subject newSubject() {
        return new SimSubject();
    }

    private static final class SimSubject implements Subject {
        private final SimWorld world = new SimWorld(1, Settings.defaults());
        private final SimHost host = world.addHost(HOST, new HostCapacity(32, 131072), false);
        private Watchdog current = world.watchdog(HOST);
        /** The host's watchdog resets when the guard last started. */
        private int resetsAtStart;

        SimSubject() {
            host.stopWatchdogGuard(); // as a fresh subject: no guard runs until the test starts one
        }

        @Override
        public Watchdog watchdog() {
            return current;
        }

        @Override
        public Watchdog restartDaemon() {
            current = world.watchdog(HOST);
            return current;
        }

        /**
         * Power lost and back: the boot clears what was armed. The simulator has one clock for all
         * its hosts, so the clock goes on; the daemon the boot starts is stopped again, for the
         * subject's daemon is its own watchdog. No guard runs after it.
         */
        @Override
        public void reboot() {
            world.crash(HOST);
            world.powerOn(HOST);
            world.daemonCrash(HOST);
            host.stopWatchdogGuard();
        }

        @Override
        public long nowNanos() {
            return world.clock.nanos();
        }

        @Override
        public void advanceMs(long ms) {
            world.runUntil(world.clock.nanos() + ms * SimClock.MS);
        }

        @Override
        public long watchdogMs() {
            return world.settings.watchdogMs();
        }

        @Override
        public void startGuard() {
            start(false);
        }

        @Override
        public void startGuardSlowerThanW() {
            start(true);
        }

        private void start(boolean slowerThanW) {
            host.startWatchdogGuard(slowerThanW);
            resetsAtStart = host.watchdogResets();
        }

        @Override
        public void stopGuard() {
            host.stopWatchdogGuard();
        }

        @Override
        public boolean guardKeepsAlive() {
            return host.watchdogResets() == resetsAtStart;
        }

        /** Nothing to release: the world runs only on the test's thread, when the test advances it. */
        @Override
        public void close() {
        }
    }
}
