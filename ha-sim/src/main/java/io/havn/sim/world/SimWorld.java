package io.havn.sim.world;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.model.Versioned;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Decision;
import io.havn.common.node.Node;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodePorts;
import io.havn.common.node.Settings;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Scheduler;
import io.havn.common.port.Watchdog;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The simulated cluster: hosts running the real {@link Node}, a network, a coordination ensemble,
 * hypervisors, fence devices and watchdogs, all in virtual time from one seed. This class wires
 * them together, injects the faults and keeps the trail; each port's fake is a file of its own
 * ({@link SimTransport}, {@link SimCoordination}, {@link SimHypervisor}, {@link SimFencer},
 * {@link SimWatchdog}), and {@link Invariants} checks every event, keeping the first violation.
 */
public final class SimWorld {
    public static final long MS = SimClock.MS;
    static final long LIST_MS = 20;
    static final long START_MS = 500;
    static final long RESUME_MS = 50;
    static final long SHUTDOWN_MS = 2_000;
    static final long DESTROY_MS = 100;
    static final long MIGRATE_MS = 2_000;
    static final long FENCE_MS = 1_000;
    static final long FENCE_FAIL_MS = 5_000;
    static final long REBOOT_MS = 30_000;
    static final long TICK_MS = 100;
    /** The wall clock of a host at virtual time 0, in ms since the epoch (it only feeds incarnations). */
    static final long WALL_BASE_MS = 1_800_000_000_000L;
    private static final int TRAIL = 60;

    /** What the runner and reports watch. */
    public interface Listener {
        default void decision(Decision d) { }

        default void domain(HostId host, VmId vm, DomainState before, DomainState after, String cause) { }

        default void note(HostId host, String kind, String text) { }
    }

    public final SimClock clock = new SimClock();
    public final SplittableRandom random;
    public final Settings settings;
    /** The simulated cluster's shared storage, as {@code libvirt.sharedStorage} names it. */
    public static final String SHARED_STORAGE = "/srv/shared";
    /** What every host's daemon lets a VM's domain XML ask of it: disks under {@link #SHARED_STORAGE}. */
    public static final DomainPolicy DOMAIN_POLICY = new DomainPolicy(List.of(SHARED_STORAGE), false,
            DomainPolicy.DEFAULT_EMULATORS);
    public final SimNetwork net;
    public final SimCoordination coordination;
    /** Heartbeat datagrams sent by every daemon since the start (lost ones too). */
    public long heartbeatsSent;
    /** The hosts the digests of those heartbeats spoke of, summed (two bytes each on the wire). */
    public long digestHostsSent;
    /** Signal datagrams sent by every host's signal sender since the start. */
    public long signalsSent;
    private final Map<HostId, SimHost> hosts = new LinkedHashMap<>();
    private final Map<VmId, Integer> failStarts = new HashMap<>();
    private final Map<VmId, Integer> failMigrations = new HashMap<>();
    /** The next start of a VM that lies about its outcome. */
    private final Map<VmId, StartFault> startFaults = new HashMap<>();
    private final ArrayDeque<String> trail = new ArrayDeque<>();
    private final List<Listener> listeners = new ArrayList<>();
    /** How long a daemon stopped cleanly waits for its node's answer before it exits anyway (as havnd). */
    static final long STOP_WAIT_MS = 3_000;
    private final Map<Long, AdminReply> replies = new HashMap<>();
    private long nextRequest = 1;
    /** What to do when a request is answered (a clean stop waits for its answer). */
    private final Map<Long, Runnable> onReply = new HashMap<>();
    /** The checks of what must never happen; the world stops at their first violation. */
    final Invariants invariants;
    /** The shared datastores and the hosts' paths to them. */
    final SimStorage storage;
    /** Guests whose agent stopped answering; with {@code forever}, a reset does not cure them. */
    private final Map<VmId, Boolean> hungGuests = new HashMap<>();
    /** Guests whose domain has no guest agent channel. */
    private final Set<VmId> noAgentChannel = new java.util.TreeSet<>();
    /** When each guest last booted (a start or a reset): its agent answers only once it has booted. */
    private final Map<VmId, Long> bootedAt = new HashMap<>();
    /** How often each guest booted since the run began (starts anywhere, resets). */
    private final Map<VmId, Integer> boots = new HashMap<>();
    /** How long a guest takes to boot before its agent answers. */
    static final long AGENT_BOOT_MS = 2_000;
    /** How long the adapter waits for an agent's answer (libvirt's agent timeout). */
    static final long AGENT_TIMEOUT_MS = 5_000;
    private long worldVersion;

