package io.havn.common.node;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongPredicate;

/**
 * The part of the node that runs on every host: it holds the lease (rule 3), claims before it
 * starts or resumes (rule 1), hands migrations over (rule 6), re-binds and reconciles after a new
 * session (rule 7), freezes when a majority is freshly lost (rule 5) and self-fences otherwise.
 */
final class HostAgent implements Manager.Host, AdminHandler.Host {
    private final NodeContext n;
    /** Rule 5: whether a strict majority of voters is freshly lost now (then a lapsed lease freezes). */
    private final LongPredicate majorityLost;
    /** Tells the manager this host's session ended (a leader steps down). */
    private final Runnable sessionEnded;

    // the session and its lease (rule 3)
    private long session;
    private final Lease lease;

    // registration and reconciliation (rules 1, 7)
    private boolean registered;
    private boolean hostWritten;
    private boolean ready;
    private boolean listed;

    // the local hypervisor
    private final Map<VmId, DomainState> domains = new TreeMap<>();
    private final Set<VmId> migratedIn = new HashSet<>();
    private final Map<VmId, Hypervisor.Op> ops = new HashMap<>();
    private final Set<VmId> crashed = new HashSet<>();
    private final Map<VmId, ArrayDeque<Long>> localRestarts = new HashMap<>();

    // listing: one call in flight; its answer counts only for VMs nothing happened to since it was asked
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
    /** VMs this host refuses to start (their spec fails its domain policy) while it writes so. */
    private final Set<VmId> refusing = new HashSet<>();

    HostAgent(NodeContext context, LongPredicate majorityLost, Runnable sessionEnded) {
        this.n = context;
        this.majorityLost = majorityLost;
        this.sessionEnded = sessionEnded;
        this.lease = new Lease(context.settings());
    }

    void start() {
        lease.inherit(n.watchdog().inheritedDeadline());
        requestList(n.now());
        n.emit(new Effect.OpenSession());
    }

    // ---------------------------------------------------------------- the lease

    @Override
    public long session() {
        return session;
    }

    @Override
    public boolean registered() {
        return registered;
    }

    boolean ready() {
        return ready;
    }

    boolean frozen() {
        return lease.frozen();
    }

    boolean selfFenced() {
        return lease.selfFenced();
    }

    @Override
    public boolean leaseValid(long now) {
        return lease.valid(now);
    }

    /** Rule 5's x: time since the last confirmation, capped. */
    int unconfirmedMs(long now) {
        return lease.unconfirmedMs(now);
    }

    void onSessionStarted(long s, long timeoutMs) {
        session = s;
        long sessionLeaseMs = n.settings().leaseForSessionMs(timeoutMs);
        lease.sessionStarted(sessionLeaseMs);
        if (sessionLeaseMs == 0) {
            n.decide(Kind.ALARM, null, null, "the ensemble negotiated a session timeout of " + timeoutMs
                    + " ms (asked " + n.settings().sessionTimeoutMs() + " ms): no lease fits below it with watchdogMs "
                    + n.settings().watchdogMs() + " and the drift margin; running no HA VM. Raise the ensemble's "
                    + "maxSessionTimeout or lower watchdogMs");
        } else if (sessionLeaseMs < n.settings().leaseMs()) {
            n.decide(Kind.ALARM, null, null, "the ensemble negotiated a session timeout of " + timeoutMs
                    + " ms (asked " + n.settings().sessionTimeoutMs() + " ms): lease shortened to " + sessionLeaseMs
                    + " ms");
        }
        registered = false;
        hostWritten = false;
        ready = false;
        n.decide(Kind.SESSION_STARTED, null, null, "session " + Long.toHexString(s));
        confirm(n.now());
    }

    void onSessionEnded(long s) {
        if (s != session) {
            return;
        }
        // a quorum expired or closed the session: nothing of it confirms anything any more
        session = 0;
        lease.sessionEnded();
        registered = false;
        hostWritten = false;
        ready = false;
        n.decide(Kind.SESSION_ENDED, null, null, "session " + Long.toHexString(s) + " ended");
        sessionEnded.run();
        checkLease(n.now());
        n.emit(new Effect.OpenSession());
    }

