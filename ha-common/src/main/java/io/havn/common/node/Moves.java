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
import io.havn.common.place.Planner;
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
        failbackNotBefore.keySet().removeIf(vm -> n.view().vm(vm) == null);
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

    /** Adds to {@code ids} the VMs a drain keeps track of (each is looked at in every round, until it forgets them). */
    void tracked(java.util.Collection<VmId> ids) {
        ids.addAll(drains.keySet());
        ids.addAll(reportedStuck);
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
            return failback(vr, eligible, free, now) || rejoin(vr, eligible, free, now);
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
        Planner.Plan plan = drainPlan(r, eligible, free);
        HostId target = plan.placed().get(r.id());
        if (target == null) {
            String why = plan.unplaced().getOrDefault(r.id(), "no other host has room");
            if (reportedStuck.add(r.id())) {
                n.decide(Kind.DRAIN_BLOCKED, r.id(), r.owner(), why + "; it stays on " + r.owner());
                for (String rule : plan.rules().getOrDefault(r.id(), List.of())) {
                    n.decide(Kind.RULE_BLOCKED, r.id(), r.owner(), rule + ": draining " + r.owner() + ": " + why);
                }
            }
            return false;
        }
        free.put(target, free.get(target).minus(r.spec().cpus(), r.spec().memoryMiB()));
        long s = eligible.get(target);
        d.underWay = true;
        leadership.leaderWrite(vr, r.migratingTo(target, s), withReach(r, target, new CoordOp.CheckSessionLive(target, s)),
                Kind.MIGRATE, target, "draining " + r.owner() + (owner.value().inMaintenance() ? " (maintenance)" : " (shutting down)")
                        + (d.failures == 0 ? "" : ", attempt " + (d.failures + 1)));
        return true;
    }

    /**
     * Where a drain takes {@code r}: a host other than its owner and the reserved failover hosts,
     * under the rules. The VMs a hard together rule binds to it that run on the same owner are
     * placed with it (the target must have room for them all; they follow it one by one).
     */
    private Planner.Plan drainPlan(VmRecord r, Map<HostId, Long> eligible, Map<HostId, HostCapacity> free) {
        List<Placement.Request> requests = new ArrayList<>();
        for (VmId v : n.view().rules().togetherWith(r.id())) {
            Versioned<VmRecord> o = n.view().vm(v);
            if (o != null && (v.equals(r.id()) || hostsOf(v).equals(List.of(r.owner())))) {
                VmRecord or = o.value();
                requests.add(new Placement.Request(v, or.spec().priority(), or.spec().cpus(), or.spec().memoryMiB(),
                        n.view().excludedFor(or.spec(), Set.of(r.owner())), null, r.owner()));
            }
        }
        return new Planner(n.view().rules()).place(requests, Recovery.hosts(takers(eligible), free), this::hostsOf);
    }

    /** The eligible hosts that take VMs other than by recovery: all but the reserved failover hosts. */
    private Map<HostId, Long> takers(Map<HostId, Long> eligible) {
        Set<HostId> reserved = n.view().cluster().placement().reserved();
        if (reserved.isEmpty()) {
            return eligible;
        }
        Map<HostId, Long> out = new java.util.TreeMap<>(eligible);
        out.keySet().removeAll(reserved);
        return out;
    }

    /** How long a VM waits between two failbacks it tried. */
    static final long FAILBACK_WAIT_MS = 30_000;
    /** When each VM that failed back last may try again. */
    private final Map<VmId, Long> failbackNotBefore = new HashMap<>();

    /**
     * A host rule with failback: a VM that runs on a less preferred host than one that could take it
     * now is migrated there (at most once per {@link #FAILBACK_WAIT_MS}). VMs bound by a hard together
     * rule do not fail back alone. Returns whether it started a migration.
     */
    private boolean failback(Versioned<VmRecord> vr, Map<HostId, Long> eligible, Map<HostId, HostCapacity> free,
                             long now) {
        VmRecord r = vr.value();
        io.havn.common.place.RuleIndex rules = n.view().rules();
        if (!rules.failsBack(r.id()) || rules.togetherWith(r.id()).size() > 1) {
            return false;
        }
        int tier = rules.tier(r.id(), r.owner());
        Long notBefore = failbackNotBefore.get(r.id());
        if (tier == 0 || (notBefore != null && now < notBefore)) {
            return false;
        }
        Map<HostId, Long> better = new java.util.TreeMap<>();
        takers(eligible).forEach((h, s) -> {
            if (rules.tier(r.id(), h) < tier) {
                better.put(h, s);
            }
        });
        if (better.isEmpty()) {
            return false;
        }
        Planner.Plan plan = new Planner(rules).place(List.of(new Placement.Request(r.id(), r.spec().priority(),
                r.spec().cpus(), r.spec().memoryMiB(), n.view().excludedFor(r.spec(), Set.of(r.owner())), null, r.owner())),
                Recovery.hosts(better, free), this::hostsOf);
        HostId target = plan.placed().get(r.id());
        if (target == null) {
            return false;
        }
        failbackNotBefore.put(r.id(), now + Peers.ms(FAILBACK_WAIT_MS));
        free.put(target, free.get(target).minus(r.spec().cpus(), r.spec().memoryMiB()));
        long s = better.get(target);
        leadership.leaderWrite(vr, r.migratingTo(target, s), withReach(r, target, new CoordOp.CheckSessionLive(target, s)),
                Kind.MIGRATE, target, "failback to a more preferred host (rules "
                        + String.join(", ", plan.rules().getOrDefault(r.id(), List.of())) + ")");
        return true;
    }

    /** How often the leader looks for hard together groups whose VMs run on more than one host. */
    static final long REJOIN_SCAN_MS = 5_000;
    /** When the leader looks for split groups next. */
    private long rejoinScanAt = Long.MIN_VALUE;
    /** When each VM that was migrated to rejoin its group may be tried again. */
    private final Map<VmId, Long> rejoinNotBefore = new HashMap<>();

    /**
     * Adds to {@code ids}, every {@link #REJOIN_SCAN_MS}, the VMs of each hard together group that
     * runs on more than one host with none of it migrating (a drain ended half done, a migration that
     * failed for one VM of the group and not for the other), so that the round looks at them and
     * those away from the group's host rejoin it ({@link #rejoin}).
     */
    void split(java.util.Collection<VmId> ids, long now) {
        if (now < rejoinScanAt) {
            return;
        }
        rejoinScanAt = now + Peers.ms(REJOIN_SCAN_MS);
        io.havn.common.place.RuleIndex rules = n.view().rules();
        rejoinNotBefore.keySet().removeIf(v -> rules.togetherWith(v).size() < 2);
        for (Set<VmId> group : rules.togetherGroups()) {
            Map<HostId, List<VmId>> at = placesOf(group);
            if (at != null && at.size() > 1) {
                ids.addAll(group);
            }
        }
    }

    /**
     * Where the VMs of {@code group} run, by host (each host's VMs in id order; hosts in name order);
     * null while one of them is on two hosts (migrating). A VM on no host (being placed) is left out:
     * it follows the others.
     */
    private Map<HostId, List<VmId>> placesOf(Set<VmId> group) {
        Map<HostId, List<VmId>> at = new java.util.TreeMap<>();
        for (VmId v : new java.util.TreeSet<>(group)) {
            List<HostId> hs = hostsOf(v);
            if (hs.size() > 1) {
                return null;
            }
            if (hs.size() == 1) {
                at.computeIfAbsent(hs.get(0), h -> new ArrayList<>()).add(v);
            }
        }
        return at;
    }

    /**
     * A VM of a hard together group that runs on more than one host, with none of it migrating, is
     * migrated to the group's host: the one that runs the most of the group, then the one that runs
     * the first of it in id order, among those that take VMs other than by recovery. It goes only
     * where it has room and breaks no other hard rule, and tries again at most once per
     * {@link #FAILBACK_WAIT_MS}. Returns whether it started a migration.
     */
    private boolean rejoin(Versioned<VmRecord> vr, Map<HostId, Long> eligible, Map<HostId, HostCapacity> free,
                           long now) {
        VmRecord r = vr.value();
        io.havn.common.place.RuleIndex rules = n.view().rules();
        Set<VmId> group = rules.togetherWith(r.id());
        Long notBefore = rejoinNotBefore.get(r.id());
        if (group.size() < 2 || (notBefore != null && now < notBefore)) {
            return false;
        }
        Map<HostId, List<VmId>> at = placesOf(group);
        if (at == null || at.size() < 2 || !at.containsKey(r.owner())) {
            return false;
        }
        Map<HostId, Long> takers = takers(eligible);
        HostId target = at.keySet().stream().filter(takers::containsKey)
                .min(java.util.Comparator.comparingInt((HostId h) -> -at.get(h).size())
                        .thenComparing(h -> at.get(h).get(0)))
                .orElse(null);
        if (target == null || target.equals(r.owner())) {
            return false;
        }
        String breaks = new Planner(rules).breaks(r.id(), target, v -> group.contains(v) ? List.of(target) : hostsOf(v));
        HostCapacity room = free.get(target);
        if (breaks != null || room == null || !room.fits(r.spec().cpus(), r.spec().memoryMiB())
                || n.view().notReaching(r.spec().datastores()).contains(target)) {
            return false;
        }
        rejoinNotBefore.put(r.id(), now + Peers.ms(FAILBACK_WAIT_MS));
        free.put(target, room.minus(r.spec().cpus(), r.spec().memoryMiB()));
        long s = takers.get(target);
        leadership.leaderWrite(vr, r.migratingTo(target, s), withReach(r, target, new CoordOp.CheckSessionLive(target, s)),
                Kind.MIGRATE, target, "rejoins its hard together group on " + target + " (" + String.join(", ",
                        at.get(target).stream().map(VmId::value).toList()) + " run there)");
        return true;
    }

    /**
     * Where a VM is for the rules: as the view and this node's writes in flight say
     * ({@link NodeContext#hostsForRules}), which holds the migrations started in this round too.
     */
    private List<HostId> hostsOf(VmId vm) {
        return n.hostsForRules(vm);
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
        String breaks = n.view().cluster().placement().reserved().contains(m.host())
                ? "it is a reserved failover host" : new Planner(n.view().rules()).breaks(r.id(), m.host(), this::hostsOf);
        if (breaks == null && n.view().notReaching(r.spec().datastores()).contains(m.host())) {
            breaks = "it does not reach datastore(s) " + String.join(", ", r.spec().datastores());
        }
        if (breaks != null) {
            String why = "cannot move to " + m.host() + ": " + breaks;
            leadership.leaderWrite(vr, r.withMove(null).withPhase(r.phase(), why), List.of(), Kind.ADMIN, m.host(),
                    why);
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
                    withReach(r, m.host(), new CoordOp.CheckSessionLive(m.host(), s)), Kind.MIGRATE, m.host(), "operator request");
            return true;
        }
        leadership.leaderWrite(vr, r.withPhase(VmPhase.RELOCATING, "cold relocation to " + m.host()), List.of(),
                Kind.RELOCATE, m.host(), "operator request");
        return false;
    }

    /** {@code live}, and the check that {@code target} still reaches the VM's datastores as the view saw it. */
    private List<CoordOp> withReach(VmRecord r, HostId target, CoordOp live) {
        List<CoordOp> reach = n.view().reachChecks(r.spec(), target);
        if (reach.isEmpty()) {
            return List.of(live);
        }
        List<CoordOp> out = new ArrayList<>(reach);
        out.add(0, live);
        return out;
    }
}
