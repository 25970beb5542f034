package io.havn.common.place;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.havn.common.model.ClusterState;
import io.havn.common.model.DesiredState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What would happen if some hosts failed now: where each HA VM they hold would restart, in what
 * order and when, and which would not, and why. It replays the leader's recovery on a snapshot with
 * the leader's own {@link Planner}: the hosts are the eligible ones minus the failing ones (reserved
 * failover hosts included), with the capacity they have free now; the requests are built as the
 * leader builds them (priority, cpus, memory, no exclusions). Pure and deterministic; it changes
 * nothing.
 *
 * <p>Time runs from the failure. A VM needs a host once its host's failure is detected and its death
 * proven ({@link Timing}). From then on the leader's rounds are replayed as <em>waves</em>: at each
 * moment when some VM may be placed for the first time, one planner pass places every VM that may be
 * placed then (those left over from earlier waves again too), with the capacity the earlier waves
 * left. A VM may be placed once its start delay (rule {@code delay}) has passed and no {@code after}
 * rule holds it ({@link RuleIndex#waitingBy}). A VM waited for counts as ready when its record says
 * running on a host that does not fail, when there is nothing to wait for (not under HA, stopped by
 * an operator, no such VM), or {@link Timing#restartMs()} after an earlier wave placed it (its host
 * claims it then, and the next round sees it running). A VM that is not running now for another
 * reason (recovering, failed, placed but not claimed) is not counted ready. Guest-agent readiness is
 * taken as record readiness.
 *
 * <p>Beside the planner's VMs: a VM whose live migration only targets a failing host stays on its
 * source and is not listed; one whose source fails while its target is eligible goes to its target
 * (as the leader does, outside the planner); one frozen on a failing host without a fence device
 * waits for an operator's fence confirm. VMs already waiting for a host before the failure are left
 * out: the failure takes capacity, it gives none.
 */
public final class WhatIf {
    /**
     * The estimate of a fence device's proof of death: power-off confirmed about 2 s after the leader
     * asks (IPMI and PDU agents answer in 1-3 s; DESIGN.md's target of 5 s from crash to restart with
     * a fence device leaves that much after detection).
     */
    public static final long FENCE_PROOF_ESTIMATE_MS = 2_000;
    /**
     * The estimate of a restart once a host is chosen: placement, the new owner's claim and the start
     * command (DESIGN.md's time budget, under 200 ms). It ends when the VM's record says running,
     * which is what a VM that waits for it waits for; the guest's own boot is not counted.
     */
    public static final long RESTART_ESTIMATE_MS = 200;

    private WhatIf() {
    }

    /**
     * The timing inputs, in ms.
     *
     * @param detectMs       from the failure until the leader takes the host for failed (its heartbeat timeout)
     * @param proofMs        from then until the death of a host without a fence device is proven (its
     *                       session expires)
     * @param fencedProofMs  the same for a host with a fence device (the device confirms it off)
     * @param restartMs      from a VM's placement until its record says running (see
     *                       {@link #RESTART_ESTIMATE_MS})
     */
    public record Timing(long detectMs, long proofMs, long fencedProofMs, long restartMs) {
        public Timing {
            if (detectMs < 0 || proofMs < 0 || fencedProofMs < 0 || restartMs < 0) {
                throw new IllegalArgumentException("timings must be >= 0 ms, got detect " + detectMs + ", proof "
                        + proofMs + ", fenced proof " + fencedProofMs + ", restart " + restartMs);
            }
        }

        /** The same proof time for every host, fence device or not. */
        public Timing(long detectMs, long proofMs, long restartMs) {
            this(detectMs, proofMs, proofMs, restartMs);
        }

        /** How long the death of {@code host} takes to prove. */
        long proofOf(HostRecord host) {
            return host != null && host.fenceDevice() != null ? fencedProofMs : proofMs;
        }
    }

    /**
     * One HA VM of the failing hosts.
     *
     * @param vm             the VM
     * @param from           the failing host that holds it (its owner)
     * @param to             where it would restart, or null when it would not
     * @param wave           the wave that places it, from 1 in the order of time; 0 when it is not placed
     * @param startOffsetMs  how long after it needs a host (its host's failure detected and death
     *                       proven) it is placed: start delay and dependency waits; 0 when not placed
     * @param upAfterMs      the expected time from the failure until its record says running again
     *                       (detection + proof + startOffsetMs + restart), or null when not placed
     * @param rules          the placement rules that chose or excluded hosts for it (as the planner
     *                       reports them)
     * @param waits          the {@code after} and {@code delay} rules that held it back
     * @param why            why it would not restart, or null when it would
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Entry(VmId vm, HostId from, HostId to, int wave, long startOffsetMs, Long upAfterMs,
                        List<String> rules, List<String> waits, String why) {
        public Entry {
            Objects.requireNonNull(vm, "vm");
            rules = rules == null ? List.of() : List.copyOf(rules);
            waits = waits == null ? List.of() : List.copyOf(waits);
        }
    }

    /**
     * The outcome.
     *
     * @param failing             the hosts taken to fail, in name order
     * @param entries             every HA VM of theirs that needs a new host, or waits for one: placed ones
     *                            by wave then in service order ({@link Placement#ORDER}), then the others
     *                            in service order
     * @param expectedRecoveryMs  the expected time from the failure until the last placed VM runs again:
     *                            detection + proof + its wait + restart; 0 when none is placed
     * @param basis               one line saying what that time is made of
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Report(List<HostId> failing, List<Entry> entries, long expectedRecoveryMs, String basis) {
        public Report {
            failing = failing == null ? List.of() : List.copyOf(failing);
            entries = entries == null ? List.of() : List.copyOf(entries);
        }

        /** The entry of {@code vm}, or null. */
        public Entry entryOf(VmId vm) {
            for (Entry e : entries) {
                if (e.vm().equals(vm)) {
                    return e;
                }
            }
            return null;
        }
    }

    /** {@link #of(ClusterState, List, Timing)} with one proof time for every host. */
    public static Report of(ClusterState state, List<HostId> failing, long detectMs, long proofMs, long restartMs) {
        return of(state, failing, new Timing(detectMs, proofMs, restartMs));
    }

    /**
     * What would happen if {@code failing} failed now, in {@code state}, under its placement policy.
     *
     * @throws IllegalArgumentException naming the first host of {@code failing} that is not registered
     */
    public static Report of(ClusterState state, List<HostId> failing, Timing timing) {
        Objects.requireNonNull(failing, "failing");
        Objects.requireNonNull(timing, "timing");
        SortedSet<HostId> dying = new TreeSet<>();
        for (HostId h : failing) {
            if (h == null || !state.hosts().containsKey(h)) {
                throw new IllegalArgumentException("what-if: no host " + h + " in the cluster");
            }
            dying.add(h);
        }
        StateView view = StateView.of(state);
        Planner planner = new Planner(new RuleIndex(state.cluster().placement()));
        return run(view, planner, dying, timing).report();
    }

    /** The outcome with what admission control needs: the VMs that needed a new host and got none. */
    record Run(Report report, List<Entry> notRestarted) {
    }

    /** Replays the recovery of {@code failing}'s VMs (registered hosts) on {@code view} with {@code planner}. */
    static Run run(StateView view, Planner planner, Set<HostId> failing, Timing timing) {
        return new Replay(view, planner, failing, timing).run();
    }

    /** What becomes of an HA VM of the failing hosts, as the leader would have it. */
    private enum Fate {
        /** Only its migration target fails: the source aborts the migration and keeps it. */
        STAYS,
        /** Its source fails and its migration target is eligible: the target takes it, outside the planner. */
        TO_TARGET,
        /** Its source fails and its migration target is live but takes no VMs: it waits for the target. */
        TARGET_BUSY,
        /** Frozen on a host without a fence device: it waits for an operator's fence confirm. */
        FROZEN,
        /** It needs a new host: the planner's. */
        PLACE
    }

    private static Fate fate(StateView view, Set<HostId> failing, VmRecord r) {
        if (!failing.contains(r.owner())) {
            return Fate.STAYS;
        }
        if (r.phase() == VmPhase.MIGRATING && !failing.contains(r.target())) {
            return view.eligible().contains(r.target()) ? Fate.TO_TARGET : Fate.TARGET_BUSY;
        }
        if (r.phase() == VmPhase.FROZEN && view.state().hosts().get(r.owner()).fenceDevice() == null) {
            return Fate.FROZEN;
        }
        return Fate.PLACE;
    }

    /**
     * Whether the replay of {@code failing} surely places every VM that needs a new host, proven
     * without running it; false when that cannot be proven this way (the replay then decides). It
     * holds when no rule names any of those VMs and at least as many surviving eligible hosts as there
     * are such VMs each have room for the largest of them: a VM that no rule names is placed by the
     * planner on the eligible host with the most free memory that has its cpus and memory free, so
     * each placement spends at most one of those hosts, and one is left for every VM still to place.
     */
    static boolean surelyAbsorbed(StateView view, RuleIndex idx, Set<HostId> failing) {
        int n = 0;
        int cpus = 0;
        long memoryMiB = 0;
        for (VmRecord r : view.haVmsOf(failing)) {
            if (fate(view, failing, r) != Fate.PLACE) {
                continue;
            }
            if (idx.ruled(r.id())) {
                return false;
            }
            n++;
            cpus = Math.max(cpus, r.spec().cpus());
            memoryMiB = Math.max(memoryMiB, r.spec().memoryMiB());
        }
        int roomy = 0;
        for (Placement.Host h : view.eligibleFree()) {
            if (roomy >= n) {
                break;
            }
            if (!failing.contains(h.id()) && h.free().fits(cpus, memoryMiB)) {
                roomy++;
            }
        }
        return roomy >= n;
    }

    /** One replay's working state. */
    private static final class Replay {
        final StateView view;
        final ClusterState state;
        final Planner planner;
        final RuleIndex idx;
        final Set<HostId> failing;
        final Timing timing;
        /** The VMs the planner places, with the request it gets for each. */
        final Map<VmId, Placement.Request> pending = new TreeMap<>();
        /** The VMs whose migration target takes them: the host. */
        final Map<VmId, HostId> toTarget = new TreeMap<>();
        /** The VMs that wait without a placement, and why. */
        final Map<VmId, String> stuck = new TreeMap<>();
        final Map<VmId, Long> needAt = new HashMap<>();
        final Map<VmId, Long> placedAt = new HashMap<>();
        final Map<VmId, HostId> placedOn = new HashMap<>();
        final Map<VmId, Integer> waveOf = new HashMap<>();
        final Map<VmId, Set<String>> waits = new HashMap<>();
        final Map<VmId, String> why = new HashMap<>();
        final Map<VmId, List<String>> rules = new HashMap<>();
        final Set<VmId> tried = new HashSet<>();
        /** What the surviving eligible hosts that earlier waves filled have left (the others: as in the view). */
        final Map<HostId, HostCapacity> taken = new HashMap<>();

        Replay(StateView view, Planner planner, Set<HostId> failing, Timing timing) {
            this.view = view;
            this.state = view.state();
            this.planner = planner;
            this.idx = planner.index();
            this.failing = failing;
            this.timing = timing;
        }

        Run run() {
            for (VmRecord r : view.haVmsOf(failing)) {
                sort(r);
            }
            replay();
            Report report = report();
            List<Entry> notRestarted = new ArrayList<>();
            for (Entry e : report.entries()) {
                if (e.to() == null && pending.containsKey(e.vm())) {
                    notRestarted.add(e);
                }
            }
            return new Run(report, notRestarted);
        }

        /** Puts {@code r} with the planner's VMs, its target's, or the ones that wait, as the leader would. */
        private void sort(VmRecord r) {
            HostId owner = r.owner();
            switch (fate(view, failing, r)) {
                case STAYS -> { }
                case TO_TARGET -> {
                    needAt.put(r.id(), timing.detectMs() + timing.proofOf(state.hosts().get(owner)));
                    toTarget.put(r.id(), r.target());
                }
                case TARGET_BUSY -> stuck.put(r.id(), "its host " + owner + " fails during a live migration to "
                        + r.target() + ", which is live but takes no VMs (maintenance or shutting down): it waits for "
                        + r.target());
                case FROZEN -> stuck.put(r.id(), "frozen on " + owner + " (stopped to start there again): with no "
                        + "fence device it restarts elsewhere only once an operator confirms " + owner
                        + " off (fence confirm)");
                case PLACE -> {
                    long proof = timing.proofOf(state.hosts().get(owner));
                    if (r.phase() == VmPhase.MIGRATING) {
                        proof = Math.max(proof, timing.proofOf(state.hosts().get(r.target())));
                    }
                    needAt.put(r.id(), timing.detectMs() + proof);
                    pending.put(r.id(), new Placement.Request(r.id(), r.spec().priority(), r.spec().cpus(),
                            r.spec().memoryMiB(), unreaching(r), null));
                }
            }
        }

        /** The leader's rounds, one wave per moment when a VM may first be placed. */
        private void replay() {
            TreeSet<Long> times = new TreeSet<>();
            for (VmId v : pending.keySet()) {
                long start = needAt.get(v) + idx.startDelayMs(v);
                times.add(start);
                for (Rule.After a : idx.waitsBy(v)) {
                    if (a.onTimeout() == Rule.OnTimeout.START) {
                        times.add(Math.max(start, needAt.get(v) + a.timeoutMs()));
                    }
                }
            }
            for (VmId v : toTarget.keySet()) {
                times.add(needAt.get(v));
            }
            int wave = 0;
            while (!times.isEmpty()) {
                long t = times.pollFirst();
                int thisWave = wave + 1;
                boolean placedAny = false;
                for (Map.Entry<VmId, HostId> e : toTarget.entrySet()) {
                    VmId v = e.getKey();
                    if (!placedOn.containsKey(v) && needAt.get(v) <= t) {
                        placed(v, e.getValue(), t, thisWave, times);
                        placedAny = true;
                    }
                }
                List<Placement.Request> batch = new ArrayList<>();
                boolean fresh = false;
                for (Placement.Request rq : pending.values()) {
                    VmId v = rq.vm();
                    if (placedOn.containsKey(v) || t < needAt.get(v) + idx.startDelayMs(v)) {
                        continue;
                    }
                    Rule.After held = idx.waitingBy(v, dep -> ready(dep, t), t - needAt.get(v));
                    if (held != null) {
                        waits.computeIfAbsent(v, k -> new LinkedHashSet<>()).add(held.id());
                        continue;
                    }
                    batch.add(rq);
                    fresh |= tried.add(v);
                }
                if (fresh) {
                    Planner.Plan plan = planner.place(batch, view.table(), failing, taken, this::where);
                    for (Map.Entry<VmId, HostId> e : plan.placed().entrySet()) {
                        Placement.Request rq = pending.get(e.getKey());
                        taken.put(e.getValue(), taken.getOrDefault(e.getValue(), view.freeOn(e.getValue()))
                                .minus(rq.cpus(), rq.memoryMiB()));
                        placed(e.getKey(), e.getValue(), t, thisWave, times);
                        placedAny = true;
                    }
                    for (Placement.Request rq : batch) {
                        VmId v = rq.vm();
                        List<String> by = plan.rules().get(v);
                        rules.put(v, by == null ? List.of() : by);
                        String no = plan.unplaced().get(v);
                        if (no != null) {
                            why.put(v, no);
                        }
                    }
                }
                if (placedAny) {
                    wave = thisWave;
                }
            }
            for (VmId v : pending.keySet()) {
                if (!placedOn.containsKey(v) && !tried.contains(v)) {
                    why.put(v, stayDown(v));
                }
            }
        }

        private void placed(VmId v, HostId h, long t, int wave, TreeSet<Long> times) {
            placedOn.put(v, h);
            placedAt.put(v, t);
            waveOf.put(v, wave);
            why.remove(v);
            times.add(t + timing.restartMs());
        }

        /** Where a VM is for the rules: where a wave put it, nowhere while it waits, else where it holds capacity. */
        private Collection<HostId> where(VmId vm) {
            HostId h = placedOn.get(vm);
            if (h != null) {
                return List.of(h);
            }
            if (pending.containsKey(vm) || toTarget.containsKey(vm)) {
                return List.of();
            }
            List<HostId> at = view.holders(vm);
            for (HostId x : at) {
                if (failing.contains(x)) {
                    List<HostId> left = new ArrayList<>(at);
                    left.removeAll(failing);
                    return left;
                }
            }
            return at;
        }

        /** Whether {@code dep}, which a VM waits for, is ready at {@code t}. */
        private boolean ready(VmId dep, long t) {
            Long at = placedAt.get(dep);
            if (at != null) {
                return at + timing.restartMs() <= t;
            }
            if (pending.containsKey(dep) || toTarget.containsKey(dep) || stuck.containsKey(dep)) {
                return false;
            }
            VmRecord r = state.vms().get(dep);
            if (r == null || !r.spec().ha() || r.desired() != DesiredState.RUNNING) {
                return true; // nothing to wait for
            }
            return (r.phase() == VmPhase.RUNNING || r.phase() == VmPhase.MIGRATING) && !failing.contains(r.owner());
        }

        /** Why {@code v}, never free of its dependencies, is not placed. */
        private String stayDown(VmId v) {
            Rule.After a = idx.waitingBy(v, dep -> ready(dep, Long.MAX_VALUE), Long.MAX_VALUE);
            if (a == null) {
                return "never placed"; // not reached: without a stay-down rule every VM is tried
            }
            waits.computeIfAbsent(v, k -> new LinkedHashSet<>()).add(a.id());
            for (VmId dep : a.after()) {
                if (!ready(dep, Long.MAX_VALUE)) {
                    VmRecord r = state.vms().get(dep);
                    String how = pending.containsKey(dep) || toTarget.containsKey(dep) || stuck.containsKey(dep)
                            ? "does not restart" : "is " + r.phase().name().toLowerCase().replace('_', '-');
                    return "waits for " + dep + " (rule " + a.id() + "), stay-down: " + dep + " " + how;
                }
            }
            return "waits by rule " + a.id() + ", stay-down";
        }

        private Report report() {
            Map<VmId, Placement.Request> all = new TreeMap<>(pending);
            for (VmId v : toTarget.keySet()) {
                all.put(v, request(v));
            }
            for (VmId v : stuck.keySet()) {
                all.put(v, request(v));
            }
            List<Placement.Request> order = new ArrayList<>(all.values());
            order.sort(Comparator.<Placement.Request>comparingInt(rq -> {
                Integer w = waveOf.get(rq.vm());
                return w == null ? Integer.MAX_VALUE : w;
            }).thenComparing(Placement.ORDER));
            List<Entry> entries = new ArrayList<>(order.size());
            Entry last = null;
            for (Placement.Request rq : order) {
                Entry e = entry(rq.vm());
                entries.add(e);
                if (e.upAfterMs() != null && (last == null || e.upAfterMs() > last.upAfterMs())) {
                    last = e;
                }
            }
            List<HostId> dying = new ArrayList<>(new TreeSet<>(failing));
            if (last == null) {
                String basis = entries.isEmpty() ? "no HA VM of " + dying + " needs a new host"
                        : "no HA VM of " + dying + " would restart";
                return new Report(dying, entries, 0, basis);
            }
            long need = needAt.get(last.vm());
            HostRecord from = state.hosts().get(last.from());
            String basis = "the last VM, " + last.vm() + ", runs after " + last.upAfterMs() + " ms: detection "
                    + timing.detectMs() + " + proof of death " + (need - timing.detectMs())
                    + (from.fenceDevice() != null ? " (fence device)" : " (session expiry)") + " + wait "
                    + last.startOffsetMs() + (last.waits().isEmpty() ? "" : " (rules " + String.join(", ", last.waits())
                    + ")") + " + restart " + timing.restartMs();
            return new Report(dying, entries, last.upAfterMs(), basis);
        }

        private Placement.Request request(VmId v) {
            VmRecord r = state.vms().get(v);
            return new Placement.Request(v, r.spec().priority(), r.spec().cpus(), r.spec().memoryMiB(), unreaching(r),
                    null);
        }

        /** The hosts whose record says they do not reach {@code r}'s datastores: as the leader, no place for it. */
        private Set<HostId> unreaching(VmRecord r) {
            if (r.spec().datastores().isEmpty()) {
                return Set.of();
            }
            Set<HostId> out = new java.util.TreeSet<>();
            state.hosts().forEach((h, rec) -> {
                if (!rec.reaches(r.spec().datastores())) {
                    out.add(h);
                }
            });
            return out;
        }

        private Entry entry(VmId v) {
            HostId from = state.vms().get(v).owner();
            List<String> waited = new ArrayList<>(waits.getOrDefault(v, Set.of()));
            for (Rule r : idx.rulesOf(v)) {
                if (r instanceof Rule.StartDelay) {
                    waited.add(r.id());
                }
            }
            HostId to = placedOn.get(v);
            if (to == null) {
                String no = stuck.containsKey(v) ? stuck.get(v) : why.get(v);
                return new Entry(v, from, null, 0, 0, null, rules.get(v), waited, no);
            }
            long offset = placedAt.get(v) - needAt.get(v);
            return new Entry(v, from, to, waveOf.get(v), offset, placedAt.get(v) + timing.restartMs(), rules.get(v),
                    waited, null);
        }
    }
}