    private void confirm(long now) {
        if (!lease.mayAskConfirmation()) {
            return;
        }
        long token = n.nextToken();
        lease.confirmationAsked(token, now);
        n.emit(new Effect.Confirm(token));
    }

    void onConfirmed(long token, boolean ok) {
        if (!lease.confirmationAnswered(token, ok)) {
            return;
        }
        if (!registered) {
            registered = true;
            n.emit(new Effect.JoinElection());
        }
        long now = n.now();
        if (leaseValid(now)) {
            updateWatchdog(now);
            reconcileAll();
        }
    }

    void tick(long now) {
        String problem = n.watchdog().problem().orElse(null);
        if (lease.watchdogSays(problem, now)) {
            n.decide(Kind.ALARM, null, null, problem == null ? "the watchdog guards this host again"
                    : "the watchdog cannot guard this host: " + problem + "; unless that ends within "
                    + n.settings().watchdogMs() + " ms, this host runs no HA VM");
        }
        if (listAskedAt == Long.MIN_VALUE || now - listAskedAt >= Peers.ms(n.settings().relistMs())) {
            requestList(now);
        }
        if (session != 0 && lease.confirmationDue(now)) {
            confirm(now);
        }
        checkLease(now);
        if (registered && !hostWritten && !n.busy(n.self())) {
            writeHostRecord();
        }
        if (leaseValid(now)) {
            reconcileAll();
        }
        updateWatchdog(now);
    }

    void onHeartbeat(long now) {
        if (lease.frozen()) {
            checkLease(now);
        }
    }

    /** Rules 3 and 5: past the lease, freeze if a strict majority is freshly lost, else self-fence. */
    private void checkLease(long now) {
        if (leaseValid(now)) {
            return;
        }
        if (lease.selfFenced() || !holdsHaVms()) {
            lease.nothingToGuard();
            return;
        }
        if (lease.frozen() && lease.barred(now)) {
            selfFence(now, "frozen, and this host may hold no lease now");
            return;
        }
        if (lease.frozen()) {
            if (majorityLost.test(now)) {
                lease.refreeze();
            } else if (lease.state() == Lease.State.FROZEN) {
                // Peers recovered first: confirm at once, and self-fence unless that lands within
                // a heartbeat timeout. The quorum restarted this session's timer no earlier than
                // the peers' recovery, so the session cannot expire before F + W has passed.
                lease.thaw(now + Peers.ms(n.settings().heartbeatTimeoutMs()));
                confirm(now);
            } else if (now >= lease.thawUntil()) {
                selfFence(now, "frozen, and a strict majority of voters is no longer freshly lost");
            }
            return;
        }
        if (lease.mayFreeze() && !lease.barred(now) && majorityLost.test(now)) {
            lease.freeze();
            n.decide(Kind.FREEZE, null, null, "lease lapsed while a strict majority of voters is freshly lost: "
                    + "keeping VMs, changing nothing");
            return;
        }
        n.decide(Kind.LEASE_LAPSED, null, null, lease.lapseReason(now));
        selfFence(now, "lease lapsed");
    }

    private void selfFence(long now, String why) {
        lease.selfFence();
        n.decide(Kind.SELF_FENCE, null, null, why);
        for (Map.Entry<VmId, DomainState> d : domains.entrySet()) {
            if (isHa(d.getKey()) && holds(d.getValue()) && ops.get(d.getKey()) != Hypervisor.Op.DESTROY) {
                destroy(d.getKey());
            }
        }
        maybeSelfFenceDone();
    }

    private void maybeSelfFenceDone() {
        if (lease.selfFenced() && !holdsHaVms()) {
            n.decide(Kind.SELF_FENCE_DONE, null, null, "every HA VM of this host is destroyed");
            updateWatchdog(n.now());
        }
    }

