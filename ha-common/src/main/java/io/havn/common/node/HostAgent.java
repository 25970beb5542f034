package io.havn.common.node;

import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.function.LongPredicate;

/**
 * The part of the node that runs on every host, as one facade over the parts that each hold their
 * own rules:
 * <ul>
 * <li>{@link LeaseKeeper}: the session and the lease (rule 3), freezing while a strict majority is
 * freshly lost and self-fencing otherwise (rule 5), the watchdog;
 * <li>{@link LocalDomains}: what runs here and the hypervisor calls in flight (no decisions);
 * <li>{@link HypervisorEvents}: listings, domain events and call results, and how far each can be
 * trusted (rule 7's local checks, rule 1's check of a completed start);
 * <li>{@link Reconciler}: claims before starting or resuming (rule 1), the migration hand-over
 * (rule 6), re-binding and destroying what this host does not own (rule 7);
 * <li>{@link HostRegistration}: the host record, and readiness only once settled (rule 7).
 * </ul>
 * It routes the node's events to them in the order the node depends on, and wires them together:
 * each part sees the others only through the narrow calls it needs.
 */
final class HostAgent implements Manager.Host, AdminHandler.Host, ShuttingDown.Host {
    private final NodeContext n;
    private final LeaseKeeper lease;
    private final LocalDomains local;
    private final HypervisorEvents events;
    private final HostRegistration registration;
    private final Reconciler reconciler;
    private final ShuttingDown shutdown;
    private final Datastores datastores;
    private final GuestHealth guests;

    HostAgent(NodeContext context, LongPredicate majorityLost, Runnable sessionEnded, Datastores datastores) {
        this.n = context;
        this.datastores = datastores;
        Wiring wiring = new Wiring();
        this.local = new LocalDomains(context);
        this.lease = new LeaseKeeper(context, majorityLost, sessionEnded, wiring);
        this.events = new HypervisorEvents(context, local, lease, wiring);
        this.registration = new HostRegistration(context, lease, local, wiring::reconcileAll, datastores::reach);
        this.reconciler = new Reconciler(context, lease, local, registration, datastores);
        this.guests = new GuestHealth(context, local, lease, reconciler);
        this.shutdown = new ShuttingDown(context, this);
        reconciler.shuttingDown(shutdown);
    }

    /** Lets the parts reach the reconciler's calls without a cycle at construction. */
    private final class Wiring implements LeaseKeeper.Host, HypervisorEvents.Records {
        @Override
        public boolean holdsHaVms() {
            return local.holdsHaVms();
        }

        @Override
        public void destroyHaVms() {
            local.destroyHaVms();
        }

        @Override
        public void sessionChanged() {
            registration.sessionChanged();
        }

        @Override
        public void reconcileAll() {
            reconciler.reconcileAll();
        }

        @Override
        public boolean holdsUnbound() {
            return reconciler.holdsUnbound();
        }

        @Override
        public void reconcile(VmId vm) {
            reconciler.reconcile(vm);
        }

        @Override
        public void hostWrite(Versioned<VmRecord> vr, VmRecord next) {
            reconciler.hostWrite(vr, next);
        }
    }

    /**
     * The daemon is being stopped cleanly: for a restart of the daemon alone see
     * {@link LeaseKeeper#onStopping}; for a shutdown of the host, {@link ShuttingDown}.
     */
    void onStopping(long requestId, long windowMs, boolean hostShutdown, Runnable announced) {
        if (hostShutdown) {
            shutdown.begin(requestId, announced);
        } else {
            lease.onStopping(requestId, windowMs, announced);
        }
    }

    /** Whether this host is shutting down (it takes no work). */
    boolean departing() {
        return shutdown.departing();
    }

    void start() {
        lease.inherit();
        events.requestList(n.now());
        n.emit(new Effect.OpenSession());
    }

    // ---------------------------------------------------------------- state

    @Override
    public long session() {
        return lease.session();
    }

    @Override
    public boolean registered() {
        return lease.registered();
    }

