package io.havn.common.node;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.MoveRequest;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.place.Placement;
import io.havn.common.port.CoordOp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The leader's part of the node: it turns failed hosts into fencing, proof of death and restarts
 * (rule 4), executes operators' requests and drains hosts in maintenance. Every write it makes
 * checks its epoch (rule 2). Fencing a failed leader falls to a deputy, the healthy host with the
 * lowest name, so that leadership passes without waiting for the session to expire.
 */
final class Manager {
    private static final class Fence {
        final long startedAt;
        boolean inFlight = true;
        long retryAt = Long.MIN_VALUE;

        Fence(long startedAt) {
            this.startedAt = startedAt;
        }
    }

    /** A VM to place in this round, with the ops that prove its old holders hold no copy. */
    private record Pending(Versioned<VmRecord> vr, List<CoordOp> proof, Set<HostId> excluded, HostId preferred,
                           int startFailures, List<HostId> failedHosts) {
        /** A host to avoid if any other fits: the live owner that reported the VM not running there. */
        HostId avoid() {
            VmRecord r = vr.value();
            return r.phase() == VmPhase.NOT_RUNNING ? r.owner() : null;
        }
    }

    /** A failover this leader is carrying out: when the VM runs again, it reports the phases' timings. */
    private record Failover(HostId from, long lastHeard, long suspectedAt, long provenAt, Decision.Proof proof) {
    }

    /** What the manager needs of this host's own agent. */
    interface Host {
        /** Whether this host holds a valid lease now (rule 3): a leader without one acts on nothing. */
        boolean leaseValid(long now);

        /** Whether this host is registered in its current session. */
        boolean registered();
    }

    /** Where the leader's round hands the operators' requests to be decided. */
    interface Requests {
        void serve(long epoch, long now);
    }

    private final NodeContext n;
    private final Liveness live;
    private final Host host;
    private final Requests requests;
    private boolean leader;
    private long claimToken;
    private long epoch;
    private long lastClaim = Long.MIN_VALUE / 2;
    /** After handing leadership over, this host claims no epoch before this time. */
    private long noClaimBefore = Long.MIN_VALUE;
    private final Map<HostId, Fence> fences = new TreeMap<>();
    private final Set<VmId> reportedStuck = new HashSet<>();
    /** When this leader first saw each VM released by its source to a target that has not claimed it. */
    private final Map<VmId, Long> releasedSince = new HashMap<>();
    /** When this node began to suspect each host it suspects now. */
    private final Map<HostId, Long> suspectedAt = new HashMap<>();
    private final Map<VmId, Failover> failovers = new HashMap<>();

    Manager(NodeContext context, Liveness live, Host host, Requests requests) {
        this.n = context;
        this.live = live;
        this.host = host;
        this.requests = requests;
    }

    // ---------------------------------------------------------------- leadership (rule 2)

    /** Whether this node leads now: elected, holding the current epoch, with a valid lease. */
    boolean active() {
        return leader && epoch > 0 && n.view().epoch() == epoch && host.leaseValid(n.now());
    }

    long epoch() {
        return epoch;
    }

    void onLeadership(boolean gained) {
        if (gained && !leader) {
            leader = true;
            claim();
        } else if (!gained && leader) {
            leader = false;
            stepDown("leadership lost");
        }
    }

    private void claim() {
        claimToken = n.nextToken();
        lastClaim = n.now();
        n.emit(new Effect.ClaimEpoch(claimToken));
    }

    void onEpochClaimed(long token, long newEpoch) {
        if (token != claimToken || !leader) {
            return;
        }
        claimToken = 0;
        if (newEpoch <= 0) {
            return; // retried on a later tick while the election still names this host
        }
        epoch = newEpoch;
        n.view().setEpoch(newEpoch, n.self());
        fences.clear();
        n.decide(Kind.LEADER_ELECTED, null, null, "epoch " + newEpoch);
    }

    void onEpochChanged() {
        if (epoch > 0 && n.view().epoch() > epoch) {
            stepDown("a newer epoch " + n.view().epoch() + " exists");
        }
    }

    void onSessionEnded() {
        leader = false;
        stepDown("session ended");
    }

    /**
     * Stops acting as leader. Whether this host still heads the election is the coordinator's to
     * say: while it does, it claims a new epoch once its lease is valid again.
     */
    private void stepDown(String why) {
        boolean was = epoch > 0;
        epoch = 0;
        claimToken = 0;
        failovers.clear();
        if (was) {
            n.decide(Kind.LEADER_LOST, null, null, why);
        }
    }

