package io.havn.common.node;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.MoveRequest;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision.Kind;
import io.havn.common.place.Placement;
import io.havn.common.port.CoordOp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The leader's side of rule 6, migration hand-over: starting the migrations operators ask for and
 * those that drain a host in maintenance, and finishing a migration whose source died or whose
 * target never claimed the released VM (to the live target, or anywhere once both ends are proven
 * dead). It exists so that every step a VM takes between two live hosts is decided in one class.
 */
final class Moves {
    private final NodeContext n;
    private final Fencing.Proof fencing;
    private final Leadership.Writes leadership;
    private final FailoverTimings.Start timings;
    private final Set<VmId> reportedStuck = new HashSet<>();
    /** The first wait after a failed drain migration; it doubles with each failure, up to {@link #RETRY_MAX_MS}. */
    static final long RETRY_BASE_MS = 1_000;
    static final long RETRY_MAX_MS = 60_000;

    /** A VM's drain migrations from one owner: whether one is under way, how many failed, and the next try. */
    private static final class Drain {
        final HostId from;
        boolean underWay;
        int failures;
        long notBefore;

        Drain(HostId from) {
            this.from = from;
        }
    }

    private final Map<VmId, Drain> drains = new HashMap<>();
    /** When this leader first saw each VM released by its source to a target that has not claimed it. */
    private final Map<VmId, Long> releasedSince = new HashMap<>();

    Moves(NodeContext context, Fencing.Proof fencing, Leadership.Writes leadership, FailoverTimings.Start timings) {
        this.n = context;
        this.fencing = fencing;
        this.leadership = leadership;
        this.timings = timings;
    }

    /** Forgets the VMs no longer released to a target. */
    void pruneReleased() {
        releasedSince.keySet().removeIf(vm -> {
            Versioned<VmRecord> v = n.view().vm(vm);
            return v == null || v.value().phase() != VmPhase.RELEASED || v.value().target() == null;
        });
    }

    /**
     * Rule 6: a migration whose source died goes to its live target; with both ends dead, anywhere
     * (the VM to place, or null).
     */
    Recovery.Pending migratingOwnerLost(Versioned<VmRecord> vr, Map<HostId, Long> eligible, long now) {
        VmRecord r = vr.value();
        List<CoordOp> owner = fencing.proof(r.owner(), r.ownerSession(), now);
        if (owner == null) {
            return null; // the live source finishes or aborts it
        }
        Long targetSession = eligible.get(r.target());
        if (targetSession != null && targetSession == r.targetSession()) {
            List<CoordOp> checks = new ArrayList<>(owner);
            checks.add(new CoordOp.CheckSessionLive(r.target(), targetSession));
            timings.failingOver(r.id(), r.owner(), owner, now);
            leadership.leaderWrite(vr, r.placedOn(r.target(), targetSession, 0, r.failedHosts()), checks, Kind.PLACE,
                    r.target(), "source " + r.owner() + " is dead; the migration target takes it");
            return null;
        }
        List<CoordOp> target = fencing.proof(r.target(), r.targetSession(), now);
        if (target != null) {
            List<CoordOp> checks = new ArrayList<>(owner);
            checks.addAll(target);
            return new Recovery.Pending(vr, checks, Set.of(), null, 0, List.of());
        }
        return null;
    }

    /**
     * Rule 6, after the source released: the target normally claims its migrated copy at once. If
     * it has not within a heartbeat timeout (the migration never completed, say because the source
     * died and came back), the VM is placed on the live target, which resumes its copy if it has
     * one and starts it afresh otherwise; with the target dead, anywhere once that is proven (the
     * VM to place, or null).
     */
    Recovery.Pending releasedToTarget(Versioned<VmRecord> vr, Map<HostId, Long> eligible, long now) {
        VmRecord r = vr.value();
        Long targetSession = eligible.get(r.target());
        if (targetSession != null && targetSession == r.targetSession()) {
            Long seen = releasedSince.putIfAbsent(r.id(), now);
            if (seen != null && now - seen >= Peers.ms(n.settings().heartbeatTimeoutMs())) {
                leadership.leaderWrite(vr, r.placedOn(r.target(), targetSession, 0, r.failedHosts()),
                        List.of(new CoordOp.CheckSessionLive(r.target(), targetSession)), Kind.PLACE, r.target(),
                        "the source released it but the target never claimed it");
            }
            return null;
        }
        List<CoordOp> p = fencing.proof(r.target(), r.targetSession(), now);
        return p == null ? null : new Recovery.Pending(vr, p, Set.of(), null, 0, List.of());
    }

