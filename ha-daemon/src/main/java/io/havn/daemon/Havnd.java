package io.havn.daemon;

import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.node.Node;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodePorts;
import io.havn.daemon.admin.AdminSocketServer;
import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.coord.ClientTls;
import io.havn.daemon.coord.CuratorCoordinator;
import io.havn.daemon.coord.RecordRefusals;
import io.havn.daemon.coord.RecordSeal;
import io.havn.daemon.coord.RecordSigner;
import io.havn.daemon.fence.FenceAgentFencer;
import io.havn.daemon.libvirt.LibvirtHypervisor;
import io.havn.daemon.log.LogSetup;
import io.havn.daemon.log.LoggingDecisionLog;
import io.havn.daemon.loop.EventLoop;
import io.havn.daemon.metrics.HavnMetrics;
import io.havn.daemon.metrics.MetricsServer;
import io.havn.daemon.metrics.NodeSnapshot;
import io.havn.daemon.signal.PeersFile;
import io.havn.daemon.storage.StorageCheck;
import io.havn.daemon.storage.StorageHeartbeat;
import io.havn.daemon.systemd.HostShutdownProbe;
import io.havn.daemon.systemd.StatusLine;
import io.havn.daemon.systemd.SystemdNotifier;
import io.havn.daemon.transport.HeartbeatCodec;
import io.havn.daemon.transport.NettyTransport;
import io.havn.daemon.watchdog.WatchdogPublisher;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code havnd}: one host's daemon. It reads the config, takes its incarnation (above the last one
 * recorded in {@code host.stateDir}, see {@link IncarnationFile}), builds the real adapters around
 * one {@link Node} and runs it on an {@link EventLoop} until stopped. A bad config, an unusable
 * incarnation record, a cluster key file that is missing, not private or not a key, or a heartbeat
 * address that cannot be bound exits 2 before anything touches a VM: a restart cannot fix them.
 */
@Command(name = "havnd", mixinStandardHelpOptions = true, version = "havnd 0.1",
        description = "The havn daemon: keeps this host's HA VMs safe and the cluster's VMs running.")