    // ---------------------------------------------------------------- the round

    void tick(long now) {
        if (leader && epoch == 0 && claimToken == 0 && host.registered() && host.leaseValid(now)
                && now - lastClaim >= Peers.ms(n.settings().heartbeatTimeoutMs()) && now >= noClaimBefore) {
            claim();
        }
        if (leader && epoch > 0 && !host.leaseValid(now)) {
            // a leader whose own lease lapsed must not decide anything: step down
            stepDown("own lease lapsed");
            n.emit(new Effect.Resign());
            return;
        }
        if (active() && live.unhealthyForNanos(now) >= Peers.ms(handOverAfterMs()) && anotherHostIsLive()) {
            // It reaches the coordination service but hears no healthy majority, so it can neither
            // fence nor restart anything: let a host that hears the others lead.
            stepDown("no healthy majority heard for " + live.unhealthyForNanos(now) / 1_000_000L
                    + " ms while other hosts are live: handing over");
            n.emit(new Effect.Resign());
            noClaimBefore = now + Peers.ms(handOverAfterMs());
            return;
        }
        fenceDuty(now);
        if (active()) {
            requests.serve(epoch, now);
            recover(now);
        }
    }

    /** How long a leader goes on without hearing a healthy majority before it hands over: the settle time. */
    private long handOverAfterMs() {
        return n.settings().settleMs();
    }

