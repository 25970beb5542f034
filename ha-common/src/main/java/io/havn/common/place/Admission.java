package io.havn.common.place;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.VmRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Admission control: how many host failures the cluster can absorb right now under its placement
 * rules. A failure is absorbed when every HA VM that would need a new host is placed, by the
 * leader's own {@link Planner} replayed as {@link WhatIf} does (reserved failover hosts take
 * recoveries; {@code after} and {@code delay} rules order the waves).
 *
 * <p>The worst case is searched for {@code k} = 1, 2, ... failures in turn, stopping at the first
 * {@code k} not absorbed, and at most up to {@code tolerate + 1} (at least 1), which is all an
 * operator's setting needs to be judged and keeps the search cheap:
 * <ul>
 *   <li>{@code k = 1} is exact: the failure of every live host that holds an HA VM is replayed
 *       (a host that holds none needs nothing placed when it fails);</li>
 *   <li>{@code k >= 2} is a heuristic, not every set of {@code k} hosts: the {@code k} eligible hosts
 *       that hold the most HA memory (of the VMs that would need a new host), ties broken by more HA
 *       cpus, then by name. It can miss a worse set that rules make worse (say, the only hosts of a
 *       strict group holding little memory).</li>
 * </ul>
 * The replays use no detection or proof time (every VM needs a host at once) and
 * {@link WhatIf#RESTART_ESTIMATE_MS} per restart, so delays and dependencies still order the waves.
 * A case whose VMs no rule names, with enough roomy hosts left, is known to be absorbed without a
 * replay ({@code WhatIf.surelyAbsorbed}); that keeps a healthy cluster of 1,000 hosts cheap, where
 * each replay costs a planner pass over every host.
 */
public final class Admission {
    private static final WhatIf.Timing TIMING = new WhatIf.Timing(0, 0, WhatIf.RESTART_ESTIMATE_MS);
    /** How many VMs that would not restart a shortfall names. */
    private static final int NAMED = 3;

    private Admission() {
    }

    /**
     * How the cluster stands.
     *
     * @param tolerated  how many host failures it can absorb now (the worst case as above)
     * @param wanted     how many the operators want it to absorb ({@link PlacementPolicy#tolerate()})
     * @param strict     whether changes that would lower {@code tolerated} below {@code wanted} are refused
     * @param checked    the most failures examined: {@code tolerated == checked} means at least that many
     * @param worst      the hosts whose failure it could not absorb ({@code tolerated + 1} of them), or
     *                   null when every case examined was absorbed
     * @param shortfall  when {@code tolerated < wanted}: the failing hosts and the first VMs that could
     *                   not restart, with the planner's reasons; else null
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Report(int tolerated, int wanted, boolean strict, int checked, List<HostId> worst,
                         String shortfall) {
        public Report {
            worst = worst == null ? null : List.copyOf(worst);
        }
    }

    /** How many host failures {@code state} can absorb now, under its placement policy. */
    public static Report assess(ClusterState state) {
        return assess(state, true);
    }

    /** {@link #assess(ClusterState)}, with or without {@link WhatIf#surelyAbsorbed}'s shortcut (for tests). */
    static Report assess(ClusterState state, boolean shortcut) {
        PlacementPolicy policy = state.cluster().placement();
        StateView view = StateView.of(state);
        Planner planner = new Planner(new RuleIndex(policy));
        int cap = Math.max(1, policy.tolerate() + 1);
        int tolerated = 0;
        for (int k = 1; k <= cap; k++) {
            for (Set<HostId> failing : cases(view, k)) {
                if (shortcut && WhatIf.surelyAbsorbed(view, planner.index(), failing)) {
                    continue;
                }
                WhatIf.Run run = WhatIf.run(view, planner, failing, TIMING);
                if (!run.notRestarted().isEmpty()) {
                    List<HostId> worst = new ArrayList<>(new TreeSet<>(failing));
                    String shortfall = tolerated < policy.tolerate() ? shortfall(worst, run.notRestarted()) : null;
                    return new Report(tolerated, policy.tolerate(), policy.strict(), k, worst, shortfall);
                }
            }
            tolerated = k;
        }
        return new Report(tolerated, policy.tolerate(), policy.strict(), cap, null, null);
    }

    /**
     * Why a change that takes the cluster from {@code before} to {@code after} must be refused, or
     * null: only in strict mode, when {@code after} would absorb fewer host failures than wanted and
     * fewer than {@code before} does. For the leader, before it accepts {@code vm add},
     * {@code vm start} or {@code maintenance on}.
     */
    public static String refusal(ClusterState before, ClusterState after) {
        PlacementPolicy policy = after.cluster().placement();
        if (!policy.strict() || policy.tolerate() == 0) {
            return null;
        }
        Report then = assess(after);
        if (then.tolerated() >= then.wanted()) {
            return null;
        }
        Report now = assess(before);
        if (then.tolerated() >= now.tolerated()) {
            return null;
        }
        return "admission control (strict): after this change the cluster could absorb " + failures(then.tolerated())
                + " (" + (now.worst() == null ? "at least " : "") + now.tolerated() + " now, " + then.wanted()
                + " wanted): " + then.shortfall();
    }

    private static String failures(int n) {
        return n + (n == 1 ? " host failure" : " host failures");
    }

    private static String shortfall(List<HostId> failing, List<WhatIf.Entry> lost) {
        StringBuilder b = new StringBuilder("if ").append(failing.size() == 1 ? "host " : "hosts ")
                .append(String.join(", ", failing.stream().map(HostId::value).toList())).append(" failed, ")
                .append(lost.size()).append(lost.size() == 1 ? " HA VM" : " HA VMs").append(" could not restart: ");
        for (int i = 0; i < lost.size() && i < NAMED; i++) {
            WhatIf.Entry e = lost.get(i);
            b.append(i == 0 ? "" : "; ").append(e.vm()).append(" (").append(e.why()).append(')');
        }
        if (lost.size() > NAMED) {
            b.append("; and ").append(lost.size() - NAMED).append(" more");
        }
        return b.toString();
    }

    /** The host sets to replay for {@code k} failures (see the class comment). */
    private static List<Set<HostId>> cases(StateView view, int k) {
        List<Set<HostId>> out = new ArrayList<>();
        if (k == 1) {
            for (HostId h : view.state().hosts().keySet()) {
                if (view.liveSession(h) != 0 && !view.haVmsOf(List.of(h)).isEmpty()) {
                    out.add(Set.of(h));
                }
            }
            return out;
        }
        Map<HostId, long[]> load = new HashMap<>();
        for (HostId h : view.eligible()) {
            long[] l = new long[2];
            for (VmRecord r : view.haVmsOf(List.of(h))) {
                if (h.equals(r.owner())) {
                    l[0] += r.spec().memoryMiB();
                    l[1] += r.spec().cpus();
                }
            }
            load.put(h, l);
        }
        List<HostId> ranked = new ArrayList<>(view.eligible());
        ranked.sort(Comparator.<HostId>comparingLong(h -> -load.get(h)[0])
                .thenComparingLong(h -> -load.get(h)[1])
                .thenComparing(Comparator.naturalOrder()));
        out.add(new TreeSet<>(ranked.subList(0, Math.min(k, ranked.size()))));
        return out;
    }
}
