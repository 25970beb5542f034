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
 * What runs on this host, as far as the node knows: the local domains, the hypervisor calls in
 * flight, guests that crashed or arrived by migration, and the listings that check it all. It holds
 * rule 7's local checks: a listing counts for a VM only if nothing changed for it since it was asked
 * ({@link #onDomainsListed}); a failed start holds the VM until a listing asked after the failure
 * says what runs ({@link #failedStart}, {@link #confirmed}); a timed-out start holds it until its
 * late result ({@link #startsInDoubt}); libvirt autostart is turned off for every HA domain. And rule
 * 1's last check: a completed start is kept only if this host still may run the VM ({@link #started}).
 *
 * <p>It exists so that the hypervisor's view (and its staleness) lives apart from the decisions made
 * on it: it reads the lease through {@link LeaseKeeper} and hands each changed VM to the reconciler
 * through {@link Records}.
 */
final class LocalDomains {
    /** What a local change asks of the records: reconcile, or write a host's own step. */
    interface Records {
        void reconcile(VmId vm);

        void reconcileAll();

        /** A host's own write on a record that names it, bound to its live session. */
        void hostWrite(Versioned<VmRecord> vr, VmRecord next);
    }

    private final NodeContext n;
    private final LeaseKeeper lease;
    private final Records records;

    private final Map<VmId, DomainState> domains = new TreeMap<>();
    private final Set<VmId> migratedIn = new HashSet<>();
    private final Map<VmId, Hypervisor.Op> ops = new HashMap<>();
    private final Set<VmId> crashed = new HashSet<>();

    // listing: one call in flight; its answer counts only for VMs nothing happened to since it was asked
    private boolean listed;
    private long changes;
    private final Map<VmId, Long> lastChange = new HashMap<>();
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

    LocalDomains(NodeContext context, LeaseKeeper lease, Records records) {
        this.n = context;
        this.lease = lease;
        this.records = records;
    }

    // ---------------------------------------------------------------- what runs here

    /** The local domains this host runs. */
    Map<VmId, DomainState> domains() {
        return domains;
    }

    /** The state of {@code vm} here, null if it does not run here. */
    DomainState state(VmId vm) {
        return domains.get(vm);
    }

    /** Whether a first listing has been taken in (before it, nothing here is known). */
    boolean listed() {
        return listed;
    }

    /** The hypervisor call in flight for {@code vm}, null if none. */
    Hypervisor.Op inFlight(VmId vm) {
        return ops.get(vm);
    }

    boolean crashed(VmId vm) {
        return crashed.contains(vm);
    }

    void crashHandled(VmId vm) {
        crashed.remove(vm);
    }

    boolean migratedIn(VmId vm) {
        return migratedIn.contains(vm);
    }

    /** Holds {@code vm} as if starting (against a second reconcile) while a claim is in flight. */
    void holdForClaim(VmId vm) {
        ops.put(vm, Hypervisor.Op.START);
    }

    void claimAnswered(VmId vm) {
        ops.remove(vm);
    }

    static boolean holds(DomainState s) {
        return s == DomainState.RUNNING || s == DomainState.PAUSED;
    }

    private boolean isHa(VmId vm) {
        Versioned<VmRecord> r = n.vm(vm);
        return r != null && r.value().spec().ha();
    }

    /** Whether this host runs, or is about to run, an HA VM: then the watchdog must guard it. */
    boolean holdsHaVms() {
        for (Map.Entry<VmId, DomainState> d : domains.entrySet()) {
            if (holds(d.getValue()) && isHa(d.getKey())) {
                return true;
            }
        }
        for (Map.Entry<VmId, Hypervisor.Op> op : ops.entrySet()) {
            if ((op.getValue() == Hypervisor.Op.START || op.getValue() == Hypervisor.Op.RESUME) && isHa(op.getKey())) {
                return true;
            }
        }
        return false;
    }

    /** Self-fencing: destroys every HA VM held here that is not being destroyed already. */
    void destroyHaVms() {
        for (Map.Entry<VmId, DomainState> d : domains.entrySet()) {
            if (isHa(d.getKey()) && holds(d.getValue()) && ops.get(d.getKey()) != Hypervisor.Op.DESTROY) {
                destroy(d.getKey());
            }
        }
    }

    // ---------------------------------------------------------------- calls to the hypervisor

    void destroy(VmId vm) {
        changed(vm);
        ops.put(vm, Hypervisor.Op.DESTROY);
        n.emit(new Effect.Destroy(vm));
    }

    /** Calls the hypervisor for {@code vm}: the VM counts as changed, and busy until the call returns. */
    void op(VmId vm, Hypervisor.Op op, Effect call) {
        changed(vm);
        ops.put(vm, op);
        n.emit(call);
    }

    void shutdown(VmId vm) {
        n.decide(Kind.STOP, vm, null, "graceful shutdown");
        op(vm, Hypervisor.Op.SHUTDOWN, new Effect.Shutdown(vm, n.settings().shutdownTimeoutMs()));
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
        listAskedSeq = changes;
        n.emit(new Effect.ListDomains());
    }

    private void changed(VmId vm) {
        lastChange.put(vm, ++changes);
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
        all.addAll(domains.keySet());
        all.addAll(confirming.keySet());
        List<VmId> confirmed = new ArrayList<>();
        for (VmId vm : all) {
            DomainInfo d = byVm.get(vm);
            DomainState listedState = d == null || !holds(d.state()) ? null : d.state();
            Long failedAt = confirming.get(vm);
            if (failedAt != null) {
                if (failedAt <= listAskedSeq) {
                    confirmed.add(vm);
                    put(vm, listedState);
                }
                continue;
            }
            if (ops.containsKey(vm) || lastChange.getOrDefault(vm, 0L) > listAskedSeq) {
                continue;
            }
            DomainState known = domains.get(vm);
            if (listedState != known) {
                if (listed && listedState != null) {
                    n.decide(Kind.ALARM, vm, null, "found " + listedState.name().toLowerCase()
                            + " here, not started by this daemon (by hand, libvirt autostart, or a call that landed late)");
                }
                put(vm, listedState);
            }
        }
        for (DomainInfo d : list) {
            if (d.autostart() && isHa(d.vm())) {
                n.decide(Kind.ALARM, d.vm(), null, "libvirt autostart was on for this HA VM: turning it off");
                n.emit(new Effect.DisableAutostart(d.vm()));
            }
        }
        listed = true;
        for (VmId vm : confirmed) {
            confirmed(vm);
        }
        records.reconcileAll();
        if (listWanted) {
            listWanted = false;
            requestList(n.now());
        }
    }

    private void put(VmId vm, DomainState state) {
        if (state == null) {
            domains.remove(vm);
            migratedIn.remove(vm);
        } else {
            domains.put(vm, state);
        }
    }

    /** A failed start or resume, now that a listing asked after the failure says what runs here. */
    private void confirmed(VmId vm) {
        confirming.remove(vm);
        String error = failures.remove(vm);
        ops.remove(vm);
        Versioned<VmRecord> vr = n.vm(vm);
        DomainState now = domains.get(vm);
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

    // ---------------------------------------------------------------- hypervisor events

    void onDomainChanged(NodeEvent.DomainChanged e) {
        VmId vm = e.vm();
        changed(vm);
        if (holds(e.state())) {
            domains.put(vm, e.state());
            if (e.migratedIn()) {
                migratedIn.add(vm);
            }
        } else {
            domains.remove(vm);
            migratedIn.remove(vm);
            if (!ops.containsKey(vm)) {
                crashed.add(vm); // nobody asked it to stop
                n.decide(Kind.NOT_RUNNING, vm, null, "guest stopped by itself: " + e.cause());
            }
        }
        records.reconcile(vm);
        lease.selfFenceProgress();
    }

    void onHypervisorDone(NodeEvent.HypervisorDone e) {
        VmId vm = e.vm();
        ops.remove(vm);
        changed(vm);
        Versioned<VmRecord> vr = n.vm(vm);
        switch (e.op()) {
            case START, RESUME -> {
                if (e.ok()) {
                    started(vm, e.op(), vr, null);
                } else if (e.timedOut() && e.op() == Hypervisor.Op.START) {
                    // the call may still start the guest: hold the VM (and the watchdog) until it returns
                    ops.put(vm, Hypervisor.Op.START);
                    startsInDoubt.add(vm);
                    n.decide(Kind.START_FAILED, vm, null, e.error() + "; holding the VM until the call returns");
                } else {
                    failedStart(vm, e.op() + " failed: " + e.error());
                }
            }
            case SHUTDOWN, DESTROY -> {
                if (e.ok()) {
                    domains.remove(vm);
                    migratedIn.remove(vm);
                    if (e.op() == Hypervisor.Op.SHUTDOWN) {
                        n.decide(Kind.STOPPED, vm, null, null);
                    }
                } else {
                    n.decide(e.op() == Hypervisor.Op.DESTROY ? Kind.ALARM : Kind.STOPPED, vm, null,
                            e.op() + " failed: " + e.error());
                }
            }
            case MIGRATE -> {
                if (e.ok()) {
                    domains.remove(vm);
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
        domains.put(vm, DomainState.RUNNING);
        migratedIn.remove(vm);
        if (lease.selfFenced() || !lease.leaseValid(n.now()) || vr == null
                || !vr.value().names(n.self(), lease.session())) {
            destroy(vm); // lost the right to run it while it was starting
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
        ops.put(vm, Hypervisor.Op.START);
        confirming.put(vm, ++changes);
        lastChange.put(vm, changes);
        failures.put(vm, error);
        requestList(n.now());
    }

    /** A call that was reported timed out has returned after all. */
    void onHypervisorLate(NodeEvent.HypervisorLate e) {
        VmId vm = e.vm();
        changed(vm);
        boolean held = startsInDoubt.remove(vm);
        if (held) {
            ops.remove(vm);
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
            put(vm, null); // the guest is gone from here after all
        } else {
            domains.put(vm, DomainState.RUNNING); // a late resume
        }
        lease.selfFenceProgress();
        records.reconcile(vm);
    }
}
