package io.havn.common.node;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.port.CoordOp;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * The failovers this leader carries out, and their report once the VM runs again: how long
 * detection, fencing (or the proof) and the restart took, and which proof of death (rule 4) was
 * used. It holds no safety rule: it only observes, so that the report never mixes with a decision.
 */
final class FailoverTimings {
    /** Where a VM recovered from a dead host is noted, with the proof of death it is recovered on. */
    @FunctionalInterface
    interface Start {
        void failingOver(VmId vm, HostId from, List<CoordOp> proof, long now);
    }

    /** A failover this leader is carrying out: when the VM runs again, it reports the phases' timings. */
    private record Failover(HostId from, long lastHeard, long suspectedAt, long provenAt, Decision.Proof proof) {
    }

    private final NodeContext n;
    private final Liveness live;
    /** When this node began to suspect a host, MIN_VALUE if it does not. */
    private final ToLongFunction<HostId> suspectedAt;
    private final Map<VmId, Failover> failovers = new HashMap<>();

    FailoverTimings(NodeContext context, Liveness live, ToLongFunction<HostId> suspectedAt) {
        this.n = context;
        this.live = live;
        this.suspectedAt = suspectedAt;
    }

    /** A leader that steps down reports none of the failovers it started. */
    void forget() {
        failovers.clear();
    }

    /** Notes that {@code vm}, held by dead host {@code from} as {@code proof} shows, is being recovered. */
    void failingOver(VmId vm, HostId from, List<CoordOp> proof, long now) {
        if (failovers.containsKey(vm)) {
            return;
        }
        Versioned<HostRecord> hr = n.view().host(from);
        // the record the proof checks says whose proof it is: the device of whichever host fenced
        // it (the deputy fences a dead leader, and another host may lead next), or an operator
        boolean byDevice = hr != null && hr.value().offByFenceDevice();
        Decision.Proof how = proof.get(0) instanceof CoordOp.CheckSessionGone ? Decision.Proof.SESSION_EXPIRED
                : byDevice ? Decision.Proof.FENCE_DEVICE : Decision.Proof.OPERATOR;
        long heard = live.peers().lastWord(from);
        failovers.put(vm, new Failover(from, heard, suspectedAt.applyAsLong(from), now, how));
    }

    /** Reports a failover once another host has claimed its VM; forgets it if the VM was stopped or failed. */
    void onVmChanged(VmId vm, long now) {
        Failover f = failovers.get(vm);
        if (f == null) {
            return;
        }
        Versioned<VmRecord> vr = n.view().vm(vm);
        if (vr == null || vr.value().phase() == VmPhase.ERROR || vr.value().desired() == DesiredState.STOPPED) {
            failovers.remove(vm);
            return;
        }
        VmRecord r = vr.value();
        if (r.phase() != VmPhase.RUNNING || f.from().equals(r.owner())) {
            return;
        }
        failovers.remove(vm);
        long detect = f.lastHeard() == Long.MIN_VALUE || f.suspectedAt() == Long.MIN_VALUE ? -1
                : Math.max(0, f.suspectedAt() - f.lastHeard());
        long fence = f.suspectedAt() == Long.MIN_VALUE ? -1 : Math.max(0, f.provenAt() - f.suspectedAt());
        n.recovered(vm, f.from(), new Decision.Timings(detect, fence, now - f.provenAt(), f.proof()),
                "claimed by " + r.owner() + ", which starts it");
    }
}