    /**
     * Executes an operator's move request, or drains a host in maintenance; a drain whose migration
     * failed is tried again after a wait that doubles with each failure (from {@link #RETRY_BASE_MS}
     * to {@link #RETRY_MAX_MS}, spread by up to a quarter per VM so that a host's VMs do not retry in
     * step). Returns whether it started a migration.
     */
    boolean moveOrDrain(Versioned<VmRecord> vr, Map<HostId, Long> eligible, Map<HostId, HostCapacity> free,
                        long now) {
        VmRecord r = vr.value();
        MoveRequest m = r.move();
        if (m != null) {
            return move(vr, m, eligible, free);
        }
        Versioned<HostRecord> owner = n.view().host(r.owner());
        if (owner == null || !owner.value().draining(r.ownerSession())) {
            reportedStuck.remove(r.id());
            drains.remove(r.id());
            return false;
        }
        Drain d = drains.get(r.id());
        if (d == null || !d.from.equals(r.owner())) {
            d = new Drain(r.owner());
            drains.put(r.id(), d);
        }
        if (d.underWay) {
            // the migration started last time ended with the VM still running here: it failed
            d.underWay = false;
            d.failures++;
            long waitMs = retryWaitMs(r.id(), d.failures);
            d.notBefore = now + Peers.ms(waitMs);
            n.decide(Kind.DRAIN_BLOCKED, r.id(), r.owner(), "draining " + r.owner() + ": migration failed "
                    + d.failures + (d.failures == 1 ? " time" : " times") + (r.reason() == null ? "" : " (" + r.reason()
                    + ")") + "; next attempt in " + waitMs + " ms");
        }
        if (now < d.notBefore) {
            return false;
        }
        Map<VmId, HostId> choice = Placement.place(List.of(new Placement.Request(r.id(), r.spec().priority(),
                r.spec().cpus(), r.spec().memoryMiB(), Set.of(r.owner()), null)), Recovery.hosts(eligible, free));
        HostId target = choice.get(r.id());
        if (target == null) {
            if (reportedStuck.add(r.id())) {
                n.decide(Kind.DRAIN_BLOCKED, r.id(), r.owner(), "no other host has room; it stays on " + r.owner());
            }
            return false;
        }
        free.put(target, free.get(target).minus(r.spec().cpus(), r.spec().memoryMiB()));
        long s = eligible.get(target);
        d.underWay = true;
        leadership.leaderWrite(vr, r.migratingTo(target, s), List.of(new CoordOp.CheckSessionLive(target, s)),
                Kind.MIGRATE, target, "draining " + r.owner() + (owner.value().inMaintenance() ? " (maintenance)" : " (shutting down)")
                        + (d.failures == 0 ? "" : ", attempt " + (d.failures + 1)));
        return true;
    }

    /**
     * The wait before the next drain migration of {@code vm} after {@code failures} failed ones:
     * doubling from {@link #RETRY_BASE_MS} up to {@link #RETRY_MAX_MS}, plus up to a quarter more,
     * drawn from the VM's id (deterministic, as every decision here; VMs differ, so they spread).
     */
    static long retryWaitMs(VmId vm, int failures) {
        return Backoff.waitMs(RETRY_BASE_MS, RETRY_MAX_MS, vm, failures);
    }

    /** An operator's move request {@code m}. Returns whether it started a migration. */
    private boolean move(Versioned<VmRecord> vr, MoveRequest m, Map<HostId, Long> eligible,
                         Map<HostId, HostCapacity> free) {
        VmRecord r = vr.value();
        if (m.host().equals(r.owner())) {
            leadership.leaderWrite(vr, r.withMove(null), List.of(), Kind.ADMIN, m.host(), "already on " + m.host());
            return false;
        }
        Long s = eligible.get(m.host());
        HostCapacity c = free.get(m.host());
        if (s == null || c == null || !c.fits(r.spec().cpus(), r.spec().memoryMiB())) {
            String why = "cannot move to " + m.host() + ": " + (s == null ? "not eligible (not live, "
                    + "in maintenance or failed)" : "not enough free capacity");
            leadership.leaderWrite(vr, r.withMove(null).withPhase(r.phase(), why), List.of(), Kind.ADMIN, m.host(),
                    why);
            return false;
        }
        free.put(m.host(), c.minus(r.spec().cpus(), r.spec().memoryMiB()));
        if (m.live()) {
            leadership.leaderWrite(vr, r.withMove(null).migratingTo(m.host(), s),
                    List.of(new CoordOp.CheckSessionLive(m.host(), s)), Kind.MIGRATE, m.host(), "operator request");
            return true;
        }
        leadership.leaderWrite(vr, r.withPhase(VmPhase.RELOCATING, "cold relocation to " + m.host()), List.of(),
                Kind.RELOCATE, m.host(), "operator request");
        return false;
    }
}
