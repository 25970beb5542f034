package io.havn.common.node;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.MoveRequest;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Operators' requests. Status is answered by the host that takes it, from its own view. A change
 * is checked there first, so that bad input is refused at once and changes nothing; then it goes
 * to the leader as a {@link ChangeRequest} in the cluster state. The leader checks it again against
 * its own view and writes its verdict together with the change, atomically and under its epoch
 * (rule 2); the origin answers the operator with that verdict, or, when no verdict comes in time,
 * withdraws the request (a compare-and-set, so it is either withdrawn or decided, never both).
 */
final class AdminHandler implements Manager.Requests {
    /** What checking a command against a view concluded. */
    private sealed interface Outcome { }

    private record Refuse(String code, String message) implements Outcome { }

    /** Nothing to change: already so. */
    private record Already(String message) implements Outcome { }

    /** The writes that carry the change out, what to call it, and what to do once it is written. */
    private record Change(List<CoordOp> ops, String what, Runnable after) implements Outcome { }

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
    /** Closes every session of a host confirmed off (the manager's part of fence-confirm). */
    private final java.util.function.Consumer<HostId> evictAll;
    private final Map<String, Waiting> waiting = new HashMap<>();
    private long sequence;
    /** Requests the leader is writing a verdict for. */
    private final Set<String> deciding = new HashSet<>();
    /** When this leader first saw each decided or orphaned request, to remove it if nobody else does. */
    private final Map<String, Long> leftover = new HashMap<>();

    AdminHandler(NodeContext context, Liveness live, Host host, java.util.function.Consumer<HostId> evictAll) {
        this.n = context;
        this.live = live;
        this.host = host;
        this.evictAll = evictAll;
    }

    // ---------------------------------------------------------------- the origin

