package io.havn.common.node;

import io.havn.common.detect.PhiAccrualDetector;
import io.havn.common.model.HostId;
import java.util.Collection;
import java.util.Map;

/**
 * What this node knows of its peers from their heartbeats: a phi-accrual detector each, and the
 * last heartbeat for rule 5's health. It detects only; the agent and the manager decide.
 *
 * <p>Which peers it heartbeats is {@link Monitors}'s: every one in a small cluster, its monitors in
 * a larger one. Then each heartbeat carries a {@link HealthDigest}, and a peer's health is the
 * newest statement it made of itself that reached this host by any path of heartbeats, aged
 * conservatively: a statement a peer passes on was at most its stated age old when that peer sent
 * it, and that peer sent it after our heartbeat it echoes, so it was made no earlier than that echo
 * minus its age (SAFETY.md, "Monitors and gossiped health").
 */
final class Peers {
    /** A peer's health as rule 5 counts it. */
    enum Health { HEALTHY, LOST, UNKNOWN }

    /** Whether this host's own signal sender or storage heartbeat shows a peer alive now, as judged here. */
    interface AliveApart {
        boolean here(HostId h, long now);
    }

    private static final class Peer {
        final HostId id;
        PhiAccrualDetector detector;
        final long trackedSince;
        Heartbeat last;
        long lastArrival = Long.MIN_VALUE;
        /** The echo delay of the last heartbeat, or -1 before the first echo. */
        long echoDelay = -1;
        boolean suspected;
        /** The earliest its newest statement of itself that reached here can have been made; MIN_VALUE if none did. */
        long saidAt = Long.MIN_VALUE;
        /** What that statement said: healthy (confirmed within suspectAfter, not frozen), or lost. */
        boolean saidHealthy;
        /** The earliest the newest sign of it alive apart from its daemon, passed on by a peer, can have been; MIN_VALUE if none. */
        long apartAt = Long.MIN_VALUE;

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
    /** The monitors in name order, as the last round was sent to them; null after the peers change. */
    private java.util.List<HostId> idsSent;
    private java.util.List<Peer> monitorPeers = java.util.List.of();
    /** The monitors last announced ({@link Effect.MonitorsChanged}); none at first. */
    private java.util.List<HostId> announced = java.util.List.of();
    /** Whether health is gossiped: this host heartbeats only its monitors, not every peer. */
    private boolean gossiped;
    /** Every registered host and this one, in name order, as a digest indexes them; null at self. */
    private Peer[] members = new Peer[0];
    private long membersHash;

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

    /** Whether health is gossiped now (this host heartbeats its monitors, not every peer). */
    boolean gossiped() {
        return gossiped;
    }

    /**
     * Sends a heartbeat to every monitor (every peer in a small cluster), each echoing the last one
     * that peer sent us; with monitors, each carries the digest of every host's health.
     */
    void sendAll(java.util.function.Consumer<Effect> out, long now, long epoch, int unconfirmedMs, boolean frozen,
                 AliveApart apart) {
        if (idsSent == null) {
            arrange(out);
        }
        if (monitorPeers.isEmpty()) {
            return;
        }
        HealthDigest digest = gossiped
                ? digest(now, unconfirmedMs <= settings.suspectAfterMs() && !frozen, apart) : null;
        Heartbeat[] beats = new Heartbeat[monitorPeers.size()];
        for (int i = 0; i < beats.length; i++) {
            Peer p = monitorPeers.get(i);
            long echo = p.last == null ? Heartbeat.NO_ECHO : p.last.sentNanos();
            beats[i] = new Heartbeat(self, incarnation, ++sequence, epoch, now, echo, unconfirmedMs, frozen, digest);
        }
        out.accept(new Effect.Send(idsSent, java.util.Collections.unmodifiableList(java.util.Arrays.asList(beats))));
    }

