package io.havn.common.node;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The leader's round over the VM records (rule 4's restarts): which hosts may take VMs now
 * (eligibility, capacity), stopping what operators stopped, retrying failed starts, and placing
 * every VM that needs a host, each write carrying the proof that its old holders hold no copy
 * ({@link Fencing#proof}). Migrations and drains it hands to {@link Moves}. It exists so that
 * "where does a VM go, and on what proof" is answered in one class.
 */
final class Recovery {
    /** A VM to place in this round, with the ops that prove its old holders hold no copy. */
    record Pending(Versioned<VmRecord> vr, List<CoordOp> proof, Set<HostId> excluded, HostId preferred,
                   int startFailures, List<HostId> failedHosts) {
        /** A host to avoid if any other fits: the live owner that reported the VM not running there. */
        HostId avoid() {
            VmRecord r = vr.value();
            return r.phase() == VmPhase.NOT_RUNNING ? r.owner() : null;
        }
    }

    /**
     * The first wait before a VM whose start failed is started again; it doubles with each failed
     * start, up to {@link #START_RETRY_MAX_MS}.
     */
    static final long START_RETRY_BASE_MS = 1_000;
    static final long START_RETRY_MAX_MS = 30_000;

    /** A failed start this leader saw: which version of the VM's record said so, and when it may be retried. */
    private record StartRetry(int version, long notBefore) { }

    private final NodeContext n;
    private final Liveness live;
    private final Manager.Host host;
    private final Fencing.Proof fencing;
    private final Leadership.Writes leadership;
    private final Moves moves;
    private final FailoverTimings.Start timings;
    /** The VMs whose start failed, waiting for their next attempt (the leader's own; a new leader waits afresh). */
    private final Map<VmId, StartRetry> startRetries = new HashMap<>();
    /** When this leader first saw each VM needing a host (for start delays and dependency timeouts). */
    private final Map<VmId, Long> needsHostSince = new HashMap<>();
    /** What this leader last said of each VM held back or blocked by a rule (said once, until it changes). */
    private final Map<VmId, String> ruleSaid = new HashMap<>();

    Recovery(NodeContext context, Liveness live, Manager.Host host, Fencing.Proof fencing,
             Leadership.Writes leadership, Moves moves, FailoverTimings.Start timings) {
        this.n = context;
        this.live = live;
        this.host = host;
        this.fencing = fencing;
        this.leadership = leadership;
        this.moves = moves;
        this.timings = timings;
    }

    /** Hosts that may take VMs now: registered, active, live, not suspected, not recorded off. */
    private Map<HostId, Long> eligible(long now) {
        Map<HostId, Long> out = new TreeMap<>();
        for (Versioned<HostRecord> vh : n.view().hosts()) {
            HostRecord h = vh.value();
            long s = n.view().liveSession(h.id());
            if (s == 0 || h.inMaintenance() || h.offConfirmed() || h.shuttingDown(s)) {
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

    void recover(long now) {
        moves.pruneReleased();
        pruneStartRetries();
        java.util.SortedSet<VmId> ids = needingARound(now);
        // with no VM to look at, the hosts that may take VMs and their room go unread: asking is all it costs
        Map<HostId, Long> eligible = ids.isEmpty() ? Map.of() : eligible(now);
        int migrating = n.view().migrating();
        Map<HostId, HostCapacity> free = ids.isEmpty() ? Map.of() : n.view().free(eligible.keySet());
        List<Pending> pending = new ArrayList<>();
        for (VmId id : ids) {
            Versioned<VmRecord> vr = n.view().vm(id);
            if (vr == null) {
                continue;
            }
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
                case START_FAILED -> retryFailedStart(vr, eligible, pending, now);
                case RELEASED -> {
                    if (r.target() == null) {
                        pending.add(new Pending(vr, List.of(), Set.of(),
                                r.move() == null ? null : r.move().host(), 0, List.of()));
                    } else {
                        addIfAny(pending, moves.releasedToTarget(vr, eligible, now));
                    }
                }
                case PLACED, RUNNING, RELOCATING -> {
                    List<CoordOp> p = fencing.proof(r.owner(), r.ownerSession(), now);
                    if (p != null) {
                        pending.add(new Pending(vr, p, Set.of(), null, 0, List.of()));
                    } else if (r.phase() == VmPhase.RUNNING && migrating < n.settings().maxConcurrentMigrations()
                            && moves.moveOrDrain(vr, eligible, free, now)) {
                        migrating++;
                    }
                }
                case MIGRATING -> addIfAny(pending, moves.migratingOwnerLost(vr, eligible, now));
                case FROZEN -> {
                    // stopped by its owner as it shut down, to start there again when it returns; elsewhere
                    // only once an operator (or a fence device) says that host is off
                    if (n.view().recordedOff(r.owner())) {
                        addIfAny(pending, proven(vr, fencing.proof(r.owner(), r.ownerSession(), now)));
                    }
                }
            }
        }
        List<Pending> ready = held(pending, now);
        place(ready, heldBack(pending, ready), eligible, free);
    }

    /**
     * The VMs this round looks at, in id order: every one it can have anything to do for. Those the
     * view does not count {@link ClusterView#steady} or whose owner's session calls for a look
     * ({@link ClusterView#needingARound}), those a drain keeps track of, those that may fail back, and,
     * every {@link Moves#REJOIN_SCAN_MS}, those of a hard together group split over two hosts.
     * Every other VM is an HA VM running on a live session of a host not recorded off and not
     * draining, with no move asked: for it the round would find no proof ({@link Fencing#proof} of
     * a live session, or none bound), no drain, no move and no failback, and would do nothing (a split
     * group's rejoin waits for the next look).
     */
    private java.util.SortedSet<VmId> needingARound(long now) {
        java.util.SortedSet<VmId> ids = n.view().needingARound();
        moves.tracked(ids);
        moves.split(ids, now);
        ids.addAll(n.view().rules().failingBack());
        return ids;
    }

    /**
     * The pending VMs {@link #held} keeps back this round, by VM: a hard together partner placed now
     * goes only where they can follow (their datastores reach there, and they did not fail there).
     */
    private static Map<VmId, Pending> heldBack(List<Pending> pending, List<Pending> ready) {
        if (pending.size() == ready.size()) {
            return Map.of();
        }
        Map<VmId, Pending> out = new HashMap<>();
        for (Pending p : pending) {
            out.put(p.vr().value().id(), p);
        }
        for (Pending p : ready) {
            out.remove(p.vr().value().id());
        }
        return out;
    }

    /**
     * The hosts {@code p}'s VM may not take: its own exclusions (failed there, or its datastores do
     * not reach there) and those of the hard together partners held back this round, which will
     * have to follow it. Without the partners', a VM placed alone while its partner waits out a
     * start delay could land on a host the partner cannot reach, and the partner would then wait
     * for a host it can never take.
     */
    private Set<HostId> excludedFor(Pending p, Map<VmId, Pending> heldBack) {
        VmRecord r = p.vr().value();
        Set<HostId> excluded = n.view().excludedFor(r.spec(), p.excluded());
        if (heldBack.isEmpty()) {
            return excluded;
        }
        for (VmId o : n.view().rules().togetherWith(r.id())) {
            Pending q = heldBack.get(o);
            if (q != null) {
                Set<HostId> theirs = n.view().excludedFor(q.vr().value().spec(), q.excluded());
                if (!excluded.containsAll(theirs)) {
                    excluded = new HashSet<>(excluded);
                    excluded.addAll(theirs);
                }
            }
        }
        return excluded;
    }

    /**
     * The pending VMs that may be placed now; the others wait for the VMs they depend on, or for
     * their start delay (rules {@code after} and {@code delay}). A waiting VM whose old holder is
     * proven dead is written recovering on that proof, so that its record no longer names it.
     */
    private List<Pending> held(List<Pending> pending, long now) {
        io.havn.common.place.RuleIndex rules = n.view().rules();
        Set<VmId> seen = new HashSet<>();
        for (Pending p : pending) {
            seen.add(p.vr().value().id());
        }
        java.util.function.Predicate<VmId> ready = vm -> !seen.contains(vm) && ready(vm, now);
        List<Pending> out = new ArrayList<>(pending.size());
        for (Pending p : pending) {
            VmRecord r = p.vr().value();
            long since = needsHostSince.computeIfAbsent(r.id(), k -> now);
            long waitedMs = (now - since) / 1_000_000L;
            String why = null;
            long delay = rules.startDelayMs(r.id());
            if (waitedMs < delay) {
                why = "start delay: placed " + delay + " ms after it needs a host";
            } else {
                io.havn.common.model.Rule.After a = rules.waitingBy(r.id(), ready, waitedMs);
                if (a != null) {
                    why = "waits for " + a.after() + " to run (rule " + a.id() + ", "
                            + (a.onTimeout() == io.havn.common.model.Rule.OnTimeout.START ? "starts anyway after "
                            + a.timeoutMs() + " ms" : "stays down until they run") + ")";
                }
            }
            if (why == null) {
                out.add(p);
                continue;
            }
            if (!why.equals(ruleSaid.put(r.id(), why))) {
                n.decide(Kind.RECOVERING, r.id(), null, why);
            }
            if (r.phase() != VmPhase.RECOVERING) {
                if (!p.proof().isEmpty() && r.owner() != null) {
                    timings.failingOver(r.id(), r.owner(), p.proof(), n.now());
                }
                leadership.leaderWrite(p.vr(), r.unowned(VmPhase.RECOVERING, why), p.proof(), Kind.RECOVERING, null,
                        why);
            }
        }
        needsHostSince.keySet().retainAll(seen);
        ruleSaid.keySet().retainAll(seen);
        return out;
    }

    /**
     * Whether a VM others wait for counts as ready: it runs on a live host this leader does not
     * suspect, or there is nothing to wait for (not under HA, or stopped by an operator).
     */
    private boolean ready(VmId vm, long now) {
        Versioned<VmRecord> v = n.view().vm(vm);
        if (v == null) {
            return true;
        }
        VmRecord r = v.value();
        return !r.spec().ha() || r.desired() == DesiredState.STOPPED
                || (r.phase() == VmPhase.RUNNING && n.view().liveSession(r.owner()) != 0
                && (r.owner().equals(n.self()) || !live.peers().suspected(r.owner(), now)));
    }

    private static Pending proven(Versioned<VmRecord> vr, List<CoordOp> proof) {
        return proof == null ? null : new Pending(vr, proof, Set.of(), null, 0, List.of());
    }

    private static void addIfAny(List<Pending> pending, Pending p) {
        if (p != null) {
            pending.add(p);
        }
    }

    private void stopIfHeld(Versioned<VmRecord> vr, long now) {
        VmRecord r = vr.value();
        List<CoordOp> checks = new ArrayList<>();
        switch (r.phase()) {
            case STOPPED -> {
                return;
            }
            case RECOVERING, ERROR, START_FAILED, NOT_RUNNING, FROZEN -> { }
            case RELEASED -> {
                if (r.target() != null) {
                    List<CoordOp> p = fencing.proof(r.target(), r.targetSession(), now);
                    if (p == null) {
                        return;
                    }
                    checks.addAll(p);
                }
            }
            default -> {
                List<CoordOp> p = fencing.proof(r.owner(), r.ownerSession(), now);
                if (p == null) {
                    return; // its live owner stops it
                }
                checks.addAll(p);
                if (r.target() != null) {
                    List<CoordOp> t = fencing.proof(r.target(), r.targetSession(), now);
                    if (t == null) {
                        return;
                    }
                    checks.addAll(t);
                }
            }
        }
        leadership.leaderWrite(vr, r.unowned(VmPhase.STOPPED, "stopped by operator"), checks, Kind.STOPPED, null,
                null);
    }

    /** Forgets the failed starts of VMs no longer in START_FAILED (retried, stopped, removed). */
    private void pruneStartRetries() {
        if (!startRetries.isEmpty()) {
            startRetries.keySet().removeIf(vm -> {
                Versioned<VmRecord> v = n.view().vm(vm);
                return v == null || v.value().phase() != VmPhase.START_FAILED;
            });
        }
    }

    /**
     * A failed start: again on the same host up to maxRestart times, then up to maxRelocate other
     * hosts, then ERROR. Each attempt after a failure waits {@link #startRetryWaitMs} first, longer
     * with each failure; the wait only delays the attempt, which is written as before (on the
     * owner's live session, or through placement). Giving up is not delayed.
     */
    private void retryFailedStart(Versioned<VmRecord> vr, Map<HostId, Long> eligible, List<Pending> pending,
                                  long now) {
        VmRecord r = vr.value();
        Long ownerSession = eligible.get(r.owner());
        // a host that no longer reaches the VM's storage is no place for a retry, and the start that
        // failed there for want of it does not count against the VM (nor the host) on the way to error
        boolean ownerReaches = !n.view().notReaching(r.spec().datastores()).contains(r.owner());
        // nor one where a hard rule forbids it now (another VM of an apart rule got there meanwhile)
        boolean sameHost = r.startFailures() <= n.settings().maxRestart() && ownerSession != null && ownerReaches
                && new Planner(n.view().rules()).breaks(r.id(), r.owner(), n::hostsForRules) == null;
        List<HostId> failed = new ArrayList<>(r.failedHosts());
        if (!sameHost && ownerReaches && !failed.contains(r.owner())) {
            failed.add(r.owner());
        }
        if (!sameHost && failed.size() > n.settings().maxRelocate()) {
            String why = "start failed on " + failed + ": " + r.reason();
            leadership.leaderWrite(vr, new VmRecord(r.spec(), r.desired(), VmPhase.ERROR, null, 0, r.generation(),
                    null, 0, r.move(), r.startFailures(), failed, why), List.of(), Kind.ERROR, null, why);
            return;
        }
        if (waitingToRetry(vr, sameHost, now)) {
            return;
        }
        if (sameHost) {
            VmRecord next = r.placedOn(r.owner(), ownerSession, r.startFailures(), r.failedHosts());
            List<CoordOp> checks = new ArrayList<>(List.of(new CoordOp.CheckSessionLive(r.owner(), ownerSession)));
            checks.addAll(n.view().reachChecks(r.spec(), r.owner()));
            leadership.leaderWrite(vr, next, checks,
                    Kind.PLACE, r.owner(), "retry " + r.startFailures() + " of " + n.settings().maxRestart()
                            + " on the same host");
            return;
        }
        Set<HostId> excluded = new HashSet<>(failed);
        excluded.add(r.owner());
        pending.add(new Pending(vr, List.of(), excluded, null, 0, failed));
    }

    /**
     * Whether the next start of a VM whose start failed must still wait. The first time this
     * leader sees a version of its record in START_FAILED it sets the wait and says so (a
     * START_RETRY decision with "next attempt in N ms").
     */
    private boolean waitingToRetry(Versioned<VmRecord> vr, boolean sameHost, long now) {
        VmRecord r = vr.value();
        StartRetry retry = startRetries.get(r.id());
        if (retry == null || retry.version() != vr.version()) {
            int failures = failedStarts(r);
            long waitMs = startRetryWaitMs(r.id(), failures);
            retry = new StartRetry(vr.version(), now + Peers.ms(waitMs));
            startRetries.put(r.id(), retry);
            n.decide(Kind.START_RETRY, r.id(), sameHost ? r.owner() : null, "start failed on " + r.owner()
                    + (r.reason() == null ? "" : " (" + r.reason() + ")") + ", " + failures
                    + " in all; next attempt in " + waitMs + " ms"
                    + (sameHost ? " on the same host" : " on another host"));
        }
        return now < retry.notBefore();
    }

    /**
     * The failed starts a record counts for its VM: those on its current owner, plus 1 + maxRestart
     * for each host it failed on for good (what the error rule counts, in starts).
     */
    private int failedStarts(VmRecord r) {
        return Math.max(1, r.startFailures() + r.failedHosts().size() * (n.settings().maxRestart() + 1));
    }

    /**
     * The wait before the next start of {@code vm} after {@code failures} failed ones: doubling
     * from {@link #START_RETRY_BASE_MS} up to {@link #START_RETRY_MAX_MS}, plus up to a quarter
     * more, drawn from the VM's id (deterministic; VMs that failed together spread).
     */
    static long startRetryWaitMs(VmId vm, int failures) {
        return Backoff.waitMs(START_RETRY_BASE_MS, START_RETRY_MAX_MS, vm, failures);
    }

    private void place(List<Pending> pending, Map<VmId, Pending> heldBack, Map<HostId, Long> eligible,
                       Map<HostId, HostCapacity> free) {
        if (pending.isEmpty()) {
            return;
        }
        Map<VmId, Pending> byVm = new HashMap<>();
        for (Pending p : pending) {
            byVm.put(p.vr().value().id(), p);
        }
        Map<VmId, HostCapacity> partners = keepRoomForHeldPartners(byVm, heldBack, free);
        List<Placement.Request> requests = new ArrayList<>(pending.size());
        for (Pending p : pending) {
            VmRecord r = p.vr().value();
            Set<HostId> excluded = excludedFor(p, heldBack);
            if (p.avoid() != null) {
                excluded = new HashSet<>(excluded);
                excluded.add(p.avoid());
            }
            HostCapacity d = demand(r, partners);
            requests.add(new Placement.Request(r.id(), r.spec().priority(), d.cpus(), d.memoryMiB(),
                    excluded, p.preferred()));
        }
        Planner planner = new Planner(n.view().rules());
        Planner.Plan plan = planner.place(requests, hosts(eligible, free), n::hostsForRules);
        Map<VmId, HostId> chosen = new java.util.LinkedHashMap<>(plan.placed());
        Map<VmId, String> unplaced = new HashMap<>(plan.unplaced());
        Map<VmId, List<String>> rulesOf = new HashMap<>(plan.rules());
        // second pass: a VM whose only room is on the host it should avoid goes there rather than nowhere
        List<Placement.Request> retry = new ArrayList<>();
        for (Pending p : pending) {
            VmRecord r = p.vr().value();
            if (p.avoid() != null && !chosen.containsKey(r.id())) {
                HostCapacity d = demand(r, partners);
                retry.add(new Placement.Request(r.id(), r.spec().priority(), d.cpus(), d.memoryMiB(),
                        excludedFor(p, heldBack), p.preferred()));
            }
        }
        if (!retry.isEmpty()) {
            chosen.forEach((vm, h) -> {
                HostCapacity d = demand(byVm.get(vm).vr().value(), partners);
                free.put(h, free.get(h).minus(d.cpus(), d.memoryMiB()));
            });
            Map<VmId, HostId> first = Map.copyOf(chosen);
            Planner.Plan again = planner.place(retry, hosts(eligible, free),
                    vm -> first.containsKey(vm) ? List.of(first.get(vm)) : n.hostsForRules(vm));
            chosen.putAll(again.placed());
            unplaced.keySet().removeAll(again.placed().keySet());
            unplaced.putAll(again.unplaced());
            rulesOf.putAll(again.rules());
        }
        Set<VmId> order = new LinkedHashSet<>(chosen.keySet());
        for (Placement.Request rq : requests) {
            order.add(rq.vm());
        }
        io.havn.common.place.RuleIndex rules = n.view().rules();
        Map<VmId, Integer> position = new HashMap<>();
        for (VmId vm : order) {
            position.put(vm, position.size());
        }
        Set<VmId> written = new HashSet<>();
        for (VmId vm : order) {
            if (written.contains(vm)) {
                continue; // written with the unit of a hard together rule
            }
            Pending p = byVm.get(vm);
            VmRecord r = p.vr().value();
            HostId h = chosen.get(vm);
            if (h == null) {
                if (!p.proof().isEmpty() && r.owner() != null) {
                    timings.failingOver(vm, r.owner(), p.proof(), n.now());
                }
                String why = unplaced.getOrDefault(vm, "no eligible host has " + r.spec().cpus() + " cpus and "
                        + r.spec().memoryMiB() + " MiB free");
                Set<HostId> unreaching = n.view().notReaching(r.spec().datastores());
                if (!unreaching.isEmpty()) {
                    why += "; " + unreaching.size() + " host(s) do not reach datastore(s) "
                            + String.join(", ", r.spec().datastores());
                }
                List<String> blockedBy = rulesOf.getOrDefault(vm, List.of());
                if (!blockedBy.isEmpty() && !why.equals(ruleSaid.put(vm, why))) {
                    for (String rule : blockedBy) {
                        n.decide(Kind.RULE_BLOCKED, vm, null, rule + ": " + why);
                    }
                }
                if (r.phase() != VmPhase.RECOVERING) {
                    leadership.leaderWrite(p.vr(), r.unowned(VmPhase.RECOVERING, why), p.proof(), Kind.RECOVERING,
                            null, why);
                }
                continue;
            }
            // the VMs a hard together rule binds to it that this round places on the same host go in
            // the same multi-op: all of them or none, so the group's records never name two hosts
            List<VmId> unit = new ArrayList<>();
            for (VmId o : rules.togetherWith(vm)) {
                if (h.equals(chosen.get(o))) {
                    unit.add(o);
                }
            }
            unit.sort(java.util.Comparator.comparingInt(position::get)); // in service order, not the set's
            long s = eligible.get(h);
            Set<CoordOp> checks = new LinkedHashSet<>(); // members leaving one dead host share its proof
            checks.add(new CoordOp.CheckSessionLive(h, s));
            List<Leadership.VmWrite> writes = new ArrayList<>(unit.size());
            for (VmId u : unit) {
                written.add(u);
                Pending q = byVm.get(u);
                VmRecord qr = q.vr().value();
                if (!q.proof().isEmpty() && qr.owner() != null) {
                    timings.failingOver(u, qr.owner(), q.proof(), n.now());
                }
                checks.addAll(q.proof());
                checks.addAll(n.view().reachChecks(qr.spec(), h));
                writes.add(placement(q, h, s, rulesOf.getOrDefault(u, List.of())));
            }
            leadership.leaderWrite(writes, List.copyOf(checks));
        }
    }

    /**
     * Keeps room for the hard together partners held back this round (a start delay, an order rule),
     * which will have to follow their group: on the host the rest of the group holds, taken off
     * {@code free} so that no VM placed now takes it; where none of the group holds a host yet, as
     * demand added to the first of the group placed now (returned, by VM), so that the host it takes
     * has room for the held ones too. Without it, a VM placed while its partner waits could fill the
     * one host the partner may then go to, and the partner would wait for good.
     */
    private Map<VmId, HostCapacity> keepRoomForHeldPartners(Map<VmId, Pending> ready, Map<VmId, Pending> heldBack,
                                                           Map<HostId, HostCapacity> free) {
        if (heldBack.isEmpty()) {
            return Map.of();
        }
        io.havn.common.place.RuleIndex rules = n.view().rules();
        Map<VmId, HostCapacity> extra = new HashMap<>();
        for (VmId held : new java.util.TreeSet<>(heldBack.keySet())) {
            VmRecord r = heldBack.get(held).vr().value();
            HostId anchor = null;
            boolean split = false;
            VmId first = null;
            for (VmId o : rules.togetherWith(held)) {
                if (heldBack.containsKey(o)) {
                    continue;
                }
                if (ready.containsKey(o)) {
                    first = first == null || o.compareTo(first) < 0 ? o : first;
                    continue;
                }
                for (HostId h : n.hostsForRules(o)) {
                    split |= anchor != null && !anchor.equals(h);
                    anchor = anchor == null ? h : anchor;
                }
            }
            if (anchor != null) {
                HostCapacity c = free.get(anchor);
                if (c != null && !split) {
                    free.put(anchor, c.minus(r.spec().cpus(), r.spec().memoryMiB()));
                }
            } else if (first != null) {
                extra.merge(first, new HostCapacity(r.spec().cpus(), r.spec().memoryMiB()),
                        (a, b) -> a.plus(b.cpus(), b.memoryMiB()));
            }
        }
        return extra;
    }

    /** What placing {@code r}'s VM asks of a host: its own size, plus the room kept for held partners it leads. */
    private static HostCapacity demand(VmRecord r, Map<VmId, HostCapacity> partners) {
        HostCapacity own = new HostCapacity(r.spec().cpus(), r.spec().memoryMiB());
        HostCapacity more = partners.get(r.id());
        return more == null ? own : own.plus(more.cpus(), more.memoryMiB());
    }

    /** The placement of {@code p}'s VM on {@code h} in session {@code s}, as one record of a leader write. */
    private static Leadership.VmWrite placement(Pending p, HostId h, long s, List<String> by) {
        VmRecord r = p.vr().value();
        VmRecord next = r.placedOn(h, s, p.startFailures(), p.failedHosts());
        if (r.move() != null && r.move().host().equals(h)) {
            next = next.withMove(null);
        }
        String why = (r.owner() == null ? r.phase().name().toLowerCase() : "from " + r.owner() + " ("
                + r.phase().name().toLowerCase() + ")") + (by.isEmpty() ? "" : "; rules " + String.join(", ", by));
        return new Leadership.VmWrite(p.vr(), next, Kind.PLACE, h, why);
    }

    /** The eligible hosts with their free capacity, as placement takes them. */
    static List<Placement.Host> hosts(Map<HostId, Long> eligible, Map<HostId, HostCapacity> free) {
        List<Placement.Host> hosts = new ArrayList<>();
        for (HostId h : eligible.keySet()) {
            hosts.add(new Placement.Host(h, free.get(h)));
        }
        return hosts;
    }
}