    /** How a start lies: it times out and the guest comes up late, or it reports an error and the guest runs. */
    record StartFault(long timeoutMs, long lateMs, boolean errorRuns) { }

    public SimWorld(long seed, Settings settings) {
        this(seed, settings, 0);
    }

    /** A world whose ensemble negotiates every session down to {@code zkMaxSessionTimeoutMs} (0: no limit). */
    public SimWorld(long seed, Settings settings, long zkMaxSessionTimeoutMs) {
        this.random = new SplittableRandom(seed);
        this.settings = settings;
        this.net = new SimNetwork(random.split());
        this.coordination = new SimCoordination(clock, net, settings.sessionTimeoutMs(), zkMaxSessionTimeoutMs);
        this.invariants = new Invariants(clock, coordination, outsideGraceNanos(), this::trail);
        this.coordination.observe(new SimCoordination.Observer() {
            @Override
            public void written(List<CoordOp> ops) {
                worldVersion++;
                invariants.written(ops);
            }

            @Override
            public void vmReplaced(VmRecord before, VmRecord after) {
                invariants.vmWritten(before, after);
            }
        });
        clock.schedule(TICK_MS * MS, this::tick);
        new SimSignals(this, settings.heartbeatIntervalMs()).start();
        storage = new SimStorage(this, settings.storageIntervalMs());
        invariants.guestHung = hungGuests::containsKey;
    }

    public void listen(Listener l) {
        listeners.add(l);
    }

    // ---------------------------------------------------------------- building

    public SimHost addHost(HostId id, HostCapacity capacity, boolean fenceDevice) {
        SimHost h = new SimHost(id, capacity, fenceDevice ? "sim-ipmi-" + id : null);
        hosts.put(id, h);
        return h;
    }

    /** A VM already running on {@code host}, with the record an earlier cluster left. */
    public void addVm(VmSpec spec, HostId host) {
        SimHost h = hosts.get(host);
        h.specs.put(spec.id(), spec);
        setDomain(h, spec.id(), DomainState.RUNNING, "initial");
        coordination.seed(VmRecord.running(spec, host, 0));
        invariants.recorded(spec.id());
    }

    /** The cluster record holds {@code policy} from the start, as an earlier cluster left it. */
    public void seedPlacement(PlacementPolicy policy) {
        coordination.seedCluster(coordination.cluster().withPlacement(policy));
    }

    public SimHost host(HostId id) {
        return hosts.get(id);
    }

    /** The number of hosts in the world. */
    int hostCount() {
        return hosts.size();
    }

    public Collection<SimHost> hosts() {
        return hosts.values();
    }

