package io.havn.common.node;

import io.havn.common.detect.PhiAccrualDetector;
import io.havn.common.model.HostId;
import java.util.Collection;
import java.util.Map;

/**
 * What this node knows of its peers from their heartbeats: a phi-accrual detector each, and the
 * last heartbeat for rule 5's health. It detects only; the agent and the manager decide.
 */
final class Peers {
    /** A peer's health as rule 5 counts it. */
    enum Health { HEALTHY, LOST, UNKNOWN }

    private static final class Peer {
        final HostId id;
        PhiAccrualDetector detector;
        final long trackedSince;
        Heartbeat last;
        long lastArrival = Long.MIN_VALUE;
        /** The echo delay of the last heartbeat, or -1 before the first echo. */
        long echoDelay = -1;
        boolean suspected;

        Peer(HostId id, PhiAccrualDetector detector, long trackedSince) {
            this.id = id;
            this.detector = detector;
            this.trackedSince = trackedSince;
        }
    }

    private final HostId self;
    private final long incarnation;
    private final Settings settings;
    private final Map<HostId, Peer> peers = new java.util.HashMap<>();
    /** The peers in name order, for deterministic iteration. */
    private final java.util.List<HostId> ids = new java.util.ArrayList<>();
    private final java.util.List<Peer> ordered = new java.util.ArrayList<>();
    private long sequence;
    /** The peers in name order as the last round was sent to them; null after a change. */
    private java.util.List<HostId> idsSent;

    Peers(HostId self, long incarnation, Settings settings) {
        this.self = self;
        this.incarnation = incarnation;
        this.settings = settings;
    }

    /** Starts tracking {@code host} (registered in the cluster state) if it is a new peer. */
    void add(HostId host, long now) {
        if (host.equals(self) || peers.containsKey(host)) {
            return;
        }
        Peer p = new Peer(host, detector(), now);
        peers.put(host, p);
        int at = -java.util.Collections.binarySearch(ids, host) - 1;
        ids.add(at, host);
        ordered.add(at, p);
        idsSent = null;
    }

    private PhiAccrualDetector detector() {
        return new PhiAccrualDetector(settings.phiWindow(), ms(settings.phiMinStdDevMs()),
                ms(settings.phiAcceptablePauseMs()), ms(settings.heartbeatIntervalMs()));
    }

    /** Stops tracking {@code host} (gone from the cluster state). */
    void remove(HostId host) {
        Peer p = peers.remove(host);
        if (p != null) {
            ids.remove(host);
            ordered.remove(p);
            idsSent = null;
        }
    }

    /** The peers, in name order. */
    Collection<HostId> ids() {
        return ids;
    }

    /** Sends a heartbeat to every peer, each echoing the last one that peer sent us. */
    void sendAll(java.util.function.Consumer<Effect> out, long now, long epoch, int unconfirmedMs, boolean frozen) {
        if (ordered.isEmpty()) {
            return;
        }
        Heartbeat[] beats = new Heartbeat[ordered.size()];
        for (int i = 0; i < beats.length; i++) {
            Peer p = ordered.get(i);
            long echo = p.last == null ? Heartbeat.NO_ECHO : p.last.sentNanos();
            beats[i] = new Heartbeat(self, incarnation, ++sequence, epoch, now, echo, unconfirmedMs, frozen);
        }
        if (idsSent == null) {
            idsSent = java.util.List.copyOf(ids); // again only after the peers change
        }
        out.accept(new Effect.Send(idsSent, java.util.Collections.unmodifiableList(java.util.Arrays.asList(beats))));
    }

    /** Adds each peer's health now to {@code votes}. */
    void vote(Quorum.Tally votes, long now) {
        for (Peer p : ordered) {
            votes.add(health(p, now));
        }
    }

