package io.havn.common.node;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Json;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.ClusterState;
import io.havn.common.place.Admission;
import io.havn.common.place.Planner;
import io.havn.common.place.StateView;
import io.havn.common.place.PolicyCheck;
import io.havn.common.model.MoveRequest;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Decision.Kind;
import io.havn.common.port.CoordOp;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The checks on an operator's request, against any view: the origin runs them so that bad input
 * is refused at once and changes nothing, the leader again before it writes its verdict. It holds
 * rule 4's part of a fence confirm (refused while the host is heard or its session is live; the
 * write checks at the quorum that every session its VMs are bound to is gone) and the domain
 * policy on vm-add. It exists so that what an operator may change is decided in one class.
 */
final class AdminChecks {
    /** What checking a command against a view concluded. */
    sealed interface Outcome { }

    record Refuse(String code, String message) implements Outcome { }

    /** Nothing to change: already so. */
    record Already(String message) implements Outcome { }

    /** The writes that carry the change out, what to call it, and what to do once it is written. */
    record Change(List<CoordOp> ops, String what, Runnable after) implements Outcome { }

    private final NodeContext n;
    private final Liveness live;
    /** Closes every session of a host confirmed off (the manager's part of fence-confirm). */
    private final Consumer<HostId> evictAll;

    AdminChecks(NodeContext context, Liveness live, Consumer<HostId> evictAll) {
        this.n = context;
        this.live = live;
        this.evictAll = evictAll;
    }

    /**
     * Checks {@code cmd}, taken by {@code origin} in {@code session}, against this node's view: a
     * refusal naming what is wrong, "already so", or the writes that carry it out.
     */
    Outcome check(AdminCommand cmd, HostId origin, long session, boolean heldByOrigin) {
        Outcome o = checkOnly(cmd, origin, session, heldByOrigin);
        if (o instanceof Change c && (cmd instanceof AdminCommand.VmAdd || cmd instanceof AdminCommand.VmStart
                || (cmd instanceof AdminCommand.Maintenance m && m.on()))) {
            String refusal = admission(c);
            if (refusal != null) {
                return new Refuse("admission", refusal);
            }
        }
        return o;
    }

    /**
     * Strict admission control ({@link PlacementPolicy#strict()}): whether the change's writes would
     * leave the cluster able to absorb fewer host failures than wanted, and fewer than now
     * ({@link Admission#refusal}); null when it may go ahead. A VM that the change wants running but
     * that holds no host yet counts where the leader would place it now. Costs two assessments on
     * this thread (see {@link Admission}), and only in strict mode.
     */
    private String admission(Change c) {
        PlacementPolicy p = n.view().cluster().placement();
        if (!p.strict() || p.tolerate() == 0) {
            return null;
        }
        ClusterState before = n.view().snapshot();
        java.util.SortedMap<HostId, HostRecord> hosts = new java.util.TreeMap<>(before.hosts());
        java.util.SortedMap<VmId, VmRecord> vms = new java.util.TreeMap<>(before.vms());
        for (CoordOp op : c.ops()) {
            if (op instanceof CoordOp.PutHost ph) {
                hosts.put(ph.record().id(), ph.record());
            } else if (op instanceof CoordOp.PutVm pv) {
                VmRecord r = pv.record();
                if (r.desired() == DesiredState.RUNNING && r.spec().ha() && !r.phase().holdsCapacity()) {
                    r = placedNow(before, r);
                }
                if (r != null) {
                    vms.put(r.id(), r);
                }
            }
        }
        ClusterState after = new ClusterState(before.epoch(), before.leader(), hosts, before.live(), vms,
                before.cluster());
        return Admission.refusal(before, after);
    }

    /** {@code r} running where the leader would place it now, or null if it fits nowhere. */
    private VmRecord placedNow(ClusterState state, VmRecord r) {
        StateView view = StateView.of(state);
        Planner.Plan plan = new Planner(n.view().rules()).place(List.of(new io.havn.common.place.Placement.Request(
                r.id(), r.spec().priority(), r.spec().cpus(), r.spec().memoryMiB(), java.util.Set.of(), null)),
                view.eligibleFree(), view.locator());
        HostId h = plan.placed().get(r.id());
        return h == null ? null : VmRecord.running(r.spec(), h, view.liveSession(h));
    }