    /** Starts the daemon of {@code id} (a new incarnation). */
    public void bootDaemon(HostId id) {
        SimHost h = hosts.get(id);
        if (!h.powered || h.node != null) {
            return;
        }
        h.incarnation++;
        int inc = h.incarnation;
        h.bootedAtSession = coordination.nextSessionId();
        h.inheritedUntil = h.watchdogArmed && h.watchdogDeadline > clock.nanos() ? h.watchdogDeadline : Long.MIN_VALUE;
        Consumer<NodeEvent> inbox = e -> deliver(h, inc, () -> h.driver.handle(e));
        h.client = coordination.connect(id, inbox);
        h.client.paused = () -> clock.nanos() < h.pausedUntil;
        Scheduler scheduler = (delay, task) -> {
            Runnable cancel = clock.schedule(delay, () -> deliver(h, inc, task));
            return cancel::run;
        };
        SimWatchdog watchdog = new SimWatchdog(clock, h);
        NodePorts ports = new NodePorts(clock, scheduler, new SimTransport(this, h, inc), h.client,
                new SimHypervisor(this, h, inbox), new SimFencer(this, inbox), watchdog,
                this::onDecision, (rid, reply) -> {
                    replies.put(rid, reply);
                    Runnable then = onReply.remove(rid);
                    if (then != null) {
                        then.run();
                    }
                });
        // as havnd does: above the incarnation recorded on the host's disk, whatever its wall clock says
        long wallMs = WALL_BASE_MS + clock.nanos() / MS + h.wallOffsetMs;
        long incarnation = io.havn.common.node.Incarnation.next(h.recordedIncarnation == 0 ? OptionalLong.empty()
                : OptionalLong.of(h.recordedIncarnation), wallMs);
        h.recordedIncarnation = incarnation;
        Node node = new Node(new Node.Identity(id, h.capacity, h.name + ":7405", h.fenceDevice, incarnation),
                settings, DOMAIN_POLICY, clock, watchdog);
        h.node = node;
        h.driver = new NodeDriver(node, ports);
        note(id, "daemon", "daemon starts (incarnation " + inc + ")");
        deliver(h, inc, h.driver::start);
    }

    /** Runs {@code r} on the daemon's thread: not at all if that incarnation is gone, later if it is paused. */
    void deliver(SimHost h, int inc, Runnable r) {
        if (h.incarnation != inc || !h.powered || h.node == null) {
            return;
        }
        if (clock.nanos() < h.pausedUntil || !h.held.isEmpty()) {
            h.held.add(r);
            return;
        }
        runGuarded(r);
    }

    /** As {@link #deliver(SimHost, int, Runnable)} for one event, with no task made unless it waits. */
    void deliver(SimHost h, int inc, NodeDriver driver, NodeEvent e) {
        if (h.incarnation != inc || !h.powered || h.node == null) {
            return;
        }
        if (clock.nanos() < h.pausedUntil || !h.held.isEmpty()) {
            // a paused daemon's transport thread is paused too: it reads the datagram when it runs again
            h.held.add(() -> driver.handle(e instanceof NodeEvent.HeartbeatReceived hr
                    ? new NodeEvent.HeartbeatReceived(hr.heartbeat(), clock.nanos()) : e));
            return;
        }
        if (invariants.violation() == null) {
            driver.handle(e);
        }
    }

    private void runGuarded(Runnable r) {
        if (invariants.violation() != null) {
            return;
        }
        r.run();
    }

    // ---------------------------------------------------------------- ports

    /**
     * The simulated hypervisor of {@code host} on its own, its events going straight to
     * {@code events}: for the hypervisor contract suite, which holds it to what libvirt does.
     */
    public Hypervisor hypervisor(HostId host, Consumer<NodeEvent> events) {
        return new SimHypervisor(this, hosts.get(host), events);
    }

    /** The fence devices as {@code from}'s daemon reaches them, posting answers to {@code events} (for tests). */
    public SimFencer fencer(HostId from, Consumer<NodeEvent> events) {
        Objects.requireNonNull(hosts.get(from), "no host " + from);
        return new SimFencer(this, events);
    }

    /**
     * A transport of {@code host} on its own, handing what it receives to {@code events}: for the
     * transport contract suite. It replaces the host's receiving end, as a daemon's would.
     */
    public SimTransport transport(HostId host, Consumer<NodeEvent> events) {
        SimHost h = hosts.get(host);
        return new SimTransport(this, h, h.incarnation, events);
    }

    /** The watchdog of {@code host} as a (new) daemon there sees it: for the watchdog contract suite. */
    public Watchdog watchdog(HostId host) {
        return new SimWatchdog(clock, hosts.get(host));
    }

    /** The next start of {@code vm} that lies about its outcome, taken; null if none is due. */
    StartFault takeStartFault(VmId vm) {
        return startFaults.remove(vm);
    }

    /** Whether the next start of {@code vm} is to fail (and counts it). */
    boolean failNextStart(VmId vm) {
        return takeOne(failStarts, vm);
    }

