package io.havn.sim.world;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.Transport;
import java.util.ArrayList;
import java.util.List;

/**
 * One daemon incarnation's heartbeat datagrams over the simulated network. Heartbeats a sender
 * sends in one instant all take the same latency, so they travel as one event; loss is still
 * drawn per datagram, at sending, in sending order. A datagram reaches only the incarnation of
 * the receiver's daemon that ran when it was sent.
 */
final class SimTransport implements Transport {
    private final SimWorld world;
    private final SimHost from;
    private final int incarnation;

    SimTransport(SimWorld world, SimHost from, int incarnation) {
        this.world = world;
        this.from = from;
        this.incarnation = incarnation;
    }

    /** One sender's heartbeats of one instant, on their way. */
    static final class Batch {
        final long at;
        final List<SimHost> to = new ArrayList<>();
        final List<Integer> incarnations = new ArrayList<>();
        final List<Heartbeat> beats = new ArrayList<>();

        Batch(long at) {
            this.at = at;
        }
    }

    @Override
    public void send(HostId to, Heartbeat heartbeat) {
        SimHost dest = world.host(to);
        if (dest == null || from.incarnation != incarnation || !world.net.delivers(from.name, dest.name)) {
            return;
        }
        long now = world.clock.nanos();
        Batch b = from.outgoing;
        if (b == null || b.at != now) {
            Batch fresh = new Batch(now);
            from.outgoing = fresh;
            world.clock.schedule(world.net.latencyNanos(), () -> deliver(fresh));
            b = fresh;
        }
        b.to.add(dest);
        b.incarnations.add(dest.incarnation);
        b.beats.add(heartbeat);
    }

    private void deliver(Batch b) {
        for (int i = 0; i < b.to.size(); i++) {
            SimHost dest = b.to.get(i);
            int destInc = b.incarnations.get(i);
            if (dest.node != null && dest.incarnation == destInc) {
                NodeEvent e = new NodeEvent.HeartbeatReceived(b.beats.get(i));
                NodeDriver n = dest.driver;
                world.deliver(dest, destInc, () -> n.handle(e));
            }
        }
    }
}
