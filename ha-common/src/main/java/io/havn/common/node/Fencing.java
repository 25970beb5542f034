package io.havn.common.node;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;

/**
 * Rules 4 and 5 on the leader's side: suspicion, fencing (only with a strict majority settled),
 * taking a fence device's "off" as proof only when no heartbeat came after fencing began, recording
 * it, and {@link #proof}: the ops that prove a host's session holds no copy. A failed leader is
 * fenced by a deputy, the lowest-named healthy host, so that leadership passes without waiting for
 * the session to expire. It exists so that every proof of death comes from one class.
 */
final class Fencing {
    /** The ops that prove a host's session holds no copy, or null when nothing proves it yet. */
    @FunctionalInterface
    interface Proof {
        List<CoordOp> proof(HostId host, long session, long now);
    }

    private static final class Fence {
        final long startedAt;
        /** The attempts on this host that failed before this one, in a row. */
        final int failedBefore;
        boolean inFlight = true;
        boolean succeeded;
        long retryAt = Long.MIN_VALUE;

        Fence(long startedAt, int failedBefore) {
            this.startedAt = startedAt;
            this.failedBefore = failedBefore;
        }
    }

    /** A failed fence of a host is tried again after fenceRetryMs, doubling with each failure in a row up to this. */
    static final long FENCE_RETRY_MAX_MS = 60_000;

    private final NodeContext n;
    private final Liveness live;
    private final Manager.Host host;
    /** Whether this node leads now (rule 2). */
    private final BooleanSupplier leading;
    private final Map<HostId, Fence> fences = new TreeMap<>();
    /** The suspects not fenced because their signal shows their host alive (each reported once). */
    private final Set<HostId> heldOff = new TreeSet<>();
    /** When this node began to suspect each host it suspects now. */
    private final Map<HostId, Long> suspectedAt = new HashMap<>();

    Fencing(NodeContext context, Liveness live, Manager.Host host, BooleanSupplier leading) {
        this.n = context;
        this.live = live;
        this.host = host;
        this.leading = leading;
    }

    /** A new epoch starts with no fence in flight. */
    void forgetFences() {
        fences.clear();
        heldOff.clear();
    }

    /** When this node began to suspect {@code h}, MIN_VALUE if it does not. */
    long suspectedAt(HostId h) {
        return suspectedAt.getOrDefault(h, Long.MIN_VALUE);
    }

    void duty(long now) {
        Peers peers = live.peers();
        List<HostId> suspects = peers.suspects(now, (h, suspected) -> {
            if (suspected) {
                suspectedAt.put(h, now);
            } else {
                suspectedAt.remove(h);
            }
            n.decide(suspected ? Kind.SUSPECT : Kind.UNSUSPECT, null, h, peers.detail(h, now));
        });
        if (!fences.isEmpty()) {
            fences.keySet().removeIf(h -> peers.tracks(h) && !suspects.contains(h));
        }
        if (!heldOff.isEmpty()) {
            heldOff.removeIf(h -> peers.tracks(h) && !suspects.contains(h));
        }
        if (suspects.isEmpty() || !host.leaseValid(now) || !live.settled(now)) {
            return; // rule 5: only with a strict majority healthy for the settle time
        }
        boolean lead = leading.getAsBoolean();
        ClusterRecord cluster = n.view().cluster();
        for (HostId h : suspects) {
            Versioned<HostRecord> hr = n.view().host(h);
            if (hr == null || hr.value().offConfirmed() || hr.value().fenceDevice() == null) {
                continue;
            }
            boolean isLeader = h.equals(n.view().leader());
            boolean responsible = lead || (isLeader && isDeputy(h, now));
            // a deputy that keeps only its own records cannot tell what the leader's records need: it
            // counts them as needing proof, so a leader that shut down cleanly may be fenced, as one
            // holding VMs would be; that costs a power-off, never a copy
            boolean needed = !n.scope().whole() || needsProof(h);
            if (!responsible || (!isLeader && !needed) || (hr.value().shutdown() != null && !needed)) {
                // not ours to fence, or nothing to recover from it (a host shut down cleanly left nothing
                // running: fencing it would only keep it from coming back)
                continue;
            }
            Fence f = fences.get(h);
            if (f != null && (f.inFlight || now < f.retryAt)) {
                continue;
            }
            long back = n.view().liveSince(h, n.view().liveSession(h));
            if (back > suspectedAt(h) && now - back < Peers.ms(n.settings().healthWindowMs(live.peers().gossiped())
                    + n.settings().suspectAfterMs())) {
                continue; // it came back in a new session since it fell silent: its heartbeats are on their way
            }
            String alive = cluster.armed() ? live.aliveApart(h, now)
                    : "the cluster is disarmed (" + cluster.disarmed().word() + " watchdogs)";
            if (alive != null) {
                // its daemon is silent, its host is not: a stall or a restart, which its lease and
                // watchdog bound; fencing it would only kill healthy guests
                if (heldOff.add(h)) {
                    n.decide(Kind.HOLD_OFF, null, h, "heartbeats stopped, but " + alive + ": not fencing it");
                }
                continue;
            }
            String after = heldOff.remove(h) ? ", and no signal apart from its daemon shows it alive any more" : "";
            fences.put(h, new Fence(now, f == null ? 0 : f.failedBefore + (f.succeeded ? 0 : 1)));
            n.decide(Kind.FENCE_START, null, h, "suspected" + after + ", device " + hr.value().fenceDevice());
            n.emit(new Effect.PowerOff(h, hr.value().fenceDevice()));
        }
    }