    /** Whether the next live migration of {@code vm} is to fail (and counts it). */
    boolean failNextMigration(VmId vm) {
        return takeOne(failMigrations, vm);
    }

    private static boolean takeOne(Map<VmId, Integer> left, VmId vm) {
        int n = left.getOrDefault(vm, 0);
        if (n == 0) {
            return false;
        }
        left.put(vm, n - 1);
        return true;
    }

    /** A fence device powered {@code t} off. */
    void fencedByDevice(SimHost t) {
        t.fencedCount++;
        note(t.id, "fence", "powered off by fence device");
        powerOff(t, "fenced");
    }

    // ---------------------------------------------------------------- what the checks see

    /** For the invariant checks' own tests: changes a domain as the hypervisor would. */
    void setDomainForTest(HostId host, VmId vm, DomainState state) {
        setDomain(hosts.get(host), vm, state, "test");
    }

    /** For the invariant checks' own tests: a destroy call as a node would make it. */
    void destroyForTest(HostId host, VmId vm) {
        invariants.beforeKill(hosts.get(host), vm, "destroy");
        setDomain(hosts.get(host), vm, null, "test");
    }

    /** Changes a domain of {@code h}, as its hypervisor does, and tells the checks and listeners. */
    void setDomain(SimHost h, VmId vm, DomainState state, String cause) {
        DomainState before = state == null ? h.domains.remove(vm) : h.domains.put(vm, state);
        if (before == state) {
            return;
        }
        if (before == null && state == DomainState.RUNNING) {
            bootedAt.put(vm, clock.nanos()); // a guest started here boots (a migration arrives paused)
            if (!"initial".equals(cause)) {
                boots.merge(vm, 1, Integer::sum);
            }
        }
        worldVersion++;
        invariants.domainChanged(h, vm, state);
        for (Listener l : listeners) {
            l.domain(h.id, vm, before, state, cause);
        }
        trail(h.name + " " + vm + ": " + before + " -> " + state + " (" + cause + ")");
    }

    /** How long havn may take to find and destroy a copy started behind its back: a re-list and a destroy. */
    private long outsideGraceNanos() {
        return (settings.relistMs() + 2 * settings.heartbeatTimeoutMs() + DESTROY_MS) * MS;
    }

    /** A decision of any node: for the checks, the trail and the listeners. */
    void onDecision(Decision d) {
        invariants.decided(d);
        if (d.kind() == Decision.Kind.LEADER_ELECTED || d.kind() == Decision.Kind.LEADER_LOST) {
            worldVersion++;
        } else if (d.kind() == Decision.Kind.SELF_FENCE) {
            hosts.get(d.host()).fencedCount++;
            worldVersion++;
        }
        trail(d.host() + " " + d.kind() + (d.vm() != null ? " vm=" + d.vm() : "")
                + (d.subject() != null ? " host=" + d.subject() : "") + (d.detail() != null ? ": " + d.detail() : ""));
        for (Listener l : listeners) {
            l.decision(d);
        }
    }

    private void trail(String line) {
        trail.addLast(String.format("%10.3fs %s", clock.nanos() / 1e9, line));
        if (trail.size() > TRAIL) {
            trail.removeFirst();
        }
    }

    public String violation() {
        return invariants.violation();
    }

    public List<String> trail() {
        return new ArrayList<>(trail);
    }

    /** Grows with every change the facts of a scenario can see. */
    public long version() {
        return worldVersion;
    }

    // ---------------------------------------------------------------- time

    private void tick() {
        coordination.tick();
        long now = clock.nanos();
        invariants.recheckOutsideCopies();
        for (SimHost h : hosts.values()) {
            long resetMs = h.guardSlowerThanW ? 2 * settings.watchdogMs() : settings.watchdogMs();
            if (h.powered && h.guardRunning && h.watchdogArmed && now > h.watchdogDeadline + resetMs * MS) {
                h.fencedCount++;
                h.watchdogResets++;
                note(h.id, "fence", "watchdog reset: the lease it guarded ran out");
                powerOff(h, "watchdog reset");
                clock.schedule(REBOOT_MS * MS, () -> powerOn(h.id));
            }
        }
        clock.schedule(TICK_MS * MS, this::tick);
    }

