package io.havn.common.node;

import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision.Kind;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Takes in what the hypervisor says: listings, domain events, and the results of calls (in time or
 * late). It holds rule 7's local checks: a listing counts for a VM only if nothing changed for it
 * since it was asked ({@link #onDomainsListed}); a failed start holds the VM until a listing asked
 * after the failure says what runs ({@link #failedStart}, {@link #confirmed}); a timed-out start
 * holds it until its late result ({@link #startsInDoubt}); libvirt autostart is turned off for
 * every HA domain a listing shows. And rule 1's last check: a completed start is kept only if this
 * host still may run the VM ({@link #started}).
 *
 * <p>It exists so that the hypervisor's answers, and how far each can be trusted, are judged in one
 * place. It updates {@link LocalDomains}, reads the lease from {@link LeaseKeeper}, and hands each
 * changed VM to the reconciler through {@link Records}.
 */
final class HypervisorEvents {
    /** What a local change asks of the records: reconcile, or write a host's own step. */
    interface Records {
        void reconcile(VmId vm);

        void reconcileAll();

        /** A host's own write on a record that names it, bound to its live session. */
        void hostWrite(Versioned<VmRecord> vr, VmRecord next);
    }

    private final NodeContext n;
    private final LocalDomains local;
    private final LeaseKeeper lease;
    private final Records records;

    // listing: one call in flight; its answer counts only for VMs nothing happened to since it was asked
    private boolean listInFlight;
    private boolean listWanted;
    private long listAskedAt = Long.MIN_VALUE;
    private long listAskedSeq;
    /**
     * Starts and resumes that failed, and since when: the guest may run anyway (libvirt reports
     * errors for starts that did start it), so the VM stays held until a listing asked after the
     * failure says whether it runs.
     */
    private final Map<VmId, Long> confirming = new HashMap<>();
    /** Why each VM in {@link #confirming} failed, for the record if it turns out not to run. */
    private final Map<VmId, String> failures = new HashMap<>();
    /** Starts whose call timed out: it may still complete, so the VM stays held until it returns. */
    private final Set<VmId> startsInDoubt = new HashSet<>();
    /**
     * Domains listed with libvirt autostart on whose record had not come in yet: judged when it does
     * ({@link #onRecord}), not at the next listing, since the host may boot before that.
     */
    private final Set<VmId> autostartUnjudged = new HashSet<>();

    HypervisorEvents(NodeContext context, LocalDomains local, LeaseKeeper lease, Records records) {
        this.n = context;
        this.local = local;
        this.lease = lease;
        this.records = records;
    }

    // ---------------------------------------------------------------- listings

    /** Asks for a new listing if the last one was asked longer ago than relistMs. */
    void relistIfDue(long now) {
        if (listAskedAt == Long.MIN_VALUE || now - listAskedAt >= Peers.ms(n.settings().relistMs())) {
            requestList(now);
        }
    }

    /** Asks for a listing of every local domain; while one is in flight, for another after it. */
    void requestList(long now) {
        if (listInFlight) {
            listWanted = true;
            return;
        }
        listInFlight = true;
        listAskedAt = now;
        listAskedSeq = local.changes();
        n.emit(new Effect.ListDomains());
    }

    /**
     * Takes a listing in. For each VM it counts only if nothing happened to it here since the listing
     * was asked for (no event, no call in flight), or if the VM waits for exactly this answer after
     * a failed start; anything else is newer than the listing.
     */
    void onDomainsListed(List<DomainInfo> list) {
        listInFlight = false;
        Map<VmId, DomainInfo> byVm = new TreeMap<>();
        for (DomainInfo d : list) {
            byVm.put(d.vm(), d);
        }
        Set<VmId> all = new TreeSet<>(byVm.keySet());
        all.addAll(local.domains().keySet());
        all.addAll(confirming.keySet());
        List<VmId> confirmed = new ArrayList<>();
        for (VmId vm : all) {
            DomainInfo d = byVm.get(vm);
            DomainState listedState = d == null || !LocalDomains.holds(d.state()) ? null : d.state();
            Long failedAt = confirming.get(vm);
            if (failedAt != null) {
                if (failedAt <= listAskedSeq) {
                    confirmed.add(vm);
                    local.put(vm, listedState);
                }
                continue;
            }
            if (local.inFlight(vm) != null || local.lastChange(vm) > listAskedSeq) {
                continue;
            }
            DomainState known = local.state(vm);
            if (listedState != known) {
                if (local.listed() && listedState != null) {
                    n.decide(Kind.ALARM, vm, null, "found " + listedState.name().toLowerCase()
                            + " here, not started by this daemon (by hand, libvirt autostart, or a call that landed late)");
                }
                local.put(vm, listedState);
            }
        }
        autostartUnjudged.clear();
        for (DomainInfo d : list) {
            if (d.autostart() && local.isHa(d.vm())) {
                autostartOff(d.vm());
            } else if (d.autostart() && !n.scope().known(d.vm())) {
                autostartUnjudged.add(d.vm());
            }
        }
        local.defined(byVm.keySet());
        local.listedOnce();
        for (VmId vm : confirmed) {
            confirmed(vm);
        }
        records.reconcileAll();
        if (listWanted) {
            listWanted = false;
            requestList(n.now());
        }
    }

    private void autostartOff(VmId vm) {
        n.decide(Kind.ALARM, vm, null, "libvirt autostart was on for this HA VM: turning it off");
        n.emit(new Effect.DisableAutostart(vm));
    }

    /** Every record is in: each domain listed with autostart on is judged now. */
    void onRecords() {
        for (VmId vm : new ArrayList<>(autostartUnjudged)) {
            onRecord(vm);
        }
    }

    /** The record of {@code vm} came in (or its absence): a domain listed with autostart on is judged now. */
    void onRecord(VmId vm) {
        if (autostartUnjudged.contains(vm) && n.scope().known(vm)) {
            autostartUnjudged.remove(vm);
            if (local.isHa(vm)) {
                autostartOff(vm);
            }
        }
    }

    /** A failed start or resume, now that a listing asked after the failure says what runs here. */
    private void confirmed(VmId vm) {
        confirming.remove(vm);
        String error = failures.remove(vm);
        local.callReturned(vm);
        Versioned<VmRecord> vr = n.vm(vm);
        DomainState now = local.state(vm);
        if (now != null) {
            n.decide(Kind.ALARM, vm, null, "the failed call left the guest " + now.name().toLowerCase()
                    + " here: keeping it under this host's claim");
            return; // reconcile adopts it, resumes it, or destroys it, as its record says
        }
        if (vr != null && vr.value().names(n.self(), lease.session()) && n.self().equals(vr.value().owner())) {
            // only now, with no copy here and no call in flight, may another host be asked to start it
            records.hostWrite(vr, vr.value().startFailed(error));
        }
    }

    // ---------------------------------------------------------------- events and results

    void onDomainChanged(NodeEvent.DomainChanged e) {
        VmId vm = e.vm();
        local.changed(vm);
        if (LocalDomains.holds(e.state())) {
            local.set(vm, e.state());
            if (e.migratedIn()) {
                local.arrivedByMigration(vm);
            }
        } else {
            local.put(vm, null);
            if (local.inFlight(vm) == null) {
                local.crashedHere(vm); // nobody asked it to stop
                n.decide(Kind.NOT_RUNNING, vm, null, "guest stopped by itself: " + e.cause());
            }
        }
        records.reconcile(vm);
        lease.selfFenceProgress();
    }

    void onHypervisorDone(NodeEvent.HypervisorDone e) {
        VmId vm = e.vm();
        local.callReturned(vm);
        local.changed(vm);
        Versioned<VmRecord> vr = n.vm(vm);
        switch (e.op()) {
            case START, RESUME -> {
                if (e.ok()) {
                    started(vm, e.op(), vr, null);
                } else if (e.timedOut() && e.op() == Hypervisor.Op.START) {
                    // the call may still start the guest: hold the VM (and the watchdog) until it returns
                    local.holdAsStarting(vm);
                    startsInDoubt.add(vm);
                    n.decide(Kind.START_FAILED, vm, null, e.error() + "; holding the VM until the call returns");
                } else {
                    failedStart(vm, e.op() + " failed: " + e.error());
                }
            }
            case SHUTDOWN, DESTROY -> {
                if (e.ok()) {
                    local.put(vm, null);
                    if (e.op() == Hypervisor.Op.SHUTDOWN) {
                        n.decide(Kind.STOPPED, vm, null, null);
                    }
                } else {
                    n.decide(e.op() == Hypervisor.Op.DESTROY ? Kind.ALARM : Kind.STOPPED, vm, null,
                            e.op() + " failed: " + e.error());
                }
            }
            case RESET -> {
                if (!e.ok()) {
                    n.decide(Kind.ALARM, vm, null, "reset failed: " + e.error());
                }
            }
            case MIGRATE -> {
                if (e.ok()) {
                    local.migratedAway(vm);
                    n.decide(Kind.MIGRATED, vm, vr == null ? null : vr.value().target(), null);
                } else {
                    n.decide(Kind.MIGRATE_FAILED, vm, vr == null ? null : vr.value().target(), e.error());
                    if (vr != null && vr.value().phase() == VmPhase.MIGRATING && n.self().equals(vr.value().owner())) {
                        records.hostWrite(vr, vr.value().migrationAborted("migration failed: " + e.error()));
                    }
                }
            }
        }
        lease.selfFenceProgress();
        records.reconcile(vm);
    }

    /** A start or resume succeeded (in time or late): keep the guest if this host still may run it. */
    private void started(VmId vm, Hypervisor.Op op, Versioned<VmRecord> vr, String how) {
        local.startedHere(vm);
        if (lease.selfFenced() || !lease.leaseValid(n.now()) && !lease.frozen() || vr == null
                || !vr.value().names(n.self(), lease.session())) {
            // lost the right to run it while it was starting. (A frozen host keeps what it holds, as it
            // keeps its other VMs: its claim was taken under a valid lease, and nobody can prove it dead
            // while a strict majority is lost; if it self-fences, this copy goes with the rest)
            local.destroy(vm);
        } else {
            n.decide(op == Hypervisor.Op.START ? Kind.START : Kind.RESUME, vm, null, how);
        }
    }

    /**
     * A start or resume that failed: the guest may run anyway, so the VM stays held (nobody else is
     * asked to start it) until a listing asked after the failure shows what runs here.
     */
    private void failedStart(VmId vm, String error) {
        n.decide(Kind.START_FAILED, vm, null, error + "; checking what runs here before letting it go");
        local.holdAsStarting(vm);
        confirming.put(vm, local.changed(vm));
        failures.put(vm, error);
        requestList(n.now());
    }

    /** A call that was reported timed out has returned after all. */
    void onHypervisorLate(NodeEvent.HypervisorLate e) {
        VmId vm = e.vm();
        local.changed(vm);
        boolean held = startsInDoubt.remove(vm);
        if (held) {
            local.callReturned(vm);
        }
        if (e.op() == Hypervisor.Op.START) {
            if (e.ok()) {
                started(vm, Hypervisor.Op.START, n.vm(vm), "the start that timed out completed late");
            } else if (held) {
                failedStart(vm, "the start that timed out failed late: " + e.error());
            }
        } else if (!e.ok()) {
            n.decide(Kind.ALARM, vm, null, e.op() + " that timed out failed late: " + e.error());
        } else if (e.op() == Hypervisor.Op.DESTROY || e.op() == Hypervisor.Op.SHUTDOWN
                || e.op() == Hypervisor.Op.MIGRATE) {
            local.put(vm, null); // the guest is gone from here after all
        } else {
            local.set(vm, DomainState.RUNNING); // a late resume
        }
        lease.selfFenceProgress();
        records.reconcile(vm);
    }
}