    /**
     * Whether a record names {@code h} in a way only a proof of its death can end: all but those its
     * live owner itself wrote as not running or frozen.
     */
    private boolean needsProof(HostId h) {
        for (VmId vm : n.view().vmsOf(h)) {
            VmPhase p = n.vm(vm).value().phase();
            if (p != VmPhase.FROZEN && p != VmPhase.NOT_RUNNING) {
                return true;
            }
        }
        return false;
    }

    /** The deputy fences a failed leader: the lowest-named healthy host other than the leader. */
    private boolean isDeputy(HostId leaderHost, long now) {
        for (HostId h : n.view().hostIds()) {
            if (!h.equals(leaderHost) && live.health(h, now) == Peers.Health.HEALTHY) {
                return h.equals(n.self());
            }
        }
        return false;
    }

    void onFenceDone(HostId h, boolean off, String error) {
        Fence f = fences.get(h);
        if (f == null || !f.inFlight) {
            return;
        }
        f.inFlight = false;
        long now = n.now();
        long retryMs = Backoff.waitMs(n.settings().fenceRetryMs(), FENCE_RETRY_MAX_MS, h, f.failedBefore + 1);
        if (!off) {
            f.retryAt = now + Peers.ms(retryMs);
            n.decide(Kind.FENCE_FAILED, null, h, (error == null ? "device did not confirm off" : error)
                    + "; next attempt in " + retryMs + " ms");
            return;
        }
        if (live.peers().heardSince(h, f.startedAt)) {
            f.retryAt = now + Peers.ms(retryMs);
            n.decide(Kind.ALARM, null, h, "fence device reported off, but a heartbeat arrived after fencing began");
            return;
        }
        if (live.aliveApartSince(h, f.startedAt, now)) {
            f.retryAt = now + Peers.ms(retryMs);
            n.decide(Kind.ALARM, null, h, "fence device reported off, but the host's signal or storage heartbeat "
                    + "still shows it alive");
            return;
        }
        n.decide(Kind.FENCE_OFF, null, h, "device confirmed power off");
        f.succeeded = true;
        f.retryAt = now + Peers.ms(n.settings().fenceRetryMs()); // not again while the record catches up
        recordOff(h);
    }

    /**
     * Records in the cluster state that {@code h}'s fence device powered it off (rule 4's proof,
     * for every leader to come).
     */
    private void recordOff(HostId h) {
        Versioned<HostRecord> hr = n.view().host(h);
        if (hr == null || hr.value().offConfirmed()) {
            return;
        }
        n.write(List.of(new CoordOp.PutHost(hr.value().withFencedOff(), hr.version())), outcome -> {
            if (outcome == WriteOutcome.OK) {
                evictAll(h);
            }
        });
    }

    /** Ends the sessions of a host recorded off, so that leadership and locks it held pass at once. */
    void evictAll(HostId h) {
        for (long s : new ArrayList<>(n.view().live(h))) {
            n.emit(new Effect.Evict(h, s));
        }
    }

    /**
     * The ops that prove {@code session} of {@code host} holds no copy, or null when nothing proves it
     * yet: the host is recorded off (device or operator), or the session is gone and the grace has
     * passed while a strict majority is settled. A record bound to no session (0) is proven only by
     * the host being recorded off.
     */
    List<CoordOp> proof(HostId host, long session, long now) {
        ClusterRecord cluster = n.view().cluster();
        if (!cluster.armed()) {
            return null; // disarmed: nothing is restarted elsewhere, whatever proves it
        }
        CoordOp armedStill = new CoordOp.CheckCluster(n.view().clusterVersion());
        Versioned<HostRecord> hr = n.view().host(host);
        if (hr != null && hr.value().offConfirmed()) {
            return List.of(new CoordOp.CheckHost(host, hr.version()), armedStill);
        }
        if (session == 0) {
            return null; // bound to no session yet: its expiry proves nothing, only "recorded off" does
        }
        if (now < n.view().restartHoldsUntil(host, session, n.settings())) {
            return null; // a planned restart: its VMs run on under the window its watchdog is armed for
        }
        if (hr == null ? cluster.generation() != 0 : !hr.value().armedIn(cluster, session)) {
            // since the cluster was last disarmed, this session never said its lease binds it again:
            // its host may run its VMs on unguarded, so its expiry proves nothing
            return null;
        }
        long gone = n.view().goneForNanos(host, session, now);
        if (gone >= Peers.ms(n.settings().graceMs()) && live.settled(now)) {
            // the host record is checked too: a planned restart announced since this view was taken voids
            // it; so is the cluster record: a disarm since voids it
            return hr == null ? List.of(new CoordOp.CheckSessionGone(host, session), armedStill)
                    : List.of(new CoordOp.CheckSessionGone(host, session), new CoordOp.CheckHost(host, hr.version()),
                    armedStill);
        }
        return null;
    }
}
