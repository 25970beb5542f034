package io.havn.common.node;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.port.Clock;
import io.havn.common.port.CoordOp;
import io.havn.common.port.WatchdogStatus;
import java.util.List;
import java.util.Objects;

/**
 * All of one host's logic, driven by {@link NodeEvent}s and its own timer: the host agent (every
 * host: lease, local domains, reconciliation), the manager (the leader only: fencing, recovery,
 * moves) and the admin handler (requests), each its own class, sharing a {@link NodeContext} and
 * reaching each other only through small interfaces. It calls no port: each step returns its
 * {@link Effect}s as values, and {@link NodeDriver} carries them out on the ports in {@link NodePorts}.
 *
 * <p>Threading: not thread-safe. {@link #start()}, {@link #handle(NodeEvent)} and {@link #tick()}
 * must all run on one thread (the daemon's event loop, or the simulator). Nothing here blocks,
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

    private final NodeContext c;
    final Peers peers;
    private final Signals signals;
    private final Datastores datastores;
    final Liveness liveness;
    final HostAgent agent;
    final Manager manager;
    final AdminHandler admin;

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
        Objects.requireNonNull(identity, "identity");
        c = new NodeContext(identity, Objects.requireNonNull(settings, "settings").validate(),
                Objects.requireNonNull(domainPolicy, "domainPolicy"), Objects.requireNonNull(clock, "clock"),
                Objects.requireNonNull(watchdog, "watchdog"));
        peers = new Peers(identity.id(), identity.incarnation(), settings);
        // each part gets the others only as the calls it needs, bound to the part when called
        signals = new Signals(settings);
        datastores = new Datastores(c);
        // what a round passes on of each peer's life apart from its daemon, kept beside its gossiped health
        signals.onUntilChanged(peers::signalUntil);
        datastores.onUntilChanged(peers::storageUntil);
        liveness = new Liveness(c, peers, signals, datastores, this::selfUnconfirmedMs);
        agent = new HostAgent(c, liveness::majorityLost, this::sessionEnded, datastores);
        admin = new AdminHandler(c, liveness, agent, this::evictAll);
        manager = new Manager(c, liveness, agent, admin);
    }

    private int selfUnconfirmedMs(long now) {
        return agent.unconfirmedMs(now);
    }

    private void sessionEnded() {
        manager.onSessionEnded();
    }

    private void evictAll(HostId host) {
        manager.evictAll(host);
    }

    public HostId id() {
        return c.self();
    }

    /** Begins: lists local domains, opens a coordination session, starts the timer. Once only. */
    public List<Effect> start() {
        if (started) {
            throw new IllegalStateException("node " + c.self() + " already started");
        }
        started = true;
        agent.start();
        scheduleTick();
        return c.drain();
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
        return c.view().epoch();
    }

    /** A snapshot of this node's view of the cluster state. */
    public io.havn.common.model.ClusterState clusterState() {
        return c.view().snapshot();
    }

    /** This node's view of each peer's heartbeats now. Must run on the node's thread. */
    public List<PeerStat> peerStats() {
        return peers.stats(c.now());
    }

    /** Handles one event; returns what the node decided to do, in order. Must run on the node's thread. */
    public List<Effect> handle(NodeEvent event) {
        if (stopped) {
            return List.of();
        }
        step(event, c.now());
        return c.drain();
    }

    private void step(NodeEvent event, long now) {
        ClusterView view = c.view();
        if (event instanceof NodeEvent.HeartbeatReceived e) {
            onHeartbeat(e.heartbeat(), e.arrivedNanos(), now);
        } else if (event instanceof NodeEvent.Stopping e) {
            agent.onStopping(e.requestId(), e.windowMs(), e.hostShutdown(), this::stop); // announced: nothing more changes here
        } else if (event instanceof NodeEvent.SignalReceived e) {
            signals.received(e.signal(), now);
        } else if (event instanceof NodeEvent.StorageRound e) {
            agent.onStorageRound(e, now);
        } else if (event instanceof NodeEvent.AgentPinged e) {
            agent.onAgentPinged(e);
        } else if (event instanceof NodeEvent.SessionStarted e) {
            c.scope().onSessionStarted();
            agent.onSessionStarted(e.session(), e.timeoutMs());
        } else if (event instanceof NodeEvent.SessionEnded e) {
            c.scope().onSuccessor(false);
            agent.onSessionEnded(e.session());
        } else if (event instanceof NodeEvent.Confirmed e) {
            agent.onConfirmed(e.token(), e.ok());
        } else if (event instanceof NodeEvent.LeadershipChanged e) {
            manager.onLeadership(e.leader());
        } else if (event instanceof NodeEvent.SuccessorChanged e) {
            c.scope().onSuccessor(e.next());
        } else if (event instanceof NodeEvent.EpochClaimed e) {
            manager.onEpochClaimed(e.token(), e.epoch());
        } else if (event instanceof NodeEvent.WriteDone e) {
            onWriteDone(e);
        } else if (event instanceof NodeEvent.VmChanged e) {
            view.putVm(e.vm(), e.record());
            c.scope().onVmChanged(e.vm());
            agent.onRecord(e.vm());
            agent.reconcile(e.vm());
            manager.onVmChanged(e.vm(), now);
        } else if (event instanceof NodeEvent.ViewLoaded e) {
            c.scope().onLoaded(e.scope());
            agent.onRecords();
            manager.onViewLoaded();
            agent.reconcileAll();
        } else if (event instanceof NodeEvent.RequestChanged e) {
            view.putRequest(e.id(), e.record());
            admin.onRequestChanged(e.id());
            manager.onRequestChanged(now);
        } else if (event instanceof NodeEvent.HostChanged e) {
            view.putHost(e.host(), e.record(), now);
            if (e.record() == null) {
                peers.remove(e.host());
                signals.remove(e.host());
                datastores.remove(e.host());
            } else {
                addPeer(e.host(), now);
            }
        } else if (event instanceof NodeEvent.ClusterChanged e) {
            view.putCluster(e.record());
            agent.followArming(now);
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
        // a heartbeat or a signal changes neither what this host holds nor whether it leads
        if (!(event instanceof NodeEvent.HeartbeatReceived) && !(event instanceof NodeEvent.SignalReceived) && !stopped) {
            c.scope().update(manager.elected(), agent.held());
        }
    }

    private void scheduleTick() {
        c.emit(new Effect.ScheduleTick(Peers.ms(c.settings().tickMs())));
    }

    /**
     * The periodic step (heartbeats, confirmations, lease, health, and the manager's round), which
     * the node asks for with {@link Effect.ScheduleTick}; returns what it decided, in order.
     */
    public List<Effect> tick() {
        if (stopped) {
            return List.of();
        }
        long now = c.now();
        agent.tick(now);
        if (lastHeartbeatSent == Long.MIN_VALUE
                || now - lastHeartbeatSent >= Peers.ms(c.settings().heartbeatIntervalMs())) {
            lastHeartbeatSent = now;
            peers.sendAll(c::emit, now, c.view().epoch(), agent.unconfirmedMs(now), agent.frozen());
        }
        liveness.tick(now);
        datastores.checkShared(now);
        manager.tick(now);
        if (manager.active()) {
            datastores.checkCluster();
        }
        admin.tick(now);
        c.scope().update(manager.elected(), agent.held());
        scheduleTick();
        return c.drain();
    }

    /** Tracks {@code h} as a peer, with what its signal and storage heartbeat already showed here. */
    private void addPeer(HostId h, long now) {
        peers.add(h, now);
        peers.signalUntil(h, signals.aliveUntil(h));
        peers.storageUntil(h, datastores.aliveUntil(h));
    }

    private void onHeartbeat(Heartbeat hb, long arrivedNanos, long now) {
        if (!peers.received(hb, arrivedNanos, now)) {
            return;
        }
        if (c.view().recordedOff(hb.from())) {
            c.decide(Decision.Kind.ALARM, null, hb.from(),
                    "heartbeat from a host recorded as powered off: check its fence device");
        }
        agent.onHeartbeat(now);
    }

    private void onWriteDone(NodeEvent.WriteDone e) {
        List<CoordOp> ops = c.writeDone(e.token(), e.outcome(), h -> addPeer(h, c.now()));
        if (ops == null) {
            return;
        }
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.PutVm p) {
                VmId vm = p.record().id();
                c.scope().drop(vm);
                agent.reconcile(vm);
                manager.onVmChanged(vm, c.now());
            } else if (op instanceof CoordOp.PutRequest p && e.outcome() == NodeEvent.WriteOutcome.OK) {
                admin.onRequestChanged(p.record().id());
                manager.onRequestChanged(c.now());
            }
        }
    }
}
