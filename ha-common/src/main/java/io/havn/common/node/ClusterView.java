package io.havn.common.node;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.ClusterState;
import io.havn.common.model.DesiredState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import java.util.List;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The node's copy of the cluster state, fed by the coordinator's deltas and by its own successful
 * writes. Versions only move forward, so a late delta never undoes a newer write. Iteration is in
 * name order, which keeps every decision deterministic.
 */
final class ClusterView {
    private static final long GONE_MEMORY_NANOS = 600_000_000_000L;

    private long epoch;
    private HostId leader;
    private final TreeMap<HostId, Versioned<HostRecord>> hosts = new TreeMap<>();
    /** The same host records, for lookups (every tick reads some): the tree is for iteration in name order. */
    private final java.util.HashMap<HostId, Versioned<HostRecord>> hostIndex = new java.util.HashMap<>();
    /** The cluster record; null while none is written (then the defaults hold). */
    private Versioned<ClusterRecord> cluster;
    private final Set<HostId> recordedOff = new HashSet<>();
    /** A planned restart announced in a host's record, and when this node first saw it. */
    private record RestartSeen(HostRecord.PlannedRestart restart, long at) { }

    private final Map<HostId, RestartSeen> restartSeen = new HashMap<>();
    private final TreeMap<HostId, Set<Long>> live = new TreeMap<>();
    private final TreeMap<VmId, Versioned<VmRecord>> vms = new TreeMap<>();
    /** The same VM records, for lookups. */
    private final java.util.HashMap<VmId, Versioned<VmRecord>> vmIndex = new java.util.HashMap<>();
    private final Map<HostId, SortedSet<VmId>> byHost = new HashMap<>();
    /** By host: the cpus and MiB the VMs holding capacity there take, and how many records those are ({@link #count}). */
    private final Map<HostId, long[]> held = new HashMap<>();
    private static final int CPUS = 0;
    private static final int MIB = 1;
    private static final int RECORDS = 2;
    /** The {@link #steady} VM records by owner and owner's session. */
    private final Map<HostId, Map<Long, SortedSet<VmId>>> steady = new HashMap<>();
    /** The HA VM records that are not {@link #steady}. */
    private final Set<VmId> unsteady = new HashSet<>();
    /** See {@link #hostsChanged}. */
    private long hostsChanged;
    /** The records in phase MIGRATING. */
    private int migrating;
    private final TreeMap<String, Versioned<ChangeRequest>> requests = new TreeMap<>();
    /** When this node first saw each live session of each host. */
    private final Map<HostId, Map<Long, Long>> liveSince = new HashMap<>();
    /** When this node saw each session of each host disappear (or first found it absent). */
    private final Map<HostId, Map<Long, Long>> goneAt = new HashMap<>();

    long epoch() {
        return epoch;
    }

    HostId leader() {
        return leader;
    }

    void setEpoch(long e, HostId l) {
        if (e > epoch) {
            epoch = e;
            leader = l;
        } else if (e == epoch && l != null) {
            leader = l;
        }
    }

    Versioned<VmRecord> vm(VmId id) {
        return vmIndex.get(id);
    }

    Collection<Versioned<VmRecord>> vms() {
        return vms.values();
    }

    Versioned<ChangeRequest> request(String id) {
        return requests.get(id);
    }

    /** The change requests, in id order (a copy: serving them changes the view). */
    java.util.List<Versioned<ChangeRequest>> requests() {
        return new java.util.ArrayList<>(requests.values());
    }

    /** Applies a change request unless the view already has a newer version. */
    void putRequest(String id, Versioned<ChangeRequest> rec) {
        Versioned<ChangeRequest> old = requests.get(id);
        if (rec == null) {
            requests.remove(id);
        } else if (old == null || old.version() <= rec.version()) {
            requests.put(id, rec);
        }
    }

    /**
     * The capacity of each of {@code hosts} (registered) not held by the VMs it runs, is placed to
     * run, or receives by a live migration in flight; a new map the caller may change.
     */
    Map<HostId, HostCapacity> free(Collection<HostId> ids) {
        Map<HostId, HostCapacity> free = new HashMap<>();
        for (HostId h : ids) {
            HostCapacity c = hostIndex.get(h).value().capacity();
            long[] u = held.get(h);
            // each VM's share taken off in turn, never below zero, is all their shares taken off at once
            free.put(h, u == null ? c : new HostCapacity((int) Math.max(0, c.cpus() - u[CPUS]),
                    Math.max(0, c.memoryMiB() - u[MIB])));
        }
        return free;
    }

    /** The live migrations in flight. */
    int migrating() {
        return migrating;
    }