    /** Runs events until {@code untilNanos}, or until {@code stop} holds or an invariant is violated. */
    public void runUntil(long untilNanos, BooleanSupplier stop) {
        boolean stopped = false;
        while (violation() == null && !(stopped = stop.getAsBoolean()) && clock.runNext(untilNanos)) {
            // each event ran
        }
        if (violation() == null && !stopped) {
            clock.advanceTo(untilNanos);
        }
    }

    public void runUntil(long untilNanos) {
        runUntil(untilNanos, () -> false);
    }

    // ---------------------------------------------------------------- faults and requests

    public void crash(HostId id) {
        SimHost h = hosts.get(id);
        note(id, "fault", "power loss");
        powerOff(h, "power loss");
    }

    private void powerOff(SimHost h, String cause) {
        if (!h.powered) {
            return;
        }
        for (VmId vm : new ArrayList<>(h.domains.keySet())) {
            setDomain(h, vm, null, cause);
        }
        stopDaemon(h);
        h.powered = false;
        h.watchdogArmed = false;
        h.pausedUntil = Long.MIN_VALUE;
        worldVersion++;
    }

    public void powerOn(HostId id) {
        SimHost h = hosts.get(id);
        if (h.powered) {
            return;
        }
        h.powered = true;
        h.boots++;
        net.reconnect(h.name);
        note(id, "power", "powered on");
        // libvirtd starts before havnd, and with it every domain whose definition has autostart on
        for (VmId vm : h.autostart) {
            if (h.specs.containsKey(vm)) {
                invariants.autostarted(h, vm);
                setDomain(h, vm, DomainState.RUNNING, "libvirt autostart at boot");
            }
        }
        bootDaemon(id);
    }

    private void stopDaemon(SimHost h) {
        if (h.node != null) {
            h.node.stop();
            h.node = null;
            h.driver = null;
        }
        if (h.client != null) {
            coordination.close(h.client);
            h.client = null;
        }
        h.held.clear();
        h.incarnation++;
    }

    public void daemonCrash(HostId id) {
        note(id, "fault", "daemon crash");
        stopDaemon(hosts.get(id));
    }

    public void daemonStart(HostId id) {
        bootDaemon(id);
    }

    /**
     * Stops the daemon of {@code id} cleanly, as SIGTERM does: it is told it is stopping (with the
     * restart window of the settings) and exits once it has answered, or after {@link #STOP_WAIT_MS}
     * whatever it did, as havnd does. Its session is abandoned, not closed: it expires later.
     */
    public void daemonStop(HostId id) {
        SimHost h = hosts.get(id);
        if (h == null || !h.daemonRunning()) {
            return;
        }
        note(id, "fault", "daemon stopped cleanly");
        int inc = h.incarnation;
        long rid = nextRequest++;
        Runnable exit = () -> {
            onReply.remove(rid);
            if (h.incarnation == inc && h.node != null) {
                note(id, "daemon", "daemon exits: " + (replies.containsKey(rid) ? replies.get(rid).message()
                        : "no answer within " + STOP_WAIT_MS + " ms"));
                stopDaemon(h);
            }
        };
        onReply.put(rid, () -> clock.schedule(MS, exit));
        inject(id, new NodeEvent.Stopping(rid, settings.restartWindowMs()));
        clock.schedule(STOP_WAIT_MS * MS, exit);
    }

    /**
     * Shuts {@code id} down cleanly, as {@code systemctl poweroff} or a reboot does: its daemon is told
     * the host is stopping and follows the shutdown policy; once it has answered (or after
     * shutdownMigrateMs and 30 s, as havnd waits) it exits, and the host powers off
     * {@link #SHUTDOWN_TAIL_MS} later (the rest of the system stops meanwhile; what still runs there
     * runs on until then), back on after {@code backAfterMs} (never, when negative). The session is
     * abandoned and expires later.
     */
    /** How long a host shut down cleanly runs on after its daemon exited, before it powers off. */
    static final long SHUTDOWN_TAIL_MS = 5_000;

