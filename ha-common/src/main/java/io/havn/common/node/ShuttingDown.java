package io.havn.common.node;

import io.havn.common.model.HostRecord;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.List;
import java.util.Map;

/**
 * A clean shutdown of this host (its daemon is stopped while the system stops): it follows the
 * shutdown policy in force for it (its own, else the cluster's). It first records the shutdown in
 * its host record, bound to its live session, so that the leader places nothing more on it; then:
 * <ul>
 * <li>{@code migrate}: the leader drains it as for maintenance; once no HA VM is held here, or after
 * {@code shutdownMigrateMs}, what is left fails over;
 * <li>{@code failover}: each HA VM is shut down here, then recorded not running, so the leader
 * places it elsewhere at once (a live owner's own report needs no proof of death);
 * <li>{@code freeze}: each HA VM is shut down here, then recorded frozen: it starts again here when
 * the host returns, and elsewhere only once an operator confirms the host off.
 * </ul>
 * Every record write is the owner's compare-and-set bound to its live session, made only once no
 * copy runs here, so a record says "not running" or "frozen" only of a VM that runs nowhere. The node
 * answers the stop request when done and then handles nothing more.
 */
final class ShuttingDown {
    /** How far the shutdown has gone. */
    enum Stage {
        /** No shutdown under way. */
        NONE,
        /** The shutdown is being recorded. */
        ANNOUNCING,
        /** Migrate: the leader drains this host. */
        DRAINING,
        /** Its HA VMs are being shut down here. */
        STOPPING,
        /** No HA VM runs here any more: their records are being written. */
        RECORDING,
        /** Done: answered. */
        DONE
    }

    /** What this class needs of the rest of the host agent. */
    interface Host {
        long session();

        boolean registered();

        boolean leaseValid(long now);

        /** Whether this host runs, or is about to run, an HA VM. */
        boolean holdsHaVms();

        /** Asks for a graceful shutdown of {@code vm} here (destroyed if it does not stop in time). */
        void shutdown(VmId vm);

        /** Whether a hypervisor call on {@code vm} is in flight. */
        boolean busy(VmId vm);

        /** The domains here now, HA or not. */
        Map<VmId, DomainState> domains();
    }

    private final NodeContext n;
    private final Host host;
    private Stage stage = Stage.NONE;
    private ShutdownPolicy policy;
    private long requestId;
    private Runnable done;
    private long session;
    private long drainUntil;

    ShuttingDown(NodeContext context, Host host) {
        this.n = context;
        this.host = host;
    }

    Stage stage() {
        return stage;
    }

    /** Whether this host is on its way out: it claims and starts nothing. */
    boolean departing() {
        return stage != Stage.NONE;
    }

    /** Whether the records of its VMs are this class's alone to write now (the reconciler keeps off). */
    boolean stopping() {
        return stage == Stage.STOPPING || stage == Stage.RECORDING || stage == Stage.DONE;
    }

    /** The host is being shut down: the policy begins; {@code then} runs once the request is answered. */
    void begin(long requestId, Runnable then) {
        if (stage != Stage.NONE) {
            n.answer(requestId, AdminReply.error("already-stopping", "this host is already shutting down"));
            return;
        }
        long now = n.now();
        Versioned<HostRecord> hr = n.view().host(n.self());
        ShutdownPolicy own = hr == null ? null : hr.value().shutdownPolicy();
        ShutdownPolicy p = own != null ? own : n.view().cluster().shutdownPolicyOrDefault();
        if (!host.holdsHaVms()) {
            n.answer(requestId, AdminReply.ok("this host holds no HA VM: nothing to move before it shuts down"));
            then.run();
            return;
        }
        long s = host.session();
        if (s == 0 || !host.registered() || hr == null || !host.leaseValid(now)) {
            n.answer(requestId, AdminReply.error("not-announced", "this host holds no valid lease: its HA VMs "
                    + "stay only for what is left of it, and are recovered as after a crash"));
            then.run();
            return;
        }
        this.requestId = requestId;
        this.done = then;
        this.policy = p;
        this.session = s;
        stage = Stage.ANNOUNCING;
        n.write(List.of(new CoordOp.PutHost(hr.value().withShutdown(s, p), hr.version()),
                new CoordOp.CheckSessionLive(n.self(), s)), outcome -> {
                    if (outcome != WriteOutcome.OK || s != host.session()) {
                        stage = Stage.NONE;
                        n.answer(requestId, AdminReply.error("not-announced", "the host shutdown could not be "
                                + "recorded (" + outcome + "): its HA VMs are recovered as after a crash"));
                        then.run();
                        return;
                    }
                    n.decide(Kind.SHUTDOWN, null, null, "host shutting down, policy " + policy.word()
                            + (own == null ? " (the cluster's)" : " (this host's)"));
                    if (policy == ShutdownPolicy.MIGRATE) {
                        stage = Stage.DRAINING;
                        drainUntil = n.now() + Peers.ms(n.settings().shutdownMigrateMs());
                    } else {
                        stage = Stage.STOPPING;
                    }
                    progress(n.now());
                });
    }

