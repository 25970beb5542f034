package io.havn.common.port;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;

/**
 * Unreliable datagrams between the daemons. Sending never blocks and may silently lose the
 * message; received heartbeats come back to the node as {@code HeartbeatReceived} events.
 */
public interface Transport {
    void send(HostId to, Heartbeat heartbeat);

    /**
     * The peers this host heartbeats from now on (its monitors), in name order: an adapter with a
     * signal sender apart from the daemon has it signal the same peers. Nothing to do otherwise.
     */
    default void monitors(java.util.List<HostId> peers) {
    }
}
