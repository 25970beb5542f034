package io.havn.daemon.coord;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.havn.common.model.HostId;
import io.havn.sim.world.SimClock;
import io.havn.sim.world.SimCoordination;
import io.havn.sim.world.SimNetwork;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * The coordinator contract on the simulated ensemble, the reference semantics: virtual time, the
 * ensemble ticked every 100 ms, and faults through the simulated network and servers.
 */
class SimCoordinatorContractTest extends CoordinatorContract {
    static final long SESSION_TIMEOUT_MS = 3_000;
    static final long TICK_MS = 100;

    @Override
    CoordinationHarness newHarness(String testName) {
        return new SimHarness();
    }

    static final class SimHarness implements CoordinationHarness {
        final SimClock clock = new SimClock();
        final SimNetwork net = new SimNetwork(new SplittableRandom(1));
        final SimCoordination coordination = new SimCoordination(clock, net, SESSION_TIMEOUT_MS);
        final List<Probe> probes = new ArrayList<>();

        SimHarness() {
            scheduleTick();
        }

        private void scheduleTick() {
            clock.schedule(TICK_MS * SimClock.MS, () -> {
                coordination.tick();
                scheduleTick();
            });
        }

        @Override
        public long sessionTimeoutMs() {
            return SESSION_TIMEOUT_MS;
        }

        @Override
        public Probe connect(HostId host) {
            Probe p = new Probe(host);
            SimCoordination.Client c = coordination.connect(host, p::receive);
            p.attach(c, () -> coordination.close(c));
            probes.add(p);
            return p;
        }

        @Override
        public boolean awaitUntil(BooleanSupplier condition, long withinMs) {
            long limit = clock.nanos() + withinMs * SimClock.MS;
            while (!condition.getAsBoolean() && clock.runNext(limit)) {
                // bounded: the clock never passes the limit, and ticks keep events coming
            }
            if (condition.getAsBoolean()) {
                return true;
            }
            clock.advanceTo(limit);
            return false;
        }

        /** Isolates the client past the session timeout, then lets it reach the ensemble again. */
        @Override
        public void expire(Probe p) {
            long session = p.session();
            net.isolate(p.host.value());
            pass(SESSION_TIMEOUT_MS + 3 * TICK_MS);
            assertFalse(coordination.isLive(p.host, session), p.host + "'s session did not expire");
            net.reconnect(p.host.value());
        }

        @Override
        public void crashServer() {
            coordination.serverDown(0);
        }

        @Override
        public void restartServer() {
            coordination.serverUp(0);
        }

        @Override
        public void loseQuorum() {
            coordination.serverDown(0);
            coordination.serverDown(1);
        }

        @Override
        public void regainQuorum() {
            coordination.serverUp(0);
            coordination.serverUp(1);
        }

        @Override
        public void close() {
            for (Probe p : probes) {
                p.close();
            }
        }
    }
}