    /**
     * Whether the leader's round has nothing to do for {@code r} while its owner's session is live,
     * not recorded off and not draining: an HA VM running where it should, with no move asked.
     */
    static boolean steady(VmRecord r) {
        return r.spec().ha() && r.phase() == VmPhase.RUNNING && r.desired() != DesiredState.STOPPED
                && r.move() == null && r.owner() != null;
    }

    /**
     * The HA VMs that are not {@link #steady}, in id order, and the steady ones that the state of
     * their owner's session may call for: of a host recorded off, of a session no longer live, of a
     * draining host. The leader's round looks at these and passes over the others, which it has
     * nothing to do for (SAFETY.md, "Own views").
     */
    java.util.SortedSet<VmId> needingARound() {
        java.util.SortedSet<VmId> out = new TreeSet<>(unsteady);
        steady.forEach((h, sessions) -> {
            Versioned<HostRecord> hr = hostIndex.get(h);
            boolean off = hr != null && hr.value().offConfirmed();
            sessions.forEach((session, ids) -> {
                if (off || !isLive(h, session) || hr != null && hr.value().draining(session)) {
                    out.addAll(ids);
                }
            });
        });
        return out;
    }

    /** The VMs whose record names {@code host} as owner or target, in id order. */
    Set<VmId> vmsOf(HostId host) {
        SortedSet<VmId> s = byHost.get(host);
        return s == null ? Set.of() : s;
    }

    /** Applies a record unless the view already has a newer version; returns whether it applied. */
    boolean putVm(VmId id, Versioned<VmRecord> rec) {
        Versioned<VmRecord> old = vmIndex.get(id);
        if (rec == null) {
            if (old != null) {
                vms.remove(id);
                vmIndex.remove(id);
                unindex(id, old.value());
            }
            return old != null;
        }
        if (old != null && old.version() > rec.version()) {
            return false;
        }
        if (old != null) {
            unindex(id, old.value());
        }
        vms.put(id, rec);
        vmIndex.put(id, rec);
        index(id, rec.value());
        return true;
    }

    private void index(VmId id, VmRecord r) {
        count(r, 1);
        if (steady(r)) {
            steady.computeIfAbsent(r.owner(), h -> new HashMap<>())
                    .computeIfAbsent(r.ownerSession(), k -> new TreeSet<>()).add(id);
        } else if (r.spec().ha()) {
            unsteady.add(id);
        }
        if (r.owner() != null) {
            byHost.computeIfAbsent(r.owner(), h -> new TreeSet<>()).add(id);
        }
        if (r.target() != null) {
            byHost.computeIfAbsent(r.target(), h -> new TreeSet<>()).add(id);
        }
    }

    private void unindex(VmId id, VmRecord r) {
        count(r, -1);
        if (steady(r)) {
            Map<Long, SortedSet<VmId>> sessions = steady.get(r.owner());
            SortedSet<VmId> s = sessions.get(r.ownerSession());
            s.remove(id);
            if (s.isEmpty()) {
                sessions.remove(r.ownerSession());
                if (sessions.isEmpty()) {
                    steady.remove(r.owner());
                }
            }
        } else {
            unsteady.remove(id);
        }
        for (HostId h : new HostId[] {r.owner(), r.target()}) {
            if (h != null) {
                SortedSet<VmId> s = byHost.get(h);
                if (s != null) {
                    s.remove(id);
                    if (s.isEmpty()) {
                        byHost.remove(h);
                    }
                }
            }
        }
    }

    /**
     * What the VMs holding capacity take of each host, and the migrations in flight, kept as records
     * come and go ({@code sign} 1 as a record enters the view, -1 as it leaves), so that the leader's
     * round does not sum every record again: its owner for a phase that holds capacity, and its
     * target too while it migrates.
     */
    private void count(VmRecord r, int sign) {
        if (r.phase() == VmPhase.MIGRATING) {
            migrating += sign;
        }
        if (!r.phase().holdsCapacity()) {
            return;
        }
        take(r.owner(), r.spec(), sign);
        if (r.phase() == VmPhase.MIGRATING) {
            take(r.target(), r.spec(), sign);
        }
    }

    private void take(HostId h, VmSpec spec, int sign) {
        if (h == null) {
            return;
        }
        long[] u = held.computeIfAbsent(h, k -> new long[3]);
        u[CPUS] += sign * (long) spec.cpus();
        u[MIB] += sign * spec.memoryMiB();
        u[RECORDS] += sign;
        if (u[RECORDS] == 0) {
            held.remove(h);
        }
    }