    /** Moves the shutdown on; called in each round and after each local change. */
    void progress(long now) {
        switch (stage) {
            case DRAINING -> {
                if (!host.holdsHaVms()) {
                    finish("every HA VM moved to another host");
                } else if (now >= drainUntil) {
                    n.decide(Kind.SHUTDOWN, null, null, "not every HA VM moved within "
                            + n.settings().shutdownMigrateMs() + " ms: the rest fail over");
                    policy = ShutdownPolicy.FAILOVER;
                    stage = Stage.STOPPING;
                    // the leader stops draining this host, which now stops what is left
                    Versioned<HostRecord> hr = n.view().host(n.self());
                    if (hr != null) {
                        n.write(List.of(new CoordOp.PutHost(hr.value().withShutdown(session, policy), hr.version()),
                                new CoordOp.CheckSessionLive(n.self(), session)), outcome -> { });
                    }
                    progress(now);
                }
            }
            case STOPPING -> {
                if (host.session() != session) {
                    finish(null);
                    return;
                }
                boolean migrating = false;
                for (Map.Entry<VmId, DomainState> d : host.domains().entrySet()) {
                    VmId vm = d.getKey();
                    Versioned<VmRecord> vr = n.vm(vm);
                    if (vr == null || !vr.value().spec().ha() || !LocalDomains.holds(d.getValue()) || host.busy(vm)) {
                        continue;
                    }
                    if (vr.value().phase() == VmPhase.MIGRATING) {
                        migrating = true; // a live migration under way ends first, one way or the other
                        continue;
                    }
                    host.shutdown(vm);
                }
                if (!migrating && !host.holdsHaVms()) {
                    stage = Stage.RECORDING;
                    progress(now);
                }
            }
            case RECORDING -> record();
            default -> { }
        }
    }

    /** Writes each record that still says this session runs its VM: not running (failover) or frozen. */
    private void record() {
        if (host.session() != session) {
            finish(null);
            return;
        }
        boolean left = false;
        for (VmId vm : n.view().vmsOf(n.self())) {
            Versioned<VmRecord> vr = n.vm(vm);
            VmRecord r = vr.value();
            if (!r.spec().ha() || r.phase() != VmPhase.RUNNING || !r.names(n.self(), session)
                    || !n.self().equals(r.owner())) {
                continue;
            }
            left = true;
            if (n.busy(vm)) {
                continue;
            }
            VmRecord next = policy == ShutdownPolicy.FREEZE
                    ? r.withPhase(VmPhase.FROZEN, "frozen: its host " + n.self() + " shut down")
                    : r.withPhase(VmPhase.NOT_RUNNING, "its host " + n.self() + " shut down (failover)");
            n.decide(policy == ShutdownPolicy.FREEZE ? Kind.FREEZE_VM : Kind.NOT_RUNNING, vm, null,
                    "host shutting down, policy " + policy.word());
            n.write(List.of(new CoordOp.PutVm(next, vr.version()), new CoordOp.CheckSessionLive(n.self(), session)),
                    outcome -> progress(n.now()));
        }
        if (!left) {
            finish(policy == ShutdownPolicy.FREEZE ? "every HA VM shut down and frozen here"
                    : "every HA VM shut down and handed to the leader to restart elsewhere");
        }
    }

    private void finish(String message) {
        if (stage == Stage.DONE) {
            return;
        }
        stage = Stage.DONE;
        if (message == null) {
            n.answer(requestId, AdminReply.error("session-lost", "the session ended while the host was shutting "
                    + "down: what is left is recovered as after a crash"));
        } else {
            n.decide(Kind.SHUTDOWN, null, null, message);
            n.answer(requestId, AdminReply.ok(message));
        }
        done.run();
    }
}
