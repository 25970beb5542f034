package io.havn.common.place;

import io.havn.common.model.ClusterState;
import io.havn.common.model.DesiredState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One {@link ClusterState} snapshot read the way the leader's round reads its view: which hosts may
 * take VMs, what each has free, where each VM holds capacity, and which HA VMs a set of hosts holds.
 * Built once per snapshot (one pass over the VMs), then each question is answered without another
 * pass. Immutable and deterministic; it knows nothing of heartbeats, so a host that is live but
 * suspected by the leader still counts as eligible here.
 */
public final class StateView {
    private final ClusterState state;
    private final SortedSet<HostId> eligible;
    /** For every registered host: its capacity minus what the VMs that hold capacity there take. */
    private final Map<HostId, HostCapacity> free = new HashMap<>();
    /** Where each VM holds capacity: its owner, and its target while migrating (absent: nowhere). */
    private final Map<VmId, List<HostId>> holders = new HashMap<>();
    /** The records of the VMs that hold capacity on each host (as owner or migration target), in id order. */
    private final Map<HostId, List<VmRecord>> held = new HashMap<>();
    /** The eligible hosts with what they have free, in name order. */
    private final List<Placement.Host> eligibleFree;

    private StateView(ClusterState state) {
        this.state = state;
        SortedSet<HostId> ok = new TreeSet<>();
        for (HostRecord h : state.hosts().values()) {
            free.put(h.id(), h.capacity());
            long s = liveSession(h.id());
            if (s != 0 && !h.inMaintenance() && !h.offConfirmed() && !h.shuttingDown(s)) {
                ok.add(h.id());
            }
        }
        this.eligible = Collections.unmodifiableSortedSet(ok);
        for (VmRecord r : state.vms().values()) {
            if (!r.phase().holdsCapacity()) {
                continue;
            }
            List<HostId> at = r.phase() == VmPhase.MIGRATING ? List.of(r.owner(), r.target()) : List.of(r.owner());
            holders.put(r.id(), at);
            for (HostId h : at) {
                free.computeIfPresent(h, (k, c) -> c.minus(r.spec().cpus(), r.spec().memoryMiB()));
                held.computeIfAbsent(h, k -> new ArrayList<>()).add(r); // state.vms() is in id order
            }
        }
        List<Placement.Host> ef = new ArrayList<>(eligible.size());
        for (HostId h : eligible) {
            ef.add(new Placement.Host(h, free.get(h)));
        }
        this.eligibleFree = Collections.unmodifiableList(ef);
    }

    public static StateView of(ClusterState state) {
        return new StateView(java.util.Objects.requireNonNull(state, "state"));
    }

    public ClusterState state() {
        return state;
    }

    /**
     * The hosts that may take VMs: registered, with a live session, active (not in maintenance), not
     * recorded off, and not shutting down in their newest live session. Reserved failover hosts are
     * among them: they take recoveries.
     */
    public SortedSet<HostId> eligible() {
        return eligible;
    }

    /** The newest live session of {@code host} (the highest id), 0 if it has none. */
    public long liveSession(HostId host) {
        SortedSet<Long> s = state.live().get(host);
        return s == null || s.isEmpty() ? 0 : s.last();
    }

    /**
     * What each of {@code hosts} has free: its capacity minus every VM whose phase holds capacity
     * there (a migrating VM counts on its owner and its target), as the leader's view computes it.
     * Unregistered hosts are left out. A new map the caller may change.
     */
    public Map<HostId, HostCapacity> free(Collection<HostId> hosts) {
        Map<HostId, HostCapacity> out = new TreeMap<>();
        for (HostId h : hosts) {
            HostCapacity c = free.get(h);
            if (c != null) {
                out.put(h, c);
            }
        }
        return out;
    }

    /** The eligible hosts with what each has free, in name order, as the planner takes them. */
    public List<Placement.Host> eligibleFree() {
        return eligibleFree;
    }

    private Planner.Hosts table;

    /** {@link #eligibleFree()} sorted once for the planner, shared by every replay of this view. */
    public Planner.Hosts table() {
        if (table == null) {
            table = new Planner.Hosts(eligibleFree);
        }
        return table;
    }

    /** What {@code host} (registered) has free, as {@link #free(Collection)}; null for an unregistered host. */
    public HostCapacity freeOn(HostId host) {
        return free.get(host);
    }

    /** Where {@code vm} holds capacity now: its owner, plus its target while migrating; empty if nowhere. */
    public List<HostId> holders(VmId vm) {
        return holders.getOrDefault(vm, List.of());
    }

    /** {@link #holders} as the planner takes it. */
    public Planner.Locator locator() {
        return this::holders;
    }

    /** The records of the VMs that hold capacity on {@code host} (as owner or migration target), in id order. */
    public List<VmRecord> heldOn(HostId host) {
        List<VmRecord> l = held.get(host);
        return l == null ? List.of() : Collections.unmodifiableList(l);
    }

    /**
     * The HA VMs that {@code hosts} hold: under HA, wanted running, in a phase that holds capacity,
     * owned by one of them or migrating to one of them; in id order. Which of them need a new host
     * if {@code hosts} died is {@link WhatIf}'s business: a VM whose live migration only targets a
     * dying host stays on its source, and one whose source dies goes to its live target.
     */
    public List<VmRecord> haVmsOf(Collection<HostId> hosts) {
        Collection<VmRecord> all;
        if (hosts.size() == 1) {
            all = heldOn(hosts.iterator().next());
        } else {
            Map<VmId, VmRecord> merged = new TreeMap<>();
            for (HostId h : hosts) {
                for (VmRecord r : heldOn(h)) {
                    merged.put(r.id(), r);
                }
            }
            all = merged.values();
        }
        List<VmRecord> out = new ArrayList<>(all.size());
        for (VmRecord r : all) {
            if (r.spec().ha() && r.desired() == DesiredState.RUNNING) {
                out.add(r);
            }
        }
        return out;
    }
}
