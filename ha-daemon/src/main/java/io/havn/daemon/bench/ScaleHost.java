package io.havn.daemon.bench;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Decision;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.Node;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodePorts;
import io.havn.common.node.Settings;
import io.havn.common.port.DomainState;
import io.havn.common.port.Fencer;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Transport;
import io.havn.common.port.Watchdog;
import io.havn.daemon.coord.CuratorCoordinator;
import io.havn.daemon.coord.RecordSeal;
import io.havn.daemon.loop.EventLoop;
import io.havn.daemon.transport.HeartbeatCodec;
import io.havn.daemon.transport.NettyTransport;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One host of a {@link ScaleRun}, wired as {@code Havnd.start} wires a daemon: a real {@link Node}
 * and {@link NodeDriver} on an {@link EventLoop} of its own, a real {@link NettyTransport} on
 * 127.0.0.1 with the cluster's {@link HeartbeatCodec}, and a real {@link CuratorCoordinator} (one
 * session, records sealed with the cluster key). The hypervisor, the fence devices and the watchdog
 * are simulated on the {@link ScaleWorld}; no signal sender runs (havn-signal is a process apart from
 * havnd, and the node's list of monitors for it goes nowhere), no admin socket, metrics endpoint or
 * storage heartbeat.
 */
final class ScaleHost {
    static final HostCapacity CAPACITY = new HostCapacity(64, 262_144);

    final HostId id;
    private final ScaleWorld world;
    private final EventLoop loop;
    private final NettyTransport transport;
    private final CuratorCoordinator coordinator;
    private final Node node;
    final RecordingWatchdog watchdog;
    /** Peers' heartbeat addresses, learnt from their host records as havnd learns them. */
    private final Map<HostId, InetSocketAddress> peers = new ConcurrentHashMap<>();
    /** Set when the host loses power: nothing more goes in or out. */
    private volatile boolean dead;
    private final Function<HostId, ScaleHost> directory;

    /**
     * @param fenceDevice this host's fence device (null: none), recorded in its host record
     * @param timings     how long the simulated hardware takes
     * @param kill        what a fence device that powers off a live host does to its daemon
     * @param directory   the other hosts by name (a migration's target)
     */
    ScaleHost(HostId id, ScaleWorld world, String connect, String cluster, byte[] clusterKey, Settings settings,
              String fenceDevice, Hardware timings, Consumer<Decision> decisions, Consumer<HostId> kill,
              Function<HostId, ScaleHost> directory) {
        this.id = id;
        this.directory = directory;
        // as after a restart of the daemon: the one before left the watchdog armed for its restart window, so
        // the VMs running here stay under that deadline until this one confirms its session and re-binds them
        this.watchdog = new RecordingWatchdog(System.nanoTime() + settings.restartWindowMs() * 1_000_000L);
        this.world = world;
        this.loop = new EventLoop("havn-node-" + id);
        Consumer<NodeEvent> sink = event -> {
            if (dead) {
                return;
            }
            if (event instanceof NodeEvent.HostChanged h && h.record() != null) {
                remember(h.record().value());
            }
            loop.post(event);
        };
        this.transport = new NettyTransport(id, new InetSocketAddress("127.0.0.1", 0),
                new HeartbeatCodec(cluster, clusterKey), peers::get, sink,
                NettyTransport.DEFAULT_SOCKET_RECEIVE_BUFFER_BYTES, loop);
        this.coordinator = new CuratorCoordinator(connect, (int) settings.sessionTimeoutMs(), null, cluster, id,
                RecordSeal.fromClusterKey(cluster, clusterKey), sink);
        transport.start(); // bound first: the node's identity carries the port it got
        String address = "127.0.0.1:" + transport.localAddress().getPort();
        Transport heartbeats = new Transport() {
            @Override
            public void send(HostId to, Heartbeat heartbeat) {
                if (!dead) {
                    transport.send(to, heartbeat);
                }
            }
        };
        NodePorts ports = new NodePorts(loop, loop, heartbeats, coordinator, new WorldHypervisor(sink, timings),
                new WorldFencer(sink, timings, kill), watchdog, decisions::accept, (rid, reply) -> { });
        this.node = new Node(new Node.Identity(id, CAPACITY, address, fenceDevice, 1), settings, loop, watchdog);
        coordinator.start();
        loop.start(new NodeDriver(node, ports));
    }

    /** How long the simulated hardware takes (ms). */
    record Hardware(long listMs, long startMs, long stopMs, long migrateMs, long fenceMs, long fenceFailMs) {
    }

    /** Heartbeats this host's transport has put on the wire. */
    long heartbeatsSent() {
        return transport.sent();
    }

    boolean dead() {
        return dead;
    }

    /**
     * Asks the node on its own thread; null if it does not answer within five seconds (its loop is
     * closed or stuck).
     */
    <T> T ask(java.util.function.Function<Node, T> question) throws InterruptedException {
        CompletableFuture<T> f = new CompletableFuture<>();
        loop.run(() -> f.complete(question.apply(node)));
        try {
            return f.get(5, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return null;
        }
    }

    /** The power is gone: from now on nothing goes in or out (the world has already dropped its domains). */
    void powerLost() {
        dead = true;
    }

    /**
     * What is left of a host whose power is gone: the ZooKeeper session abandoned (the ensemble
     * expires it a session timeout later), the loop stopped, the socket closed.
     */
    void close() {
        dead = true;
        coordinator.close(); // first: the session is left to expire from now on, as a machine's death leaves it
        loop.close();
        transport.close(); // last: the node's thread may be sending as its power goes
    }

    private void remember(HostRecord h) {
        io.havn.daemon.Havnd.remember(peers, h); // as havnd learns its peers' addresses
    }

    /** Runs {@code r} on the hardware after {@code ms}, unless this host has lost its power meanwhile. */
    private void later(long ms, Runnable r) {
        world.hardware.schedule(() -> {
            if (!dead && world.powered(id)) {
                r.run();
            }
        }, ms, TimeUnit.MILLISECONDS);
    }

    /**
     * This host's libvirt, simulated on the world: each call answers through the node's sink after
     * the hardware's time, with the events the libvirt adapter posts ({@code DomainsListed},
     * {@code HypervisorDone}, {@code AgentPinged}; an incoming migration's {@code DomainChanged} on
     * the target).
     */
    private final class WorldHypervisor implements Hypervisor {
        private final Consumer<NodeEvent> sink;
        private final Hardware t;

        WorldHypervisor(Consumer<NodeEvent> sink, Hardware t) {
            this.sink = sink;
            this.t = t;
        }

        private void done(VmId vm, Op op, String error) {
            sink.accept(new NodeEvent.HypervisorDone(vm, op, error == null, error));
        }

        @Override
        public void list() {
            later(t.listMs(), () -> sink.accept(new NodeEvent.DomainsListed(world.list(id))));
        }

        @Override
        public void disableAutostart(VmId vm) {
            // the world's domains never have autostart on
        }

        @Override
        public void start(VmSpec spec) {
            later(t.startMs(), () -> done(spec.id(), Op.START, world.start(id, spec.id())));
        }

        @Override
        public void resume(VmId vm) {
            later(t.listMs(), () -> done(vm, Op.RESUME, world.resume(id, vm)));
        }

        @Override
        public void shutdown(VmId vm, long timeoutMs) {
            later(t.stopMs(), () -> done(vm, Op.SHUTDOWN, world.remove(id, vm)));
        }

        @Override
        public void destroy(VmId vm) {
            later(t.listMs(), () -> done(vm, Op.DESTROY, world.remove(id, vm)));
        }

        @Override
        public void migrate(VmId vm, HostId target) {
            later(t.migrateMs(), () -> {
                String error = world.migrate(id, vm, target);
                done(vm, Op.MIGRATE, error);
                if (error == null) {
                    ScaleHost to = directory.apply(target);
                    if (to != null) {
                        to.incoming(vm);
                    }
                }
            });
        }

        @Override
        public void pingAgent(VmId vm) {
            later(t.listMs(), () -> sink.accept(new NodeEvent.AgentPinged(vm, world.runs(id, vm)
                    ? NodeEvent.AgentAnswer.OK : NodeEvent.AgentAnswer.NOT_RUNNING, null)));
        }

        @Override
        public void reset(VmId vm) {
            later(t.listMs(), () -> done(vm, Op.RESET, world.runs(id, vm) ? null
                    : "Requested operation is not valid: domain is not running"));
        }
    }

    /** An incoming migration completed here: the guest waits paused, as libvirt's adapter reports it. */
    private void incoming(VmId vm) {
        if (!dead) {
            loop.post(new NodeEvent.DomainChanged(vm, DomainState.PAUSED, true, "incoming migration complete"));
        }
    }

    /**
     * The fence devices as this host's daemon reaches them: a device that is the target's own powers
     * it off after the hardware's fence time and says so (a target still alive loses its power, and
     * its daemon with it); any other name fails after the fence agent's deadline.
     */
    private final class WorldFencer implements Fencer {
        private final Consumer<NodeEvent> sink;
        private final Hardware t;
        private final Consumer<HostId> kill;

        WorldFencer(Consumer<NodeEvent> sink, Hardware t, Consumer<HostId> kill) {
            this.sink = sink;
            this.t = t;
            this.kill = kill;
        }

        @Override
        public void powerOff(HostId target, String device) {
            String own = world.fenceDevice(target);
            if (own == null || !own.equals(device)) {
                later(t.fenceFailMs(), () -> sink.accept(new NodeEvent.FenceDone(target, false,
                        "fence device " + device + " did not answer")));
                return;
            }
            later(t.fenceMs(), () -> {
                if (world.powerOff(target, true)) {
                    kill.accept(target); // the device cut a live host's power
                }
                sink.accept(new NodeEvent.FenceDone(target, true, null));
            });
        }
    }

    /**
     * The watchdog port without a device: it records what the node arms (the deadline, how often)
     * and releases, says it can guard the host, and hands on the deadline a daemon before this one
     * left in force.
     */
    static final class RecordingWatchdog implements Watchdog {
        private final long inheritedUntil;
        final AtomicLong arms = new AtomicLong();
        final AtomicLong releases = new AtomicLong();
        private volatile long armedUntil;
        private volatile boolean armed;

        RecordingWatchdog(long inheritedUntil) {
            this.inheritedUntil = inheritedUntil;
        }

        @Override
        public void armUntil(long deadlineNanos) {
            armedUntil = deadlineNanos;
            armed = true;
            arms.incrementAndGet();
        }

        @Override
        public void release() {
            armed = false;
            releases.incrementAndGet();
        }

        /** Whether the watchdog is armed now, and until when (System.nanoTime). */
        boolean armedNow(long now) {
            return armed && armedUntil - now > 0;
        }

        @Override
        public OptionalLong inheritedDeadline() {
            return inheritedUntil - System.nanoTime() > 0 ? OptionalLong.of(inheritedUntil) : OptionalLong.empty();
        }

        @Override
        public Optional<String> problem() {
            return Optional.empty();
        }
    }

}
