package io.havn.common.node;

import io.havn.common.model.HostId;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import java.util.ArrayList;
import java.util.List;

/**
 * Rule 2, epochs fence writes: whether this node leads (elected, holding the newest epoch it knows
 * of, with a valid lease), claiming an epoch, stepping down, handing over when it hears no healthy
 * majority, and {@link #leaderWrite}, the one way the leader writes a VM record, always under its
 * epoch. It exists so that everything a deposed leader must not do hangs on one class.
 */
final class Leadership {
    /** The leader's writes of VM records: compare-and-sets on their versions, under its epoch. */
    @FunctionalInterface
    interface Writes {
        /** Writes every record of {@code writes} with {@code checks}, in one multi-op: all of them or none. */
        void leaderWrite(List<VmWrite> writes, List<CoordOp> checks);

        /** Writes one record. */
        default void leaderWrite(Versioned<VmRecord> vr, VmRecord next, List<CoordOp> checks, Kind kind,
                                 HostId subject, String why) {
            leaderWrite(List.of(new VmWrite(vr, next, kind, subject, why)), checks);
        }
    }

    /** One record of a leader write: {@code vr} becomes {@code next}; on success the decision is {@code kind}. */
    record VmWrite(Versioned<VmRecord> vr, VmRecord next, Kind kind, HostId subject, String why) {
    }

    private final NodeContext n;
    private final Liveness live;
    private final Manager.Host host;
    /** Called once a new epoch is held, before it is reported. */
    private final Runnable onNewEpoch;
    /** Called whenever this node stops leading, before it is reported. */
    private final Runnable onStepDown;
    private boolean leader;
    private long claimToken;
    private long epoch;
    private long lastClaim = Long.MIN_VALUE / 2;
    /** After handing leadership over, this host claims no epoch before this time. */
    private long noClaimBefore = Long.MIN_VALUE;

    Leadership(NodeContext context, Liveness live, Manager.Host host, Runnable onNewEpoch, Runnable onStepDown) {
        this.n = context;
        this.live = live;
        this.host = host;
        this.onNewEpoch = onNewEpoch;
        this.onStepDown = onStepDown;
    }

    /** Whether this node leads now: elected, holding the current epoch, with a valid lease. */
    boolean active() {
        return leader && epoch > 0 && n.view().epoch() == epoch && host.leaseValid(n.now());
    }

    long epoch() {
        return epoch;
    }

    /** Whether the election names this node. */
    boolean elected() {
        return leader;
    }

    void onLeadership(boolean gained) {
        if (gained && !leader) {
            leader = true;
            if (n.scope().whole()) {
                claim();
            } // else claimed once every VM record is in the view (onViewLoaded): a leader never acts on part of the state
        } else if (!gained && leader) {
            leader = false;
            stepDown("leadership lost");
        }
    }

    private void claim() {
        claimToken = n.nextToken();
        lastClaim = n.now();
        n.emit(new Effect.ClaimEpoch(claimToken));
    }

    /** Every VM record is in the view now. */
    void onViewLoaded() {
        if (leader && epoch == 0 && claimToken == 0 && n.scope().whole() && host.registered()
                && host.leaseValid(n.now()) && n.now() >= noClaimBefore) {
            claim();
        }
    }

    void onEpochClaimed(long token, long newEpoch) {
        if (token != claimToken || !leader) {
            return;
        }
        claimToken = 0;
        if (newEpoch <= 0) {
            return; // retried on a later tick while the election still names this host
        }
        epoch = newEpoch;
        n.view().setEpoch(newEpoch, n.self());
        onNewEpoch.run();
        n.decide(Kind.LEADER_ELECTED, null, null, "epoch " + newEpoch);
    }

    void onEpochChanged() {
        if (epoch > 0 && n.view().epoch() > epoch) {
            stepDown("a newer epoch " + n.view().epoch() + " exists");
        }
    }

    void onSessionEnded() {
        leader = false;
        stepDown("session ended");
    }

    /**
     * Stops acting as leader. Whether this host still heads the election is the coordinator's to
     * say: while it does, it claims a new epoch once its lease is valid again.
     */
    private void stepDown(String why) {
        boolean was = epoch > 0;
        epoch = 0;
        claimToken = 0;
        onStepDown.run();
        if (was) {
            n.decide(Kind.LEADER_LOST, null, null, why);
        }
    }

    /**
     * Leadership's part of the round: claims an epoch when due, and steps down when its own lease
     * lapsed or when it should hand over. Returns false when the round ends here.
     */
    boolean tick(long now) {
        if (leader && epoch == 0 && claimToken == 0 && n.scope().whole() && host.registered() && host.leaseValid(now)
                && now - lastClaim >= Peers.ms(n.settings().heartbeatTimeoutMs()) && now >= noClaimBefore) {
            claim();
        }
        if (leader && epoch > 0 && !host.leaseValid(now)) {
            // a leader whose own lease lapsed must not decide anything: step down
            stepDown("own lease lapsed");
            n.emit(new Effect.Resign());
            return false;
        }
        if (active() && live.unhealthyForNanos(now) >= Peers.ms(handOverAfterMs()) && anotherHostIsLive()) {
            // It reaches the coordination service but hears no healthy majority, so it can neither
            // fence nor restart anything: let a host that hears the others lead.
            stepDown("no healthy majority heard for " + live.unhealthyForNanos(now) / 1_000_000L
                    + " ms while other hosts are live: handing over");
            n.emit(new Effect.Resign());
            noClaimBefore = now + Peers.ms(handOverAfterMs());
            return false;
        }
        return true;
    }

    /** How long a leader goes on without hearing a healthy majority before it hands over: the settle time. */
    private long handOverAfterMs() {
        return live.settleMs();
    }

    /** Whether another registered host holds a live session (someone else could lead). */
    private boolean anotherHostIsLive() {
        for (HostId h : n.view().hostIds()) {
            if (!h.equals(n.self()) && !n.view().live(h).isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * Every leader write: compare-and-set on each record's version, and the epoch (rule 2), in one
     * multi-op with {@code checks}.
     */
    void leaderWrite(List<VmWrite> writes, List<CoordOp> checks) {
        List<CoordOp> ops = new ArrayList<>(checks.size() + writes.size() + 1);
        ops.add(new CoordOp.CheckEpoch(epoch));
        for (VmWrite w : writes) {
            ops.add(new CoordOp.PutVm(w.next(), w.vr().version()));
        }
        ops.addAll(checks);
        n.write(ops, outcome -> {
            if (outcome == WriteOutcome.OK) {
                for (VmWrite w : writes) {
                    n.decide(w.kind(), w.next().id(), w.subject(), w.why());
                }
            }
        });
    }
}
