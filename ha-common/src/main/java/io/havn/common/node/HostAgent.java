package io.havn.common.node;

import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import java.util.List;
import java.util.Map;
import java.util.function.LongPredicate;

/**
 * The part of the node that runs on every host, as one facade over three parts that each hold
 * their own rules:
 * <ul>
 * <li>{@link LeaseKeeper}: the session and the lease (rule 3), freezing while a strict majority is
 * freshly lost and self-fencing otherwise (rule 5), the watchdog;
 * <li>{@link LocalDomains}: what runs here, the hypervisor's calls and events, and the listings
 * that check them (rule 7's local checks, rule 1's check of a completed start);
 * <li>{@link Reconciler}: claims before starting or resuming (rule 1), the migration hand-over
 * (rule 6), re-binding and reconciliation after a new session (rule 7).
 * </ul>
 * It routes the node's events to them in the order the node depends on, and wires them together:
 * each part sees the others only through the narrow calls it needs.
 */
final class HostAgent implements Manager.Host, AdminHandler.Host {
    private final NodeContext n;
    private final LeaseKeeper lease;
    private final LocalDomains local;
    private final Reconciler reconciler;

    HostAgent(NodeContext context, LongPredicate majorityLost, Runnable sessionEnded) {
        this.n = context;
        Wiring wiring = new Wiring();
        this.lease = new LeaseKeeper(context, majorityLost, sessionEnded, wiring);
        this.local = new LocalDomains(context, lease, wiring);
        this.reconciler = new Reconciler(context, lease, local);
    }

    /** Lets the parts reach each other's calls without a cycle at construction. */
    private final class Wiring implements LeaseKeeper.Host, LocalDomains.Records {
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
            reconciler.sessionChanged();
        }

        @Override
        public void reconcileAll() {
            reconciler.reconcileAll();
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

    void start() {
        lease.inherit();
        local.requestList(n.now());
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
        return reconciler.ready();
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
    boolean holdsHaVms() {
        return local.holdsHaVms();
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

    void tick(long now) {
        lease.checkWatchdog(now);
        local.relistIfDue(now);
        lease.confirmIfDue(now);
        lease.checkLease(now);
        reconciler.tick(now);
        lease.updateWatchdog(now);
    }

    void onHeartbeat(long now) {
        lease.onHeartbeat(now);
    }

    void onDomainsListed(List<DomainInfo> list) {
        local.onDomainsListed(list);
    }

    void onDomainChanged(NodeEvent.DomainChanged e) {
        local.onDomainChanged(e);
    }

    void onHypervisorDone(NodeEvent.HypervisorDone e) {
        local.onHypervisorDone(e);
    }

    void onHypervisorLate(NodeEvent.HypervisorLate e) {
        local.onHypervisorLate(e);
    }

    /** Re-examines every VM this host runs or whose record names it. */
    void reconcileAll() {
        reconciler.reconcileAll();
    }

    /** Brings one VM's local reality in line with its record, as far as this host's part goes. */
    void reconcile(VmId vm) {
        reconciler.reconcile(vm);
    }
}