    /**
     * Records a heartbeat read from the network at {@code arrivedNanos}; returns false if it was
     * ignored (unknown sender, stale or replayed). The arrival counted is clamped to at most
     * {@code now} (a stamp ahead of the node's clock would hide a silence to come) and at least the
     * sender's last arrival (the detector's intervals never run backwards).
     */
    boolean received(Heartbeat hb, long arrivedNanos, long now) {
        Peer p = peers.get(hb.from());
        if (p == null) {
            return false;
        }
        if (p.last != null && !hb.isAfter(p.last)) {
            return false; // stale, duplicate, or of an older incarnation
        }
        if (p.last != null && hb.incarnation() != p.last.incarnation()) {
            p.detector = detector(); // a restarted daemon: its old arrival times say nothing now
        }
        long at = Math.min(now, Math.max(arrivedNanos, p.lastArrival));
        p.detector.heartbeat(at);
        p.last = hb;
        p.lastArrival = at;
        p.echoDelay = hb.echoNanos() == Heartbeat.NO_ECHO ? -1 : at - hb.echoNanos();
        return true;
    }

    /** Each peer's state now, in name order, for status and metrics. */
    java.util.List<PeerStat> stats(long now) {
        java.util.List<PeerStat> out = new java.util.ArrayList<>(ordered.size());
        for (Peer p : ordered) {
            double phi = p.last == null ? 0 : p.detector.phi(now);
            out.add(new PeerStat(p.id, health(p, now).name(), suspected(p.id, now), phi,
                    p.echoDelay < 0 ? Double.NaN : p.echoDelay / 1e6,
                    p.lastArrival == Long.MIN_VALUE ? -1 : (now - p.lastArrival) / 1_000_000L));
        }
        return out;
    }

    /** The last heartbeat taken from {@code h}, or null. */
    Heartbeat lastHeartbeat(HostId h) {
        Peer p = peers.get(h);
        return p == null ? null : p.last;
    }

    long lastArrival(HostId h) {
        Peer p = peers.get(h);
        return p == null ? Long.MIN_VALUE : p.lastArrival;
    }

    /**
     * Whether the failure detector suspects {@code h} now. A peer never heard from is suspected
     * once it has been tracked longer than a pause plus two heartbeat timeouts.
     */
    boolean suspected(HostId h, long now) {
        Peer p = peers.get(h);
        if (p == null) {
            return false;
        }
        if (p.last == null) {
            return now - p.trackedSince > ms(settings.phiAcceptablePauseMs() + 2 * settings.heartbeatTimeoutMs());
        }
        return !p.detector.isAvailable(now, settings.phiThreshold());
    }

    /** Updates and returns the remembered suspicion, so callers can report transitions once. */
    boolean changeSuspicion(HostId h, boolean suspected) {
        Peer p = peers.get(h);
        if (p == null || p.suspected == suspected) {
            return false;
        }
        p.suspected = suspected;
        return true;
    }

    double phi(HostId h, long now) {
        Peer p = peers.get(h);
        return p == null ? 0 : p.detector.phi(now);
    }

    /** Rule 5: a peer counts only through a fresh heartbeat, one that echoes ours of less than a timeout ago. */
    Health health(HostId h, long now) {
        return health(peers.get(h), now);
    }

    private Health health(Peer p, long now) {
        if (p == null || p.last == null) {
            return Health.UNKNOWN;
        }
        Heartbeat hb = p.last;
        if (hb.echoNanos() == Heartbeat.NO_ECHO || now - hb.echoNanos() >= ms(settings.heartbeatTimeoutMs())) {
            return Health.UNKNOWN;
        }
        return hb.unconfirmedMs() <= settings.suspectAfterMs() && !hb.frozen() ? Health.HEALTHY : Health.LOST;
    }

    /** Whether a heartbeat from {@code h} arrived at or after {@code since}. */
    boolean heardSince(HostId h, long since) {
        return lastArrival(h) >= since;
    }

    static long ms(long millis) {
        return millis * 1_000_000L;
    }
}
