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

    private static final class Peer {
        final HostId id;
        /** Where its gossiped health lives in the per-slot arrays (its place in name order since the last {@link #repack}). */
        int slot;
        PhiAccrualDetector detector;
        final long trackedSince;
        Heartbeat last;
        long lastArrival = Long.MIN_VALUE;
        /** The echo delay of the last heartbeat, or -1 before the first echo. */
        long echoDelay = -1;

        Peer(HostId id, int slot, PhiAccrualDetector detector, long trackedSince) {
            this.id = id;
            this.slot = slot;
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
    /** The peers' slots, in name order (as {@link #ordered}). */
    private int[] orderedSlots = new int[0];
    private long sequence;
    /** The monitors in name order, as the last round was sent to them; null after the peers change. */
    private java.util.List<HostId> idsSent;
    /** Whom a round's heartbeats go to, one per run of the digest: each monitor as many times, in a row. */
    private java.util.List<HostId> sendTo = java.util.List.of();
    private java.util.List<Peer> monitorPeers = java.util.List.of();
    /** The monitors last announced ({@link Effect.MonitorsChanged}); none at first. */
    private java.util.List<HostId> announced = java.util.List.of();
    /** Whether health is gossiped: this host heartbeats only its monitors, not every peer. */
    private boolean gossiped;
    /** Every registered host and this one, in name order, as a digest indexes them: each one's slot, -1 at self. */
    private int[] memberSlots = new int[0];
    private long membersHash;

    // What a round reads and writes for every host, kept per slot in flat arrays rather than in each
    // peer's object, so that a digest is taken in and made in one pass over a few arrays (1,000 hosts).
    // A slot is a peer's while it is tracked; one left by a peer that went is reused only at the next repack.
    /** The earliest its newest statement of itself that reached here can have been made; MIN_VALUE if none did. */
    private long[] saidAt = new long[0];
    /** What that statement said: healthy (confirmed within suspectAfter, not frozen), or lost. */
    private boolean[] saidHealthy = new boolean[0];
    /** The earliest the newest sign of it alive apart from its daemon, passed on by a peer, can have been; MIN_VALUE if none. */
    private long[] apartAt = new long[0];
    /** Until when this host's own view of its signal shows it alive (Signals#aliveUntil); MIN_VALUE: not now. */
    private long[] signalUntil = new long[0];
    /** Until when this host's own view of its storage heartbeat shows it alive (Datastores#aliveUntil). */
    private long[] storageUntil = new long[0];
    /** Since when it has been tracked. */
    private long[] trackedSince = new long[0];
    /** Whether it was suspected at the last pass of {@link #suspects}. */
    private boolean[] suspectedLast = new boolean[0];
    /** Who it is. */
    private HostId[] slotIds = new HostId[0];
    private int slotsUsed;

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
        Peer p = new Peer(host, takeSlot(), detector(), now);
        trackedSince[p.slot] = now;
        slotIds[p.slot] = host;
        peers.put(host, p);
        int at = -java.util.Collections.binarySearch(ids, host) - 1;
        ids.add(at, host);
        ordered.add(at, p);
        int[] slots = new int[orderedSlots.length + 1];
        System.arraycopy(orderedSlots, 0, slots, 0, at);
        slots[at] = p.slot;
        System.arraycopy(orderedSlots, at, slots, at + 1, orderedSlots.length - at);
        orderedSlots = slots;
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
            int at = ordered.indexOf(p);
            ids.remove(at);
            ordered.remove(at);
            int[] slots = new int[orderedSlots.length - 1];
            System.arraycopy(orderedSlots, 0, slots, 0, at);
            System.arraycopy(orderedSlots, at + 1, slots, at, slots.length - at);
            orderedSlots = slots;
            slotIds[p.slot] = null;
            idsSent = null;
            // its slot is not given to another peer before the next repack: until then a digest of the
            // hosts as they were may still be taken in (arranged for them), and what it says of this host
            // must land where nobody reads it, never on a peer that came since
        }
    }

    /**
     * Moves every peer's slot to its place in name order, so that a digest (in name order) is read and
     * written in one sequential pass over each array, not scattered over them in the order peers came.
     */
    private void repack() {
        int n = ordered.size();
        int cap = Math.max(8, saidAt.length);
        long[] said = new long[cap];
        boolean[] healthy = new boolean[cap];
        long[] apart = new long[cap];
        long[] signal = new long[cap];
        long[] storage = new long[cap];
        long[] tracked = new long[cap];
        boolean[] suspectedNow = new boolean[cap];
        HostId[] who = new HostId[cap];
        for (int k = 0; k < n; k++) {
            Peer p = ordered.get(k);
            int old = p.slot;
            said[k] = saidAt[old];
            healthy[k] = saidHealthy[old];
            apart[k] = apartAt[old];
            signal[k] = signalUntil[old];
            storage[k] = storageUntil[old];
            tracked[k] = trackedSince[old];
            suspectedNow[k] = suspectedLast[old];
            who[k] = slotIds[old];
            p.slot = k;
            orderedSlots[k] = k;
        }
        saidAt = said;
        saidHealthy = healthy;
        apartAt = apart;
        signalUntil = signal;
        storageUntil = storage;
        trackedSince = tracked;
        suspectedLast = suspectedNow;
        slotIds = who;
        slotsUsed = n;
    }

    /** A slot for a new peer, every field of it at "nothing known". */
    private int takeSlot() {
        int slot = slotsUsed++;
        if (slot == saidAt.length) {
            int n = Math.max(8, 2 * slot);
            saidAt = java.util.Arrays.copyOf(saidAt, n);
            saidHealthy = java.util.Arrays.copyOf(saidHealthy, n);
            apartAt = java.util.Arrays.copyOf(apartAt, n);
            signalUntil = java.util.Arrays.copyOf(signalUntil, n);
            storageUntil = java.util.Arrays.copyOf(storageUntil, n);
            trackedSince = java.util.Arrays.copyOf(trackedSince, n);
            suspectedLast = java.util.Arrays.copyOf(suspectedLast, n);
            slotIds = java.util.Arrays.copyOf(slotIds, n);
        }
        saidAt[slot] = Long.MIN_VALUE;
        saidHealthy[slot] = false;
        apartAt[slot] = Long.MIN_VALUE;
        signalUntil[slot] = Long.MIN_VALUE;
        storageUntil[slot] = Long.MIN_VALUE;
        suspectedLast[slot] = false;
        return slot;
    }

    /**
     * Until when (exclusive) this host's own view of {@code h}'s signal shows it alive apart from its
     * daemon ({@link Signals#aliveUntil}), as it changed; what a round passes on. Ignored for a host not tracked.
     */
    void signalUntil(HostId h, long until) {
        Peer p = peers.get(h);
        if (p != null) {
            signalUntil[p.slot] = until;
        }
    }

    /** As {@link #signalUntil}, for {@code h}'s storage heartbeat ({@link Datastores#aliveUntil}). */
    void storageUntil(HostId h, long until) {
        Peer p = peers.get(h);
        if (p != null) {
            storageUntil[p.slot] = until;
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
     * that peer sent us; with monitors, each carries the digest of every host's health, or, in a
     * cluster of more than digestHosts hosts, one heartbeat per run of it to every monitor.
     */
    void sendAll(java.util.function.Consumer<Effect> out, long now, long epoch, int unconfirmedMs, boolean frozen) {
        if (idsSent == null) {
            arrange(out);
        }
        if (monitorPeers.isEmpty()) {
            return;
        }
        HealthDigest[] digests = gossiped
                ? digests(now, unconfirmedMs <= settings.suspectAfterMs() && !frozen) : null;
        // every monitor gets every run of the digest every round, so that no link passes on any host's
        // health less often than a whole digest would; the runs of one round share their send time
        // and follow each other in sequence, as any receiver takes them
        int runs = digests == null ? 1 : digests.length;
        Heartbeat[] beats = new Heartbeat[monitorPeers.size() * runs];
        for (int i = 0, k = 0; i < monitorPeers.size(); i++) {
            Peer p = monitorPeers.get(i);
            long echo = p.last == null ? Heartbeat.NO_ECHO : p.last.sentNanos();
            for (int r = 0; r < runs; r++) {
                HealthDigest digest = digests == null ? null : digests[r];
                beats[k++] = new Heartbeat(self, incarnation, ++sequence, epoch, now, echo, unconfirmedMs, frozen, digest);
            }
        }
        out.accept(new Effect.Send(runs == 1 ? idsSent : sendTo,
                java.util.Collections.unmodifiableList(java.util.Arrays.asList(beats))));
    }

    /** Works out the monitors again (the peers changed), and announces them when they differ. */
    private void arrange(java.util.function.Consumer<Effect> out) {
        repack();
        java.util.List<HostId> all = new java.util.ArrayList<>(ids.size() + 1);
        memberSlots = new int[ids.size() + 1];
        int at = -java.util.Collections.binarySearch(ids, self) - 1;
        for (int i = 0, k = 0; i < memberSlots.length; i++) {
            if (i == at) {
                all.add(self);
                memberSlots[i] = -1;
            } else {
                Peer p = ordered.get(k++);
                all.add(p.id);
                memberSlots[i] = p.slot;
            }
        }
        java.util.List<HostId> mine = Monitors.of(all, at, settings.monitors());
        gossiped = !Monitors.allToAll(ids.size() + 1, settings.monitors());
        java.util.List<Peer> chosen = new java.util.ArrayList<>(mine.size());
        for (HostId h : mine) {
            chosen.add(peers.get(h));
        }
        monitorPeers = chosen;
        idsSent = java.util.List.copyOf(mine);
        int runs = gossiped ? runs(memberSlots.length) : 1;
        java.util.List<HostId> to = new java.util.ArrayList<>(idsSent.size() * runs);
        for (HostId h : idsSent) {
            for (int r = 0; r < runs; r++) {
                to.add(h);
            }
        }
        sendTo = java.util.List.copyOf(to);
        membersHash = Monitors.membersHash(all);
        if (!idsSent.equals(announced)) {
            announced = idsSent;
            out.accept(new Effect.MonitorsChanged(idsSent));
        }
    }

    /** How many runs a digest of {@code n} hosts comes in: one, unless there are more than digestHosts. */
    private int runs(int n) {
        return (n + settings.digestHosts() - 1) / settings.digestHosts();
    }

    /**
     * What this host passes on now of every host's health, in runs of at most {@code digestHosts}
     * hosts, of sizes as near equal as can be, in name order: one run, the whole digest, in a
     * cluster no larger.
     */
    private HealthDigest[] digests(long now, boolean selfHealthy) {
        int n = memberSlots.length;
        int runs = runs(n);
        HealthDigest[] out = new HealthDigest[runs];
        for (int r = 0; r < runs; r++) {
            out[r] = digest(now, selfHealthy, (int) ((long) n * r / runs), (int) ((long) n * (r + 1) / runs));
        }
        return out;
    }

    /**
     * What this host passes on now of the health of the hosts {@code from} to {@code to}
     * (exclusive) in name order: its own statement, and the newest of each peer's.
     */
    private HealthDigest digest(long now, boolean selfHealthy, int from, int to) {
        int[] slots = memberSlots;
        byte[] e = new byte[2 * (to - from)];
        for (int i = from; i < to; i++) {
            int s = slots[i];
            int at = 2 * (i - from);
            if (s < 0) {
                e[at] = HealthDigest.statementOf(selfHealthy, 0);
                e[at + 1] = HealthDigest.NONE;
                continue;
            }
            long said = saidAt[s];
            e[at] = said == Long.MIN_VALUE ? HealthDigest.NONE : HealthDigest.statementOf(saidHealthy[s], now - said);
            e[at + 1] = now < signalUntil[s] || now < storageUntil[s] ? HealthDigest.apartOf(0)
                    : apartAt[s] == Long.MIN_VALUE ? HealthDigest.NONE : HealthDigest.apartOf(now - apartAt[s]);
        }
        return new HealthDigest(membersHash, from, e);
    }

    /** Adds each peer's health now to {@code votes}. */
    void vote(Quorum.Tally votes, long now) {
        if (gossiped) {
            int[] slots = orderedSlots;
            for (int s : slots) {
                votes.add(gossipedHealth(s, now));
            }
            return;
        }
        for (int i = 0; i < ordered.size(); i++) {
            votes.add(health(ordered.get(i), now));
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
        if (p.last == null || hb.incarnation() != p.last.incarnation() || hb.sentNanos() != p.last.sentNanos()) {
            p.detector.heartbeat(at); // once a round: a later run of the digest sent with it is no new arrival
        }
        p.last = hb;
        p.lastArrival = at;
        p.echoDelay = hb.echoNanos() == Heartbeat.NO_ECHO ? -1 : at - hb.echoNanos();
        if (hb.echoNanos() != Heartbeat.NO_ECHO && hb.echoNanos() <= now) {
            // what it says of itself was said after it got our heartbeat it echoes (an echo ahead of
            // this clock is of a send before the clock began again, a reboot: it bounds nothing)
            long echo = hb.echoNanos();
            said(p.slot, echo, hb.unconfirmedMs() <= settings.suspectAfterMs() && !hb.frozen());
            HealthDigest d = hb.digest();
            if (gossiped && d != null && d.members() == membersHash && d.offset() + d.hosts() <= memberSlots.length) {
                passedOn(d, echo);
            }
        }
        return true;
    }

    /**
     * Takes what a peer passed on, sent after {@code echo}: each statement made no earlier than echo
     * minus its age, of the host at its place in name order (the digest's offset on).
     */
    private void passedOn(HealthDigest d, long echo) {
        int[] slots = memberSlots;
        int first = d.offset();
        for (int i = 0; i < d.hosts(); i++) {
            int s = slots[first + i];
            if (s < 0) {
                continue; // what others say of this host: it knows better
            }
            byte b = d.statement(i);
            if (HealthDigest.known(b)) {
                said(s, echo - HealthDigest.ageNanos(b), HealthDigest.healthy(b));
            }
            byte a = d.apart(i);
            if (HealthDigest.known(a)) {
                long t = echo - HealthDigest.ageNanos(a);
                if (t > apartAt[s]) {
                    apartAt[s] = t;
                }
            }
        }
    }

    /** Takes a statement of the peer in {@code slot} made no earlier than {@code at}, if it is newer than the one held. */
    private void said(int slot, long at, boolean healthy) {
        if (at > saidAt[slot]) {
            saidAt[slot] = at;
            saidHealthy[slot] = healthy;
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
        return gossiped ? Math.max(p.lastArrival, saidAt[p.slot]) : p.lastArrival;
    }

    /**
     * Whether a peer passed on, within the gossip timeout, that {@code h}'s own signal sender or
     * storage heartbeat showed it alive at {@code since} or later (MIN_VALUE: at any time).
     */
    boolean aliveApartPassedOn(HostId h, long since, long now) {
        Peer p = peers.get(h);
        if (p == null) {
            return false;
        }
        long at = apartAt[p.slot];
        return at != Long.MIN_VALUE && at >= since && now - at < ms(settings.gossipTimeoutMs());
    }

    /** How old, at most, the newest sign of {@code h} alive apart from its daemon passed on is, in ms; -1 if none. */
    long apartAgeMs(HostId h, long now) {
        Peer p = peers.get(h);
        return p == null || apartAt[p.slot] == Long.MIN_VALUE ? -1 : (now - apartAt[p.slot]) / 1_000_000L;
    }

    /**
     * Whether the failure detector suspects {@code h} now. A peer never heard from is suspected
     * once it has been tracked longer than a pause plus two heartbeat timeouts. With gossiped
     * health, a peer is suspected once nothing it said of itself newer than the gossip timeout has
     * reached here by any path: each of its monitors, and every path from them, is an indirect probe.
     */
    boolean suspected(HostId h, long now) {
        Peer p = peers.get(h);
        return p != null && suspected(p, now);
    }

    private boolean suspected(Peer p, long now) {
        if (gossiped) {
            return gossipSuspected(p.slot, now);
        }
        if (p.last == null) {
            return now - p.trackedSince > ms(settings.phiAcceptablePauseMs() + 2 * settings.heartbeatTimeoutMs());
        }
        return !p.detector.isAvailable(now, settings.phiThreshold());
    }

    /** Reports a peer whose suspicion changed at this round of {@link #suspects}. */
    interface SuspicionChanged {
        void changed(HostId h, boolean suspected);
    }

    /**
     * Every peer's suspicion now, in one pass: each one that changed since the last pass is remembered
     * and reported to {@code changed}, in name order; returns the suspects, in name order.
     */
    java.util.List<HostId> suspects(long now, SuspicionChanged changed) {
        java.util.List<HostId> out = null;
        int[] slots = orderedSlots;
        for (int i = 0; i < slots.length; i++) {
            int slot = slots[i];
            boolean s = gossiped ? gossipSuspected(slot, now) : suspected(ordered.get(i), now);
            if (suspectedLast[slot] != s) {
                suspectedLast[slot] = s;
                changed.changed(slotIds[slot], s);
            }
            if (s) {
                if (out == null) {
                    out = new java.util.ArrayList<>();
                }
                out.add(slotIds[slot]);
            }
        }
        return out == null ? java.util.List.of() : out;
    }

    /**
     * With gossiped health, whether the peer in {@code slot} is suspected: nothing it said of itself
     * newer than the gossip timeout has reached here, or, never heard of, it has been tracked longer
     * than a pause, two heartbeat timeouts and the gossip timeout.
     */
    private boolean gossipSuspected(int slot, long now) {
        long said = saidAt[slot];
        if (said == Long.MIN_VALUE) {
            return now - trackedSince[slot] > ms(settings.phiAcceptablePauseMs() + 2 * settings.heartbeatTimeoutMs()
                    + settings.gossipTimeoutMs());
        }
        return now - said > ms(settings.gossipTimeoutMs());
    }

    /** Whether {@code h} is a peer tracked here. */
    boolean tracks(HostId h) {
        return peers.containsKey(h);
    }

    /** Why {@code h} is suspected or not, for the decision log: its phi, or how old the newest word of it is. */
    String detail(HostId h, long now) {
        Peer p = peers.get(h);
        if (p == null) {
            return "not a peer";
        }
        if (gossiped) {
            long said = saidAt[p.slot];
            return said == Long.MIN_VALUE ? "nothing heard of it"
                    : "newest word of it at most " + (now - said) / 1_000_000L + " ms old";
        }
        return String.format("phi %.1f", p.detector.phi(now));
    }

    /** Rule 5: a peer counts only through a fresh heartbeat, one that echoes ours of less than a timeout ago. */
    Health health(HostId h, long now) {
        return health(peers.get(h), now);
    }

    private Health health(Peer p, long now) {
        if (p != null && gossiped) {
            return gossipedHealth(p.slot, now);
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

    /** With gossiped health, the health of the peer in {@code slot}: its newest statement, while younger than the gossip timeout. */
    private Health gossipedHealth(int slot, long now) {
        long said = saidAt[slot];
        if (said == Long.MIN_VALUE || now - said >= ms(settings.gossipTimeoutMs())) {
            return Health.UNKNOWN;
        }
        return saidHealthy[slot] ? Health.HEALTHY : Health.LOST;
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