    private static boolean holds(DomainState s) {
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

    /** Publishes to the watchdog until when this host may hold its HA VMs, or that it holds none. */
    private void updateWatchdog(long now) {
        if (!holdsHaVms()) {
            if (lease.release()) {
                n.emit(new Effect.ReleaseWatchdog());
            }
            return;
        }
        // empty past the lease: the published deadline lapses, and the machine resets unless we finish self-fencing
        lease.watchdogDeadline(now).ifPresent(until -> {
            if (lease.arm(until)) {
                n.emit(new Effect.ArmWatchdog(until));
            }
        });
    }

    // ---------------------------------------------------------------- registration

    private void writeHostRecord() {
        Versioned<HostRecord> old = n.view().host(n.self());
        HostAdminState admin = old == null ? HostAdminState.ACTIVE : old.value().admin();
        HostRecord rec = new HostRecord(n.self(), n.identity().capacity(), n.identity().address(),
                n.identity().fenceDevice(), admin, false);
        int version = old == null ? CoordOp.NEW : old.version();
        long s = session;
        n.write(List.of(new CoordOp.PutHost(rec, version), new CoordOp.CheckSessionLive(n.self(), s)), outcome -> {
            if (outcome == WriteOutcome.OK && s == session) {
                hostWritten = true;
                reconcileAll();
            }
        });
    }

    // ---------------------------------------------------------------- hypervisor events

    /** Asks for a listing of every local domain; while one is in flight, for another after it. */
    private void requestList(long now) {
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
        List<VmId> confirmed = new java.util.ArrayList<>();
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
        reconcileAll();
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
        if (vr != null && vr.value().names(n.self(), session) && n.self().equals(vr.value().owner())) {
            // only now, with no copy here and no call in flight, may another host be asked to start it
            hostWrite(vr, vr.value().startFailed(error), null);
        }
    }

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
        reconcile(vm);
        maybeSelfFenceDone();
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
                        hostWrite(vr, vr.value().migrationAborted("migration failed: " + e.error()), null);
                    }
                }
            }
        }
        maybeSelfFenceDone();
        reconcile(vm);
    }

    /** A start or resume succeeded (in time or late): keep the guest if this host still may run it. */
    private void started(VmId vm, Hypervisor.Op op, Versioned<VmRecord> vr, String how) {
        domains.put(vm, DomainState.RUNNING);
        migratedIn.remove(vm);
        if (lease.selfFenced() || !leaseValid(n.now()) || vr == null || !vr.value().names(n.self(), session)) {
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
        maybeSelfFenceDone();
        reconcile(vm);
    }

    private void destroy(VmId vm) {
        changed(vm);
        ops.put(vm, Hypervisor.Op.DESTROY);
        n.emit(new Effect.Destroy(vm));
    }

    /** Calls the hypervisor for {@code vm}: the VM counts as changed, and busy until the call returns. */
    private void op(VmId vm, Hypervisor.Op op, Effect call) {
        changed(vm);
        ops.put(vm, op);
        n.emit(call);
    }

    // ---------------------------------------------------------------- reconciliation

    /** Re-examines every VM this host runs or whose record names it. */
    void reconcileAll() {
        Set<VmId> all = new TreeSet<>(domains.keySet());
        all.addAll(n.view().vmsOf(n.self()));
        for (VmId vm : all) {
            reconcile(vm);
        }
        if (ready && lease.barred(n.now())) {
            ready = false;
            n.decide(Kind.ALARM, null, null, "this host may hold no lease now: taking no work");
        }
        if (!ready && registered && hostWritten && listed && !lease.barred(n.now()) && settledLocally()) {
            ready = true;
            n.decide(Kind.READY, null, null, "re-bound and reconciled; taking work");
        }
    }

    /** No record names this host in an old session, and no HA VM runs here that this host does not own. */
    private boolean settledLocally() {
        for (VmId vm : n.view().vmsOf(n.self())) {
            VmRecord r = n.vm(vm).value();
            if (r.spec().ha() && r.namesHost(n.self()) && !r.names(n.self(), session)) {
                return false;
            }
        }
        for (Map.Entry<VmId, DomainState> d : domains.entrySet()) {
            Versioned<VmRecord> r = n.vm(d.getKey());
            if (r != null && r.value().spec().ha() && !r.value().names(n.self(), session)) {
                return false;
            }
        }
        return true;
    }

    /** Brings one VM's local reality in line with its record, as far as this host's part goes. */
    void reconcile(VmId vm) {
        if (!listed || ops.containsKey(vm) || n.busy(vm) || refusing.contains(vm)) {
            return; // wait for what is in flight
        }
        Versioned<VmRecord> vr = n.vm(vm);
        if (vr == null || !vr.value().spec().ha()) {
            return; // not under HA: not ours to touch
        }
        VmRecord r = vr.value();
        DomainState local = domains.get(vm);
        boolean here = local != null && holds(local);
        long now = n.now();
        if (!registered) {
            return; // without a session the view may be incomplete: keep what runs, under the inherited lease
        }
        if (r.namesHost(n.self()) && !r.names(n.self(), session)) {
            if (leaseValid(now)) {
                rebind(vr);
            }
            return;
        }
        if (!r.names(n.self(), session)) {
            if (here && ops.get(vm) == null) {
                n.decide(Kind.DESTROY_UNOWNED, vm, r.owner(), "the record names " + r.owner() + ", not this host");
                destroy(vm);
            }
            return;
        }
        if (!leaseValid(now) || lease.selfFenced()) {
            return; // no lease: change nothing here; checkLease handles the rest
        }
        if (n.self().equals(r.owner())) {
            reconcileOwned(vr, local);
        } else {
            reconcileTarget(vr, local);
        }
    }

    private void reconcileOwned(Versioned<VmRecord> vr, DomainState local) {
        VmRecord r = vr.value();
        VmId vm = r.id();
        boolean here = local != null && holds(local);
        boolean stop = r.desired() == DesiredState.STOPPED;
        switch (r.phase()) {
            case PLACED -> {
                if (stop) {
                    if (here) {
                        shutdown(vm);
                    } else {
                        hostWrite(vr, r.unowned(VmPhase.STOPPED, "stopped by operator"), null);
                    }
                } else {
                    claimAndRun(vr, local, Kind.CLAIM, "placed here, generation " + r.generation());
                }
            }
            case RUNNING -> {
                if (stop) {
                    if (here) {
                        shutdown(vm);
                    } else {
                        hostWrite(vr, r.unowned(VmPhase.STOPPED, "stopped by operator"), null);
                    }
                } else if (local == DomainState.PAUSED) {
                    op(vm, Hypervisor.Op.RESUME, new Effect.Resume(vm));
                } else if (!here) {
                    if (crashed.contains(vm) && localRestartAllowed(vm)) {
                        claimAndRun(vr, null, Kind.RESTART_LOCAL, "guest crashed; restarting it here");
                    } else {
                        String why = crashed.contains(vm) ? "crashed more than " + n.settings().localRestartLimit()
                                + " times here" : "not running on its owner";
                        n.decide(Kind.NOT_RUNNING, vm, null, why);
                        hostWrite(vr, r.withPhase(VmPhase.NOT_RUNNING, why), () -> crashed.remove(vm));
                    }
                }
            }
            case MIGRATING -> {
                if (local == DomainState.RUNNING) {
                    n.decide(Kind.MIGRATE, vm, r.target(), "live migration to " + r.target());
                    op(vm, Hypervisor.Op.MIGRATE, new Effect.Migrate(vm, r.target()));
                } else if (!here) {
                    n.decide(Kind.RELEASE, vm, r.target(), "source holds no copy");
                    hostWrite(vr, r.withPhase(VmPhase.RELEASED, "migrated to " + r.target()), null);
                }
            }
            case RELOCATING -> {
                if (here) {
                    shutdown(vm);
                } else {
                    n.decide(Kind.RELEASE, vm, null, "stopped for relocation");
                    hostWrite(vr, r.withPhase(VmPhase.RELEASED, "stopped for relocation"), null);
                }
            }
            default -> {
                if (here) {
                    // released, failed or given up: the leader may place it elsewhere without proof
                    n.decide(Kind.DESTROY_UNOWNED, vm, null, "record is " + r.phase() + "; no copy may run here");
                    destroy(vm);
                }
            }
        }
    }

    /** Rule 6: the destination claims a completed incoming migration, then resumes it. */
    private void reconcileTarget(Versioned<VmRecord> vr, DomainState local) {
        VmRecord r = vr.value();
        VmId vm = r.id();
        if ((r.phase() == VmPhase.MIGRATING || r.phase() == VmPhase.RELEASED)
                && local == DomainState.PAUSED && migratedIn.contains(vm)) {
            long s = session;
            n.write(List.of(new CoordOp.PutVm(r.handedOverTo(n.self(), s), vr.version()),
                    new CoordOp.CheckSessionLive(n.self(), s)), outcome -> {
                        if (outcome == WriteOutcome.OK && s == session && !lease.selfFenced() && leaseValid(n.now())) {
                            n.decide(Kind.HANDOVER, vm, r.owner(), "claimed the migrated copy");
                            op(vm, Hypervisor.Op.RESUME, new Effect.Resume(vm));
                        } else {
                            n.decide(Kind.CLAIM_FAILED, vm, r.owner(), "hand-over claim " + outcome);
                        }
                    });
        }
    }

    private void rebind(Versioned<VmRecord> vr) {
        VmRecord r = vr.value();
        VmRecord next = r;
        if (n.self().equals(r.owner()) && r.ownerSession() != session) {
            next = next.withOwnerSession(session);
        }
        if (n.self().equals(r.target()) && r.targetSession() != session) {
            next = next.withTargetSession(session);
        }
        VmRecord rebound = next;
        long s = session;
        n.write(List.of(new CoordOp.PutVm(rebound, vr.version()), new CoordOp.CheckSessionLive(n.self(), s)),
                outcome -> n.decide(outcome == WriteOutcome.OK ? Kind.REBIND : Kind.REBIND_FAILED, r.id(), null,
                        outcome == WriteOutcome.OK ? "bound to session " + Long.toHexString(s) : outcome.name()));
    }

    /** Rule 1: compare-and-set the record (bound to this session) before starting or resuming. */
    private void claimAndRun(Versioned<VmRecord> vr, DomainState local, Kind kind, String why) {
        VmRecord r = vr.value();
        VmId vm = r.id();
        if (domains.get(vm) == null && refuseToStart(vm, r.spec())) {
            return; // nothing runs here and this host may not start it: no claim
        }
        long s = session;
        VmRecord claimed = r.withPhase(VmPhase.RUNNING, null);
        ops.put(vm, Hypervisor.Op.START); // holds the VM against a second reconcile until the claim returns
        updateWatchdog(n.now());
        n.write(List.of(new CoordOp.PutVm(claimed, vr.version()), new CoordOp.CheckSessionLive(n.self(), s)),
                outcome -> {
                    ops.remove(vm);
                    if (outcome != WriteOutcome.OK || s != session || lease.selfFenced() || !leaseValid(n.now())) {
                        // an answer that comes after the lease lapsed gives no right to run anything
                        n.decide(Kind.CLAIM_FAILED, vm, null, "claim " + outcome
                                + (outcome == WriteOutcome.OK ? " but the lease lapsed meanwhile" : ""));
                        return;
                    }
                    n.decide(kind, vm, null, why);
                    DomainState now = domains.get(vm);
                    if (now == DomainState.RUNNING) {
                        n.decide(Kind.ADOPT, vm, null, "already running here");
                    } else if (now == DomainState.PAUSED) {
                        op(vm, Hypervisor.Op.RESUME, new Effect.Resume(vm));
                    } else {
                        if (kind == Kind.RESTART_LOCAL) {
                            localRestarts.computeIfAbsent(vm, k -> new ArrayDeque<>()).addLast(n.now());
                        }
                        crashed.remove(vm);
                        if (!refuseToStart(vm, r.spec())) {
                            op(vm, Hypervisor.Op.START, new Effect.Start(r.spec()));
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
        long s = session;
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

    private void shutdown(VmId vm) {
        n.decide(Kind.STOP, vm, null, "graceful shutdown");
        op(vm, Hypervisor.Op.SHUTDOWN, new Effect.Shutdown(vm, n.settings().shutdownTimeoutMs()));
    }

    /** A host's own write on a record that names it: a compare-and-set bound to its live session. */
    private void hostWrite(Versioned<VmRecord> vr, VmRecord next, Runnable onOk) {
        long s = session;
        if (s == 0) {
            return;
        }
        n.write(List.of(new CoordOp.PutVm(next, vr.version()), new CoordOp.CheckSessionLive(n.self(), s)), outcome -> {
            if (outcome == WriteOutcome.OK && onOk != null) {
                onOk.run();
            }
        });
    }

    /** The local domains this host runs (for status and admin requests). */
    @Override
    public Map<VmId, DomainState> domains() {
        return domains;
    }
}