    /** Whether another registered host holds a live session (someone else could lead). */
    private boolean anotherHostIsLive() {
        for (HostId h : n.view().hostIds()) {
            if (!h.equals(n.self()) && !n.view().live(h).isEmpty()) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- fencing (rules 4, 5)

    private void fenceDuty(long now) {
        List<HostId> suspects = new ArrayList<>();
        for (HostId h : live.peers().ids()) {
            boolean suspected = live.peers().suspected(h, now);
            if (live.peers().changeSuspicion(h, suspected)) {
                if (suspected) {
                    suspectedAt.put(h, now);
                } else {
                    suspectedAt.remove(h);
                }
                n.decide(suspected ? Kind.SUSPECT : Kind.UNSUSPECT, null, h,
                        String.format("phi %.1f", live.peers().phi(h, now)));
            }
            if (suspected) {
                suspects.add(h);
            } else {
                fences.remove(h);
            }
        }
        if (suspects.isEmpty() || !host.leaseValid(now) || !live.settled(now)) {
            return; // rule 5: only with a strict majority healthy for the settle time
        }
        boolean lead = active();
        for (HostId h : suspects) {
            Versioned<HostRecord> hr = n.view().host(h);
            if (hr == null || hr.value().offConfirmed() || hr.value().fenceDevice() == null) {
                continue;
            }
            boolean isLeader = h.equals(n.view().leader());
            boolean responsible = lead || (isLeader && isDeputy(h, now));
            if (!responsible || (!isLeader && n.view().vmsOf(h).isEmpty())) {
                continue; // not ours to fence, or nothing to recover from it
            }
            Fence f = fences.get(h);
            if (f != null && (f.inFlight || now < f.retryAt)) {
                continue;
            }
            fences.put(h, new Fence(now));
            n.decide(Kind.FENCE_START, null, h, "suspected, device " + hr.value().fenceDevice());
            n.emit(new Effect.PowerOff(h, hr.value().fenceDevice()));
        }
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
        if (!off) {
            f.retryAt = now + Peers.ms(n.settings().fenceRetryMs());
            n.decide(Kind.FENCE_FAILED, null, h, error == null ? "device did not confirm off" : error);
            return;
        }
        if (live.peers().heardSince(h, f.startedAt)) {
            f.retryAt = now + Peers.ms(n.settings().fenceRetryMs());
            n.decide(Kind.ALARM, null, h, "fence device reported off, but a heartbeat arrived after fencing began");
            return;
        }
        n.decide(Kind.FENCE_OFF, null, h, "device confirmed power off");
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

    // ---------------------------------------------------------------- proof of death (rule 4)

    /**
     * The ops that prove {@code session} of {@code host} holds no copy, or null when nothing proves it
     * yet: the host is recorded off (device or operator), or the session is gone and the grace has
     * passed while a strict majority is settled. A record bound to no session (0) is proven only by
     * the host being recorded off.
     */
    private List<CoordOp> proof(HostId host, long session, long now) {
        Versioned<HostRecord> hr = n.view().host(host);
        if (hr != null && hr.value().offConfirmed()) {
            return List.of(new CoordOp.CheckHost(host, hr.version()));
        }
        if (session == 0) {
            return null; // bound to no session yet: its expiry proves nothing, only "recorded off" does
        }
        long gone = n.view().goneForNanos(host, session, now);
        if (gone >= Peers.ms(n.settings().graceMs()) && live.settled(now)) {
            return List.of(new CoordOp.CheckSessionGone(host, session));
        }
        return null;
    }

    // ---------------------------------------------------------------- eligibility and capacity

    /** Hosts that may take VMs now: registered, active, live, not suspected, not recorded off. */
    private Map<HostId, Long> eligible(long now) {
        Map<HostId, Long> out = new TreeMap<>();
        for (Versioned<HostRecord> vh : n.view().hosts()) {
            HostRecord h = vh.value();
            long s = n.view().liveSession(h.id());
            if (s == 0 || h.inMaintenance() || h.offConfirmed()) {
                continue;
            }
            // a peer that says it is unconfirmed (no lease, or frozen) gets nothing new
            boolean ok = h.id().equals(n.self()) ? host.leaseValid(now)
                    : !live.peers().suspected(h.id(), now) && live.peers().health(h.id(), now) != Peers.Health.LOST;
            if (ok) {
                out.put(h.id(), s);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- recovery and requests

    private void recover(long now) {
        releasedSince.keySet().removeIf(vm -> {
            Versioned<VmRecord> v = n.view().vm(vm);
            return v == null || v.value().phase() != VmPhase.RELEASED || v.value().target() == null;
        });
        Map<HostId, Long> eligible = eligible(now);
        int migrating = n.view().migrating();
        Map<HostId, HostCapacity> free = n.view().free(eligible.keySet());
        List<Pending> pending = new ArrayList<>();
        for (Versioned<VmRecord> vr : n.view().vms()) {
            VmRecord r = vr.value();
            if (n.busy(r.id()) || !r.spec().ha()) {
                continue;
            }
            if (r.desired() == DesiredState.STOPPED) {
                stopIfHeld(vr, now);
                continue;
            }
            switch (r.phase()) {
                case STOPPED, RECOVERING, NOT_RUNNING -> pending.add(new Pending(vr, List.of(), Set.of(),
                        r.move() == null ? null : r.move().host(), 0, r.failedHosts()));
                case ERROR -> { }
                case START_FAILED -> retryFailedStart(vr, eligible, pending);
                case RELEASED -> {
                    if (r.target() == null) {
                        pending.add(new Pending(vr, List.of(), Set.of(),
                                r.move() == null ? null : r.move().host(), 0, List.of()));
                    } else {
                        releasedToTarget(vr, eligible, now, pending);
                    }
                }
                case PLACED, RUNNING, RELOCATING -> {
                    List<CoordOp> p = proof(r.owner(), r.ownerSession(), now);
                    if (p != null) {
                        pending.add(new Pending(vr, p, Set.of(), null, 0, List.of()));
                    } else if (r.phase() == VmPhase.RUNNING && migrating < n.settings().maxConcurrentMigrations()
                            && moveOrDrain(vr, eligible, free)) {
                        migrating++;
                    }
                }
                case MIGRATING -> migratingOwnerLost(vr, eligible, now, pending);
            }
        }
        place(pending, eligible, free);
    }

    private void stopIfHeld(Versioned<VmRecord> vr, long now) {
        VmRecord r = vr.value();
        List<CoordOp> checks = new ArrayList<>();
        switch (r.phase()) {
            case STOPPED -> {
                return;
            }
            case RECOVERING, ERROR, START_FAILED, NOT_RUNNING -> { }
            case RELEASED -> {
                if (r.target() != null) {
                    List<CoordOp> p = proof(r.target(), r.targetSession(), now);
                    if (p == null) {
                        return;
                    }
                    checks.addAll(p);
                }
            }
            default -> {
                List<CoordOp> p = proof(r.owner(), r.ownerSession(), now);
                if (p == null) {
                    return; // its live owner stops it
                }
                checks.addAll(p);
                if (r.target() != null) {
                    List<CoordOp> t = proof(r.target(), r.targetSession(), now);
                    if (t == null) {
                        return;
                    }
                    checks.addAll(t);
                }
            }
        }
        leaderWrite(vr, r.unowned(VmPhase.STOPPED, "stopped by operator"), checks, Kind.STOPPED, null, null);
    }

    /** A failed start: again on the same host up to maxRestart times, then up to maxRelocate other hosts. */
    private void retryFailedStart(Versioned<VmRecord> vr, Map<HostId, Long> eligible, List<Pending> pending) {
        VmRecord r = vr.value();
        Long ownerSession = eligible.get(r.owner());
        if (r.startFailures() <= n.settings().maxRestart() && ownerSession != null) {
            VmRecord next = r.placedOn(r.owner(), ownerSession, r.startFailures(), r.failedHosts());
            leaderWrite(vr, next, List.of(new CoordOp.CheckSessionLive(r.owner(), ownerSession)), Kind.PLACE,
                    r.owner(), "retry " + r.startFailures() + " of " + n.settings().maxRestart() + " on the same host");
            return;
        }
        List<HostId> failed = new ArrayList<>(r.failedHosts());
        if (!failed.contains(r.owner())) {
            failed.add(r.owner());
        }
        if (failed.size() > n.settings().maxRelocate()) {
            String why = "start failed on " + failed + ": " + r.reason();
            leaderWrite(vr, new VmRecord(r.spec(), r.desired(), VmPhase.ERROR, null, 0, r.generation(), null, 0,
                    r.move(), r.startFailures(), failed, why), List.of(), Kind.ERROR, null, why);
            return;
        }
        pending.add(new Pending(vr, List.of(), new HashSet<>(failed), null, 0, failed));
    }

    /** Rule 6: a migration whose source died goes to its live target; with both ends dead, anywhere. */
    private void migratingOwnerLost(Versioned<VmRecord> vr, Map<HostId, Long> eligible, long now,
                                    List<Pending> pending) {
        VmRecord r = vr.value();
        List<CoordOp> owner = proof(r.owner(), r.ownerSession(), now);
        if (owner == null) {
            return; // the live source finishes or aborts it
        }
        Long targetSession = eligible.get(r.target());
        if (targetSession != null && targetSession == r.targetSession()) {
            List<CoordOp> checks = new ArrayList<>(owner);
            checks.add(new CoordOp.CheckSessionLive(r.target(), targetSession));
            failingOver(r.id(), r.owner(), owner, now);
            leaderWrite(vr, r.placedOn(r.target(), targetSession, 0, r.failedHosts()), checks, Kind.PLACE,
                    r.target(), "source " + r.owner() + " is dead; the migration target takes it");
            return;
        }
        List<CoordOp> target = proof(r.target(), r.targetSession(), now);
        if (target != null) {
            List<CoordOp> checks = new ArrayList<>(owner);
            checks.addAll(target);
            pending.add(new Pending(vr, checks, Set.of(), null, 0, List.of()));
        }
    }

    /**
     * Rule 6, after the source released: the target normally claims its migrated copy at once. If
     * it has not within a heartbeat timeout (the migration never completed, say because the source
     * died and came back), the VM is placed on the live target, which resumes its copy if it has
     * one and starts it afresh otherwise; with the target dead, anywhere once that is proven.
     */
    private void releasedToTarget(Versioned<VmRecord> vr, Map<HostId, Long> eligible, long now,
                                  List<Pending> pending) {
        VmRecord r = vr.value();
        Long targetSession = eligible.get(r.target());
        if (targetSession != null && targetSession == r.targetSession()) {
            Long seen = releasedSince.putIfAbsent(r.id(), now);
            if (seen != null && now - seen >= Peers.ms(n.settings().heartbeatTimeoutMs())) {
                leaderWrite(vr, r.placedOn(r.target(), targetSession, 0, r.failedHosts()),
                        List.of(new CoordOp.CheckSessionLive(r.target(), targetSession)), Kind.PLACE, r.target(),
                        "the source released it but the target never claimed it");
            }
            return;
        }
        List<CoordOp> p = proof(r.target(), r.targetSession(), now);
        if (p != null) {
            pending.add(new Pending(vr, p, Set.of(), null, 0, List.of()));
        }
    }

    /** Executes an operator's move request, or drains a host in maintenance. Returns whether it started a migration. */
    private boolean moveOrDrain(Versioned<VmRecord> vr, Map<HostId, Long> eligible, Map<HostId, HostCapacity> free) {
        VmRecord r = vr.value();
        MoveRequest m = r.move();
        if (m != null) {
            if (m.host().equals(r.owner())) {
                leaderWrite(vr, r.withMove(null), List.of(), Kind.ADMIN, m.host(), "already on " + m.host());
                return false;
            }
            Long s = eligible.get(m.host());
            HostCapacity c = free.get(m.host());
            if (s == null || c == null || !c.fits(r.spec().cpus(), r.spec().memoryMiB())) {
                String why = "cannot move to " + m.host() + ": " + (s == null ? "not eligible (not live, "
                        + "in maintenance or failed)" : "not enough free capacity");
                leaderWrite(vr, r.withMove(null).withPhase(r.phase(), why), List.of(), Kind.ADMIN, m.host(), why);
                return false;
            }
            free.put(m.host(), c.minus(r.spec().cpus(), r.spec().memoryMiB()));
            if (m.live()) {
                leaderWrite(vr, r.withMove(null).migratingTo(m.host(), s),
                        List.of(new CoordOp.CheckSessionLive(m.host(), s)), Kind.MIGRATE, m.host(), "operator request");
                return true;
            }
            leaderWrite(vr, r.withPhase(VmPhase.RELOCATING, "cold relocation to " + m.host()), List.of(),
                    Kind.RELOCATE, m.host(), "operator request");
            return false;
        }
        Versioned<HostRecord> owner = n.view().host(r.owner());
        if (owner == null || !owner.value().inMaintenance()) {
            reportedStuck.remove(r.id());
            return false;
        }
        Map<VmId, HostId> choice = Placement.place(List.of(new Placement.Request(r.id(), r.spec().priority(),
                r.spec().cpus(), r.spec().memoryMiB(), Set.of(r.owner()), null)), hosts(eligible, free));
        HostId target = choice.get(r.id());
        if (target == null) {
            if (reportedStuck.add(r.id())) {
                n.decide(Kind.DRAIN_BLOCKED, r.id(), r.owner(), "no other host has room; it stays on " + r.owner());
            }
            return false;
        }
        free.put(target, free.get(target).minus(r.spec().cpus(), r.spec().memoryMiB()));
        long s = eligible.get(target);
        leaderWrite(vr, r.migratingTo(target, s), List.of(new CoordOp.CheckSessionLive(target, s)), Kind.MIGRATE,
                target, "draining " + r.owner() + " (maintenance)");
        return true;
    }

    private void place(List<Pending> pending, Map<HostId, Long> eligible, Map<HostId, HostCapacity> free) {
        if (pending.isEmpty()) {
            return;
        }
        Map<VmId, Pending> byVm = new HashMap<>();
        List<Placement.Request> requests = new ArrayList<>(pending.size());
        for (Pending p : pending) {
            VmRecord r = p.vr().value();
            byVm.put(r.id(), p);
            Set<HostId> excluded = p.excluded();
            if (p.avoid() != null) {
                excluded = new HashSet<>(excluded);
                excluded.add(p.avoid());
            }
            requests.add(new Placement.Request(r.id(), r.spec().priority(), r.spec().cpus(), r.spec().memoryMiB(),
                    excluded, p.preferred()));
        }
        Map<VmId, HostId> chosen = new java.util.LinkedHashMap<>(Placement.place(requests, hosts(eligible, free)));
        // second pass: a VM whose only room is on the host it should avoid goes there rather than nowhere
        List<Placement.Request> retry = new ArrayList<>();
        for (Pending p : pending) {
            VmRecord r = p.vr().value();
            if (p.avoid() != null && !chosen.containsKey(r.id())) {
                retry.add(new Placement.Request(r.id(), r.spec().priority(), r.spec().cpus(), r.spec().memoryMiB(),
                        p.excluded(), p.preferred()));
            }
        }
        if (!retry.isEmpty()) {
            chosen.forEach((vm, h) -> {
                VmRecord r = byVm.get(vm).vr().value();
                free.put(h, free.get(h).minus(r.spec().cpus(), r.spec().memoryMiB()));
            });
            chosen.putAll(Placement.place(retry, hosts(eligible, free)));
        }
        Set<VmId> order = new LinkedHashSet<>(chosen.keySet());
        for (Placement.Request rq : requests) {
            order.add(rq.vm());
        }
        for (VmId vm : order) {
            Pending p = byVm.get(vm);
            VmRecord r = p.vr().value();
            HostId h = chosen.get(vm);
            if (!p.proof().isEmpty() && r.owner() != null) {
                failingOver(vm, r.owner(), p.proof(), n.now());
            }
            if (h == null) {
                if (r.phase() != VmPhase.RECOVERING) {
                    String why = "no eligible host has " + r.spec().cpus() + " cpus and " + r.spec().memoryMiB()
                            + " MiB free";
                    leaderWrite(p.vr(), r.unowned(VmPhase.RECOVERING, why), p.proof(), Kind.RECOVERING, null, why);
                }
                continue;
            }
            long s = eligible.get(h);
            List<CoordOp> checks = new ArrayList<>(p.proof());
            checks.add(new CoordOp.CheckSessionLive(h, s));
            VmRecord next = r.placedOn(h, s, p.startFailures(), p.failedHosts());
            if (r.move() != null && r.move().host().equals(h)) {
                next = next.withMove(null);
            }
            String why = r.owner() == null ? r.phase().name().toLowerCase() : "from " + r.owner() + " ("
                    + r.phase().name().toLowerCase() + ")";
            leaderWrite(p.vr(), next, checks, Kind.PLACE, h, why);
        }
    }

    // ---------------------------------------------------------------- failover timings

    /** Notes that {@code vm}, held by dead host {@code from} as {@code proof} shows, is being recovered. */
    private void failingOver(VmId vm, HostId from, List<CoordOp> proof, long now) {
        if (failovers.containsKey(vm)) {
            return;
        }
        Versioned<HostRecord> hr = n.view().host(from);
        // the record the proof checks says whose proof it is: the device of whichever host fenced
        // it (the deputy fences a dead leader, and another host may lead next), or an operator
        boolean byDevice = hr != null && hr.value().offByFenceDevice();
        Decision.Proof how = proof.get(0) instanceof CoordOp.CheckSessionGone ? Decision.Proof.SESSION_EXPIRED
                : byDevice ? Decision.Proof.FENCE_DEVICE : Decision.Proof.OPERATOR;
        long heard = live.peers().lastArrival(from);
        failovers.put(vm, new Failover(from, heard, suspectedAt.getOrDefault(from, Long.MIN_VALUE), now, how));
    }

    /** Decides on requests as they come, not only in the round. */
    void onRequestChanged(long now) {
        if (active()) {
            requests.serve(epoch, now);
        }
    }

    /** Reports a failover once another host has claimed its VM; forgets it if the VM was stopped or failed. */
    void onVmChanged(VmId vm, long now) {
        Failover f = failovers.get(vm);
        if (f == null) {
            return;
        }
        Versioned<VmRecord> vr = n.view().vm(vm);
        if (vr == null || vr.value().phase() == VmPhase.ERROR || vr.value().desired() == DesiredState.STOPPED) {
            failovers.remove(vm);
            return;
        }
        VmRecord r = vr.value();
        if (r.phase() != VmPhase.RUNNING || f.from().equals(r.owner())) {
            return;
        }
        failovers.remove(vm);
        long detect = f.lastHeard() == Long.MIN_VALUE || f.suspectedAt() == Long.MIN_VALUE ? -1
                : Math.max(0, f.suspectedAt() - f.lastHeard());
        long fence = f.suspectedAt() == Long.MIN_VALUE ? -1 : Math.max(0, f.provenAt() - f.suspectedAt());
        n.recovered(vm, f.from(), new Decision.Timings(detect, fence, now - f.provenAt(), f.proof()),
                "claimed by " + r.owner() + ", which starts it");
    }

    private static List<Placement.Host> hosts(Map<HostId, Long> eligible, Map<HostId, HostCapacity> free) {
        List<Placement.Host> hosts = new ArrayList<>();
        for (HostId h : eligible.keySet()) {
            hosts.add(new Placement.Host(h, free.get(h)));
        }
        return hosts;
    }

    /** Every leader write: compare-and-set on the record's version, and the epoch (rule 2). */
    private void leaderWrite(Versioned<VmRecord> vr, VmRecord next, List<CoordOp> checks, Kind kind, HostId subject,
                             String why) {
        List<CoordOp> ops = new ArrayList<>(checks.size() + 2);
        ops.add(new CoordOp.CheckEpoch(epoch));
        ops.add(new CoordOp.PutVm(next, vr.version()));
        ops.addAll(checks);
        VmId vm = next.id();
        n.write(ops, outcome -> {
            if (outcome == WriteOutcome.OK) {
                n.decide(kind, vm, subject, why);
            }
        });
    }
}