    public void shutdown(HostId id, long backAfterMs) {
        SimHost h = hosts.get(id);
        if (h == null || !h.powered) {
            return;
        }
        note(id, "fault", "host shut down cleanly" + (backAfterMs >= 0 ? ", back after " + backAfterMs + " ms" : ""));
        int boots = h.boots;
        long rid = nextRequest++;
        Runnable off = () -> {
            onReply.remove(rid);
            if (h.boots == boots && h.powered && h.node != null) {
                note(id, "daemon", "daemon exits: " + (replies.containsKey(rid) ? replies.get(rid).message()
                        : "no answer in time"));
                stopDaemon(h);
                // the rest of the system stops after havnd (libvirt last): what still runs runs on until then
                clock.schedule(SHUTDOWN_TAIL_MS * MS, () -> {
                    if (h.boots == boots) {
                        powerOff(h, "shut down");
                        if (backAfterMs >= 0) {
                            clock.schedule(backAfterMs * MS, () -> powerOn(id));
                        }
                    }
                });
            }
        };
        if (!h.daemonRunning()) {
            powerOff(h, "shut down");
            if (backAfterMs >= 0) {
                clock.schedule(backAfterMs * MS, () -> powerOn(id));
            }
            return;
        }
        onReply.put(rid, () -> clock.schedule(MS, off));
        inject(id, new NodeEvent.Stopping(rid, settings.restartWindowMs(), true));
        clock.schedule((settings.shutdownMigrateMs() + 30_000) * MS, off);
    }

    public void pause(HostId id, long durationMs) {
        SimHost h = hosts.get(id);
        if (!h.daemonRunning()) {
            return;
        }
        note(id, "fault", "daemon paused for " + durationMs + " ms");
        h.pausedUntil = Math.max(h.pausedUntil, clock.nanos() + durationMs * MS);
        int inc = h.incarnation;
        clock.scheduleAt(h.pausedUntil, () -> drain(h, inc));
    }

    private void drain(SimHost h, int inc) {
        if (h.incarnation != inc || clock.nanos() < h.pausedUntil) {
            return;
        }
        while (!h.held.isEmpty() && h.incarnation == inc && clock.nanos() >= h.pausedUntil) {
            runGuarded(h.held.removeFirst());
        }
    }

    public void isolate(HostId id) {
        note(id, "fault", "isolated");
        net.isolate(id.value());
    }

    public void reconnect(HostId id) {
        note(id, "fault", "reconnected");
        net.reconnect(id.value());
    }

    public void vmCrash(VmId vm) {
        for (SimHost h : hosts.values()) {
            if (h.domains.get(vm) == DomainState.RUNNING) {
                setDomain(h, vm, null, "guest crashed");
                if (h.node != null) {
                    int inc = h.incarnation;
                    NodeDriver n = h.driver;
                    clock.schedule(MS, () -> deliver(h, inc, () -> n.handle(
                            new NodeEvent.DomainChanged(vm, DomainState.CRASHED, false, "guest crashed"))));
                }
            }
        }
    }

    // ---------------------------------------------------------------- storage and guests

    /** A shared datastore every host heartbeats on. */
    public void addDatastore(String name) {
        storage.add(name);
    }

    public Set<String> datastores() {
        return java.util.Collections.unmodifiableSet(storage.datastores);
    }

    /** {@code host} loses its path to {@code datastore} ({@code lost}), or gets it back. */
    public void storagePath(HostId host, String datastore, boolean lost) {
        storage.setLost(hosts.get(host), datastore, lost);
    }

    /** {@code datastore} stops answering every host ({@code down}), or answers again. */
    public void datastore(String datastore, boolean down) {
        storage.setDown(datastore, down);
    }

    /** The guest's agent stops answering (its kernel hangs); {@code forever}: a reset does not cure it. */
    public void guestHang(VmId vm, boolean forever) {
        hungGuests.put(vm, forever);
        noteCluster("guest " + vm + " hangs" + (forever ? " for good" : ""));
    }

