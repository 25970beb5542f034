package io.havn.common.node;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostAdminState;
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
import java.util.List;

/**
 * Operators' requests, on any live host. A request is validated against this node's view, then
 * recorded in the cluster state as intent by a compare-and-set (a move request, a desired state,
 * an admin state, a confirmation); the leader carries it out. Bad input changes nothing.
 */
final class AdminHandler {
    private final Node n;

    AdminHandler(Node node) {
        this.n = node;
    }

    void handle(long id, AdminCommand cmd) {
        if (cmd instanceof AdminCommand.Status) {
            n.ports.admin().reply(id, AdminReply.state(n.view.snapshot(), n.self, n.peerStats()));
            return;
        }
        if (n.agent.session() == 0 || !n.agent.registered()) {
            refuse(id, "unavailable", "host " + n.self + " has no coordination session right now; try another host");
            return;
        }
        if (cmd instanceof AdminCommand.Migrate c) {
            move(id, c.vm(), c.host(), true);
        } else if (cmd instanceof AdminCommand.Relocate c) {
            move(id, c.vm(), c.host(), false);
        } else if (cmd instanceof AdminCommand.Maintenance c) {
            maintenance(id, c.host(), c.on());
        } else if (cmd instanceof AdminCommand.FenceConfirm c) {
            fenceConfirm(id, c.host());
        } else if (cmd instanceof AdminCommand.VmStop c) {
            vmWrite(id, c.vm(), r -> r.desired() == DesiredState.STOPPED ? null : r.withDesired(DesiredState.STOPPED),
                    "stop");
        } else if (cmd instanceof AdminCommand.VmStart c) {
            vmWrite(id, c.vm(), r -> {
                if (r.phase() == VmPhase.ERROR) {
                    // a fresh start: forget the failures that led to the error
                    return new VmRecord(r.spec(), DesiredState.RUNNING, VmPhase.RECOVERING, null, 0, r.generation(),
                            null, 0, r.move(), 0, List.of(), "started by operator");
                }
                return r.desired() == DesiredState.RUNNING ? null : r.withDesired(DesiredState.RUNNING);
            }, "start");
        } else if (cmd instanceof AdminCommand.VmEnable c) {
            vmWrite(id, c.vm(), r -> r.spec().ha() ? null : r.withSpec(r.spec().withHa(true)), "enable HA");
        } else if (cmd instanceof AdminCommand.VmDisable c) {
            vmWrite(id, c.vm(), r -> r.spec().ha() ? r.withSpec(r.spec().withHa(false)) : null, "disable HA");
        } else if (cmd instanceof AdminCommand.VmAdd c) {
            add(id, c.spec());
        }
    }

    private void move(long id, VmId vm, HostId host, boolean live) {
        Versioned<VmRecord> vr = n.vm(vm);
        if (vr == null) {
            refuse(id, "unknown-vm", "no HA VM " + vm);
            return;
        }
        Versioned<HostRecord> hr = n.view.host(host);
        if (hr == null) {
            refuse(id, "unknown-host", "no host " + host);
            return;
        }
        VmRecord r = vr.value();
        if (n.view.liveSession(host) == 0) {
            refuse(id, "host-not-live", "host " + host + " is not live");
        } else if (hr.value().inMaintenance()) {
            refuse(id, "host-maintenance", "host " + host + " is in maintenance");
        } else if (r.phase() != VmPhase.RUNNING) {
            refuse(id, "vm-not-running", "VM " + vm + " is " + r.phase().name().toLowerCase() + ", not running");
        } else if (host.equals(r.owner())) {
            refuse(id, "already-there", "VM " + vm + " already runs on " + host);
        } else {
            submit(id, List.of(new CoordOp.PutVm(r.withMove(new MoveRequest(host, live)), vr.version())),
                    (live ? "migrate " : "relocate ") + vm + " to " + host);
        }
    }

    private void maintenance(long id, HostId host, boolean on) {
        Versioned<HostRecord> hr = n.view.host(host);
        if (hr == null) {
            refuse(id, "unknown-host", "no host " + host);
            return;
        }
        HostAdminState want = on ? HostAdminState.MAINTENANCE : HostAdminState.ACTIVE;
        if (hr.value().admin() == want) {
            n.ports.admin().reply(id, AdminReply.ok("host " + host + " is already " + want.name().toLowerCase()));
            return;
        }
        n.decide(Kind.MAINTENANCE, null, host, on ? "on" : "off");
        submit(id, List.of(new CoordOp.PutHost(hr.value().withAdmin(want), hr.version())),
                "maintenance " + (on ? "on" : "off") + " for " + host);
    }

    private void fenceConfirm(long id, HostId host) {
        Versioned<HostRecord> hr = n.view.host(host);
        if (hr == null) {
            refuse(id, "unknown-host", "no host " + host);
            return;
        }
        if (host.equals(n.self)) {
            refuse(id, "bad-request", "host " + host + " cannot confirm itself powered off");
            return;
        }
        if (n.peers.health(host, n.now()) != Peers.Health.UNKNOWN) {
            refuse(id, "host-alive", "host " + host + " is sending heartbeats: it is not off");
            return;
        }
        n.decide(Kind.ADMIN, null, host, "operator confirmed powered off");
        n.manager.recordOff(host, outcome -> answer(id, outcome, "fence confirm " + host));
    }

    private void add(long id, VmSpec spec) {
        if (n.vm(spec.id()) != null) {
            refuse(id, "exists", "VM " + spec.id() + " is already under HA");
            return;
        }
        long s = n.agent.session();
        DomainState here = n.agent.domains().get(spec.id());
        VmRecord rec;
        List<CoordOp> ops;
        if (here == DomainState.RUNNING || here == DomainState.PAUSED) {
            rec = VmRecord.running(spec, n.self, s);
            ops = List.of(new CoordOp.PutVm(rec, CoordOp.NEW), new CoordOp.CheckSessionLive(n.self, s));
        } else {
            rec = new VmRecord(spec, DesiredState.RUNNING, VmPhase.RECOVERING, null, 0, 0, null, 0, null, 0,
                    List.of(), "added; not running anywhere yet");
            ops = List.of(new CoordOp.PutVm(rec, CoordOp.NEW));
        }
        submit(id, ops, "add " + spec.id());
    }

    private void vmWrite(long id, VmId vm, java.util.function.UnaryOperator<VmRecord> change, String what) {
        Versioned<VmRecord> vr = n.vm(vm);
        if (vr == null) {
            refuse(id, "unknown-vm", "no HA VM " + vm);
            return;
        }
        VmRecord next = change.apply(vr.value());
        if (next == null) {
            n.ports.admin().reply(id, AdminReply.ok(what + " " + vm + ": nothing to change"));
            return;
        }
        submit(id, List.of(new CoordOp.PutVm(next, vr.version())), what + " " + vm);
    }

    private void submit(long id, List<CoordOp> ops, String what) {
        n.write(ops, outcome -> answer(id, outcome, what));
    }

    private void answer(long id, WriteOutcome outcome, String what) {
        switch (outcome) {
            case OK -> {
                n.decide(Kind.ADMIN, null, null, what);
                n.ports.admin().reply(id, AdminReply.ok(what + ": accepted"));
            }
            case CONFLICT -> refuse(id, "conflict", what + ": the cluster state changed meanwhile; retry");
            case FAILED -> refuse(id, "unavailable", what + ": the coordination service did not answer; retry");
        }
    }

    private void refuse(long id, String code, String message) {
        n.ports.admin().reply(id, AdminReply.error(code, message));
    }
}