    /** The placement policy's index, rebuilt when the policy changes. */
    private io.havn.common.place.RuleIndex rules = io.havn.common.place.RuleIndex.EMPTY;

    /** The operators' placement rules, indexed (for the cluster record in force). */
    io.havn.common.place.RuleIndex rules() {
        io.havn.common.model.PlacementPolicy p = cluster().placement();
        if (rules.policy() != p) {
            rules = new io.havn.common.place.RuleIndex(p);
        }
        return rules;
    }

    /**
     * Where a VM holds capacity now, for the rules: its owner, and its target while it migrates; once
     * its source released it after a migration, its target, where its copy is.
     */
    java.util.List<HostId> hostsOf(VmId vm) {
        Versioned<VmRecord> vr = vmIndex.get(vm);
        if (vr == null) {
            return java.util.List.of();
        }
        VmRecord r = vr.value();
        if (r.phase() == VmPhase.RELEASED && r.target() != null) {
            return java.util.List.of(r.target()); // its migrated copy is there, for the target to claim
        }
        if (!r.phase().holdsCapacity()) {
            return java.util.List.of();
        }
        return r.phase() == VmPhase.MIGRATING && r.target() != null ? java.util.List.of(r.owner(), r.target())
                : java.util.List.of(r.owner());
    }

    /** Every registered host's capacity. */
    Map<HostId, HostCapacity> capacities() {
        Map<HostId, HostCapacity> out = new HashMap<>();
        hosts.forEach((h, vh) -> out.put(h, vh.value().capacity()));
        return out;
    }

    /** Every VM record's spec (HA on or off: a VM whose HA is off keeps its record). */
    Map<VmId, io.havn.common.model.VmSpec> specs() {
        Map<VmId, io.havn.common.model.VmSpec> out = new HashMap<>();
        vms.forEach((v, vr) -> out.put(v, vr.value().spec()));
        return out;
    }

    /** The cluster record (the defaults while none is written). */
    ClusterRecord cluster() {
        return cluster == null ? ClusterRecord.DEFAULT : cluster.value();
    }

    /** The cluster record's version ({@link io.havn.common.port.CoordOp#NEW} while none is written). */
    int clusterVersion() {
        return cluster == null ? io.havn.common.port.CoordOp.NEW : cluster.version();
    }

    /** Applies the cluster record unless the view already has a newer version; returns whether it applied. */
    boolean putCluster(Versioned<ClusterRecord> rec) {
        if (rec == null) {
            boolean had = cluster != null;
            cluster = null;
            return had;
        }
        if (cluster != null && cluster.version() > rec.version()) {
            return false;
        }
        cluster = rec;
        return true;
    }

    Versioned<HostRecord> host(HostId id) {
        return hostIndex.get(id);
    }

    Collection<Versioned<HostRecord>> hosts() {
        return hosts.values();
    }

    Set<HostId> hostIds() {
        return hosts.keySet();
    }

    /** A count that moves whenever a host record comes, changes or goes (a stamp to compare, not a size). */
    long hostsChanged() {
        return hostsChanged;
    }

    boolean putHost(HostId id, Versioned<HostRecord> rec, long now) {
        Versioned<HostRecord> old = hostIndex.get(id);
        hostsChanged++;
        if (rec == null) {
            recordedOff.remove(id);
            restartSeen.remove(id);
            hostIndex.remove(id);
            return hosts.remove(id) != null;
        }
        if (old != null && old.version() > rec.version()) {
            return false;
        }
        hosts.put(id, rec);
        hostIndex.put(id, rec);
        HostRecord.PlannedRestart restart = rec.value().restart();
        RestartSeen seen = restartSeen.get(id);
        if (restart != null && (seen == null || !seen.restart().equals(restart))) {
            restartSeen.put(id, new RestartSeen(restart, now));
        }
        if (rec.value().offConfirmed()) {
            recordedOff.add(id);
        } else {
            recordedOff.remove(id);
        }
        return true;
    }

    /**
     * Until when {@code session} of {@code host} may not be taken for dead after a planned restart its
     * daemon announced: the window plus the watchdog time W, the drift margin over the window and the
     * grace G, counted from when this node first saw the announcement (never before it was written,
     * so never before the host's own deadline: the host counts its window from before it sent it);
     * MIN_VALUE when that session announced none.
     */
    long restartHoldsUntil(HostId host, long session, Settings settings) {
        RestartSeen seen = restartSeen.get(host);
        if (seen == null || seen.restart().session() != session) {
            return Long.MIN_VALUE;
        }
        long windowMs = seen.restart().windowMs();
        return seen.at() + (windowMs + settings.watchdogMs() + Settings.driftMarginMs(windowMs) + settings.graceMs())
                * 1_000_000L;
    }