    /** Works out the monitors again (the peers changed), and announces them when they differ. */
    private void arrange(java.util.function.Consumer<Effect> out) {
        java.util.List<HostId> mine = Monitors.of(ids, self, settings.monitors());
        gossiped = !Monitors.allToAll(ids.size() + 1, settings.monitors());
        java.util.List<Peer> chosen = new java.util.ArrayList<>(mine.size());
        for (HostId h : mine) {
            chosen.add(peers.get(h));
        }
        monitorPeers = chosen;
        idsSent = java.util.List.copyOf(mine);
        java.util.List<HostId> all = new java.util.ArrayList<>(ids.size() + 1);
        members = new Peer[ids.size() + 1];
        int at = -java.util.Collections.binarySearch(ids, self) - 1;
        for (int i = 0, k = 0; i < members.length; i++) {
            HostId h = i == at ? self : ids.get(k++);
            all.add(h);
            members[i] = i == at ? null : peers.get(h);
        }
        membersHash = Monitors.membersHash(all);
        if (!idsSent.equals(announced)) {
            announced = idsSent;
            out.accept(new Effect.MonitorsChanged(idsSent));
        }
    }

    /** What this host passes on now of every host's health: its own statement, and the newest of each peer's. */
    private HealthDigest digest(long now, boolean selfHealthy, AliveApart apart) {
        byte[] e = new byte[2 * members.length];
        for (int i = 0; i < members.length; i++) {
            Peer p = members[i];
            if (p == null) {
                e[2 * i] = HealthDigest.statementOf(selfHealthy, 0);
                e[2 * i + 1] = HealthDigest.NONE;
                continue;
            }
            e[2 * i] = p.saidAt == Long.MIN_VALUE ? HealthDigest.NONE
                    : HealthDigest.statementOf(p.saidHealthy, now - p.saidAt);
            e[2 * i + 1] = apart.here(p.id, now) ? HealthDigest.apartOf(0)
                    : p.apartAt == Long.MIN_VALUE ? HealthDigest.NONE : HealthDigest.apartOf(now - p.apartAt);
        }
        return new HealthDigest(membersHash, e);
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
        if (hb.echoNanos() != Heartbeat.NO_ECHO && hb.echoNanos() <= now) {
            // what it says of itself was said after it got our heartbeat it echoes (an echo ahead of
            // this clock is of a send before the clock began again, a reboot: it bounds nothing)
            long echo = hb.echoNanos();
            said(p, echo, hb.unconfirmedMs() <= settings.suspectAfterMs() && !hb.frozen());
            HealthDigest d = hb.digest();
            if (gossiped && d != null && d.members() == membersHash && d.hosts() == members.length) {
                passedOn(d, echo);
            }
        }
        return true;
    }

    /** Takes what a peer passed on, sent after {@code echo}: each statement made no earlier than echo minus its age. */
    private void passedOn(HealthDigest d, long echo) {
        for (int i = 0; i < members.length; i++) {
            Peer q = members[i];
            if (q == null) {
                continue; // what others say of this host: it knows better
            }
            byte b = d.statement(i);
            if (HealthDigest.known(b)) {
                said(q, echo - HealthDigest.ageNanos(b), HealthDigest.healthy(b));
            }
            byte a = d.apart(i);
            if (HealthDigest.known(a)) {
                long t = echo - HealthDigest.ageNanos(a);
                if (t > q.apartAt) {
                    q.apartAt = t;
                }
            }
        }
    }

    /** Takes a statement of {@code p} made no earlier than {@code at}, if it is newer than the one held. */
    private static void said(Peer p, long at, boolean healthy) {
        if (at > p.saidAt) {
            p.saidAt = at;
            p.saidHealthy = healthy;
        }
    }

    /** Each peer's state now, in name order, for status and metrics. */
    java.util.List<PeerStat> stats(long now) {
        java.util.List<PeerStat> out = new java.util.ArrayList<>(ordered.size());
        for (Peer p : ordered) {
            double phi = p.last == null ? 0 : p.detector.phi(now);
            long word = lastWord(p);
            out.add(new PeerStat(p.id, health(p, now).name(), suspected(p.id, now), phi,
                    p.echoDelay < 0 ? Double.NaN : p.echoDelay / 1e6,
                    word == Long.MIN_VALUE ? -1 : (now - word) / 1_000_000L));
        }
        return out;
    }

