package io.havn.sim.world;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.DesiredState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.model.Versioned;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Decision;
import io.havn.common.node.Node;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodePorts;
import io.havn.common.node.Settings;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Fencer;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Scheduler;
import io.havn.common.port.Transport;
import io.havn.common.port.Watchdog;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The simulated cluster: hosts running the real {@link Node}, a network, a coordination ensemble,
 * hypervisors, fence devices and watchdogs, all in virtual time from one seed. It checks the
 * invariants on every event and keeps the first violation with the trail that led to it.
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
    private final Map<HostId, SimHost> hosts = new LinkedHashMap<>();
    private final Map<VmId, Integer> failStarts = new HashMap<>();
    private final Map<VmId, Integer> failMigrations = new HashMap<>();
    /** The next start of a VM that lies about its outcome. */
    private final Map<VmId, StartFault> startFaults = new HashMap<>();
    /** Copies started behind havn's back ("host vm"), and since when: havn must remove them within a bound. */
    private final Map<String, Long> outsideCopies = new HashMap<>();
    private final Map<VmId, Set<HostId>> runningOn = new HashMap<>();
    private final Set<VmId> everRecorded = new HashSet<>();
    private final Map<Long, HostId> epochLeaders = new HashMap<>();
    private long highestEpoch;
    private final ArrayDeque<String> trail = new ArrayDeque<>();
    private final List<Listener> listeners = new ArrayList<>();
    private final Map<Long, AdminReply> replies = new HashMap<>();
    private long nextRequest = 1;
    private String violation;
    private long worldVersion;

    /** How a start lies: it times out and the guest comes up late, or it reports an error and the guest runs. */
    private record StartFault(long timeoutMs, long lateMs, boolean errorRuns) { }

    public SimWorld(long seed, Settings settings) {
        this(seed, settings, 0);
    }

    /** A world whose ensemble negotiates every session down to {@code zkMaxSessionTimeoutMs} (0: no limit). */
    public SimWorld(long seed, Settings settings, long zkMaxSessionTimeoutMs) {
        this.random = new SplittableRandom(seed);
        this.settings = settings;
        this.net = new SimNetwork(random.split());
        this.coordination = new SimCoordination(clock, net, settings.sessionTimeoutMs(), zkMaxSessionTimeoutMs);
        this.coordination.observe(this::checkWrite);
        clock.schedule(TICK_MS * MS, this::tick);
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
        everRecorded.add(spec.id());
    }

    public SimHost host(HostId id) {
        return hosts.get(id);
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
        Node[] self = new Node[1];
        Consumer<NodeEvent> inbox = e -> deliver(h, inc, () -> self[0].handle(e));
        h.client = coordination.connect(id, inbox);
        h.client.paused = () -> clock.nanos() < h.pausedUntil;
        Scheduler scheduler = (delay, task) -> {
            Runnable cancel = clock.schedule(delay, () -> deliver(h, inc, task));
            return cancel::run;
        };
        NodePorts ports = new NodePorts(clock, scheduler, transport(h, inc), h.client, hypervisor(h, inbox),
                fencer(h, inbox), watchdog(h), this::onDecision, (rid, reply) -> replies.put(rid, reply));
        // as havnd does: above the incarnation recorded on the host's disk, whatever its wall clock says
        long wallMs = WALL_BASE_MS + clock.nanos() / MS + h.wallOffsetMs;
        long incarnation = io.havn.common.node.Incarnation.next(h.recordedIncarnation == 0 ? OptionalLong.empty()
                : OptionalLong.of(h.recordedIncarnation), wallMs);
        h.recordedIncarnation = incarnation;
        Node node = new Node(new Node.Identity(id, h.capacity, h.name + ":7405", h.fenceDevice, incarnation),
                settings, DOMAIN_POLICY, ports);
        self[0] = node;
        h.node = node;
        note(id, "daemon", "daemon starts (incarnation " + inc + ")");
        deliver(h, inc, node::start);
    }

    /** Runs {@code r} on the daemon's thread: not at all if that incarnation is gone, later if it is paused. */
    private void deliver(SimHost h, int inc, Runnable r) {
        if (h.incarnation != inc || !h.powered || h.node == null) {
            return;
        }
        if (clock.nanos() < h.pausedUntil || !h.held.isEmpty()) {
            h.held.add(r);
            return;
        }
        runGuarded(r);
    }

    private void runGuarded(Runnable r) {
        if (violation != null) {
            return;
        }
        r.run();
    }

    // ---------------------------------------------------------------- ports

    /**
     * Heartbeats a sender sends in one instant all take the same latency, so they travel as one
     * event; loss is still drawn per datagram, at sending, in sending order.
     */
    private Transport transport(SimHost from, int inc) {
        return (to, hb) -> {
            SimHost dest = hosts.get(to);
            if (dest == null || from.incarnation != inc || !net.delivers(from.name, dest.name)) {
                return;
            }
            Batch b = from.outgoing;
            if (b == null || b.at != clock.nanos()) {
                Batch fresh = new Batch(clock.nanos());
                from.outgoing = fresh;
                clock.schedule(net.latencyNanos(), () -> deliverBatch(fresh));
                b = fresh;
            }
            b.to.add(dest);
            b.incarnations.add(dest.incarnation);
            b.beats.add(hb);
        };
    }

    /** One sender's heartbeats of one instant, on their way. */
    static final class Batch {
        final long at;
        final List<SimHost> to = new ArrayList<>();
        final List<Integer> incarnations = new ArrayList<>();
        final List<io.havn.common.node.Heartbeat> beats = new ArrayList<>();

        Batch(long at) {
            this.at = at;
        }
    }

    private void deliverBatch(Batch b) {
        for (int i = 0; i < b.to.size(); i++) {
            SimHost dest = b.to.get(i);
            int destInc = b.incarnations.get(i);
            if (dest.node != null && dest.incarnation == destInc) {
                NodeEvent e = new NodeEvent.HeartbeatReceived(b.beats.get(i));
                Node n = dest.node;
                deliver(dest, destInc, () -> n.handle(e));
            }
        }
    }

    /**
     * The simulated hypervisor of {@code host} on its own, its events going straight to
     * {@code events}: for the hypervisor contract suite, which holds it to what libvirt does.
     */
    public Hypervisor hypervisor(HostId host, Consumer<NodeEvent> events) {
        return hypervisor(hosts.get(host), events);
    }

    private Watchdog watchdog(SimHost h) {
        return new Watchdog() {
            @Override
            public void armUntil(long deadlineNanos) {
                h.watchdogArmed = true;
                h.watchdogDeadline = deadlineNanos;
            }

            @Override
            public void release() {
                h.watchdogArmed = false;
            }

            @Override
            public OptionalLong inheritedDeadline() {
                return h.watchdogArmed && h.watchdogDeadline > clock.nanos()
                        ? OptionalLong.of(h.watchdogDeadline) : OptionalLong.empty();
            }

            @Override
            public java.util.Optional<String> problem() {
                return java.util.Optional.ofNullable(h.watchdogProblem);
            }
        };
    }

    private Fencer fencer(SimHost from, Consumer<NodeEvent> inbox) {
        return (target, device) -> {
            SimHost t = hosts.get(target);
            if (t == null || t.fenceDevice == null || t.fenceBroken) {
                clock.schedule(FENCE_FAIL_MS * MS, () -> inbox.accept(new NodeEvent.FenceDone(target, false,
                        "fence device " + device + " did not answer")));
                return;
            }
            clock.schedule(FENCE_MS * MS, () -> {
                if (t.fenceBroken) {
                    inbox.accept(new NodeEvent.FenceDone(target, false, "fence device " + device + " failed"));
                    return;
                }
                t.fencedCount++;
                note(target, "fence", "powered off by fence device");
                powerOff(t, "fenced");
                inbox.accept(new NodeEvent.FenceDone(target, true, null));
            });
        };
    }

    private Hypervisor hypervisor(SimHost h, Consumer<NodeEvent> inbox) {
        return new Hypervisor() {
            private void later(long ms, Runnable r) {
                int inc = h.incarnation;
                clock.schedule(ms * MS, () -> {
                    if (h.powered && h.incarnation == inc) {
                        r.run();
                    }
                });
            }

            @Override
            public void list() {
                later(LIST_MS, () -> {
                    List<DomainInfo> out = new ArrayList<>();
                    h.domains.forEach((v, s) -> out.add(new DomainInfo(v, v.value(), s, h.autostart.contains(v))));
                    for (VmId v : h.autostart) {
                        if (!h.domains.containsKey(v)) {
                            out.add(new DomainInfo(v, v.value(), DomainState.SHUTOFF, true));
                        }
                    }
                    inbox.accept(new NodeEvent.DomainsListed(out));
                });
            }

            @Override
            public void disableAutostart(VmId vm) {
                later(LIST_MS, () -> {
                    if (h.autostart.remove(vm)) {
                        note(h.id, "autostart", "autostart cleared for " + vm);
                    }
                });
            }

            @Override
            public void start(VmSpec spec) {
                checkClaimed(h, spec.id(), "start");
                StartFault fault = startFaults.remove(spec.id());
                if (fault != null && !fault.errorRuns()) {
                    startLate(h, spec, fault, inbox);
                    return;
                }
                later(START_MS, () -> {
                    if (spec.domainXml() == null || !spec.domainXml().contains("<domain")) {
                        inbox.accept(new NodeEvent.HypervisorDone(spec.id(), Op.START, false,
                                "invalid domain XML: no <domain> element"));
                        return;
                    }
                    if (h.domains.containsKey(spec.id())) {
                        inbox.accept(new NodeEvent.HypervisorDone(spec.id(), Op.START, false,
                                "Requested operation is not valid: domain is already running"));
                        return;
                    }
                    int left = failStarts.getOrDefault(spec.id(), 0);
                    if (left > 0) {
                        failStarts.put(spec.id(), left - 1);
                        inbox.accept(new NodeEvent.HypervisorDone(spec.id(), Op.START, false, "injected start failure"));
                        return;
                    }
                    h.specs.put(spec.id(), spec);
                    h.autostart.remove(spec.id()); // defined with autostart off
                    if (fault != null) {
                        setDomain(h, spec.id(), DomainState.RUNNING, "started, though libvirt reported an error");
                        inbox.accept(new NodeEvent.HypervisorDone(spec.id(), Op.START, false,
                                "injected: libvirt reported an error, but the guest started"));
                        return;
                    }
                    setDomain(h, spec.id(), DomainState.RUNNING, "started");
                    inbox.accept(new NodeEvent.HypervisorDone(spec.id(), Op.START, true, null));
                });
            }

            @Override
            public void resume(VmId vm) {
                checkClaimed(h, vm, "resume");
                later(RESUME_MS, () -> {
                    boolean ok = h.domains.get(vm) == DomainState.PAUSED;
                    if (ok) {
                        setDomain(h, vm, DomainState.RUNNING, "resumed");
                    }
                    inbox.accept(new NodeEvent.HypervisorDone(vm, Op.RESUME, ok, ok ? null : "domain is not paused"));
                });
            }

            @Override
            public void shutdown(VmId vm, long timeoutMs) {
                checkKill(h, vm, "shutdown");
                later(SHUTDOWN_MS, () -> {
                    if (!h.domains.containsKey(vm)) {
                        inbox.accept(new NodeEvent.HypervisorDone(vm, Op.SHUTDOWN, false, "no domain " + vm));
                        return;
                    }
                    setDomain(h, vm, null, "shut down");
                    inbox.accept(new NodeEvent.HypervisorDone(vm, Op.SHUTDOWN, true, null));
                });
            }

            @Override
            public void destroy(VmId vm) {
                checkKill(h, vm, "destroy");
                later(DESTROY_MS, () -> {
                    if (!h.domains.containsKey(vm)) {
                        inbox.accept(new NodeEvent.HypervisorDone(vm, Op.DESTROY, false, "no domain " + vm));
                        return;
                    }
                    setDomain(h, vm, null, "destroyed");
                    inbox.accept(new NodeEvent.HypervisorDone(vm, Op.DESTROY, true, null));
                });
            }

            @Override
            public void migrate(VmId vm, HostId target) {
                later(MIGRATE_MS, () -> {
                    SimHost t = hosts.get(target);
                    int left = failMigrations.getOrDefault(vm, 0);
                    boolean ok = t != null && t.powered && h.domains.get(vm) == DomainState.RUNNING
                            && net.reachable(h.name, t.name) && left == 0 && !t.domains.containsKey(vm);
                    if (!ok) {
                        if (left > 0) {
                            failMigrations.put(vm, left - 1);
                        }
                        inbox.accept(new NodeEvent.HypervisorDone(vm, Op.MIGRATE, false, "live migration failed"));
                        return;
                    }
                    // the guest stops on the source and waits, paused, on the destination
                    t.specs.put(vm, h.specs.get(vm));
                    setDomain(h, vm, null, "migrated out");
                    setDomain(t, vm, DomainState.PAUSED, "migrated in");
                    inbox.accept(new NodeEvent.HypervisorDone(vm, Op.MIGRATE, true, null));
                    if (t.node != null) {
                        int tinc = t.incarnation;
                        Node tn = t.node;
                        clock.schedule(MS, () -> deliver(t, tinc, () -> tn.handle(
                                new NodeEvent.DomainChanged(vm, DomainState.PAUSED, true, "incoming migration complete"))));
                    }
                });
            }
        };
    }

    /**
     * A start whose call times out: the adapter reports the timeout, and the guest comes up later,
     * when the call returns, whether or not the daemon that asked still runs (libvirtd does the work).
     */
    private void startLate(SimHost h, VmSpec spec, StartFault fault, Consumer<NodeEvent> inbox) {
        int inc = h.incarnation;
        int boot = h.boots;
        VmId vm = spec.id();
        clock.schedule(fault.timeoutMs() * MS, () -> {
            if (h.powered && h.incarnation == inc) {
                inbox.accept(new NodeEvent.HypervisorDone(vm, Hypervisor.Op.START, false,
                        "timed out after " + fault.timeoutMs() + " ms waiting for libvirt (start)", true));
            }
        });
        clock.schedule(fault.lateMs() * MS, () -> {
            if (!h.powered || h.boots != boot || h.domains.containsKey(vm)) {
                return; // the machine lost power meanwhile: the call died with libvirtd
            }
            h.specs.put(vm, spec);
            h.autostart.remove(vm);
            setDomain(h, vm, DomainState.RUNNING, "started late, after the call timed out");
            if (h.incarnation == inc) {
                inbox.accept(new NodeEvent.HypervisorLate(vm, Hypervisor.Op.START, true, null));
            }
        });
    }

    // ---------------------------------------------------------------- invariants

    /** For the invariant checks' own tests: changes a domain as the hypervisor would. */
    void setDomainForTest(HostId host, VmId vm, DomainState state) {
        setDomain(hosts.get(host), vm, state, "test");
    }

    /** For the invariant checks' own tests: a destroy call as a node would make it. */
    void destroyForTest(HostId host, VmId vm) {
        checkKill(hosts.get(host), vm, "destroy");
        setDomain(hosts.get(host), vm, null, "test");
    }

    private void setDomain(SimHost h, VmId vm, DomainState state, String cause) {
        DomainState before = state == null ? h.domains.remove(vm) : h.domains.put(vm, state);
        if (before == state) {
            return;
        }
        worldVersion++;
        Set<HostId> on = runningOn.computeIfAbsent(vm, k -> new HashSet<>());
        if (state == DomainState.RUNNING) {
            on.add(h.id);
            checkOneCopy(vm);
        } else {
            on.remove(h.id);
            outsideCopies.remove(h.name + " " + vm);
        }
        for (Listener l : listeners) {
            l.domain(h.id, vm, before, state, cause);
        }
        trail(h.name + " " + vm + ": " + before + " -> " + state + " (" + cause + ")");
    }

    /**
     * A VM runs on one host at most. A copy started behind havn's back is havn's to remove, not to
     * prevent: it counts only once it has outlived {@link #outsideGraceNanos()}.
     */
    private void checkOneCopy(VmId vm) {
        Set<HostId> on = runningOn.get(vm);
        if (on == null || on.size() < 2) {
            return;
        }
        int counted = 0;
        for (HostId x : on) {
            Long since = outsideCopies.get(x.value() + " " + vm);
            if (since == null || clock.nanos() - since >= outsideGraceNanos()) {
                counted++;
            }
        }
        if (counted > 1) {
            violate("VM " + vm + " runs on two hosts at once: " + new java.util.TreeSet<>(on));
        }
    }

    /** How long havn may take to find and destroy a copy started behind its back: a re-list and a destroy. */
    long outsideGraceNanos() {
        return (settings.relistMs() + 2 * settings.heartbeatTimeoutMs() + DESTROY_MS) * MS;
    }

    /**
     * No HA VM is stopped except by fencing, an admin request or its own crash: a running copy that
     * the record still gives to this host may be killed only by a host that has self-fenced, or
     * because the operator stopped or is relocating it.
     */
    private void checkKill(SimHost h, VmId vm, String how) {
        if (h.domains.get(vm) != DomainState.RUNNING) {
            return;
        }
        Versioned<VmRecord> vr = coordination.vm(vm);
        if (vr == null || !vr.value().spec().ha()) {
            return;
        }
        VmRecord r = vr.value();
        boolean mine = h.id.equals(r.owner()) || h.id.equals(r.target());
        boolean admin = r.desired() == DesiredState.STOPPED || r.phase() == VmPhase.RELOCATING;
        boolean fenced = h.node != null && h.node.isSelfFenced();
        if (mine && !admin && !fenced) {
            violate("needless kill: " + h.name + " " + how + "s " + vm + ", which its record gives to it ("
                    + r.phase().name().toLowerCase() + "), without fencing or an admin request");
        }
    }

    /**
     * Rule 1 at the hypervisor: a host starts or resumes an HA VM only while the record names it,
     * in a live session, as the owner of a running VM (it claimed it).
     */
    private void checkClaimed(SimHost h, VmId vm, String how) {
        Versioned<VmRecord> vr = coordination.vm(vm);
        if (vr == null || !vr.value().spec().ha()) {
            return;
        }
        VmRecord r = vr.value();
        if (!h.id.equals(r.owner()) || r.phase() != VmPhase.RUNNING || !coordination.isLive(h.id, r.ownerSession())) {
            violate(h.name + " was asked to " + how + " " + vm + " without holding the claim; record: "
                    + r.phase().name().toLowerCase() + " on " + r.owner());
        }
    }

    /** No VM disappears from the cluster state. */
    private void checkWrite(List<CoordOp> ops) {
        worldVersion++;
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.PutVm p) {
                everRecorded.add(p.record().id());
            }
        }
        for (VmId vm : everRecorded) {
            if (coordination.vm(vm) == null) {
                violate("VM " + vm + " disappeared from the cluster state");
            }
        }
    }

    /** At most one leader per epoch, and epochs only grow. */
    void onDecision(Decision d) {
        if (d.kind() == Decision.Kind.LEADER_ELECTED) {
            HostId prev = epochLeaders.putIfAbsent(d.epoch(), d.host());
            if (prev != null && !prev.equals(d.host())) {
                violate("two leaders for epoch " + d.epoch() + ": " + prev + " and " + d.host());
            }
            if (d.epoch() < highestEpoch) {
                violate("epoch went back from " + highestEpoch + " to " + d.epoch() + " (" + d.host() + ")");
            }
            highestEpoch = Math.max(highestEpoch, d.epoch());
            worldVersion++;
        } else if (d.kind() == Decision.Kind.SELF_FENCE) {
            hosts.get(d.host()).fencedCount++;
            worldVersion++;
        } else if (d.kind() == Decision.Kind.LEADER_LOST) {
            worldVersion++;
        }
        trail(d.host() + " " + d.kind() + (d.vm() != null ? " vm=" + d.vm() : "")
                + (d.subject() != null ? " host=" + d.subject() : "") + (d.detail() != null ? ": " + d.detail() : ""));
        for (Listener l : listeners) {
            l.decision(d);
        }
    }

    private void violate(String what) {
        if (violation == null) {
            violation = String.format("%.3fs %s", clock.nanos() / 1e9, what);
            trail("VIOLATION " + what);
        }
    }

    private void trail(String line) {
        trail.addLast(String.format("%10.3fs %s", clock.nanos() / 1e9, line));
        if (trail.size() > TRAIL) {
            trail.removeFirst();
        }
    }

    public String violation() {
        return violation;
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
        if (!outsideCopies.isEmpty()) {
            for (String key : new ArrayList<>(outsideCopies.keySet())) {
                checkOneCopy(new VmId(key.substring(key.indexOf(' ') + 1)));
            }
        }
        for (SimHost h : hosts.values()) {
            if (h.powered && h.watchdogArmed && now > h.watchdogDeadline + settings.watchdogMs() * MS) {
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
        while (violation == null && !(stopped = stop.getAsBoolean()) && clock.runNext(untilNanos)) {
            // each event ran
        }
        if (violation == null && !stopped) {
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
                setDomain(h, vm, DomainState.RUNNING, "libvirt autostart at boot");
            }
        }
        bootDaemon(id);
    }

    private void stopDaemon(SimHost h) {
        if (h.node != null) {
            h.node.stop();
            h.node = null;
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
                    Node n = h.node;
                    clock.schedule(MS, () -> deliver(h, inc, () -> n.handle(
                            new NodeEvent.DomainChanged(vm, DomainState.CRASHED, false, "guest crashed"))));
                }
            }
        }
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
        outsideCopies.put(h.name + " " + vm, clock.nanos());
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
        Node n = h.node;
        clock.schedule(MS, () -> deliver(h, inc, () -> n.handle(event)));
    }

    public AdminReply reply(long id) {
        return replies.get(id);
    }

    private void note(HostId host, String kind, String text) {
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
    public Set<HostId> runningOn(VmId vm) {
        Set<HostId> s = runningOn.get(vm);
        return s == null ? Set.of() : s;
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