    /** Whether the cluster state records {@code host} as powered off (by a fence device or an operator). */
    boolean recordedOff(HostId host) {
        return !recordedOff.isEmpty() && recordedOff.contains(host); // asked at every heartbeat; almost always empty
    }

    Set<Long> live(HostId host) {
        Set<Long> s = live.get(host);
        return s == null ? Set.of() : s;
    }

    boolean isLive(HostId host, long session) {
        return live(host).contains(session);
    }

    /** The newest live session of {@code host} (the highest id), or 0 if it has none. */
    long liveSession(HostId host) {
        long best = 0;
        for (long s : live(host)) {
            best = Math.max(best, s);
        }
        return best;
    }

    void setLive(HostId host, Set<Long> sessions, long now) {
        Set<Long> before = live(host);
        Map<Long, Long> since = liveSince.computeIfAbsent(host, h -> new HashMap<>());
        since.keySet().retainAll(sessions);
        for (long s : sessions) {
            since.putIfAbsent(s, now);
        }
        Map<Long, Long> gone = goneAt.computeIfAbsent(host, h -> new HashMap<>());
        for (long s : before) {
            if (!sessions.contains(s)) {
                gone.putIfAbsent(s, now);
            }
        }
        gone.values().removeIf(t -> now - t > GONE_MEMORY_NANOS);
        if (sessions.isEmpty()) {
            live.remove(host);
        } else {
            live.put(host, new HashSet<>(sessions));
        }
    }

    /** When this node first saw {@code session} of {@code host} live; MIN_VALUE if it is not live. */
    long liveSince(HostId host, long session) {
        Map<Long, Long> since = liveSince.get(host);
        Long t = since == null ? null : since.get(session);
        return t == null ? Long.MIN_VALUE : t;
    }

    /**
     * How long ago {@code session} of {@code host} was seen gone: -1 while it is live. A session
     * this node never saw counts as gone from the first time it asks, so the grace still applies.
     */
    long goneForNanos(HostId host, long session, long now) {
        if (isLive(host, session)) {
            return -1;
        }
        Map<Long, Long> gone = goneAt.computeIfAbsent(host, h -> new HashMap<>());
        Long t = gone.get(session);
        if (t == null) {
            gone.put(session, now);
            return 0;
        }
        return now - t;
    }

    ClusterState snapshot() {
        Map<HostId, HostRecord> h = new TreeMap<>();
        hosts.forEach((k, v) -> h.put(k, v.value()));
        Map<VmId, VmRecord> v = new TreeMap<>();
        vms.forEach((k, r) -> v.put(k, r.value()));
        Map<HostId, SortedSet<Long>> l = new TreeMap<>();
        live.forEach((k, s) -> l.put(k, new TreeSet<>(s)));
        return new ClusterState(epoch, leader, new TreeMap<>(h), new TreeMap<>(l), new TreeMap<>(v), cluster());
    }

    /**
     * The hosts whose record says they do not reach every datastore of {@code datastores} now (a host
     * with no storage heartbeat says nothing, and is not among them): no place for a VM on them.
     */
    Set<HostId> notReaching(List<String> datastores) {
        if (datastores.isEmpty()) {
            return Set.of();
        }
        Set<HostId> out = new java.util.TreeSet<>();
        for (HostId h : hostIds()) {
            Versioned<HostRecord> hr = host(h);
            if (hr != null && !hr.value().reaches(datastores)) {
                out.add(h);
            }
        }
        return out;
    }

    /** {@code excluded} and the hosts that do not reach the datastores of {@code spec}. */
    Set<HostId> excludedFor(VmSpec spec, Set<HostId> excluded) {
        Set<HostId> off = notReaching(spec.datastores());
        if (off.isEmpty()) {
            return excluded;
        }
        Set<HostId> out = new java.util.HashSet<>(excluded);
        out.addAll(off);
        return out;
    }

    /**
     * For a VM on datastores, the check a write placing it on {@code h} carries: {@code h}'s host
     * record as this view saw it when it judged that {@code h} reaches them, so that a placement
     * never lands on a host whose record has since said it lost one (none for a VM on no datastore).
     */
    List<io.havn.common.port.CoordOp> reachChecks(VmSpec spec, HostId h) {
        Versioned<HostRecord> hr = host(h);
        if (spec.datastores().isEmpty() || hr == null) {
            return List.of();
        }
        return List.of(new io.havn.common.port.CoordOp.CheckHost(h, hr.version()));
    }
}