    /** The last heartbeat taken from {@code h}, or null. */
    Heartbeat lastHeartbeat(HostId h) {
        Peer p = peers.get(h);
        return p == null ? null : p.last;
    }

    /**
     * When the newest word of {@code h} came: its last heartbeat's arrival or, with gossiped health,
     * the earliest its newest statement passed on can have been made, whichever is later; MIN_VALUE
     * if none.
     */
    long lastWord(HostId h) {
        Peer p = peers.get(h);
        return p == null ? Long.MIN_VALUE : lastWord(p);
    }

    private long lastWord(Peer p) {
        return gossiped ? Math.max(p.lastArrival, p.saidAt) : p.lastArrival;
    }

    /**
     * Whether a peer passed on, within the gossip timeout, that {@code h}'s own signal sender or
     * storage heartbeat showed it alive at {@code since} or later (MIN_VALUE: at any time).
     */
    boolean aliveApartPassedOn(HostId h, long since, long now) {
        Peer p = peers.get(h);
        return p != null && p.apartAt != Long.MIN_VALUE && p.apartAt >= since
                && now - p.apartAt < ms(settings.gossipTimeoutMs());
    }

    /** How old, at most, the newest sign of {@code h} alive apart from its daemon passed on is, in ms; -1 if none. */
    long apartAgeMs(HostId h, long now) {
        Peer p = peers.get(h);
        return p == null || p.apartAt == Long.MIN_VALUE ? -1 : (now - p.apartAt) / 1_000_000L;
    }

    /**
     * Whether the failure detector suspects {@code h} now. A peer never heard from is suspected
     * once it has been tracked longer than a pause plus two heartbeat timeouts. With gossiped
     * health, a peer is suspected once nothing it said of itself newer than the gossip timeout has
     * reached here by any path: each of its monitors, and every path from them, is an indirect probe.
     */
    boolean suspected(HostId h, long now) {
        Peer p = peers.get(h);
        if (p == null) {
            return false;
        }
        if (gossiped) {
            if (p.saidAt == Long.MIN_VALUE) {
                return now - p.trackedSince > ms(settings.phiAcceptablePauseMs() + 2 * settings.heartbeatTimeoutMs()
                        + settings.gossipTimeoutMs());
            }
            return now - p.saidAt > ms(settings.gossipTimeoutMs());
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

    /** Why {@code h} is suspected or not, for the decision log: its phi, or how old the newest word of it is. */
    String detail(HostId h, long now) {
        Peer p = peers.get(h);
        if (p == null) {
            return "not a peer";
        }
        if (gossiped) {
            return p.saidAt == Long.MIN_VALUE ? "nothing heard of it"
                    : "newest word of it at most " + (now - p.saidAt) / 1_000_000L + " ms old";
        }
        return String.format("phi %.1f", p.detector.phi(now));
    }

    /** Rule 5: a peer counts only through a fresh heartbeat, one that echoes ours of less than a timeout ago. */
    Health health(HostId h, long now) {
        return health(peers.get(h), now);
    }

    private Health health(Peer p, long now) {
        if (p != null && gossiped) {
            if (p.saidAt == Long.MIN_VALUE || now - p.saidAt >= ms(settings.gossipTimeoutMs())) {
                return Health.UNKNOWN;
            }
            return p.saidHealthy ? Health.HEALTHY : Health.LOST;
        }
        if (p == null || p.last == null) {
            return Health.UNKNOWN;
        }
        Heartbeat hb = p.last;
        if (hb.echoNanos() == Heartbeat.NO_ECHO || hb.echoNanos() > now
                || now - hb.echoNanos() >= ms(settings.heartbeatTimeoutMs())) {
            return Health.UNKNOWN;
        }
        return hb.unconfirmedMs() <= settings.suspectAfterMs() && !hb.frozen() ? Health.HEALTHY : Health.LOST;
    }

    /**
     * Whether a heartbeat from {@code h} arrived at or after {@code since}, or, with gossiped health,
     * a statement it made then or later was passed on.
     */
    boolean heardSince(HostId h, long since) {
        return lastWord(h) >= since;
    }

    static long ms(long millis) {
        return millis * 1_000_000L;
    }
}
