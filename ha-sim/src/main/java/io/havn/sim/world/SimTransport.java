package io.havn.sim.world;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.Transport;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One daemon incarnation's heartbeat datagrams over the simulated network. Heartbeats a sender
 * sends in one instant all take the same latency, so they travel as one event; loss is still
 * drawn per datagram, at sending, in sending order. A datagram reaches only the incarnation of
 * the receiver's daemon that ran when it was sent.
 *
 * <p>The receiving end checks what the real transport checks: only a heartbeat sealed with the
 * cluster's key, addressed to this host, and later than the last one taken from its sender passes
 * (the sim's own datagrams always pass the first two; {@link SimWire} sends others). A transport
 * made on its own ({@link SimWorld#transport}) hands what passes to its events instead of a node,
 * and can be closed.
 */
public final class SimTransport implements Transport, AutoCloseable {
    private final SimWorld world;
    private final SimHost from;
    private final int incarnation;
    /** Where received heartbeats go when no node takes them (a transport on its own); null: the node. */
    private final Consumer<NodeEvent> events;
    /** Per sender, the last heartbeat let through (on its own): the real transport's replay guard. */
    private final Map<HostId, Heartbeat> last = new HashMap<>();
    private boolean closed;

    SimTransport(SimWorld world, SimHost from, int incarnation) {
        this(world, from, incarnation, null);
    }

    SimTransport(SimWorld world, SimHost from, int incarnation, Consumer<NodeEvent> events) {
        this.world = world;
        this.from = from;
        this.incarnation = incarnation;
        this.events = events;
        from.transport = this;
    }

    @Override
    public void monitors(java.util.List<HostId> peers) {
        if (!closed) {
            from.signalPeers = peers;
        }
    }

    /**
     * What travels: a heartbeat ({@code null} for bytes that are none), sealed with the cluster's
     * key or not, and the host it is addressed to.
     */
    record Datagram(Heartbeat heartbeat, boolean sealed, HostId addressedTo) { }

    /** One sender's heartbeats of one instant, on their way. */
    static final class Batch {
        final long at;
        /** Sized for a whole round (one heartbeat to every other host), so the arrays never grow. */
        SimHost[] to;
        int[] incarnations;
        /** The heartbeats, each sealed and addressed to its destination (no datagram object each: 1,000 hosts). */
        Heartbeat[] beats;
        int size;

        Batch(long at, int capacity) {
            this.at = at;
            this.to = new SimHost[capacity];
            this.incarnations = new int[capacity];
            this.beats = new Heartbeat[capacity];
        }

        void add(SimHost dest, Heartbeat hb) {
            if (size == to.length) { // more heartbeats in one instant than hosts: a round and then some
                int n = Math.max(4, 2 * size);
                to = Arrays.copyOf(to, n);
                incarnations = Arrays.copyOf(incarnations, n);
                beats = Arrays.copyOf(beats, n);
            }
            to[size] = dest;
            incarnations[size] = dest.incarnation;
            beats[size] = hb;
            size++;
        }
    }

    @Override
    public void send(HostId to, Heartbeat heartbeat) {
        SimHost dest = world.host(to);
        if (closed || from.incarnation != incarnation) {
            return;
        }
        world.heartbeatsSent++;
        if (heartbeat.digest() != null) {
            world.digestHostsSent += heartbeat.digest().hosts();
        }
        if (dest == null || !world.net.delivers(from.name, dest.name)) {
            return;
        }
        long now = world.clock.nanos();
        Batch b = from.outgoing;
        if (b == null || b.at != now) {
            // sized as the last round was (a host heartbeats the same peers round after round)
            Batch fresh = new Batch(now, b == null ? Math.min(16, world.hostCount()) : Math.max(4, b.size));
            from.outgoing = fresh;
            world.clock.schedule(world.net.latencyNanos(), () -> deliver(fresh));
            b = fresh;
        }
        b.add(dest, heartbeat);
    }

    private static void deliver(Batch b) {
        for (int i = 0; i < b.size; i++) {
            SimHost dest = b.to[i];
            SimTransport r = receiver(dest, b.incarnations[i]);
            if (r != null) {
                r.receive(b.beats[i], true, dest.id);
            }
        }
    }

    /** {@code d}, sent while incarnation {@code destInc} of {@code dest}'s daemon ran, reaches the host. */
    static void arrive(SimHost dest, int destInc, Datagram d) {
        SimTransport r = receiver(dest, destInc);
        if (r != null) {
            r.receive(d.heartbeat(), d.sealed(), d.addressedTo());
        }
    }

    /** {@code dest}'s receiving end, if incarnation {@code destInc} of its daemon still runs there. */
    private static SimTransport receiver(SimHost dest, int destInc) {
        SimTransport r = dest.transport;
        return r != null && dest.powered && dest.incarnation == destInc && r.incarnation == destInc ? r : null;
    }

    private void receive(Heartbeat hb, boolean sealed, HostId addressedTo) {
        if (closed || hb == null || !sealed || !from.id.equals(addressedTo)) {
            return; // the codec rejects it
        }
        NodeEvent e = new NodeEvent.HeartbeatReceived(hb, world.clock.nanos()); // read as the network delivers it
        if (events != null) {
            Heartbeat prev = last.get(hb.from());
            if (prev != null && !hb.isAfter(prev)) {
                return; // a replay, or older than one already taken
            }
            last.put(hb.from(), hb);
            events.accept(e);
            return;
        }
        // Into a node, the replay guard is the node's own: Peers takes a heartbeat only if it is after
        // the last one of its sender (Heartbeat.isAfter, the rule above), so what the node acts on is
        // the same, and 1,000 hosts do not keep a million-entry map here besides the one in Peers.
        NodeDriver n = from.driver;
        if (n != null) {
            world.deliver(from, incarnation, n, e);
        }
    }

    /** Stops, as a daemon that exits: nothing is sent or received any more. */
    @Override
    public void close() {
        closed = true;
    }
}
