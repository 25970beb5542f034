package io.havn.common.node;

import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.node.AdminChecks.Already;
import io.havn.common.node.AdminChecks.Outcome;
import io.havn.common.node.AdminChecks.Refuse;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.place.WhatIf;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Operators' requests, at the host that takes them (the origin). Status and what-if
 * ({@link WhatIf}) are answered from its own view and change nothing. A change is checked there first ({@link AdminChecks}), so that bad input is refused at once
 * and changes nothing, and a role that does not cover the command is refused before anything is
 * written; then it goes to the leader as a {@link ChangeRequest} in the cluster state. The leader
 * checks it again and writes its verdict under its epoch ({@link AdminVerdicts}, rule 2); the origin
 * answers the operator with that verdict, or, when no verdict comes in time, withdraws the request
 * (a compare-and-set, so it is either withdrawn or decided, never both).
 */
final class AdminHandler implements Manager.Requests {
    /** A request this host took and forwarded, awaiting the leader's verdict. */
    private static final class Waiting {
        final long replyId;
        long deadline;
        boolean withdrawing;

        Waiting(long replyId, long deadline) {
            this.replyId = replyId;
            this.deadline = deadline;
        }
    }

    /** What request intake needs of this host's own agent. */
    interface Host {
        /** This host's live session, 0 without one. */
        long session();

        boolean registered();

        /** The local domains this host runs. */
        Map<VmId, DomainState> domains();
    }

    private final NodeContext n;
    private final Liveness live;
    private final Host host;
    private final AdminChecks checks;
    private final AdminVerdicts verdicts;
    private final Map<String, Waiting> waiting = new HashMap<>();
    private long sequence;

    AdminHandler(NodeContext context, Liveness live, Host host, Consumer<HostId> evictAll) {
        this.n = context;
        this.live = live;
        this.host = host;
        this.checks = new AdminChecks(context, live, evictAll);
        this.verdicts = new AdminVerdicts(context, checks);
    }

    // ---------------------------------------------------------------- the origin

    void handle(long id, AdminCommand cmd, Caller caller) {
        if (!caller.role().covers(cmd.role())) {
            refuse(id, "denied", "denied: " + cmd.name() + " needs role " + cmd.role() + "; " + caller.user()
                    + " has " + caller.role());
            return;
        }
        if (cmd instanceof AdminCommand.Status) {
            // admission control's count is not taken here: at a thousand hosts under rules it costs up to
            // a second, too long for the node's thread; the daemon assesses its snapshots aside
            if (n.scope().whole()) {
                n.answer(id, AdminReply.state(n.view().snapshot(), n.self(), live.peers().stats(n.now())));
            } else {
                n.answer(id, AdminReply.ownState(n.view().snapshot(), n.self(), live.peers().stats(n.now()),
                        partialView() + "; the VMs listed are only those of " + n.self() + leaderHint()));
            }
            return;
        }
        if (cmd instanceof AdminCommand.WhatIf w) {
            if (!n.scope().whole()) {
                refuse(id, "partial-view", "what-if needs every VM record, and " + partialView() + leaderHint());
                return;
            }
            whatIf(id, w);
            return;
        }
        long s = host.session();
        if (s == 0 || !host.registered()) {
            refuse(id, "unavailable", "host " + n.self() + " has no coordination session right now; try another host");
            return;
        }
        boolean held = cmd instanceof AdminCommand.VmAdd a && heldHere(a.spec().id());
        // checked here only on the whole state: on part of it, a check could refuse what is right (a VM
        // whose record this host does not keep) or pass what is not; the leader checks every request
        // again on the whole state before anything is written, and its verdict answers
        if (n.scope().whole()) {
            Outcome o = checks.check(cmd, n.self(), s, held);
            if (o instanceof Refuse r) {
                refuse(id, r.code(), r.message());
                return;
            }
            if (o instanceof Already a) {
                n.answer(id, AdminReply.ok(a.message()));
                return;
            }
        }
        if (n.view().leader() == null || n.view().epoch() == 0) {
            refuse(id, "no-leader", "no host leads the cluster right now (an election is under way); retry shortly");
            return;
        }
        String rid = n.self().value() + "." + Long.toHexString(s) + "." + (++sequence);
        ChangeRequest req = ChangeRequest.pending(rid, n.self(), s, cmd, held);
        n.write(List.of(new CoordOp.PutRequest(req, CoordOp.NEW), new CoordOp.CheckSessionLive(n.self(), s)),
                outcome -> {
                    if (outcome != WriteOutcome.OK) {
                        refuse(id, "unavailable", "the coordination service did not take the request (" + outcome
                                + "); retry");
                        return;
                    }
                    waiting.put(rid, new Waiting(id, n.now() + Peers.ms(n.settings().adminTimeoutMs())));
                    onRequestChanged(rid);
                });
    }

