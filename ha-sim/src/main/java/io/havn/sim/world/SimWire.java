package io.havn.sim.world;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import java.util.HashMap;
import java.util.Map;

/**
 * A sender on the simulated network that is no transport of the cluster: it puts there what a
 * stranger, a misconfigured host or an attacker could, as datagrams the receiving
 * {@link SimTransport} must judge as the real one judges bytes. All its datagrams take one path,
 * with one latency, so they arrive in the order sent. Nothing in the world uses it unless a test does.
 */
public final class SimWire {
    private final SimWorld world;
    private final Map<HostId, SimTransport.Datagram> last = new HashMap<>();

    public SimWire(SimWorld world) {
        this.world = world;
    }

    /** What a transport of the cluster would send to {@code to}. */
    public void genuine(HostId to, Heartbeat heartbeat) {
        SimTransport.Datagram d = new SimTransport.Datagram(heartbeat, true, to);
        last.put(to, d);
        send(to, d);
    }

    /** The last {@link #genuine} datagram to {@code to}, once more. */
    public void replayLast(HostId to) {
        send(to, last.get(to));
    }

    /** A heartbeat that looks genuine but is not sealed with the cluster's key. */
    public void forged(HostId to, Heartbeat heartbeat) {
        send(to, new SimTransport.Datagram(heartbeat, false, to));
    }

    /** A genuine heartbeat addressed to {@code addressedTo}, delivered to {@code deliveredTo}. */
    public void misaddressed(HostId deliveredTo, HostId addressedTo, Heartbeat heartbeat) {
        send(deliveredTo, new SimTransport.Datagram(heartbeat, true, addressedTo));
    }

    /** Bytes that are no heartbeat at all. */
    public void garbage(HostId to) {
        send(to, new SimTransport.Datagram(null, false, to));
    }

    private void send(HostId to, SimTransport.Datagram d) {
        SimHost dest = world.host(to);
        if (dest == null || d == null) {
            return;
        }
        int inc = dest.incarnation;
        world.clock.schedule(SimNetwork.BASE_LATENCY_NANOS, () -> SimTransport.arrive(dest, inc, d));
    }
}