    /** The guest answers again by itself. */
    public void guestUnhang(VmId vm) {
        hungGuests.remove(vm);
        noteCluster("guest " + vm + " answers again");
    }

    /** The guest's domain has no agent channel. */
    public void noAgentChannel(VmId vm) {
        noAgentChannel.add(vm);
    }

    /** What {@code vm}'s agent answers a ping on {@code h} now. */
    NodeEvent.AgentAnswer agentAnswer(SimHost h, VmId vm) {
        VmSpec spec = h.specs.get(vm);
        if (h.domains.get(vm) != DomainState.RUNNING) {
            return NodeEvent.AgentAnswer.NOT_RUNNING;
        }
        if (spec == null || spec.guestMonitor() == null || noAgentChannel.contains(vm)) {
            return NodeEvent.AgentAnswer.NOT_CONFIGURED;
        }
        Long booted = bootedAt.get(vm);
        if (hungGuests.containsKey(vm) || booted != null && clock.nanos() - booted < AGENT_BOOT_MS * MS) {
            return NodeEvent.AgentAnswer.NO_ANSWER;
        }
        return NodeEvent.AgentAnswer.OK;
    }

    /** The guest was reset: it boots again, and a hang that a reset cures is gone. */
    void guestReset(SimHost h, VmId vm) {
        bootedAt.put(vm, clock.nanos());
        boots.merge(vm, 1, Integer::sum);
        if (Boolean.FALSE.equals(hungGuests.get(vm))) {
            hungGuests.remove(vm);
        }
        note(h.id, "guest", vm + " reset: it boots again");
    }

    public void failStarts(VmId vm, int times) {
        failStarts.merge(vm, times, Integer::sum);
    }

    /** The VM's next start times out after {@code timeoutMs}; the guest comes up {@code lateMs} after the call. */
    public void startLate(VmId vm, long timeoutMs, long lateMs) {
        startFaults.put(vm, new StartFault(timeoutMs, lateMs, false));
    }

    /** The VM's next start reports an error, yet the guest runs. */
    public void startErrorRuns(VmId vm) {
        startFaults.put(vm, new StartFault(0, 0, true));
    }

    /**
     * An operator starts the VM's domain on {@code host} by hand: libvirt runs it, and no event
     * reaches havn (the worst case: the adapter missed it); only a listing shows it.
     */
    public void outsideStart(VmId vm, HostId host) {
        SimHost h = hosts.get(host);
        VmSpec spec = specOf(vm);
        if (!h.powered || spec == null || h.domains.containsKey(vm)) {
            note(host, "fault", "outside start of " + vm + " does nothing here");
            return;
        }
        note(host, "fault", "someone starts " + vm + " by hand, behind havn's back");
        h.specs.put(vm, spec);
        invariants.outsideStart(h, vm);
        setDomain(h, vm, DomainState.RUNNING, "started outside havn");
    }

    /** libvirt autostart is switched on for the VM's definition on {@code host} (defining it there if needed). */
    public void autostart(VmId vm, HostId host) {
        SimHost h = hosts.get(host);
        VmSpec spec = specOf(vm);
        if (spec == null || !h.powered) {
            note(host, "fault", "autostart of " + vm + " does nothing here: the host is off");
            return; // nobody reaches the libvirt of a host that is off
        }
        h.specs.putIfAbsent(vm, spec);
        h.autostart.add(vm);
        note(host, "fault", "libvirt autostart switched on for " + vm);
    }

    /** The host's wall clock jumps by {@code deltaMs}. */
    /** Stops ({@code on} false) or starts again the signal sender of {@code host}. */
    public void signal(HostId host, boolean on) {
        SimHost h = hosts.get(host);
        h.signalRunning = on;
        note(host, "fault", "signal sender " + (on ? "runs again" : "stopped"));
    }

    public void clockStep(HostId host, long deltaMs) {
        hosts.get(host).wallOffsetMs += deltaMs;
        note(host, "fault", "wall clock steps " + (deltaMs < 0 ? "back " : "ahead ") + Math.abs(deltaMs) + " ms");
    }

