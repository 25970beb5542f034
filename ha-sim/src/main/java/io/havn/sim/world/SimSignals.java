package io.havn.sim.world;

import io.havn.common.node.HostSignal;
import io.havn.common.node.NodeEvent;
import java.util.ArrayList;
import java.util.List;

/**
 * The signal sender of every simulated host ({@link HostSignal}): a process apart from the daemon,
 * so a paused, crashed or restarting daemon leaves it beating, while power loss, a cut link or a
 * test that stops it ({@code signal HOST off}) silences it. Every heartbeat interval each powered
 * host whose sender runs tells every peer it reaches what its watchdog enforces: armed toward the
 * deadline its daemon last published (while the guard runs and that deadline is ahead), released,
 * or lapsed. A round's signals travel as one event; loss is drawn per datagram.
 */
final class SimSignals {
    private static final long MS = 1_000_000L;

    private final SimWorld world;
    private final long intervalNanos;

    SimSignals(SimWorld world, long intervalMs) {
        this.world = world;
        this.intervalNanos = intervalMs * MS;
    }

    void start() {
        world.clock.schedule(intervalNanos, this::round);
    }

    private void round() {
        long now = world.clock.nanos();
        List<SimHost> to = new ArrayList<>();
        List<NodeEvent> what = new ArrayList<>();
        for (SimHost from : world.hosts()) {
            if (!from.powered || !from.signalRunning) {
                continue;
            }
            HostSignal s = signal(from, now);
            NodeEvent e = new NodeEvent.SignalReceived(s);
            world.signalsSent += from.signalPeers.size();
            for (io.havn.common.model.HostId peer : from.signalPeers) {
                SimHost dest = world.host(peer);
                if (dest != null && dest != from && world.net.delivers(from.name, dest.name)) {
                    to.add(dest);
                    what.add(e);
                }
            }
        }
        if (!to.isEmpty()) {
            world.clock.schedule(world.net.latencyNanos(), () -> arrive(to, what));
        }
        world.clock.schedule(intervalNanos, this::round);
    }

    /** What {@code h}'s sender says now; each call is the next signal of its sender's incarnation. */
    static HostSignal signal(SimHost h, long now) {
        return record(h, now, h.boots, ++h.signalSequence);
    }

    /** What {@code h}'s watchdog enforces now, as a record of {@code incarnation} and {@code sequence}. */
    static HostSignal record(SimHost h, long now, long incarnation, long sequence) {
        HostSignal.Guard guard;
        int remainingMs = 0;
        if (!h.watchdogArmed) {
            guard = HostSignal.Guard.RELEASED;
        } else if (h.guardRunning && h.watchdogDeadline > now) {
            guard = HostSignal.Guard.ARMED;
            remainingMs = (int) Math.min(Integer.MAX_VALUE, (h.watchdogDeadline - now + MS - 1) / MS);
        } else {
            guard = HostSignal.Guard.LAPSED;
        }
        return new HostSignal(h.id, incarnation, sequence, guard, remainingMs);
    }

    private void arrive(List<SimHost> to, List<NodeEvent> what) {
        for (int i = 0; i < to.size(); i++) {
            SimHost dest = to.get(i);
            if (dest.powered && dest.driver != null) { // whichever daemon runs there takes it
                world.deliver(dest, dest.incarnation, dest.driver, what.get(i));
            }
        }
    }
}
