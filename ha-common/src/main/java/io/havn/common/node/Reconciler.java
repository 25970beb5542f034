package io.havn.common.node;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.StorageErrorPolicy;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Brings what runs here in line with the records that name this host. Rule 1: it claims (a
 * compare-and-set bound to this host's live session) before it starts or resumes anything
 * ({@link #claimAndRun}), and every write of its own is bound to that session ({@link #hostWrite}),
 * after re-binding records of an old session ({@link #rebind}). Rule 6: the destination claims a
 * completed incoming migration before it resumes it ({@link #reconcileTarget}); the source migrates
 * and then releases ({@link #reconcileOwned}, MIGRATING). Rule 7: it destroys the HA VMs this host
 * does not own ({@link #reconcile}) and its copy of a VM whose record is released, failed or given
 * up ({@link #reconcileOwned}). It also refuses specs the domain policy rejects
 * ({@link #refuseToStart}) and limits local restarts.
 *
 * <p>It exists so that every decision taken from a record lives in one class; it reads the lease
 * from {@link LeaseKeeper}, acts on the hypervisor only through {@link LocalDomains}, and after each
 * pass lets {@link HostRegistration} judge whether this host is ready.
 */
final class Reconciler {
    private final NodeContext n;
    private final LeaseKeeper lease;
    private final LocalDomains local;

    private final HostRegistration registration;
    /** A host shutdown under way, which claims nothing and, once it stops VMs, writes their records itself. */
    private ShuttingDown shutdown;
    private final Map<VmId, ArrayDeque<Long>> localRestarts = new HashMap<>();
    /** VMs this host refuses to start (their spec fails its domain policy) while it writes so. */
    private final Set<VmId> refusing = new HashSet<>();
    /** This host's storage heartbeat: whether it reaches a paused guest's storage again. */
    private final Datastores datastores;
    /**
     * VMs whose copy this host destroys to let them go ({@link #leave}): once no copy runs here, their
     * record is written in this phase with this reason, never before.
     */
    private final Map<VmId, Leaving> leaving = new HashMap<>();
    /** Guests paused here on a storage error, and what was done about them. */
    private final Map<VmId, StoragePause> storagePaused = new HashMap<>();

    private record Leaving(VmPhase phase, String why) { }

    /**
     * When this host last resumed each guest it held paused on a storage error: kept while the guest
     * runs, so that one whose storage still fails (it pauses again at its next I/O) is resumed at most
     * once per {@code storageResumeRetryMs}.
     */
    private final Map<VmId, Long> lastStorageResume = new HashMap<>();

    private static final class StoragePause {
        final long pausedAt;
        boolean waitingSaid;

        StoragePause(long pausedAt) {
            this.pausedAt = pausedAt;
        }
    }

    Reconciler(NodeContext context, LeaseKeeper lease, LocalDomains local, HostRegistration registration,
               Datastores datastores) {
        this.n = context;
        this.lease = lease;
        this.local = local;
        this.registration = registration;
        this.datastores = datastores;
    }

    void shuttingDown(ShuttingDown s) {
        this.shutdown = s;
    }

    // ---------------------------------------------------------------- reconciliation

    /** Re-examines every VM this host runs or whose record names it. */
    void reconcileAll() {
        Set<VmId> here = local.domains().keySet(); // in name order
        Set<VmId> named = n.view().vmsOf(n.self());
        Collection<VmId> all;
        if (here.containsAll(named)) {
            all = new ArrayList<>(here); // the common case, every tick: the names in order, no tree made
        } else {
            Set<VmId> both = new TreeSet<>(here);
            both.addAll(named);
            all = both;
        }
        for (VmId vm : all) {
            reconcile(vm);
        }
        registration.checkReady();
    }

    /** Brings one VM's local reality in line with its record, as far as this host's part goes. */
    void reconcile(VmId vm) {
        if (!local.listed() || local.inFlight(vm) != null || n.busy(vm) || refusing.contains(vm)) {
            return; // wait for what is in flight
        }
        Versioned<VmRecord> vr = n.vm(vm);
        if (vr == null || !vr.value().spec().ha()) {
            return; // not under HA: not ours to touch
        }
        VmRecord r = vr.value();
        DomainState state = local.state(vm);
        long now = n.now();
        if (state != DomainState.PAUSED_STORAGE) {
            storagePaused.remove(vm);
        }
        if (!lease.registered()) {
            return; // without a session the view may be incomplete: keep what runs, under the inherited lease
        }
        long session = lease.session();
        if (r.namesHost(n.self()) && !r.names(n.self(), session)) {
            if (state != null && LocalDomains.holds(state) && lease.previousPassed(now)
                    && !lease.openedHere(sessionOf(r))) {
                // bound to a previous daemon's session whose deadline passed before it was re-bound: the
                // leader may prove that session dead from now on, so no copy may run here. (A session this
                // daemon opened itself ended while bound only by self-fencing, so a copy left of it was
                // kept while the cluster was disarmed: that session's expiry proves nothing, see Fencing)
                n.decide(Kind.DESTROY_UNOWNED, vm, null, "still bound to an earlier session of this host, "
                        + "whose lease ended before it was re-bound");
                local.destroy(vm);
            } else if (lease.leaseValid(now)) {
                rebind(vr);
            }
            return;
        }
        if (!r.names(n.self(), session)) {
            lastStorageResume.remove(vm);
            if (state != null && LocalDomains.holds(state) && local.inFlight(vm) == null) {
                n.decide(Kind.DESTROY_UNOWNED, vm, r.owner(), "the record names " + r.owner() + ", not this host");
                local.destroy(vm);
            }
            return;
        }
        if (!lease.leaseValid(now) || lease.selfFenced()) {
            return; // no lease: change nothing here; checkLease handles the rest
        }
        if (shutdown != null && shutdown.stopping() && r.phase() != VmPhase.MIGRATING) {
            return; // the host shutdown stops its VMs and writes their records (a migration ends first)
        }
        if (r.phase() != VmPhase.RUNNING) {
            leaving.remove(vm); // the record moved on (stopped, moved, written): nothing left to report
        }
        if (n.self().equals(r.owner())) {
            reconcileOwned(vr, state);
        } else {
            reconcileTarget(vr, state);
        }
    }

    private void reconcileOwned(Versioned<VmRecord> vr, DomainState state) {
        VmRecord r = vr.value();
        VmId vm = r.id();
        boolean here = state != null && LocalDomains.holds(state);
        boolean stop = r.desired() == DesiredState.STOPPED;
        switch (r.phase()) {
            case PLACED, FROZEN -> {
                if (stop) {
                    stopOwned(vr, here);
                } else if (shutdown == null || !shutdown.departing()) {
                    // a frozen VM starts again on its owner, now back (the record was re-bound to this session)
                    claimAndRun(vr, Kind.CLAIM, r.phase() == VmPhase.FROZEN ? "frozen here while this host was down"
                            : "placed here, generation " + r.generation());
                }
            }
            case RUNNING -> {
                Leaving l = leaving.get(vm);
                if (l != null) {
                    if (here) {
                        local.destroy(vm); // a destroy that failed: again, before the record may say anything
                    } else {
                        // no copy runs here any more: only now may the record let another host start it
                        hostWrite(vr, r.withPhase(l.phase(), l.why()), () -> leaving.remove(vm));
                    }
                } else if (stop) {
                    stopOwned(vr, here);
                } else if (state == DomainState.PAUSED) {
                    local.op(vm, Hypervisor.Op.RESUME, new Effect.Resume(vm));
                } else if (state == DomainState.PAUSED_STORAGE) {
                    pausedOnStorage(vr);
                } else if (!here) {
                    boolean crashed = local.crashed(vm);
                    boolean departing = shutdown != null && shutdown.departing();
                    if (crashed && !departing && localRestartAllowed(vm)) {
                        claimAndRun(vr, Kind.RESTART_LOCAL, "guest crashed; restarting it here");
                    } else {
                        String why = crashed ? "crashed more than " + n.settings().localRestartLimit()
                                + " times here" : "not running on its owner";
                        n.decide(Kind.NOT_RUNNING, vm, null, why);
                        hostWrite(vr, r.withPhase(VmPhase.NOT_RUNNING, why), () -> local.crashHandled(vm));
                    }
                }
            }
            case MIGRATING -> {
                if (state == DomainState.PAUSED_STORAGE) {
                    // a guest that cannot reach its disks does not move: the move is off, its policy decides
                    hostWrite(vr, r.migrationAborted("paused on a storage error here"), null);
                } else if (state == DomainState.RUNNING) {
                    n.decide(Kind.MIGRATE, vm, r.target(), "live migration to " + r.target());
                    local.op(vm, Hypervisor.Op.MIGRATE, new Effect.Migrate(vm, r.target()));
                } else if (!here) {
                    n.decide(Kind.RELEASE, vm, r.target(), "source holds no copy");
                    hostWrite(vr, r.withPhase(VmPhase.RELEASED, "migrated to " + r.target()), null);
                }
            }
            case RELOCATING -> {
                if (here) {
                    local.shutdown(vm);
                } else {
                    n.decide(Kind.RELEASE, vm, null, "stopped for relocation");
                    hostWrite(vr, r.withPhase(VmPhase.RELEASED, "stopped for relocation"), null);
                }
            }
            default -> {
                if (here) {
                    // released, failed or given up: the leader may place it elsewhere without proof
                    n.decide(Kind.DESTROY_UNOWNED, vm, null, "record is " + r.phase() + "; no copy may run here");
                    local.destroy(vm);
                }
            }
        }
    }

    /**
     * Lets {@code vm} go from this host: destroys its copy here, and only once none runs writes its
     * record in {@code phase} with {@code why} (the owner's own report, bound to its live session). A
     * guest given up by its monitor ({@code ERROR}), or one paused on a storage error that another host
     * may run ({@code NOT_RUNNING}): either way no second copy can start before this one is gone.
     */
    void leave(VmId vm, VmPhase phase, String why) {
        leaving.put(vm, new Leaving(phase, why));
        n.decide(phase == VmPhase.ERROR ? Kind.ERROR : Kind.NOT_RUNNING, vm, null, why);
        if (local.state(vm) != null && local.inFlight(vm) != Hypervisor.Op.DESTROY) {
            local.destroy(vm);
        }
    }

    /**
     * A guest its owner holds paused on a disk I/O error, handled by its {@code StorageErrorPolicy}:
     * <ul>
     * <li>{@code resume}: resumed once its storage answers again, i.e. a storage heartbeat round on
     * each of its datastores succeeded after it paused; for a VM whose datastores this host does not
     * heartbeat on, tried every {@code storageResumeRetryMs} (a guest whose storage still fails pauses
     * again at its next I/O);
     * <li>{@code leave-paused}: left for an operator;
     * <li>{@code restart-elsewhere}: once this host counts its datastores lost and has waited a
     * storage timeout and two intervals since the pause (a datastore down for everybody is counted
     * lost by every host by then), while another live host's record says it reaches them all, the
     * copy here is destroyed and, once it is gone, the record says not running, so that the leader
     * restarts it there; while no other host does, it is resumed here as with {@code resume}.
     * </ul>
     */
    private void pausedOnStorage(Versioned<VmRecord> vr) {
        VmRecord r = vr.value();
        VmId vm = r.id();
        long now = n.now();
        StoragePause p = storagePaused.get(vm);
        StorageErrorPolicy policy = r.spec().storageErrorPolicy();
        if (p == null) {
            p = new StoragePause(now);
            storagePaused.put(vm, p);
            n.decide(Kind.STORAGE_PAUSED, vm, null, "paused on a disk I/O error"
                    + (r.spec().datastores().isEmpty() ? "" : " (datastores " + String.join(", ", r.spec().datastores()) + ")")
                    + "; policy " + policy.word());
        }
        if (policy == StorageErrorPolicy.LEAVE_PAUSED) {
            return;
        }
        if (policy == StorageErrorPolicy.RESTART_ELSEWHERE && !r.spec().datastores().isEmpty()
                && n.view().rules().togetherWith(vm).size() > 1) {
            if (!p.waitingSaid) {
                p.waitingSaid = true;
                n.decide(Kind.STORAGE_PAUSED, vm, null, "a hard together rule binds it to VMs that stay here: kept "
                        + "here, resumed once the storage answers");
            }
        } else if (policy == StorageErrorPolicy.RESTART_ELSEWHERE && !r.spec().datastores().isEmpty()) {
            // only once this host has itself counted its storage lost, and a while after: a datastore down
            // for everybody is counted lost by every host within about the same storage timeout, so by
            // then no host that lost it too still claims to reach it
            long settle = n.settings().storageTimeoutMs() + 2 * n.settings().storageIntervalMs();
            boolean settled = Boolean.FALSE.equals(datastores.reaches(r.spec().datastores()))
                    && now - p.pausedAt >= Peers.ms(settle);
            HostId other = settled ? otherHostReaching(r.spec().datastores()) : null;
            if (other != null) {
                leave(vm, VmPhase.NOT_RUNNING, "paused on a storage error here; " + other + " reaches "
                        + String.join(", ", r.spec().datastores()) + ": destroyed here to restart elsewhere");
                return;
            }
            if (settled && !p.waitingSaid) {
                p.waitingSaid = true;
                n.decide(Kind.STORAGE_PAUSED, vm, null, "no other host reaches " + String.join(", ", r.spec().datastores())
                        + ": kept here, resumed once the storage answers");
            }
        }
        Boolean reach = datastores.reaches(r.spec().datastores());
        if (Boolean.FALSE.equals(reach)) {
            return; // its storage does not answer here yet
        }
        if (Boolean.TRUE.equals(reach)) {
            for (String d : r.spec().datastores()) {
                if (datastores.lastOk(d) <= p.pausedAt) {
                    return; // no round has succeeded since it paused
                }
            }
        }
        Long last = lastStorageResume.get(vm);
        if (last != null && now - last < Peers.ms(n.settings().storageResumeRetryMs())) {
            return;
        }
        lastStorageResume.put(vm, now);
        n.decide(Kind.RESUME, vm, null, Boolean.TRUE.equals(reach) ? "its storage answers again"
                : "trying again whether its storage answers");
        local.op(vm, Hypervisor.Op.RESUME, new Effect.Resume(vm));
    }

    /** A live host other than this one whose record says it reaches all of {@code names} now, or null. */
    private HostId otherHostReaching(List<String> names) {
        for (HostId h : n.view().hostIds()) {
            if (h.equals(n.self()) || n.view().liveSession(h) == 0) {
                continue;
            }
            Versioned<HostRecord> hr = n.view().host(h);
            if (hr == null || hr.value().datastores() == null || hr.value().inMaintenance()
                    || hr.value().shutdown() != null && hr.value().shuttingDown(n.view().liveSession(h))) {
                continue;
            }
            if (hr.value().reaches(names)) {
                return h;
            }
        }
        return null;
    }

    /** The operator stopped an owned VM: shut its copy down, or, with none here, record it stopped. */
    private void stopOwned(Versioned<VmRecord> vr, boolean here) {
        if (here) {
            local.shutdown(vr.value().id());
        } else {
            hostWrite(vr, vr.value().unowned(VmPhase.STOPPED, "stopped by operator"), null);
        }
    }

    /** Rule 6: the destination claims a completed incoming migration, then resumes it. */
    private void reconcileTarget(Versioned<VmRecord> vr, DomainState state) {
        VmRecord r = vr.value();
        VmId vm = r.id();
        if ((r.phase() == VmPhase.MIGRATING || r.phase() == VmPhase.RELEASED)
                && state == DomainState.PAUSED && local.migratedIn(vm)) {
            long s = lease.session();
            n.write(List.of(new CoordOp.PutVm(r.handedOverTo(n.self(), s), vr.version()),
                    new CoordOp.CheckSessionLive(n.self(), s)), outcome -> {
                        if (outcome == WriteOutcome.OK && s == lease.session() && !lease.selfFenced()
                                && lease.leaseValid(n.now())) {
                            n.decide(Kind.HANDOVER, vm, r.owner(), "claimed the migrated copy");
                            local.op(vm, Hypervisor.Op.RESUME, new Effect.Resume(vm));
                        } else {
                            n.decide(Kind.CLAIM_FAILED, vm, r.owner(), "hand-over claim " + outcome);
                        }
                    });
        }
    }

    /** Whether this host holds a copy of an HA VM whose record still names an earlier session of it. */
    boolean holdsUnbound() {
        long session = lease.session();
        for (Map.Entry<VmId, DomainState> d : local.domains().entrySet()) {
            Versioned<VmRecord> vr = n.vm(d.getKey());
            if (LocalDomains.holds(d.getValue()) && vr != null && vr.value().spec().ha()
                    && vr.value().namesHost(n.self()) && !vr.value().names(n.self(), session)
                    && !lease.openedHere(sessionOf(vr.value()))) {
                return true;
            }
        }
        return false;
    }

    /** The session of this host that {@code r} names (as owner, else as target). */
    private long sessionOf(VmRecord r) {
        return n.self().equals(r.owner()) ? r.ownerSession() : r.targetSession();
    }

    private void rebind(Versioned<VmRecord> vr) {
        VmRecord r = vr.value();
        long s = lease.session();
        VmRecord next = r;
        if (n.self().equals(r.owner()) && r.ownerSession() != s) {
            next = next.withOwnerSession(s);
        }
        if (n.self().equals(r.target()) && r.targetSession() != s) {
            next = next.withTargetSession(s);
        }
        n.write(List.of(new CoordOp.PutVm(next, vr.version()), new CoordOp.CheckSessionLive(n.self(), s)),
                outcome -> n.decide(outcome == WriteOutcome.OK ? Kind.REBIND : Kind.REBIND_FAILED, r.id(), null,
                        outcome == WriteOutcome.OK ? "bound to session " + Long.toHexString(s) : outcome.name()));
    }

    /** Rule 1: compare-and-set the record (bound to this session) before starting or resuming. */
    private void claimAndRun(Versioned<VmRecord> vr, Kind kind, String why) {
        VmRecord r = vr.value();
        VmId vm = r.id();
        if (local.state(vm) == null && refuseToStart(vm, r.spec())) {
            return; // nothing runs here and this host may not start it: no claim
        }
        long s = lease.session();
        VmRecord claimed = r.withPhase(VmPhase.RUNNING, null);
        local.holdAsStarting(vm); // holds the VM against a second reconcile until the claim returns
        lease.updateWatchdog(n.now());
        n.write(List.of(new CoordOp.PutVm(claimed, vr.version()), new CoordOp.CheckSessionLive(n.self(), s)),
                outcome -> {
                    local.callReturned(vm);
                    if (outcome != WriteOutcome.OK || s != lease.session() || lease.selfFenced()
                            || !lease.leaseValid(n.now())) {
                        // an answer that comes after the lease lapsed gives no right to run anything
                        n.decide(Kind.CLAIM_FAILED, vm, null, "claim " + outcome
                                + (outcome == WriteOutcome.OK ? " but the lease lapsed meanwhile" : ""));
                        return;
                    }
                    n.decide(kind, vm, null, why);
                    DomainState now = local.state(vm);
                    if (now == DomainState.RUNNING) {
                        n.decide(Kind.ADOPT, vm, null, "already running here");
                    } else if (now == DomainState.PAUSED_STORAGE) {
                        n.decide(Kind.ADOPT, vm, null, "here, paused on a storage error: its policy decides");
                    } else if (now == DomainState.PAUSED) {
                        local.op(vm, Hypervisor.Op.RESUME, new Effect.Resume(vm));
                    } else {
                        if (kind == Kind.RESTART_LOCAL) {
                            localRestarts.computeIfAbsent(vm, k -> new ArrayDeque<>()).addLast(n.now());
                        }
                        local.crashHandled(vm);
                        if (!refuseToStart(vm, r.spec())) {
                            local.op(vm, Hypervisor.Op.START, new Effect.Start(r.spec()));
                        }
                    }
                });
    }

    /**
     * Whether this host's domain policy refuses {@code spec}, which it was about to start for
     * {@code vm}. If so, nothing is called on the hypervisor: the host reports a failed start with the
     * reason (a compare-and-set bound to its session), which the leader counts like any failed start,
     * so a spec no host accepts ends in ERROR after maxRestart and maxRelocate attempts.
     */
    private boolean refuseToStart(VmId vm, VmSpec spec) {
        String refusal = n.domainPolicy().refusal(spec);
        if (refusal == null) {
            return false;
        }
        n.decide(Kind.START_FAILED, vm, null, "not starting it here: " + refusal);
        Versioned<VmRecord> vr = n.vm(vm);
        long s = lease.session();
        if (vr != null && s != 0 && vr.value().names(n.self(), s) && n.self().equals(vr.value().owner())) {
            refusing.add(vm);
            n.write(List.of(new CoordOp.PutVm(vr.value().startFailed("refused by " + n.self() + ": " + refusal),
                    vr.version()), new CoordOp.CheckSessionLive(n.self(), s)),
                    // on a conflict the record changed and its change reconciles again; after a failed
                    // write, the next listing does (no retry loop here)
                    outcome -> refusing.remove(vm));
        }
        return true;
    }

    private boolean localRestartAllowed(VmId vm) {
        ArrayDeque<Long> times = localRestarts.computeIfAbsent(vm, k -> new ArrayDeque<>());
        long now = n.now();
        while (!times.isEmpty() && now - times.peekFirst() > Peers.ms(n.settings().localRestartWindowMs())) {
            times.removeFirst();
        }
        return times.size() < n.settings().localRestartLimit();
    }

    /** A host's own write for a local event (a failed start confirmed, a migration aborted). */
    void hostWrite(Versioned<VmRecord> vr, VmRecord next) {
        hostWrite(vr, next, null);
    }

    /** A host's own write on a record that names it: a compare-and-set bound to its live session. */
    private void hostWrite(Versioned<VmRecord> vr, VmRecord next, Runnable onOk) {
        long s = lease.session();
        if (s == 0) {
            return;
        }
        n.write(List.of(new CoordOp.PutVm(next, vr.version()), new CoordOp.CheckSessionLive(n.self(), s)), outcome -> {
            if (outcome == WriteOutcome.OK && onOk != null) {
                onOk.run();
            }
        });
    }
}