public final class Havnd implements Callable<Integer>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Havnd.class);
    /** How often the node's state is sampled for the metrics' gauges and systemd's status line. */
    private static final long SAMPLE_NANOS = 1_000_000_000L;

    @Option(names = "--config", paramLabel = "PATH", defaultValue = "/etc/havn/havn.yaml",
            description = "the configuration file (default ${DEFAULT-VALUE})")
    Path config;

    @Option(names = "--check-config", description = "check the configuration and exit: 0 if it is valid")
    boolean checkOnly;

    @Option(names = "--sign-records", description = "seal, once, the cluster's records left unsigned by a version "
            + "before seals (see SECURITY.md), print each, and exit: 0 if every record then carries a valid seal")
    boolean signRecords;

    @Option(names = "--previous-key-file", paramLabel = "PATH", description = "with --sign-records: the cluster "
            + "key before a rotation; records sealed with it are sealed again with heartbeat.keyFile's")
    Path previousKeyFile;

    private final LongSupplier wallMillis;
    /** Asked when the daemon is stopped: whether the host itself is going down. */
    private final HostShutdownProbe shutdownProbe;
    private final List<AutoCloseable> closeables = new ArrayList<>();
    /** Admission control's count, assessed aside from the node's thread every 15 s (leader, or when asked). */
    private final io.havn.daemon.metrics.ReserveAssessor reserve = new io.havn.daemon.metrics.ReserveAssessor(15_000);
    private final SystemdNotifier systemd = SystemdNotifier.fromEnvironment();
    private final CountDownLatch stopped = new CountDownLatch(1);
    /** The running daemon's metrics, or null when they are disabled. */
    private HavnMetrics metrics;
    /** The incarnation of the last start, 0 before one. */
    private volatile long incarnation;
    /** The running node's loop and restart window, once started: a clean stop tells the node first. */
    private volatile EventLoop running;
    private volatile long restartWindowMs;
    private volatile long shutdownMigrateMs;
    /** The answer to the clean stop's request, when the node gives it. */
    private final java.util.concurrent.CompletableFuture<io.havn.common.node.AdminReply> stopAnswer =
            new java.util.concurrent.CompletableFuture<>();
    /** The request id of a clean stop; admin requests never use it (theirs are positive). */
    static final long STOP_REQUEST = -1;
    /** How long a clean stop waits for the node to record a planned restart before it stops anyway. */
    static final long STOP_WAIT_MS = 3_000;
    /**
     * What a stop with the host waits beyond {@code settings.shutdownMigrateMs}: for the node to fail
     * over or stop what did not move, and to answer. havnd.service's TimeoutStopSec= covers both.
     */
    static final long HOST_SHUTDOWN_MARGIN_MS = 30_000;

    public Havnd() {
        this(System::currentTimeMillis);
    }

    /** For tests: a wall clock of their own, which may step back between starts. */
    Havnd(LongSupplier wallMillis) {
        this(wallMillis, HostShutdownProbe.systemctl());
    }

    /** For tests: a wall clock, and whether the host is shutting down when the daemon is stopped. */
    Havnd(LongSupplier wallMillis, HostShutdownProbe shutdownProbe) {
        this.wallMillis = wallMillis;
        this.shutdownProbe = java.util.Objects.requireNonNull(shutdownProbe, "shutdownProbe");
    }

    public static void main(String[] args) {
        int code = new CommandLine(new Havnd()).execute(args);
        LogSetup.stop(); // the last lines out of the log's queue
        System.exit(code);
    }

    @Override
    public Integer call() throws Exception {
        HavnConfig cfg;
        try {
            cfg = HavnConfig.load(config);
        } catch (HavnConfig.ConfigException e) {
            System.err.println("havnd: " + e.getMessage());
            return 2;
        }
        if (checkOnly) {
            // what the file cannot say: the datastores as this host finds them
            List<String> storage = StorageCheck.problems(cfg, StorageHeartbeat.QEMU_IO);
            if (!storage.isEmpty()) {
                System.err.println("havnd: " + config + ": " + String.join("; ", storage));
                return 2;
            }
            int datastores = cfg.storage().datastores().size();
            System.out.println(config + ": valid (host " + cfg.host().name() + ", cluster " + cfg.cluster()
                    + (datastores == 0 ? "" : ", " + datastores + (datastores == 1 ? " datastore" : " datastores"))
                    + ")");
            return 0;
        }
        if (signRecords) {
            return signRecords(cfg);
        }
        LogSetup.apply(cfg.logging());
        try {
            start(cfg);
        } catch (IncarnationFile.Unusable | AdminSocketServer.PathTaken | Refused e) {
            System.err.println("havnd: " + e.getMessage());
            close();
            return 2;
        } catch (HavnConfig.ConfigException e) {
            System.err.println("havnd: " + config + ": " + e.getMessage());
            close();
            return 2;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            close();
            LogSetup.stop(); // the JVM ends with this hook: write out what the stop logged
        }, "havnd-shutdown"));
        stopped.await();
        return 0;
    }

    /**
     * Builds and starts everything for {@code cfg}; returns the running node's event loop. Throws,
     * before it builds anything, {@link HavnConfig.ConfigException} naming the key when a
     * {@code zookeeper.tls} store cannot be used, {@link IncarnationFile.Unusable} when the
     * incarnation record cannot be read or written, and {@link AdminSocketServer.PathTaken} when
     * {@code admin.socket} names something other than a stale socket of ours; and
     * {@link Refused} when the cluster key or the heartbeat address cannot be used (what was
     * started is then closed by {@link #close}).
     */
    public EventLoop start(HavnConfig cfg) throws Exception {
        AdminSocketServer.checkPath(cfg.admin().socket()); // before anything starts: never clobber another file
        EventLoop loop = new EventLoop("havn-node");
        AdminSocketServer admin = new AdminSocketServer(cfg.admin().socket(), cfg.admin().socketGroup(),
                new io.havn.daemon.admin.Access(cfg.admin().users(), cfg.admin().groups()), loop.sink(),
                java.time.Duration.ofSeconds(30), AdminSocketServer.LIMITS);
        start(cfg, loop, d -> { }, admin::reply);
        closeables.add(admin);
        if (metrics != null) {
            admin.onAnswer(metrics::adminAnswered);
            HavnMetrics m = metrics;
            admin.onCut(cut -> m.connectionCut(HavnMetrics.Endpoint.ADMIN, cut));
        }
        admin.start();
        return loop;
    }

    /**
     * Like {@link #start(HavnConfig)}, also handing every decision to {@code decisions} and every
     * admin answer to {@code replies} (the admin socket, tests), on the node's thread.
     */
    public EventLoop start(HavnConfig cfg, java.util.function.Consumer<io.havn.common.node.Decision> decisions,
                           io.havn.common.port.AdminReplies replies) throws Exception {
        return start(cfg, new EventLoop("havn-node"), decisions, replies);
    }

    /**
     * As above, the node driven by {@code loop}, not yet started: what posts to it (an admin socket)
     * can be built before the node, so nothing needs to hold a reference filled in later.
     */
    public EventLoop start(HavnConfig cfg, EventLoop loop,
                            java.util.function.Consumer<io.havn.common.node.Decision> decisions,
                            io.havn.common.port.AdminReplies replies) throws Exception {
        HostId self = cfg.host().name();
        ClientTls tls = clientTls(cfg.zookeeper());
        // first, on the disk: a start whose incarnation is not recorded could be followed by one below it
        IncarnationFile record = new IncarnationFile(cfg.host().stateDir());
        incarnation = record.advance(wallMillis.getAsLong());
        LOG.info("incarnation {} (recorded in {})", incarnation, record.path());
        // file work off the node's thread (and off the coordinator's): one thread each, so writes land in order;
        // closed after the loop, so the node's last watchdog state is still written
        java.util.concurrent.ExecutorService watchdogIo = singleThread("havn-watchdog-io");
        // the last state published (a restart window, a release) must reach the file before the JVM exits
        closeables.add(() -> drain(watchdogIo));
        java.util.concurrent.ExecutorService peersIo = singleThread("havn-signal-peers");
        closeables.add(() -> drain(peersIo));
        closeables.add(loop);
        closeables.add(reserve);
        Map<HostId, InetSocketAddress> peers = new ConcurrentHashMap<>();
        // havn-signal, apart from this JVM, signals the peers this file lists (beside the watchdog state)
        PeersFile.Publisher signalPeers = new PeersFile.Publisher(PeersFile.beside(cfg.watchdog().stateFile()), self);
        signalPeers.start();
        // the transport learns peers' addresses from the host records the node sees
        Consumer<NodeEvent> sink = event -> {
            if (event instanceof NodeEvent.HostChanged h) {
                if (h.record() != null) {
                    remember(peers, h.record().value());
                }
                HostRecord changed = h.record() == null ? null : h.record().value();
                try {
                    peersIo.execute(() -> signalPeers.changed(h.host(), changed));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // stopping: the signal sender keeps the list it last read
                }
            }
            loop.post(event);
        };
        byte[] clusterKey;
        try {
            clusterKey = HeartbeatCodec.readKeyFile(cfg.heartbeat().keyFile());
        } catch (java.io.IOException | IllegalArgumentException e) {
            throw new Refused("heartbeat.keyFile: " + e.getMessage());
        }
        HeartbeatCodec codec = new HeartbeatCodec(cfg.cluster(), clusterKey);
        RecordSeal seal = RecordSeal.fromClusterKey(cfg.cluster(), clusterKey)
                .withUnsigned(cfg.zookeeper().unsignedRecords());
        if (seal.unsigned() != RecordSeal.Unsigned.REFUSE) {
            LOG.warn("zookeeper.unsignedRecords is {}: records without a seal are accepted, so any client that "
                    + "can write to ZooKeeper can steer this host; only for an upgrade (SECURITY.md)", seal.unsigned());
        }
        InetSocketAddress bind = resolved(cfg.heartbeat().bind());
        // heartbeats are stamped on the node's clock when read, however long they then wait for the node
        NettyTransport transport = new NettyTransport(self, bind, codec, peers::get, sink,
                cfg.heartbeat().receiveBufferBytes(), loop);
        closeables.add(transport);
        CuratorCoordinator coordinator = new CuratorCoordinator(cfg.zookeeper().connect(),
                cfg.zookeeper().sessionTimeoutMs(), tls, cfg.zookeeper().digest(), cfg.cluster(), self, seal, sink);
        closeables.add(coordinator);
        String peerUri = cfg.libvirt().peerUriTemplate();
        LibvirtHypervisor hypervisor = new LibvirtHypervisor(cfg.libvirt().uri(), sink,
                Duration.ofMillis(cfg.libvirt().callTimeoutMs()), cfg.libvirt().workers(),
                Duration.ofMillis(cfg.libvirt().pollMs()), h -> peerUri.replace("{host}", h.value()));
        closeables.add(hypervisor);
        FenceAgentFencer fencer = new FenceAgentFencer(cfg.fence().devices(), sink);
        closeables.add(fencer);
        WatchdogPublisher watchdog = new WatchdogPublisher(cfg.watchdog().stateFile(), cfg.settings().watchdogMs(),
                cfg.watchdog().required(), watchdogIo);
        watchdog.problem(); // the first read of the petter's status here, not on the node's thread
        HavnMetrics m = cfg.metrics().enabled() ? metrics(cfg, transport) : null;
        if (m != null) {
            m.bindRecordRefusals(coordinator.refusals());
        }
        StorageHeartbeat storage = null;
        try {
            storage = storageHeartbeat(cfg, clusterKey, sink, m);
        } finally {
            java.util.Arrays.fill(clusterKey, (byte) 0);
        }
        LoggingDecisionLog log = new LoggingDecisionLog();
        RecordRefusals refusals = coordinator.refusals();
        io.havn.common.port.AdminReplies answers = (id, r) -> {
            if (id == STOP_REQUEST) {
                stopAnswer.complete(r);
            } else {
                // assessed first: the refusals' note also rides in the message, which marks a partial answer
                replies.reply(id, withRefusals(reserve.assessed(r, System.nanoTime()), refusals.total()));
            }
        };
        // heartbeats go out on the transport; the peers they go to (the node's monitors) are also the
        // peers havn-signal signals
        io.havn.common.port.Transport heartbeats = new io.havn.common.port.Transport() {
            @Override
            public void send(HostId to, io.havn.common.node.Heartbeat heartbeat) {
                transport.send(to, heartbeat);
            }

            @Override
            public void monitors(List<HostId> monitors) {
                try {
                    peersIo.execute(() -> signalPeers.monitors(monitors));
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // stopping: the signal sender keeps the list it last read
                }
            }
        };
        NodePorts ports = new NodePorts(loop, loop, heartbeats, coordinator, hypervisor, fencer, watchdog, d -> {
            log.record(d);
            if (m != null) {
                m.record(d);
            }
            if (d.kind() == io.havn.common.node.Decision.Kind.READY) {
                systemd.notify("READY=1");
            }
            decisions.accept(d);
        }, answers);
        InetSocketAddress advertised = cfg.host().address();
        Node node = new Node(new Node.Identity(self, cfg.host().capacity(),
                advertised.getHostString() + ":" + advertised.getPort(), cfg.fence().device(),
                incarnation), cfg.settings(), cfg.libvirt().domainPolicy(), loop, watchdog);
        try {
            transport.start();
        } catch (IllegalStateException e) {
            // another process holds the port, or the address is not this host's: say which key to look at
            throw new Refused("heartbeat.bind: " + e.getMessage() + " (is another process on the port? ss -ulpn 'sport = :"
                    + bind.getPort() + "')");
        }
        coordinator.start();
        hypervisor.start();
        if (storage != null) {
            storage.start();
        }
        loop.start(new NodeDriver(node, ports));
        running = loop;
        restartWindowMs = cfg.settings().restartWindowMs();
        shutdownMigrateMs = cfg.settings().shutdownMigrateMs();
        systemd.petFrom(loop); // WATCHDOG=1 from the node's own thread, under WatchdogSec=
        sampleEverySecond(loop, node, m, coordinator.refusals());
        LOG.info("havnd started: host {} in cluster {}, heartbeats on {} ({})", self, cfg.cluster(), bind,
                transport.ioMode());
        return loop;
    }

    /**
     * The storage heartbeat of {@code cfg}'s datastores, its rounds counted by {@code m}; null when
     * there are none. What {@code --check-config} would find wrong with them is logged, not refused:
     * a datastore missing now (a device not yet there, a mount not yet up) fails its rounds until
     * it is there, which the node sees, while the daemon keeps the VMs safe meanwhile.
     */
    private StorageHeartbeat storageHeartbeat(HavnConfig cfg, byte[] clusterKey, Consumer<NodeEvent> sink,
                                              HavnMetrics m) throws java.io.IOException {
        if (cfg.storage().datastores().isEmpty()) {
            return null;
        }
        for (String problem : StorageCheck.problems(cfg, StorageHeartbeat.QEMU_IO)) {
            LOG.warn("storage heartbeat: {}", problem);
        }
        StorageHeartbeat storage = StorageHeartbeat.open(cfg, clusterKey, incarnation, sink,
                m == null ? (d, ok) -> { } : m::storageRound, StorageHeartbeat.QEMU_IO,
                Path.of(System.getProperty("java.io.tmpdir")));
        closeables.add(storage);
        if (m != null) {
            m.bindDatastores(storage.datastores());
        }
        return storage;
    }

    /**
     * A start refused for a reason a restart cannot fix (the message names the config key): havnd
     * exits 2, which systemd does not restart (RestartPreventExitStatus=2).
     */
    public static final class Refused extends Exception {
        public Refused(String message) {
            super(message);
        }
    }

    /** {@code --sign-records}: 0 when every record carries a valid seal afterwards, 1 when some do not, 2 on error. */
    private int signRecords(HavnConfig cfg) {
        try {
            byte[] key = HeartbeatCodec.readKeyFile(cfg.heartbeat().keyFile());
            RecordSeal seal = RecordSeal.fromClusterKey(cfg.cluster(), key);
            java.util.Arrays.fill(key, (byte) 0);
            RecordSeal previous = null;
            if (previousKeyFile != null) {
                byte[] old = HeartbeatCodec.readKeyFile(previousKeyFile);
                previous = RecordSeal.fromClusterKey(cfg.cluster(), old);
                java.util.Arrays.fill(old, (byte) 0);
            }
            HavnConfig.ZooKeeper zk = cfg.zookeeper();
            return RecordSigner.signAll(zk.connect(), zk.sessionTimeoutMs(), clientTls(zk), zk.digest(), cfg.cluster(),
                    cfg.host().name(), seal, previous, System.out) == 0 ? 0 : 1;
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            System.err.println("havnd: signing records failed: " + e.getMessage());
            return 2;
        }
    }

    /**
     * A status answer says how many records this daemon refused, when it refused any (a partial answer
     * keeps its own note apart, in {@code partialView}); others pass as they are.
     */
    static io.havn.common.node.AdminReply withRefusals(io.havn.common.node.AdminReply r, long refused) {
        if (r.state() == null || refused == 0) {
            return r;
        }
        String said = refused + (refused == 1 ? " record" : " records")
                + " in the coordination service refused: no valid seal of the cluster key (see havnd's log and "
                + "SECURITY.md)";
        return new io.havn.common.node.AdminReply(r.ok(), r.code(), r.message() == null ? said : r.message() + "; " + said,
                r.state(), r.from(), r.peers(), r.whatIf(), r.admission(), r.partialView());
    }

    /**
     * The TLS identity of {@code zk.tls}, its stores checked; or null, with a warning at every
     * start, for a ZooKeeper the config accepts without TLS.
     */
    private static ClientTls clientTls(HavnConfig.ZooKeeper zk) {
        if (zk.tls() == null) {
            LOG.warn("ZooKeeper without TLS (zookeeper.allowInsecure: true): anyone who reaches {} can read and "
                    + "rewrite this cluster's state{}", zk.connect(), zk.digest() == null ? ""
                    : ", and the digest password crosses the network in clear text");
            return null;
        }
        try {
            return ClientTls.open(zk.tls().keyStore(), zk.tls().keyStorePasswordFile(), zk.tls().trustStore(),
                    zk.tls().trustStorePasswordFile());
        } catch (IllegalArgumentException e) {
            throw new HavnConfig.ConfigException("zookeeper.tls." + e.getMessage());
        }
    }

    /** The incarnation of the last start, 0 before one. */
    long incarnation() {
        return incarnation;
    }

    /**
     * The metrics, served on {@code metrics.bind}. A port that cannot be bound is logged and the
     * daemon runs on without the endpoint: keeping VMs safe does not depend on being watched (and
     * a scrape that fails shows as {@code up == 0}).
     */
    private HavnMetrics metrics(HavnConfig cfg, NettyTransport transport) {
        HavnMetrics m = new HavnMetrics(cfg.cluster(), cfg.host().name());
        closeables.add(m);
        m.bindHeartbeatDrops(transport);
        MetricsServer server = new MetricsServer(resolved(cfg.metrics().bind()), m::scrape);
        server.onCut(cut -> m.connectionCut(HavnMetrics.Endpoint.METRICS, cut));
        try {
            server.start();
            closeables.add(server);
        } catch (java.io.IOException e) {
            LOG.error("metrics: cannot listen on {}: {}; running without the /metrics endpoint",
                    cfg.metrics().bind(), e.toString());
        }
        metrics = m;
        return m;
    }

    /**
     * On the node's thread, every second: the node's state into the metrics' gauges and systemd's
     * status, which also counts the records the coordinator refused.
     */
    private void sampleEverySecond(EventLoop loop, Node node, HavnMetrics m, RecordRefusals refusals) {
        loop.run(() -> sample(loop, node, m, refusals));
    }

    private void sample(EventLoop loop, Node node, HavnMetrics m, RecordRefusals refusals) {
        NodeSnapshot s = NodeSnapshot.of(node, reserve, System.nanoTime());
        if (m != null) {
            m.update(s);
        }
        systemd.status(StatusLine.of(s, refusals.total()));
        loop.schedule(SAMPLE_NANOS, () -> sample(loop, node, m, refusals));
    }

    /** Records in {@code peers} the heartbeat address a host record names, if it names a usable one. */
    public static void remember(Map<HostId, InetSocketAddress> peers, HostRecord h) {
        if (h.address() == null) {
            return;
        }
        int colon = h.address().lastIndexOf(':');
        if (colon > 0) {
            try {
                peers.put(h.id(), new InetSocketAddress(h.address().substring(0, colon),
                        Integer.parseInt(h.address().substring(colon + 1))));
            } catch (IllegalArgumentException e) {
                LOG.warn("host {} has an unusable heartbeat address '{}'", h.id(), h.address());
            }
        }
    }

    /** Lets what was queued on {@code io} run, waiting for it a bounded time: its threads are daemon threads. */
    private static void drain(java.util.concurrent.ExecutorService io) throws InterruptedException {
        io.shutdown();
        if (!io.awaitTermination(IO_DRAIN_MS, java.util.concurrent.TimeUnit.MILLISECONDS)) {
            LOG.warn("while stopping: file work still queued after {} ms", IO_DRAIN_MS);
        }
    }

    /** How long a stop waits for queued file work (the watchdog state, the signal's peers) to be written. */
    private static final long IO_DRAIN_MS = 2_000;

    private static java.util.concurrent.ExecutorService singleThread(String name) {
        return java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    private static InetSocketAddress resolved(InetSocketAddress a) {
        return a.isUnresolved() ? new InetSocketAddress(a.getHostString(), a.getPort()) : a;
    }

    /** What a clean stop tells the node, and how long it waits for the node's answer. */
    record Stop(NodeEvent.Stopping event, long waitMs) {
    }

    /**
     * The stop of a daemon alone waits {@link #STOP_WAIT_MS} for a planned restart to be recorded;
     * a stop with the host waits for the node to move its VMs away (up to {@code shutdownMigrateMs}
     * under the migrate policy) or stop them, plus {@link #HOST_SHUTDOWN_MARGIN_MS}.
     */
    static Stop stop(boolean hostShutdown, long restartWindowMs, long shutdownMigrateMs) {
        return new Stop(new NodeEvent.Stopping(STOP_REQUEST, restartWindowMs, hostShutdown),
                hostShutdown ? shutdownMigrateMs + HOST_SHUTDOWN_MARGIN_MS : STOP_WAIT_MS);
    }

    /**
     * A clean stop (SIGTERM). Of the daemon alone (systemctl stop or restart, a package upgrade): the
     * node is told first, so that while this host holds HA VMs it records a planned restart and keeps
     * the watchdog armed for {@code settings.restartWindowMs} (its VMs then run on until a daemon is
     * back, and nobody restarts them meanwhile); it waits at most {@link #STOP_WAIT_MS} for that, then
     * stops everything, newest first. The VMs are left running: a daemon restart never kills a VM.
     *
     * <p>With the host (the probe says the system is stopping: a shutdown or reboot), the node follows
     * the host's shutdown policy instead: it moves its HA VMs away, or stops them, and answers once it
     * has; that may take up to {@code settings.shutdownMigrateMs} plus {@link #HOST_SHUTDOWN_MARGIN_MS},
     * within havnd.service's TimeoutStopSec= (the unit stops before libvirt, so the VMs are still there
     * to move).
     */
    @Override
    public void close() {
        EventLoop loop = running;
        running = null;
        if (loop != null) {
            boolean hostShutdown = shutdownProbe.hostShuttingDown();
            Stop stop = stop(hostShutdown, restartWindowMs, shutdownMigrateMs);
            if (hostShutdown) {
                LOG.info("stopping: the host is shutting down; following its shutdown policy, for up to {} ms",
                        stop.waitMs());
            }
            loop.post(stop.event());
            try {
                io.havn.common.node.AdminReply r = stopAnswer.get(stop.waitMs(),
                        java.util.concurrent.TimeUnit.MILLISECONDS);
                if (r.ok()) {
                    LOG.info("stopping: {}", r.message());
                } else {
                    LOG.warn("stopping: {}", r.message());
                }
            } catch (java.util.concurrent.TimeoutException e) {
                if (hostShutdown) {
                    LOG.warn("stopping: the node did not finish with this host's HA VMs within {} ms; stopping anyway",
                            stop.waitMs());
                } else {
                    LOG.warn("stopping: the node did not record a planned restart within {} ms; this host's HA VMs "
                            + "stay only for what is left of its lease", STOP_WAIT_MS);
                }
            } catch (java.util.concurrent.ExecutionException e) {
                LOG.warn("stopping: {}", e.getCause().toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        abandon();
    }

    /**
     * Stops everything, newest first, without telling the node: as a crash looks to the cluster (the
     * session is abandoned and expires; the VMs stay only for what is left of the lease).
     */
    public void abandon() {
        running = null;
        if (!closeables.isEmpty()) {
            systemd.notify("STOPPING=1");
        }
        for (int i = closeables.size() - 1; i >= 0; i--) {
            try {
                closeables.get(i).close();
            } catch (Exception e) {
                if (e instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                LOG.warn("while stopping: {}", e.toString());
            }
        }
        closeables.clear();
        stopped.countDown();
    }
}