    void handle(long id, AdminCommand cmd, Caller caller) {
        if (!caller.role().covers(cmd.role())) {
            refuse(id, "denied", "denied: " + cmd.name() + " needs role " + cmd.role() + "; " + caller.user()
                    + " has " + caller.role());
            return;
        }
        if (cmd instanceof AdminCommand.Status) {
            n.answer(id, AdminReply.state(n.view().snapshot(), n.self(), live.peers().stats(n.now())));
            return;
        }
        long s = host.session();
        if (s == 0 || !host.registered()) {
            refuse(id, "unavailable", "host " + n.self() + " has no coordination session right now; try another host");
            return;
        }
        boolean held = cmd instanceof AdminCommand.VmAdd a && heldHere(a.spec().id());
        Outcome o = check(cmd, n.self(), s, held);
        if (o instanceof Refuse r) {
            refuse(id, r.code(), r.message());
            return;
        }
        if (o instanceof Already a) {
            n.answer(id, AdminReply.ok(a.message()));
            return;
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

    // ---------------------------------------------------------------- the leader

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
        Outcome o = check(r.command(), r.origin(), r.originSession(), r.heldByOrigin());
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

    // ---------------------------------------------------------------- the checks, on any view

    /**
     * Checks {@code cmd}, taken by {@code origin} in {@code session}, against this node's view: a
     * refusal naming what is wrong, "already so", or the writes that carry it out.
     */
    private Outcome check(AdminCommand cmd, HostId origin, long session, boolean heldByOrigin) {
        if (cmd instanceof AdminCommand.Migrate c) {
            return move(c.vm(), c.host(), true);
        } else if (cmd instanceof AdminCommand.Relocate c) {
            return move(c.vm(), c.host(), false);
        } else if (cmd instanceof AdminCommand.Maintenance c) {
            return maintenance(c.host(), c.on());
        } else if (cmd instanceof AdminCommand.FenceConfirm c) {
            return fenceConfirm(c.host(), origin);
        } else if (cmd instanceof AdminCommand.VmStop c) {
            return vmWrite(c.vm(), r -> r.desired() == DesiredState.STOPPED ? null
                    : r.withDesired(DesiredState.STOPPED), "stop");
        } else if (cmd instanceof AdminCommand.VmStart c) {
            return vmWrite(c.vm(), r -> {
                if (r.phase() == VmPhase.ERROR) {
                    // a fresh start: forget the failures that led to the error
                    return new VmRecord(r.spec(), DesiredState.RUNNING, VmPhase.RECOVERING, null, 0, r.generation(),
                            null, 0, r.move(), 0, List.of(), "started by operator");
                }
                return r.desired() == DesiredState.RUNNING ? null : r.withDesired(DesiredState.RUNNING);
            }, "start");
        } else if (cmd instanceof AdminCommand.VmEnable c) {
            return vmWrite(c.vm(), r -> r.spec().ha() ? null : r.withSpec(r.spec().withHa(true)), "enable HA");
        } else if (cmd instanceof AdminCommand.VmDisable c) {
            return vmWrite(c.vm(), r -> r.spec().ha() ? r.withSpec(r.spec().withHa(false)) : null, "disable HA");
        } else if (cmd instanceof AdminCommand.VmAdd c) {
            return add(c.spec(), origin, session, heldByOrigin);
        }
        return new Refuse("bad-request", "unknown command " + cmd);
    }

    private Outcome move(VmId vm, HostId host, boolean live) {
        Versioned<VmRecord> vr = n.vm(vm);
        if (vr == null) {
            return new Refuse("unknown-vm", "no HA VM " + vm);
        }
        Versioned<HostRecord> hr = n.view().host(host);
        if (hr == null) {
            return new Refuse("unknown-host", "no host " + host);
        }
        VmRecord r = vr.value();
        if (n.view().liveSession(host) == 0) {
            return new Refuse("host-not-live", "host " + host + " is not live");
        } else if (hr.value().inMaintenance()) {
            return new Refuse("host-maintenance", "host " + host + " is in maintenance");
        } else if (host.equals(r.owner())) {
            return new Refuse("already-there", "VM " + vm + " already runs on " + host);
        } else if (r.phase() != VmPhase.RUNNING) {
            return new Refuse("vm-not-running", "VM " + vm + " is " + r.phase().name().toLowerCase()
                    + ", not running");
        }
        HostCapacity f = n.view().free(List.of(host)).get(host);
        if (!f.fits(r.spec().cpus(), r.spec().memoryMiB())) {
            return new Refuse("no-capacity", "host " + host + " has " + f.cpus() + " cpus and " + f.memoryMiB()
                    + " MiB free; VM " + vm + " needs " + r.spec().cpus() + " and " + r.spec().memoryMiB());
        }
        return new Change(List.of(new CoordOp.PutVm(r.withMove(new MoveRequest(host, live)), vr.version())),
                (live ? "migrate " : "relocate ") + vm + " to " + host, null);
    }

    private Outcome maintenance(HostId host, boolean on) {
        Versioned<HostRecord> hr = n.view().host(host);
        if (hr == null) {
            return new Refuse("unknown-host", "no host " + host);
        }
        HostAdminState want = on ? HostAdminState.MAINTENANCE : HostAdminState.ACTIVE;
        if (hr.value().admin() == want) {
            return new Already("host " + host + " is already " + want.name().toLowerCase());
        }
        return new Change(List.of(new CoordOp.PutHost(hr.value().withAdmin(want), hr.version())),
                "maintenance " + (on ? "on" : "off") + " for " + host,
                () -> n.decide(Kind.MAINTENANCE, null, host, on ? "on" : "off"));
    }

    private Outcome fenceConfirm(HostId host, HostId origin) {
        Versioned<HostRecord> hr = n.view().host(host);
        if (hr == null) {
            return new Refuse("unknown-host", "no host " + host);
        }
        if (host.equals(origin)) {
            return new Refuse("bad-request", "host " + host + " cannot confirm itself powered off");
        }
        if (host.equals(n.self())) {
            return new Refuse("host-alive", "host " + host + " leads the cluster: it is not powered off");
        }
        if (live.peers().health(host, n.now()) != Peers.Health.UNKNOWN) {
            return new Refuse("host-alive", "host " + host + " is sending heartbeats: it is not off");
        }
        if (!n.view().live(host).isEmpty()) {
            // a host that still confirms its session to a quorum is running, whatever its heartbeats say
            return new Refuse("host-alive", "host " + host + " still holds a live coordination session: it is "
                    + "not off (a powered-off host's session expires within " + n.settings().sessionTimeoutMs() + " ms)");
        }
        if (hr.value().offConfirmed()) {
            return new Already("host " + host + " is already recorded powered off");
        }
        List<CoordOp> ops = new java.util.ArrayList<>();
        ops.add(new CoordOp.PutHost(hr.value().withOffConfirmed(true), hr.version()));
        // and in the same write: none of the sessions its VMs are bound to is live at the quorum
        java.util.Set<Long> bound = new java.util.TreeSet<>();
        for (io.havn.common.model.VmId vm : n.view().vmsOf(host)) {
            io.havn.common.model.VmRecord r = n.vm(vm).value();
            if (host.equals(r.owner()) && r.ownerSession() != 0) {
                bound.add(r.ownerSession());
            }
            if (host.equals(r.target()) && r.targetSession() != 0) {
                bound.add(r.targetSession());
            }
        }
        for (long s : bound) {
            ops.add(new CoordOp.CheckSessionGone(host, s));
        }
        return new Change(List.copyOf(ops),
                "fence confirm " + host, () -> {
                    n.decide(Kind.ADMIN, null, host, "operator confirmed powered off");
                    evictAll.accept(host);
                });
    }

    private Outcome add(VmSpec spec, HostId origin, long session, boolean heldByOrigin) {
        String refusal = n.domainPolicy().refusal(spec);
        if (refusal != null) {
            return new Refuse("refused-domain", refusal + " (checked by " + n.self() + ")");
        }
        if (n.vm(spec.id()) != null) {
            return new Refuse("exists", "VM " + spec.id() + " is already under HA");
        }
        if (heldByOrigin) {
            return new Change(List.of(new CoordOp.PutVm(VmRecord.running(spec, origin, session), CoordOp.NEW),
                    new CoordOp.CheckSessionLive(origin, session)), "add " + spec.id() + " (running on " + origin
                    + ")", null);
        }
        VmRecord rec = new VmRecord(spec, DesiredState.RUNNING, VmPhase.RECOVERING, null, 0, 0, null, 0, null, 0,
                List.of(), "added; not running anywhere yet");
        return new Change(List.of(new CoordOp.PutVm(rec, CoordOp.NEW)), "add " + spec.id(), null);
    }

    private Outcome vmWrite(VmId vm, UnaryOperator<VmRecord> change, String what) {
        Versioned<VmRecord> vr = n.vm(vm);
        if (vr == null) {
            return new Refuse("unknown-vm", "no HA VM " + vm);
        }
        VmRecord next = change.apply(vr.value());
        if (next == null) {
            return new Already(what + " " + vm + ": nothing to change");
        }
        return new Change(List.of(new CoordOp.PutVm(next, vr.version())), what + " " + vm, null);
    }

    private void refuse(long id, String code, String message) {
        n.answer(id, AdminReply.error(code, message));
    }
}
