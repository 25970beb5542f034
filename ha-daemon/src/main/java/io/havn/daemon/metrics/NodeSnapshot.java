package io.havn.daemon.metrics;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Rule;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Node;
import io.havn.common.node.PeerStat;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What one node knows, taken at one instant on the node's own thread, for readers on other
 * threads (the metrics scrape, systemd's status line). Immutable; nothing in it refers back
 * to the node.
 *
 * @param leader      whether this node leads
 * @param epoch       the epoch it knows
 * @param leaderHost  the host that holds that epoch, or null while none does
 * @param ready       whether it has reconciled and takes work
 * @param frozen      whether it is frozen (lease lapsed, the majority lost too: keeps its VMs)
 * @param selfFenced  whether it has self-fenced since its last confirmation
 * @param hosts       the registered hosts by state, each host counted once (a state left out is 0)
 * @param hostsLive   the registered hosts with a live session (maintenance ones too)
 * @param vms         the HA VMs by phase (a phase left out is 0)
 * @param vmsOnMaintenanceHosts  the HA VMs still on a host in maintenance (placed, running, migrating
 *                    or relocating there): a drain not finished yet
 * @param peers       its view of each peer's heartbeats, in name order
 * @param disarmed    how the cluster is disarmed, or null while it is armed
 * @param hostsNotArmed  the hosts with a live session that have not acknowledged the cluster's current
 *                    arm in it (0 while the cluster is disarmed or was never disarmed): if one fails,
 *                    its loss proves nothing, and its VMs wait for a fence device or a fence confirm
 * @param hardRules   the ids of the cluster's hard placement rules, the ones that can block a placement
 *                    ({@code havn_placement_blocked_total} counts from 0 for each)
 * @param reserve     how many host failures the cluster absorbs now and how many are wanted, or null
 *                    while that is not assessed (see {@link #reserve(ClusterState)})
 */
public record NodeSnapshot(boolean leader, long epoch, HostId leaderHost, boolean ready, boolean frozen,
                           boolean selfFenced, Map<HostState, Integer> hosts, int hostsLive,
                           Map<VmPhase, Integer> vms, int vmsOnMaintenanceHosts, List<PeerStat> peers,
                           ClusterRecord.Disarm disarmed, int hostsNotArmed, List<String> hardRules,
                           FailureReserve reserve) {

    /**
     * Admission control's assessment: the cluster can lose {@code tolerated} hosts, any of them, and
     * still place every HA VM that runs; its operators want it to absorb {@code wanted}
     * ({@code havnctl admission --tolerate}).
     */
    public record FailureReserve(int tolerated, int wanted) {
    }

    /**
     * A host's state for the {@code havn_hosts} gauge: the first that holds of maintenance (the
     * operator took it out, up or not), off_confirmed (an operator or a fence device said it is
     * off), live (it has a coordination session) and down (none of these: a failure to look at).
     */
    public enum HostState {
        LIVE, DOWN, MAINTENANCE, OFF_CONFIRMED;

        /** The label value: lower case. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public NodeSnapshot {
        hosts = filled(HostState.class, hosts);
        vms = filled(VmPhase.class, vms);
        peers = List.copyOf(peers);
        hardRules = hardRules == null ? List.of() : List.copyOf(hardRules);
    }

    /** A snapshot with no hard placement rule and no assessment of the failure reserve. */
    public NodeSnapshot(boolean leader, long epoch, HostId leaderHost, boolean ready, boolean frozen,
                        boolean selfFenced, Map<HostState, Integer> hosts, int hostsLive,
                        Map<VmPhase, Integer> vms, int vmsOnMaintenanceHosts, List<PeerStat> peers,
                        ClusterRecord.Disarm disarmed, int hostsNotArmed) {
        this(leader, epoch, leaderHost, ready, frozen, selfFenced, hosts, hostsLive, vms, vmsOnMaintenanceHosts, peers,
                disarmed, hostsNotArmed, List.of(), null);
    }

    /** A snapshot of an armed cluster whose hosts all acknowledged its arm, with no host in maintenance. */
    public NodeSnapshot(boolean leader, long epoch, HostId leaderHost, boolean ready, boolean frozen,
                        boolean selfFenced, Map<HostState, Integer> hosts, int hostsLive,
                        Map<VmPhase, Integer> vms, List<PeerStat> peers) {
        this(leader, epoch, leaderHost, ready, frozen, selfFenced, hosts, hostsLive, vms, 0, peers, null, 0);
    }

    /** A snapshot of an armed cluster whose hosts all acknowledged its arm. */
    public NodeSnapshot(boolean leader, long epoch, HostId leaderHost, boolean ready, boolean frozen,
                        boolean selfFenced, Map<HostState, Integer> hosts, int hostsLive,
                        Map<VmPhase, Integer> vms, int vmsOnMaintenanceHosts, List<PeerStat> peers) {
        this(leader, epoch, leaderHost, ready, frozen, selfFenced, hosts, hostsLive, vms, vmsOnMaintenanceHosts, peers,
                null, 0);
    }

    /** A snapshot with no host in maintenance. */
    public NodeSnapshot(boolean leader, long epoch, HostId leaderHost, boolean ready, boolean frozen,
                        boolean selfFenced, Map<HostState, Integer> hosts, int hostsLive,
                        Map<VmPhase, Integer> vms, List<PeerStat> peers, ClusterRecord.Disarm disarmed,
                        int hostsNotArmed) {
        this(leader, epoch, leaderHost, ready, frozen, selfFenced, hosts, hostsLive, vms, 0, peers, disarmed,
                hostsNotArmed);
    }

    /** Before the node's first sample: no state known yet. */
    public static NodeSnapshot none() {
        return new NodeSnapshot(false, 0, null, false, false, false, zeros(HostState.class), 0, zeros(VmPhase.class),
                0, List.of(), null, 0, List.of(), null);
    }

    /** Takes the snapshot, without the failure reserve. Must run on {@code node}'s thread. */
    public static NodeSnapshot of(Node node) {
        return of(node, null, 0);
    }

    /**
     * Takes the snapshot, offering its cluster state to {@code reserve} (null: none) and carrying
     * the last assessment that finished. Must run on {@code node}'s thread.
     */
    public static NodeSnapshot of(Node node, ReserveAssessor reserve, long nowNanos) {
        ClusterState state = node.clusterState();
        if (reserve != null) {
            reserve.offer(state, node.isLeader(), nowNanos);
        }
        Map<HostState, Integer> hosts = zeros(HostState.class);
        int live = 0;
        for (HostRecord h : state.hosts().values()) {
            boolean up = state.isLive(h.id());
            live += up ? 1 : 0;
            HostState s = h.inMaintenance() ? HostState.MAINTENANCE
                    : h.offConfirmed() ? HostState.OFF_CONFIRMED
                    : up ? HostState.LIVE : HostState.DOWN;
            hosts.merge(s, 1, Integer::sum);
        }
        Map<VmPhase, Integer> vms = zeros(VmPhase.class);
        for (VmRecord v : state.vms().values()) {
            vms.merge(v.phase(), 1, Integer::sum);
        }
        return new NodeSnapshot(node.isLeader(), node.epoch(), state.leader(), node.isReady(), node.isFrozen(),
                node.isSelfFenced(), hosts, live, vms, onMaintenanceHosts(state), node.peerStats(),
                state.cluster().disarmed(),
                hostsNotArmed(state), hardRules(state), reserve == null ? null : reserve(reserve.last()));
    }

    /** The ids of the hard placement rules of {@code state}'s cluster record, in their order. */
    static List<String> hardRules(ClusterState state) {
        List<String> ids = new ArrayList<>();
        for (Rule r : state.cluster().placement().rules()) {
            if (r.hard()) {
                ids.add(r.id());
            }
        }
        return ids;
    }

    /**
     * The failure reserve an assessment found, or null while none has finished: the gauges
     * {@code havn_host_failures_tolerated} and {@code _wanted} then read NaN, never a made-up figure.
     */
    static FailureReserve reserve(io.havn.common.place.Admission.Report report) {
        return report == null ? null : new FailureReserve(report.tolerated(), report.wanted());
    }

    /**
     * The registered hosts with a live session that have not acknowledged the cluster's current arm
     * in their newest session, the one whose loss would have to prove them dead; 0 while the cluster
     * is disarmed or was never disarmed.
     */
    static int hostsNotArmed(ClusterState state) {
        ClusterRecord cluster = state.cluster();
        if (!cluster.armed()) {
            return 0;
        }
        int n = 0;
        for (HostRecord h : state.hosts().values()) {
            if (state.isLive(h.id()) && !h.armedIn(cluster, state.live().get(h.id()).last())) {
                n++;
            }
        }
        return n;
    }

    /**
     * The HA VMs of {@code state} that a host in maintenance still holds (placed, running,
     * migrating or relocating there): what its drain has not moved yet. One pass over the VMs.
     */
    static int onMaintenanceHosts(ClusterState state) {
        int n = 0;
        for (VmRecord v : state.vms().values()) {
            HostRecord owner = v.owner() == null ? null : state.hosts().get(v.owner());
            if (v.spec().ha() && v.phase().holdsCapacity() && owner != null && owner.inMaintenance()) {
                n++;
            }
        }
        return n;
    }

    /** The number of registered hosts. */
    public int hostsTotal() {
        return hosts.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** The number of VMs in any of {@code phases}. */
    public int vmsIn(VmPhase... phases) {
        int n = 0;
        for (VmPhase p : phases) {
            n += vms.get(p);
        }
        return n;
    }

    /** {@code counts} with every constant of {@code type}, a missing one at 0; unmodifiable. */
    private static <E extends Enum<E>> Map<E, Integer> filled(Class<E> type, Map<E, Integer> counts) {
        Map<E, Integer> m = zeros(type);
        m.putAll(counts);
        return Collections.unmodifiableMap(m);
    }

    private static <E extends Enum<E>> Map<E, Integer> zeros(Class<E> type) {
        Map<E, Integer> m = new EnumMap<>(type);
        for (E e : type.getEnumConstants()) {
            m.put(e, 0);
        }
        return m;
    }
}
