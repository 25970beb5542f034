package io.havn.daemon.fence;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.Settings;
import io.havn.common.port.Fencer;
import io.havn.sim.world.SimFencer;
import io.havn.sim.world.SimHost;
import io.havn.sim.world.SimWorld;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Locale;
import java.util.Queue;

/**
 * The fencer contract on the simulator's fence devices, so that what the simulator proves is about
 * a fencer that behaves like the fence-agent one. Each host has, besides its own device, one
 * device of each {@link Kind}. Time is virtual and runs only while the test waits for an answer:
 * a wait of {@code within} runs the world's events for at most that much virtual time.
 */
class SimFencerContractTest extends FencerContract {
    @Override
    protected Subject newSubject() {
        return new SimSubject();
    }

    private static final class SimSubject implements Subject {
        private final SimWorld world = new SimWorld(1, Settings.defaults());
        private final Queue<NodeEvent> events = new ArrayDeque<>();
        private final SimFencer fencer;

        SimSubject() {
            for (HostId h : List.of(H1, H2, H3)) {
                SimHost host = world.addHost(h, new HostCapacity(32, 131072), true);
                for (Kind k : Kind.values()) {
                    host.addFenceDevice(device(h, k), SimFencer.Behaviour.valueOf(k.name()));
                }
            }
            fencer = world.fencer(H1, events::add);
        }

        @Override
        public Fencer fencer() {
            return fencer;
        }

        @Override
        public String device(HostId host, Kind kind) {
            return "pdu-" + host.value() + "-" + kind.name().toLowerCase(Locale.ROOT);
        }

        /** Runs the world until the fencer posted, or {@code within} of virtual time passed. */
        @Override
        public NodeEvent next(Duration within) {
            world.runUntil(world.clock.nanos() + within.toNanos(), () -> !events.isEmpty());
            return events.poll();
        }

        @Override
        public boolean poweredOff(HostId host) {
            return !world.host(host).powered();
        }

        @Override
        public String failureWords() {
            return SimFencer.REFUSAL;
        }

        @Override
        public long attemptDeadlineMs() {
            return SimFencer.ATTEMPT_DEADLINE_MS;
        }

        @Override
        public boolean closeFencer() {
            fencer.close();
            return true;
        }

        @Override
        public void close() {
            fencer.close();
        }
    }
}