    /** The watchdog of {@code host} says what is wrong with it (null: nothing). */
    public void watchdogProblem(HostId host, String problem) {
        hosts.get(host).watchdogProblem = problem;
    }

    /** Cuts a link (hosts or zk1..zk3), both ways or one way. */
    public void cut(String from, String to, boolean oneWay) {
        net.cut(from, to, !oneWay);
        noteCluster((oneWay ? "cut-oneway " : "cut ") + from + " " + to);
    }

    private VmSpec specOf(VmId vm) {
        Versioned<VmRecord> r = coordination.vm(vm);
        if (r != null) {
            return r.value().spec();
        }
        for (SimHost x : hosts.values()) {
            if (x.specs.containsKey(vm)) {
                return x.specs.get(vm);
            }
        }
        return null;
    }

    public void failMigrations(VmId vm, int times) {
        failMigrations.merge(vm, times, Integer::sum);
    }

    public void breakFence(HostId id) {
        hosts.get(id).fenceBroken = true;
    }

    /**
     * Sends an admin request to the first host (in name order) whose daemon is ready, as an operator
     * at that host's admin socket would. Returns the request id, or -1 when no daemon is ready.
     */
    public long admin(AdminCommand cmd) {
        for (SimHost h : new TreeMap<>(hosts).values()) {
            if (h.daemonRunning() && h.node.isReady()) {
                return admin(h.id, cmd);
            }
        }
        return -1;
    }

    /** Sends an admin request to the daemon of {@code via}; returns the request id, or -1 if it runs none. */
    public long admin(HostId via, AdminCommand cmd) {
        SimHost h = hosts.get(via);
        if (h == null || !h.daemonRunning()) {
            return -1;
        }
        long id = nextRequest++;
        inject(via, new NodeEvent.AdminRequest(id, cmd));
        return id;
    }

    /** Hands {@code event} to the daemon of {@code host} a millisecond from now, as its adapters would. */
    public void inject(HostId host, NodeEvent event) {
        SimHost h = hosts.get(host);
        if (h == null || !h.daemonRunning()) {
            return;
        }
        int inc = h.incarnation;
        NodeDriver n = h.driver;
        clock.schedule(MS, () -> deliver(h, inc, () -> n.handle(event)));
    }

    public AdminReply reply(long id) {
        return replies.get(id);
    }

    void note(HostId host, String kind, String text) {
        trail((host == null ? "cluster" : host.value()) + " " + text);
        for (Listener l : listeners) {
            l.note(host, kind, text);
        }
    }

    /** A cluster-wide fault or change, for the trail and the timeline. */
    public void noteCluster(String text) {
        note(null, "fault", text);
    }

    // ---------------------------------------------------------------- facts

    /** The hosts where {@code vm} runs now. */
    /** How often {@code vm}'s guest booted since the run began: starts anywhere, and resets. */
    public int boots(VmId vm) {
        return boots.getOrDefault(vm, 0);
    }

    /** The hosts holding {@code vm} paused on a storage error now. */
    public Set<HostId> storagePausedOn(VmId vm) {
        Set<HostId> out = new java.util.TreeSet<>();
        for (SimHost h : hosts.values()) {
            if (h.powered && h.domains.get(vm) == DomainState.PAUSED_STORAGE) {
                out.add(h.id);
            }
        }
        return out;
    }

    public Set<HostId> runningOn(VmId vm) {
        return invariants.runningOn(vm);
    }

    /** A count that grows with every domain change: while it stands still, {@link #runningOn} says the same of every VM. */
    public long domainChanges() {
        return invariants.domainChanges();
    }

    public boolean isLeader(HostId id) {
        SimHost h = hosts.get(id);
        return h != null && h.daemonRunning() && h.node.isLeader();
    }

    public boolean hostLive(HostId id) {
        return coordination.isLive(id);
    }

    public boolean inMaintenance(HostId id) {
        var r = coordination.host(id);
        return r != null && r.value().inMaintenance();
    }

    public VmRecord record(VmId vm) {
        Versioned<VmRecord> v = coordination.vm(vm);
        return v == null ? null : v.value();
    }
}