    private Outcome checkOnly(AdminCommand cmd, HostId origin, long session, boolean heldByOrigin) {
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
        } else if (cmd instanceof AdminCommand.Disarm c) {
            return disarm(c.watchdogs());
        } else if (cmd instanceof AdminCommand.Arm) {
            return arm();
        } else if (cmd instanceof AdminCommand.SetShutdownPolicy c) {
            return shutdownPolicy(c.host(), c.policy());
        } else if (cmd instanceof AdminCommand.RuleAdd c) {
            PlacementPolicy p = n.view().cluster().placement();
            if (p.rule(c.rule().id()) != null) {
                return c.rule().equals(p.rule(c.rule().id())) ? new Already("rule " + c.rule().id() + " is already so")
                        : new Refuse("exists", "rule " + c.rule().id() + " exists; remove it first");
            }
            return placement(p.withRule(c.rule()), "add " + c.rule().kind() + " rule " + c.rule().id());
        } else if (cmd instanceof AdminCommand.RuleRemove c) {
            PlacementPolicy p = n.view().cluster().placement();
            if (p.rule(c.id()) == null) {
                return new Refuse("unknown-rule", "no rule " + c.id());
            }
            return placement(p.withoutRule(c.id()), "remove rule " + c.id());
        } else if (cmd instanceof AdminCommand.GroupSet c) {
            PlacementPolicy p = n.view().cluster().placement();
            if (!Rule.NAME.matcher(c.group()).matches()) {
                return new Refuse("bad-request", "invalid group name '" + c.group() + "'");
            }
            if (c.hosts().isEmpty()) {
                return new Refuse("bad-request", "group " + c.group() + " needs at least one host");
            }
            Set<HostId> hosts = new TreeSet<>(c.hosts());
            if (hosts.equals(p.groups().get(c.group()))) {
                return new Already("group " + c.group() + " already has hosts " + hosts);
            }
            return placement(p.withGroup(c.group(), hosts), "set group " + c.group() + " to " + hosts);
        } else if (cmd instanceof AdminCommand.GroupRemove c) {
            PlacementPolicy p = n.view().cluster().placement();
            if (!p.groups().containsKey(c.group())) {
                return new Refuse("unknown-group", "no host group " + c.group());
            }
            for (Rule r : p.rules()) {
                if (r instanceof Rule.OnHosts o && o.groups().contains(c.group())) {
                    return new Refuse("group-in-use", "group " + c.group() + " is used by rule " + r.id()
                            + "; remove or change that rule first");
                }
            }
            return placement(p.withGroup(c.group(), null), "remove group " + c.group());
        } else if (cmd instanceof AdminCommand.SetAdmission c) {
            PlacementPolicy p = n.view().cluster().placement();
            if (c.tolerate() < 0 || c.tolerate() > PlacementPolicy.MAX_TOLERATE) {
                return new Refuse("bad-request", "tolerate must be between 0 and " + PlacementPolicy.MAX_TOLERATE
                        + ", got " + c.tolerate());
            }
            PlacementPolicy next = p.withAdmission(c.tolerate(), c.strict(), new TreeSet<>(c.reserved()));
            if (next.equals(p)) {
                return new Already("admission control is already so");
            }
            return placement(next, "admission control: tolerate " + c.tolerate() + " host failure"
                    + (c.tolerate() == 1 ? "" : "s") + (c.strict() ? ", strict" : "")
                    + (c.reserved().isEmpty() ? "" : ", reserved failover hosts " + new TreeSet<>(c.reserved())));
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
        } else if (hr.value().shuttingDown(n.view().liveSession(host))) {
            return new Refuse("host-shutting-down", "host " + host + " is shutting down");
        } else if (host.equals(r.owner())) {
            return new Refuse("already-there", "VM " + vm + " already runs on " + host);
        } else if (r.phase() != VmPhase.RUNNING) {
            return new Refuse("vm-not-running", "VM " + vm + " is " + r.phase().name().toLowerCase()
                    + ", not running");
        }
        if (n.view().cluster().placement().reserved().contains(host)) {
            return new Refuse("host-reserved", "host " + host + " is a reserved failover host: it takes VMs only "
                    + "when they are recovered");
        }
        String breaks = new Planner(n.view().rules()).breaks(vm, host, n::hostsForRules);
        if (breaks != null) {
            return new Refuse("rule-broken", "moving " + vm + " to " + host + " would break " + breaks);
        }
        if (!hr.value().reaches(r.spec().datastores())) {
            return new Refuse("storage-unreachable", "host " + host + " does not reach datastore(s) "
                    + String.join(", ", r.spec().datastores()) + " of VM " + vm + " now");
        }
        HostCapacity f = n.view().free(List.of(host)).get(host);
        if (!f.fits(r.spec().cpus(), r.spec().memoryMiB())) {
            return new Refuse("no-capacity", "host " + host + " has " + f.cpus() + " cpus and " + f.memoryMiB()
                    + " MiB free; VM " + vm + " needs " + r.spec().cpus() + " and " + r.spec().memoryMiB());
        }
        return new Change(List.of(new CoordOp.PutVm(r.withMove(new MoveRequest(host, live)), vr.version())),
                (live ? "migrate " : "relocate ") + vm + " to " + host, null);
    }

    /**
     * The largest cluster record havn writes: ZooKeeper refuses a znode over about 1 MB
     * ({@code jute.maxbuffer}), and the record carries its seal too.
     */
    static final int MAX_CLUSTER_RECORD_BYTES = 900_000;

    /** A new placement policy, checked whole (rules against each other, hosts, VMs, present places). */
    private Outcome placement(PlacementPolicy next, String what) {
        PolicyCheck.Refusal ref = PolicyCheck.check(next, n.view().capacities(), n.view().specs(), n::hostsForRules);
        if (ref != null) {
            return new Refuse(ref.code(), ref.message());
        }
        ClusterRecord c = n.view().cluster().withPlacement(next);
        int size = Json.toBytes(c).length;
        if (size > MAX_CLUSTER_RECORD_BYTES) {
            return new Refuse("too-large", "the placement policy would take " + size + " bytes; the cluster record "
                    + "holds at most " + MAX_CLUSTER_RECORD_BYTES + " (fewer or larger rules: one rule may name many VMs)");
        }
        return new Change(List.of(new CoordOp.PutCluster(c, n.view().clusterVersion())), what, null);
    }

    private Outcome disarm(ClusterRecord.Disarm mode) {
        ClusterRecord c = n.view().cluster();
        if (c.disarmed() == mode) {
            return new Already("the cluster is already disarmed (" + mode.word() + " watchdogs)");
        }
        ClusterRecord next = c.disarm(mode);
        return new Change(List.of(new CoordOp.PutCluster(next, n.view().clusterVersion())),
                "disarm the cluster (" + mode.word() + " watchdogs, generation " + next.generation() + ")",
                () -> n.decide(Kind.DISARMED, null, null, "the cluster is disarmed (" + mode.word()
                        + " watchdogs): nothing is fenced, self-fenced or restarted elsewhere until it is armed"));
    }

    private Outcome arm() {
        ClusterRecord c = n.view().cluster();
        if (c.armed()) {
            return new Already("the cluster is already armed");
        }
        ClusterRecord next = c.arm();
        return new Change(List.of(new CoordOp.PutCluster(next, n.view().clusterVersion())),
                "arm the cluster (generation " + next.generation() + ")",
                () -> n.decide(Kind.ARMED, null, null, "the cluster is armed: a host's expiry proves it dead again "
                        + "only once that host has acknowledged this arm in its session; until then only a fence or "
                        + "fence confirm does"));
    }

    private Outcome shutdownPolicy(HostId host, ShutdownPolicy policy) {
        if (host == null) {
            ClusterRecord c = n.view().cluster();
            if (c.shutdownPolicy() == policy) {
                return new Already("the cluster's shutdown policy is already " + policy.word());
            }
            return new Change(List.of(new CoordOp.PutCluster(c.withShutdownPolicy(policy), n.view().clusterVersion())),
                    "shutdown policy " + policy.word() + " for the cluster", null);
        }
        Versioned<HostRecord> hr = n.view().host(host);
        if (hr == null) {
            return new Refuse("unknown-host", "no host " + host);
        }
        if (hr.value().shutdownPolicy() == policy) {
            return new Already(policy == null ? "host " + host + " already follows the cluster's shutdown policy"
                    : "host " + host + "'s shutdown policy is already " + policy.word());
        }
        return new Change(List.of(new CoordOp.PutHost(hr.value().withShutdownPolicy(policy), hr.version())),
                policy == null ? "host " + host + " follows the cluster's shutdown policy"
                        : "shutdown policy " + policy.word() + " for " + host, null);
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
        String alive = live.aliveApart(host, n.now());
        if (alive != null) {
            return new Refuse("host-alive", "host " + host + " is not off: " + alive);
        }
        HostRecord.PlannedRestart restart = hr.value().restart();
        if (restart != null
                && n.now() < n.view().restartHoldsUntil(host, restart.session(), n.settings())) {
            return new Refuse("host-alive", "host " + host + "'s daemon announced a planned restart: its VMs may run "
                    + "on while it is away, so it cannot be confirmed off yet");
        }
        if (!n.view().live(host).isEmpty()) {
            // a host that still confirms its session to a quorum is running, whatever its heartbeats say
            return new Refuse("host-alive", "host " + host + " still holds a live coordination session: it is "
                    + "not off (a powered-off host's session expires within " + n.settings().sessionTimeoutMs() + " ms)");
        }
        if (hr.value().offConfirmed()) {
            return new Already("host " + host + " is already recorded powered off");
        }
        List<CoordOp> ops = new ArrayList<>();
        ops.add(new CoordOp.PutHost(hr.value().withOffConfirmed(true), hr.version()));
        // and in the same write: none of the sessions its VMs are bound to is live at the quorum
        Set<Long> bound = new TreeSet<>();
        for (VmId vm : n.view().vmsOf(host)) {
            VmRecord r = n.vm(vm).value();
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
        if (spec.storageErrorPolicy() == io.havn.common.model.StorageErrorPolicy.RESTART_ELSEWHERE
                && spec.datastores().isEmpty()) {
            return new Refuse("bad-request", "VM " + spec.id() + ": on-storage-error restart-elsewhere needs its "
                    + "datastores (--datastore): without them no host can tell that another reaches its storage");
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
}