    /**
     * What would happen if the hosts named failed now, from this host's view, with the leader's
     * placement code ({@link WhatIf}); read-only like status. Each phase is the median of the last
     * failovers this host led ({@link MeasuredPhases}) where it led any; else detection takes the
     * heartbeat timeout, proof of death the session timeout for a host without a fence device and
     * {@link WhatIf#FENCE_PROOF_ESTIMATE_MS} for one with, and a restart
     * {@link WhatIf#RESTART_ESTIMATE_MS}.
     */
    private void whatIf(long id, AdminCommand.WhatIf cmd) {
        ClusterState snapshot = n.view().snapshot();
        for (HostId h : cmd.hosts()) {
            if (!snapshot.hosts().containsKey(h)) {
                refuse(id, "unknown-host", "what-if: no host " + h + " in the cluster");
                return;
            }
        }
        MeasuredPhases m = n.measured;
        WhatIf.Timing timing = new WhatIf.Timing(m.detectMs(n.settings().heartbeatTimeoutMs()),
                m.expiryProofMs(n.settings().sessionTimeoutMs()), m.fencedProofMs(WhatIf.FENCE_PROOF_ESTIMATE_MS),
                m.restartMs(WhatIf.RESTART_ESTIMATE_MS));
        WhatIf.Report r = WhatIf.of(snapshot, cmd.hosts(), timing);
        String source = m.count() == 0 ? "; phases from the settings and estimates: " + n.self()
                + " has led no failover to measure" : "; phases measured: the median of the last " + m.count()
                + " failovers " + n.self() + " led, settings and estimates for a phase it has not seen";
        n.answer(id, AdminReply.whatIf(new WhatIf.Report(r.failing(), r.entries(), r.expectedRecoveryMs(),
                r.basis() + source), n.self()));
    }

    /** Why this host's view is partial, for the operator. */
    private String partialView() {
        return "host " + n.self() + " keeps only the VM records it needs (the cluster has "
                + n.view().hostIds().size() + " hosts; ownViewFromHosts is " + n.settings().ownViewFromHosts() + ")";
    }

    private String leaderHint() {
        HostId leader = n.view().leader();
        return leader == null ? "; no host leads right now" : "; the leader, " + leader + ", keeps every VM record";
    }

    private boolean heldHere(VmId vm) {
        DomainState here = host.domains().get(vm);
        return here == DomainState.RUNNING || here == DomainState.PAUSED;
    }

    /** Answers the operator once the leader's verdict on {@code rid} shows. */
    void onRequestChanged(String rid) {
        Waiting w = waiting.get(rid);
        if (w == null) {
            return;
        }
        Versioned<ChangeRequest> vr = n.view().request(rid);
        if (vr == null) {
            if (w.withdrawing) {
                return; // this host's own withdrawal: its outcome answers
            }
            waiting.remove(rid);
            refuse(w.replyId, "withdrawn", "the request was dropped before the leader decided on it; nothing changed");
            return;
        }
        ChangeRequest r = vr.value();
        if (r.pending()) {
            return;
        }
        waiting.remove(rid);
        n.answer(w.replyId, r.verdict() == ChangeRequest.Verdict.ACCEPTED ? AdminReply.ok(r.message())
                : AdminReply.error(r.code(), r.message()));
        n.write(List.of(new CoordOp.DeleteRequest(rid, vr.version())), outcome -> { });
    }

    /** Withdraws the requests the leader has not decided on in time. */
    void tick(long now) {
        for (Map.Entry<String, Waiting> e : new ArrayList<>(waiting.entrySet())) {
            String rid = e.getKey();
            Waiting w = e.getValue();
            Versioned<ChangeRequest> vr = n.view().request(rid);
            if (w.withdrawing || now < w.deadline || vr == null || !vr.value().pending()) {
                continue;
            }
            w.withdrawing = true; // one withdrawal at a time; its outcome or the verdict answers
            n.write(List.of(new CoordOp.DeleteRequest(rid, vr.version())), outcome -> {
                w.withdrawing = false;
                if (outcome == WriteOutcome.OK && waiting.remove(rid) != null) {
                    refuse(w.replyId, "timeout", "no leader decided on the request within "
                            + n.settings().adminTimeoutMs() + " ms; it was withdrawn and changed nothing");
                } else if (outcome != WriteOutcome.OK) {
                    w.deadline = n.now() + Peers.ms(n.settings().heartbeatTimeoutMs()); // decided meanwhile, or retry
                    onRequestChanged(rid);
                }
            });
        }
    }

    /** The leader's round over the requests ({@link AdminVerdicts}). */
    @Override
    public void serve(long epoch, long now) {
        verdicts.serve(epoch, now);
    }

    private void refuse(long id, String code, String message) {
        n.answer(id, AdminReply.error(code, message));
    }
}
