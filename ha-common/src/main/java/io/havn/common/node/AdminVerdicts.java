package io.havn.common.node;

import io.havn.common.model.Versioned;
import io.havn.common.node.AdminChecks.Already;
import io.havn.common.node.AdminChecks.Change;
import io.havn.common.node.AdminChecks.Outcome;
import io.havn.common.node.AdminChecks.Refuse;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The leader's side of operators' requests: it checks each pending request again against its own
 * view ({@link AdminChecks}) and writes its verdict together with the change, atomically and under
 * its epoch (rule 2), so that a deposed leader can neither accept nor carry out a request. It also
 * removes requests nobody is left to answer. It exists so that every admin write the leader makes
 * is in one class.
 */
final class AdminVerdicts implements Manager.Requests {
    private final NodeContext n;
    private final AdminChecks checks;
    /** Requests the leader is writing a verdict for. */
    private final Set<String> deciding = new HashSet<>();
    /** When this leader first saw each decided or orphaned request, to remove it if nobody else does. */
    private final Map<String, Long> leftover = new HashMap<>();

    AdminVerdicts(NodeContext context, AdminChecks checks) {
        this.n = context;
        this.checks = checks;
    }

    /**
     * The leader's round over the requests: decides the pending ones, and removes those whose origin
     * is gone (nobody to answer, so they are dropped unexecuted) or that stayed after their answer.
     */
    @Override
    public void serve(long epoch, long now) {
        Set<String> present = new HashSet<>();
        for (Versioned<ChangeRequest> vr : n.view().requests()) {
            ChangeRequest r = vr.value();
            present.add(r.id());
            if (deciding.contains(r.id())) {
                continue;
            }
            boolean originLive = n.view().isLive(r.origin(), r.originSession());
            if (r.pending() && originLive) {
                leftover.remove(r.id());
                decide(vr, epoch);
                continue;
            }
            // the origin wrote it while live: absent from this view only briefly, unless it is gone
            boolean originGone = !originLive && n.view().goneForNanos(r.origin(), r.originSession(), now)
                    >= Peers.ms(n.settings().heartbeatTimeoutMs());
            long seen = leftover.computeIfAbsent(r.id(), k -> now);
            if (originGone || now - seen >= Peers.ms(2 * n.settings().adminTimeoutMs())) {
                deciding.add(r.id());
                n.write(List.of(new CoordOp.CheckEpoch(epoch), new CoordOp.DeleteRequest(r.id(), vr.version())),
                        outcome -> deciding.remove(r.id()));
            }
        }
        leftover.keySet().retainAll(present);
    }

    private void decide(Versioned<ChangeRequest> vr, long epoch) {
        ChangeRequest r = vr.value();
        Outcome o = checks.check(r.command(), r.origin(), r.originSession(), r.heldByOrigin());
        List<CoordOp> ops = new ArrayList<>();
        ops.add(new CoordOp.CheckEpoch(epoch));
        String what;
        if (o instanceof Refuse x) {
            ops.add(new CoordOp.PutRequest(r.refused(x.code(), x.message()), vr.version()));
            what = null;
        } else if (o instanceof Already a) {
            ops.add(new CoordOp.PutRequest(r.accepted(a.message()), vr.version()));
            what = null;
        } else {
            Change c = (Change) o;
            ops.add(new CoordOp.PutRequest(r.accepted(c.what() + ": accepted by the leader " + n.self() + " (epoch "
                    + epoch + ")"), vr.version()));
            ops.addAll(c.ops());
            what = c.what();
        }
        deciding.add(r.id());
        n.write(ops, outcome -> {
            deciding.remove(r.id());
            if (outcome == WriteOutcome.OK && o instanceof Change c) {
                n.decide(Kind.ADMIN, null, null, what + " (asked on " + r.origin() + ")");
                if (c.after() != null) {
                    c.after().run();
                }
            }
            // a conflict (the state changed meanwhile) is decided again in the next round
        });
    }
}
