package io.havn.common.node;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.port.Clock;
import io.havn.common.port.CoordOp;
import io.havn.common.port.WatchdogStatus;
import io.havn.common.node.NodeEvent.WriteOutcome;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * All of one host's logic: the host agent (every host) and the manager (the leader only), driven by
 * {@link NodeEvent}s and its own timer. It calls no port: each step returns its {@link Effect}s as
 * values, and {@link NodeDriver} carries them out on the ports in {@link NodePorts}.
 *
 * <p>Threading: not thread-safe. {@link #start()}, {@link #handle(NodeEvent)} and the scheduler's
 * tasks must all run on one thread (the daemon's event loop, or the simulator). Nothing here blocks,
 * reads real time or makes unseeded randomness, so a run is a pure function of its events.
 */
public final class Node {
    /**
     * Static facts about this host, from its config, and this daemon's incarnation (see
     * {@link Heartbeat#incarnation()}): it must grow with every start of the daemon on this host.
     */
    public record Identity(HostId id, HostCapacity capacity, String address, String fenceDevice, long incarnation) {
        public Identity {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(capacity, "capacity");
        }

        /** An identity of incarnation 0 (tests, one-off nodes). */
        public Identity(HostId id, HostCapacity capacity, String address, String fenceDevice) {
            this(id, capacity, address, fenceDevice, 0);
        }
    }

    private record PendingWrite(List<CoordOp> ops, Consumer<WriteOutcome> then) { }

    final Identity identity;
    final HostId self;
    final Settings settings;
    /** What a VM's domain XML may ask of this host; checked on vm-add and before every start. */
    final DomainPolicy domainPolicy;
    private final Clock clock;
    /** What the watchdog says (its inputs); what the node tells it goes out as effects. */
    final WatchdogStatus watchdog;
    /** What the node decided in the current step, in order; handed out at its end. */
    private final List<Effect> out = new ArrayList<>();
    final ClusterView view = new ClusterView();
    final Peers peers;
    final HostAgent agent;
    final Manager manager;
    final AdminHandler admin;

    private final Map<Long, PendingWrite> writes = new HashMap<>();
    private final Set<VmId> busyVms = new HashSet<>();
    private final Set<HostId> busyHosts = new HashSet<>();
    private long nextToken;
    private long healthySince = Long.MIN_VALUE;
    /** Since when this node has not seen a strict majority healthy (MIN_VALUE while it does). */
    private long unhealthySince = Long.MIN_VALUE;
    private long lastHeartbeatSent = Long.MIN_VALUE;
    private boolean started;
    private boolean stopped;

    /** A node with {@link DomainPolicy#none()}: it starts only VMs whose domain XML names no host path. */
    public Node(Identity identity, Settings settings, Clock clock, WatchdogStatus watchdog) {
        this(identity, settings, DomainPolicy.none(), clock, watchdog);
    }

    /**
     * A node reading time from {@code clock} and the watchdog's state from {@code watchdog}; every
     * other input comes as a {@link NodeEvent}, every output leaves as an {@link Effect}.
     */
    public Node(Identity identity, Settings settings, DomainPolicy domainPolicy, Clock clock,
                WatchdogStatus watchdog) {
        this.identity = Objects.requireNonNull(identity, "identity");
        this.self = identity.id();
        this.settings = Objects.requireNonNull(settings, "settings").validate();
        this.domainPolicy = Objects.requireNonNull(domainPolicy, "domainPolicy");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.watchdog = Objects.requireNonNull(watchdog, "watchdog");
        this.peers = new Peers(self, identity.incarnation(), settings);
        this.agent = new HostAgent(this);
        this.manager = new Manager(this);
        this.admin = new AdminHandler(this);
    }

    public HostId id() {
        return self;
    }

    /** Begins: lists local domains, opens a coordination session, starts the timer. Once only. */
    public List<Effect> start() {
        if (started) {
            throw new IllegalStateException("node " + self + " already started");
        }
        started = true;
        agent.start();
        scheduleTick();
        return drain();
    }

    /** Stops reacting (the daemon is shutting down or has died in a simulation). VMs are left alone. */
    public void stop() {
        stopped = true;
    }

    public boolean isLeader() {
        return manager.active();
    }

    /** Whether this host has reconciled and takes work. */
    public boolean isReady() {
        return agent.ready();
    }

    public boolean isFrozen() {
        return agent.frozen();
    }

    /** Whether this host has self-fenced since its last confirmation (it runs no HA VM). */
    public boolean isSelfFenced() {
        return agent.selfFenced();
    }

    public long epoch() {
        return view.epoch();
    }

    /** A snapshot of this node's view of the cluster state. */
    public io.havn.common.model.ClusterState clusterState() {
        return view.snapshot();
    }

    /** This node's view of each peer's heartbeats now. Must run on the node's thread. */
    public java.util.List<PeerStat> peerStats() {
        return peers.stats(now());
    }

    /** Handles one event; returns what the node decided to do, in order. Must run on the node's thread. */
    public List<Effect> handle(NodeEvent event) {
        if (stopped) {
            return List.of();
        }
        step(event, now());
        return drain();
    }

    private void step(NodeEvent event, long now) {
        if (event instanceof NodeEvent.HeartbeatReceived e) {
            onHeartbeat(e.heartbeat(), now);
        } else if (event instanceof NodeEvent.SessionStarted e) {
            agent.onSessionStarted(e.session(), e.timeoutMs());
        } else if (event instanceof NodeEvent.SessionEnded e) {
            agent.onSessionEnded(e.session());
        } else if (event instanceof NodeEvent.Confirmed e) {
            agent.onConfirmed(e.token(), e.ok());
        } else if (event instanceof NodeEvent.LeadershipChanged e) {
            manager.onLeadership(e.leader());
        } else if (event instanceof NodeEvent.EpochClaimed e) {
            manager.onEpochClaimed(e.token(), e.epoch());
        } else if (event instanceof NodeEvent.WriteDone e) {
            onWriteDone(e);
        } else if (event instanceof NodeEvent.VmChanged e) {
            view.putVm(e.vm(), e.record());
            agent.reconcile(e.vm());
            manager.onVmChanged(e.vm(), now);
        } else if (event instanceof NodeEvent.RequestChanged e) {
            view.putRequest(e.id(), e.record());
            admin.onRequestChanged(e.id());
            manager.onRequestChanged(now);
        } else if (event instanceof NodeEvent.HostChanged e) {
            view.putHost(e.host(), e.record());
            if (e.record() == null) {
                peers.remove(e.host());
            } else {
                peers.add(e.host(), now);
            }
        } else if (event instanceof NodeEvent.LiveChanged e) {
            view.setLive(e.host(), e.sessions(), now);
        } else if (event instanceof NodeEvent.EpochChanged e) {
            view.setEpoch(e.epoch(), e.leader());
            manager.onEpochChanged();
        } else if (event instanceof NodeEvent.DomainsListed e) {
            agent.onDomainsListed(e.domains());
        } else if (event instanceof NodeEvent.HypervisorDone e) {
            agent.onHypervisorDone(e);
        } else if (event instanceof NodeEvent.HypervisorLate e) {
            agent.onHypervisorLate(e);
        } else if (event instanceof NodeEvent.DomainChanged e) {
            agent.onDomainChanged(e);
        } else if (event instanceof NodeEvent.FenceDone e) {
            manager.onFenceDone(e.host(), e.off(), e.error());
        } else if (event instanceof NodeEvent.AdminRequest e) {
            admin.handle(e.requestId(), e.command(), e.caller());
        }
    }

    private void scheduleTick() {
        emit(new Effect.ScheduleTick(Peers.ms(settings.tickMs())));
    }

    /**
     * The periodic step (heartbeats, confirmations, lease, health, and the manager's round), which
     * the node asks for with {@link Effect.ScheduleTick}; returns what it decided, in order.
     */
    public List<Effect> tick() {
        if (stopped) {
            return List.of();
        }
        long now = now();
        agent.tick(now);
        if (lastHeartbeatSent == Long.MIN_VALUE || now - lastHeartbeatSent >= Peers.ms(settings.heartbeatIntervalMs())) {
            lastHeartbeatSent = now;
            sendHeartbeats(now);
        }
        boolean healthy = majorityHealthy(now);
        if (!healthy) {
            healthySince = Long.MIN_VALUE;
            if (unhealthySince == Long.MIN_VALUE) {
                unhealthySince = now;
            }
        } else {
            unhealthySince = Long.MIN_VALUE;
            if (healthySince == Long.MIN_VALUE) {
                healthySince = now;
            }
        }
        manager.tick(now);
        admin.tick(now);
        scheduleTick();
        return drain();
    }

    private void sendHeartbeats(long now) {
        peers.sendAll(this::emit, now, view.epoch(), agent.unconfirmedMs(now), agent.frozen());
    }

    private void onHeartbeat(Heartbeat hb, long now) {
        if (!peers.received(hb, now)) {
            return;
        }
        if (view.recordedOff(hb.from())) {
            decide(Decision.Kind.ALARM, null, hb.from(),
                    "heartbeat from a host recorded as powered off: check its fence device");
        }
        agent.onHeartbeat(now);
    }

    // ---- rule 5: majority

    /** Rule 5's count now, from this node's view: every peer's health, and its own once it votes. */
    Quorum quorum(long now) {
        List<Peers.Health> votes = peers.healths(now);
        if (selfVotes()) {
            votes.add(health(self, now));
        }
        return Quorum.of(view.hostIds().size(), votes);
    }

    /** Whether a strict majority of voters is healthy from this node's view now. */
    boolean majorityHealthy(long now) {
        return quorum(now).majorityHealthy();
    }

    /** Whether a strict majority of voters is freshly lost from this node's view now (rule 5's freeze). */
    boolean majorityLost(long now) {
        return quorum(now).majorityLost();
    }

    /** This host votes once it is registered in the cluster state. */
    private boolean selfVotes() {
        return view.host(self) != null;
    }

    Peers.Health health(HostId h, long now) {
        if (h.equals(self)) {
            int x = agent.unconfirmedMs(now);
            return x <= settings.suspectAfterMs() ? Peers.Health.HEALTHY : Peers.Health.LOST;
        }
        return peers.health(h, now);
    }

    /** How long this node has not seen a strict majority healthy, 0 while it does. */
    long unhealthyForNanos(long now) {
        return unhealthySince == Long.MIN_VALUE ? 0 : now - unhealthySince;
    }

    /** Whether a strict majority has been healthy continuously for the settle time (rule 5). */
    boolean settled(long now) {
        return healthySince != Long.MIN_VALUE && now - healthySince >= Peers.ms(settings.settleMs());
    }

    // ---- writes to the cluster state

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
        long token = ++nextToken;
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.PutVm p) {
                busyVms.add(p.record().id());
            } else if (op instanceof CoordOp.PutHost p) {
                busyHosts.add(p.record().id());
            }
        }
        writes.put(token, new PendingWrite(List.copyOf(ops), then));
        emit(new Effect.Write(token, ops));
    }

    long nextToken() {
        return ++nextToken;
    }

    private void onWriteDone(NodeEvent.WriteDone e) {
        PendingWrite w = writes.remove(e.token());
        if (w == null) {
            return;
        }
        for (CoordOp op : w.ops()) {
            if (op instanceof CoordOp.PutVm p) {
                busyVms.remove(p.record().id());
                if (e.outcome() == WriteOutcome.OK) {
                    view.putVm(p.record().id(), new Versioned<>(p.record(), p.expectedVersion() + 1));
                }
            } else if (op instanceof CoordOp.PutRequest p) {
                if (e.outcome() == WriteOutcome.OK) {
                    view.putRequest(p.record().id(), new Versioned<>(p.record(), p.expectedVersion() + 1));
                }
            } else if (op instanceof CoordOp.DeleteRequest d) {
                if (e.outcome() == WriteOutcome.OK) {
                    view.putRequest(d.id(), null);
                }
            } else if (op instanceof CoordOp.PutHost p) {
                busyHosts.remove(p.record().id());
                if (e.outcome() == WriteOutcome.OK) {
                    view.putHost(p.record().id(), new Versioned<>(p.record(), p.expectedVersion() + 1));
                    peers.add(p.record().id(), now());
                }
            }
        }
        w.then().accept(e.outcome());
        for (CoordOp op : w.ops()) {
            if (op instanceof CoordOp.PutVm p) {
                agent.reconcile(p.record().id());
                manager.onVmChanged(p.record().id(), now());
            } else if (op instanceof CoordOp.PutRequest p && e.outcome() == WriteOutcome.OK) {
                admin.onRequestChanged(p.record().id());
                manager.onRequestChanged(now());
            }
        }
    }

    // ---- helpers

    long now() {
        return clock.nanos();
    }

    /** Answers an admin request. */
    void answer(long requestId, AdminReply reply) {
        emit(new Effect.Answer(requestId, reply));
    }

    /** Adds one effect to what this step decided. */
    void emit(Effect effect) {
        out.add(effect);
    }

    private List<Effect> drain() {
        List<Effect> done = List.copyOf(out);
        out.clear();
        return done;
    }

    void decide(Decision.Kind kind, VmId vm, HostId subject, String detail) {
        emit(new Effect.Record(new Decision(now(), self, kind, vm, subject, view.epoch(), detail)));
    }

    void recovered(VmId vm, HostId from, Decision.Timings timings, String detail) {
        emit(new Effect.Record(new Decision(now(), self, Decision.Kind.RECOVERED, vm, from, view.epoch(), detail,
                timings)));
    }

    Versioned<VmRecord> vm(VmId id) {
        return view.vm(id);
    }
}
