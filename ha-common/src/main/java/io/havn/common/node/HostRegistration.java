package io.havn.common.node;

import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.List;
import java.util.Map;

/**
 * This host's registration in each session: its host record, written bound to the session, and
 * whether it is ready to take work. Rule 7: it reports ready only once it is registered, its host
 * record is written, a listing was taken in, it may hold a lease, and nothing here is left from an
 * old session: no record names it in an old session and no HA VM runs here that it does not own
 * ({@link #settledLocally}).
 *
 * <p>It exists so that the one condition that lets a returning host take work again is stated in
 * one place, apart from the reconciliation that brings it about.
 */
final class HostRegistration {
    private final NodeContext n;
    private final LeaseKeeper lease;
    private final LocalDomains local;
    /** Re-examines every VM once the host record is written. */
    private final Runnable reconcileAll;
    /** What this host's storage heartbeat says it reaches, for its record (null: no storage heartbeat). */
    private final java.util.function.Supplier<Map<String, Boolean>> reach;

    private boolean hostWritten;
    private boolean ready;

    HostRegistration(NodeContext context, LeaseKeeper lease, LocalDomains local, Runnable reconcileAll,
                     java.util.function.Supplier<Map<String, Boolean>> reach) {
        this.n = context;
        this.lease = lease;
        this.local = local;
        this.reconcileAll = reconcileAll;
        this.reach = reach;
    }

    boolean ready() {
        return ready;
    }

    /** A session started or ended: the host record is written again, and readiness earned again. */
    void sessionChanged() {
        hostWritten = false;
        ready = false;
    }

    /**
     * Writes the host record once this host is registered in a session, unless a write is in flight;
     * once written, writes it again whenever what the storage heartbeat says it reaches changed (a
     * compare-and-set bound to the live session, like the first).
     */
    void writeIfDue() {
        if (!lease.registered() || n.busy(n.self())) {
            return;
        }
        if (!hostWritten) {
            writeHostRecord();
            return;
        }
        Versioned<HostRecord> old = n.view().host(n.self());
        Map<String, Boolean> now = reach.get();
        if (old != null && now != null && !now.equals(old.value().datastores())) {
            long s = lease.session();
            n.write(List.of(new CoordOp.PutHost(old.value().withDatastores(now), old.version()),
                    new CoordOp.CheckSessionLive(n.self(), s)), outcome -> { });
        }
    }

    private void writeHostRecord() {
        Versioned<HostRecord> old = n.view().host(n.self());
        HostAdminState admin = old == null ? HostAdminState.ACTIVE : old.value().admin();
        // a planned restart announced by the daemon before this one is kept: it speaks of the session
        // that daemon left, whose expiry proves nothing until its window has passed
        HostRecord.PlannedRestart restart = old == null ? null : old.value().restart();
        // so are the operator's shutdown policy for this host, and what earlier sessions said (an arm
        // acknowledged, a shutdown announced): each names its session, so it says nothing of this one
        HostRecord rec = old == null
                ? new HostRecord(n.self(), n.identity().capacity(), n.identity().address(),
                        n.identity().fenceDevice(), admin, false, false, null, null, null, null)
                : new HostRecord(n.self(), n.identity().capacity(), n.identity().address(),
                        n.identity().fenceDevice(), admin, false, false, restart, old.value().armed(),
                        old.value().shutdownPolicy(), old.value().shutdown());
        rec = rec.withDatastores(reach.get());
        int version = old == null ? CoordOp.NEW : old.version();
        long s = lease.session();
        n.write(List.of(new CoordOp.PutHost(rec, version), new CoordOp.CheckSessionLive(n.self(), s)), outcome -> {
            if (outcome == WriteOutcome.OK && s == lease.session()) {
                hostWritten = true;
                reconcileAll.run();
            }
        });
    }

    /** After a reconciliation: takes work no more while barred, and again once settled. */
    void checkReady() {
        if (ready && lease.barred(n.now())) {
            ready = false;
            n.decide(Kind.ALARM, null, null, "this host may hold no lease now: taking no work");
        }
        if (!ready && lease.registered() && hostWritten && local.listed() && !lease.barred(n.now())
                && n.scope().settled() && settledLocally()) {
            ready = true;
            n.decide(Kind.READY, null, null, "re-bound and reconciled; taking work");
        }
    }

    /** No record names this host in an old session, and no HA VM runs here that this host does not own. */
    private boolean settledLocally() {
        long session = lease.session();
        for (VmId vm : n.view().vmsOf(n.self())) {
            VmRecord r = n.vm(vm).value();
            if (r.spec().ha() && r.namesHost(n.self()) && !r.names(n.self(), session)) {
                return false;
            }
        }
        for (Map.Entry<VmId, DomainState> d : local.domains().entrySet()) {
            if (!n.scope().known(d.getKey())) {
                return false; // its record has not come in yet: ready only once each held domain is judged
            }
            Versioned<VmRecord> r = n.vm(d.getKey());
            if (r != null && r.value().spec().ha() && !r.value().names(n.self(), session)) {
                return false;
            }
        }
        return true;
    }
}
