package io.havn.common.node;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostId;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.Clock;
import io.havn.common.port.CoordOp;
import io.havn.common.port.WatchdogStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What every part of one node shares: who it is, its settings and domain policy, the time, its view
 * of the cluster state, the writes in flight, and the effects the current step decided. The parts
 * ({@link HostAgent} and its {@link LeaseKeeper}, {@link Reconciler}, ...; {@link Manager} and its
 * {@link Leadership}, {@link Fencing}, ...; {@link AdminHandler}) reach each other only through the
 * small interfaces they are given, never through this.
 */
final class NodeContext {
    private record PendingWrite(List<CoordOp> ops, Consumer<WriteOutcome> then) { }

    private final Node.Identity identity;
    private final Settings settings;
    private final DomainPolicy domainPolicy;
    private final Clock clock;
    private final WatchdogStatus watchdog;
    private final ClusterView view = new ClusterView();
    private final RecordScope scope = new RecordScope(this);
    private final List<Effect> out = new ArrayList<>();
    private final Map<Long, PendingWrite> writes = new HashMap<>();
    private final Set<VmId> busyVms = new HashSet<>();
    /** The VM records this node's writes in flight put, by VM: where they will hold capacity once written. */
    private final java.util.Map<VmId, List<VmRecord>> inFlight = new java.util.HashMap<>();
    private final Set<HostId> busyHosts = new HashSet<>();
    private long nextToken;

    NodeContext(Node.Identity identity, Settings settings, DomainPolicy domainPolicy, Clock clock,
                WatchdogStatus watchdog) {
        this.identity = identity;
        this.settings = settings;
        this.domainPolicy = domainPolicy;
        this.clock = clock;
        this.watchdog = watchdog;
    }

    Node.Identity identity() {
        return identity;
    }

    HostId self() {
        return identity.id();
    }

    Settings settings() {
        return settings;
    }

    /** What a VM's domain XML may ask of this host; checked on vm-add and before every start. */
    DomainPolicy domainPolicy() {
        return domainPolicy;
    }

    /** What the watchdog says (its inputs); what the node tells it goes out as effects. */
    WatchdogStatus watchdog() {
        return watchdog;
    }

    ClusterView view() {
        return view;
    }

    /** Which VM records the view holds ({@link RecordScope}). */
    RecordScope scope() {
        return scope;
    }

    long now() {
        return clock.nanos();
    }

    Versioned<VmRecord> vm(VmId id) {
        return view.vm(id);
    }

    // ---- effects

    /** Adds one effect to what this step decided. */
    void emit(Effect effect) {
        out.add(effect);
    }

    /** What this step decided, in order; the next step starts empty. */
    List<Effect> drain() {
        if (out.isEmpty()) {
            return List.of(); // most steps (a heartbeat taken in) decide nothing
        }
        List<Effect> done = List.copyOf(out);
        out.clear();
        return done;
    }

    void decide(Decision.Kind kind, VmId vm, HostId subject, String detail) {
        emit(new Effect.Record(new Decision(now(), self(), kind, vm, subject, view.epoch(), detail)));
    }

    /** The phases of the failovers this node led, for what-if. */
    final MeasuredPhases measured = new MeasuredPhases();

    void recovered(VmId vm, HostId from, Decision.Timings timings, String detail) {
        measured.add(timings);
        emit(new Effect.Record(new Decision(now(), self(), Decision.Kind.RECOVERED, vm, from, view.epoch(), detail,
                timings)));
    }

    /** Answers an admin request. */
    void answer(long requestId, AdminReply reply) {
        emit(new Effect.Answer(requestId, reply));
    }

    long nextToken() {
        return ++nextToken;
    }

    // ---- writes to the cluster state

    /**
     * Where a VM is for the placement rules: where the view says it holds capacity, and also where
     * a write of this node in flight would have it hold capacity (the leader's placements and
     * migrations of this round and of the last ones not yet answered). Counting both is the safe
     * side: a hard rule then keeps others off either host.
     */
    List<HostId> hostsForRules(VmId vm) {
        List<HostId> now = view.hostsOf(vm);
        List<VmRecord> next = inFlight.get(vm);
        if (next == null) {
            return now;
        }
        List<HostId> out = new java.util.ArrayList<>(now);
        for (VmRecord r : next) {
            if (r.phase().holdsCapacity()) {
                if (!out.contains(r.owner())) {
                    out.add(r.owner());
                }
                if (r.phase() == io.havn.common.model.VmPhase.MIGRATING && r.target() != null
                        && !out.contains(r.target())) {
                    out.add(r.target());
                }
            }
        }
        return out;
    }

    boolean busy(VmId vm) {
        return busyVms.contains(vm);
    }

    boolean busy(HostId host) {
        return busyHosts.contains(host);
    }

    /**
     * Submits an atomic write. The VMs and hosts it puts are busy until its result; on success the
     * view takes the written records at once (their version is the expected one plus one).
     */
    void write(List<CoordOp> ops, Consumer<WriteOutcome> then) {
        long token = nextToken();
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.PutVm p) {
                busyVms.add(p.record().id());
                inFlight.computeIfAbsent(p.record().id(), k -> new java.util.ArrayList<>(1)).add(p.record());
            } else if (op instanceof CoordOp.PutHost p) {
                busyHosts.add(p.record().id());
            }
        }
        writes.put(token, new PendingWrite(List.copyOf(ops), then));
        emit(new Effect.Write(token, ops));
    }

    /**
     * Takes a write's result: frees what it held, puts what it wrote into the view on success (and
     * each host record it put to {@code hostPut}), then runs its continuation. Returns the write's
     * ops (for the parts to re-examine), or null for a token this node did not send.
     */
    List<CoordOp> writeDone(long token, WriteOutcome outcome, Consumer<HostId> hostPut) {
        PendingWrite w = writes.remove(token);
        if (w == null) {
            return null;
        }
        boolean ok = outcome == WriteOutcome.OK;
        for (CoordOp op : w.ops()) {
            if (op instanceof CoordOp.PutVm p) {
                busyVms.remove(p.record().id());
                List<VmRecord> mine = inFlight.get(p.record().id());
                if (mine != null) {
                    mine.remove(p.record());
                    if (mine.isEmpty()) {
                        inFlight.remove(p.record().id());
                    }
                }
                if (ok) {
                    view.putVm(p.record().id(), new Versioned<>(p.record(), p.expectedVersion() + 1));
                }
            } else if (op instanceof CoordOp.PutRequest p) {
                if (ok) {
                    view.putRequest(p.record().id(), new Versioned<>(p.record(), p.expectedVersion() + 1));
                }
            } else if (op instanceof CoordOp.DeleteRequest d) {
                if (ok) {
                    view.putRequest(d.id(), null);
                }
            } else if (op instanceof CoordOp.PutCluster p) {
                if (ok) {
                    view.putCluster(new Versioned<>(p.record(), p.expectedVersion() + 1));
                }
            } else if (op instanceof CoordOp.PutHost p) {
                busyHosts.remove(p.record().id());
                if (ok) {
                    view.putHost(p.record().id(), new Versioned<>(p.record(), p.expectedVersion() + 1), now());
                    hostPut.accept(p.record().id());
                }
            }
        }
        w.then().accept(outcome);
        return w.ops();
    }
}
