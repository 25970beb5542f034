package io.havn.daemon.transport;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.Settings;
import io.havn.common.port.Transport;
import io.havn.sim.world.SimTransport;
import io.havn.sim.world.SimWire;
import io.havn.sim.world.SimWorld;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;

/**
 * The transport contract on the simulated network: one simulated transport per host, on its own
 * (no daemon runs), and a {@link SimWire} as the raw wire, whose datagrams the receiving transport
 * judges as the UDP one judges bytes. Time is virtual and runs only while the test waits: a wait
 * of {@code within} runs the world's events for at most that much virtual time.
 */
class SimTransportContractTest extends TransportContract {
    @Override
    protected Subject newSubject() {
        return new SimSubject();
    }

    private static final class SimSubject implements Subject {
        private final SimWorld world = new SimWorld(1, Settings.defaults());
        private final Map<HostId, SimTransport> transports = new HashMap<>();
        private final Map<HostId, Queue<Heartbeat>> received = new HashMap<>();
        private final SimWire wire = new SimWire(world);

        SimSubject() {
            for (HostId h : HOSTS) {
                world.addHost(h, new HostCapacity(32, 131072), false);
                Queue<Heartbeat> inbox = new ArrayDeque<>();
                received.put(h, inbox);
                transports.put(h, world.transport(h, e -> inbox.add(((NodeEvent.HeartbeatReceived) e).heartbeat())));
            }
        }

        @Override
        public Transport transport(HostId host) {
            return transports.get(host);
        }

        /** Runs the world until {@code host} received a heartbeat, or {@code within} of virtual time passed. */
        @Override
        public Heartbeat next(HostId host, Duration within) {
            Queue<Heartbeat> inbox = received.get(host);
            world.runUntil(world.clock.nanos() + within.toNanos(), () -> !inbox.isEmpty());
            return inbox.poll();
        }

        @Override
        public void stop(HostId host) {
            transports.get(host).close();
        }

        @Override
        public Wire wire() {
            return new Wire() {
                @Override
                public void genuine(HostId to, Heartbeat heartbeat) {
                    wire.genuine(to, heartbeat);
                }

                @Override
                public void replayLast(HostId to) {
                    wire.replayLast(to);
                }

                @Override
                public void forged(HostId to, Heartbeat heartbeat) {
                    wire.forged(to, heartbeat);
                }

                @Override
                public void misaddressed(HostId deliveredTo, HostId addressedTo, Heartbeat heartbeat) {
                    wire.misaddressed(deliveredTo, addressedTo, heartbeat);
                }

                @Override
                public void garbage(HostId to) {
                    wire.garbage(to);
                }
            };
        }

        @Override
        public void close() {
            transports.values().forEach(SimTransport::close);
        }
    }
}
