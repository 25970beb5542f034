package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.CoordOp;
import io.havn.common.port.Coordinator;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * One client of the coordination service under test, as a node sees it: its Coordinator and
 * everything it was told, in order. Only the test thread touches it (the harness hands events
 * over to it while the test waits).
 */
final class Probe {
    final HostId host;
    private final List<NodeEvent> events = new ArrayList<>();
    private Coordinator coordinator;
    private Runnable closer = () -> { };
    private long nextToken = 1;

    Probe(HostId host) {
        this.host = host;
    }

    void attach(Coordinator c, Runnable close) {
        this.coordinator = c;
        this.closer = close;
    }

    Coordinator coordinator() {
        return coordinator;
    }

    void receive(NodeEvent e) {
        events.add(e);
    }

    void close() {
        closer.run();
    }

    // ---------------------------------------------------------------- requests, each with a fresh token

    long confirm() {
        long t = nextToken++;
        coordinator.confirm(t);
        return t;
    }

    long write(List<CoordOp> ops) {
        long t = nextToken++;
        coordinator.write(t, ops);
        return t;
    }

    long claimEpoch() {
        long t = nextToken++;
        coordinator.claimEpoch(t);
        return t;
    }

    // ---------------------------------------------------------------- what it was told

    /** How many events it has received: a mark to search from. */
    int mark() {
        return events.size();
    }

    List<NodeEvent> events() {
        return List.copyOf(events);
    }

    /** The index of the first event at or after {@code from} of {@code type} matching {@code p}, or -1. */
    <T extends NodeEvent> int indexOf(int from, Class<T> type, Predicate<T> p) {
        for (int i = from; i < events.size(); i++) {
            NodeEvent e = events.get(i);
            if (type.isInstance(e) && p.test(type.cast(e))) {
                return i;
            }
        }
        return -1;
    }

    <T extends NodeEvent> T find(int from, Class<T> type, Predicate<T> p) {
        int i = indexOf(from, type, p);
        return i < 0 ? null : type.cast(events.get(i));
    }

    <T extends NodeEvent> boolean has(int from, Class<T> type, Predicate<T> p) {
        return indexOf(from, type, p) >= 0;
    }

    <T extends NodeEvent> List<T> all(int from, Class<T> type) {
        List<T> out = new ArrayList<>();
        for (int i = from; i < events.size(); i++) {
            if (type.isInstance(events.get(i))) {
                out.add(type.cast(events.get(i)));
            }
        }
        return out;
    }

    /** The session of the latest SessionStarted. */
    long session() {
        List<NodeEvent.SessionStarted> s = all(0, NodeEvent.SessionStarted.class);
        if (s.isEmpty()) {
            throw new AssertionError(host + " has no session; events: " + events);
        }
        return s.get(s.size() - 1).session();
    }

    @Override
    public String toString() {
        return host + " " + events;
    }
}