    boolean ready() {
        return registration.ready();
    }

    boolean frozen() {
        return lease.frozen();
    }

    boolean selfFenced() {
        return lease.selfFenced();
    }

    @Override
    public boolean leaseValid(long now) {
        return lease.leaseValid(now);
    }

    /** Rule 5's x: time since the last confirmation, capped. */
    int unconfirmedMs(long now) {
        return lease.unconfirmedMs(now);
    }

    /** Whether this host runs, or is about to run, an HA VM: then the watchdog must guard it. */
    @Override
    public boolean holdsHaVms() {
        return local.holdsHaVms();
    }

    @Override
    public void shutdown(VmId vm) {
        local.shutdown(vm);
    }

    @Override
    public boolean busy(VmId vm) {
        return local.inFlight(vm) != null || n.busy(vm);
    }

    /** The local domains this host runs (for status and admin requests). */
    @Override
    public Map<VmId, DomainState> domains() {
        return local.domains();
    }

    // ---------------------------------------------------------------- events

    void onSessionStarted(long s, long timeoutMs) {
        lease.onSessionStarted(s, timeoutMs);
    }

    void onSessionEnded(long s) {
        lease.onSessionEnded(s);
    }

    void onConfirmed(long token, boolean ok) {
        lease.onConfirmed(token, ok);
    }

    /** The periodic pass; its order matters: the lease is judged before anything is reconciled. */
    void tick(long now) {
        lease.checkWatchdog(now);
        events.relistIfDue(now);
        lease.confirmIfDue(now);
        lease.followArming(now);
        lease.checkLease(now);
        registration.writeIfDue();
        if (lease.leaseValid(now)) {
            reconciler.reconcileAll();
        }
        lease.updateWatchdog(now);
        shutdown.progress(now);
        guests.tick(now);
    }

    /** A storage heartbeat round: this host's reach of the datastore, and the peers' slots on it. */
    void onStorageRound(NodeEvent.StorageRound e, long now) {
        if (datastores.onRound(e, now)) {
            registration.writeIfDue(); // its host record says what it reaches: placement reads it there
            reconciler.reconcileAll(); // guests paused on that storage may resume, or go elsewhere
        }
    }

    /** A guest agent ping's answer. */
    void onAgentPinged(NodeEvent.AgentPinged e) {
        guests.onPinged(e);
    }

    /** How many pings in a row {@code vm}'s agent missed, -1 if it is not judged here now. */
    int agentMisses(VmId vm) {
        return guests.misses(vm);
    }

    void onHeartbeat(long now) {
        lease.onHeartbeat(now);
    }

    /** The cluster record or this host's record changed: disarmed, armed again, or an arm to acknowledge. */
    void followArming(long now) {
        lease.followArming(now);
    }

    /** Whether this host's lease binds it now (false while the cluster is disarmed). */
    boolean bound() {
        return lease.bound();
    }

    void onDomainsListed(List<DomainInfo> list) {
        events.onDomainsListed(list);
    }

    /** The record of {@code vm} came in, or its absence. */
    void onRecord(VmId vm) {
        events.onRecord(vm);
    }

    /** Every VM record is in. */
    void onRecords() {
        events.onRecords();
    }

    void onDomainChanged(NodeEvent.DomainChanged e) {
        events.onDomainChanged(e);
    }

    void onHypervisorDone(NodeEvent.HypervisorDone e) {
        events.onHypervisorDone(e);
    }

    void onHypervisorLate(NodeEvent.HypervisorLate e) {
        events.onHypervisorLate(e);
    }

    /** Re-examines every VM this host runs or whose record names it. */
    /** The VMs held here: every local domain, and every VM with a hypervisor call in flight. */
    Set<VmId> held() {
        return local.held();
    }

    void reconcileAll() {
        reconciler.reconcileAll();
    }

    /** Brings one VM's local reality in line with its record, as far as this host's part goes. */
    void reconcile(VmId vm) {
        reconciler.reconcile(vm);
    }
}
