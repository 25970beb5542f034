package io.havn.common.testkit;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Decision;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.Node;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodePorts;
import io.havn.common.node.Settings;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Fencer;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Transport;
import io.havn.common.port.Watchdog;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * A small cluster of real {@link Node}s on in-memory ports, in virtual time: a coordination
 * service, a network, a hypervisor, a watchdog and a fence device per host. After every task it
 * checks that no VM runs on two hosts at once, and fails the test at the first instant one does.
 */
public final class TestCluster {
    public static final long NET_LATENCY_MS = 1;
    public static final long HV_OP_MS = 50;
    public static final long MIGRATE_MS = 300;
    public static final long FENCE_MS = 1000;

    public final ManualClock clock = new ManualClock();
    public final Settings settings;
    public final FakeCoordination coordination;
    private final Map<HostId, Host> hosts = new LinkedHashMap<>();
    private final List<Decision> decisions = new ArrayList<>();
    private final Map<Long, AdminReply> replies = new HashMap<>();
    private final Set<VmId> failStart = new HashSet<>();
    private final Map<VmId, Integer> failStartCount = new HashMap<>();
    private final Map<VmId, Integer> failMigrateCount = new HashMap<>();
    private final Set<HostId> fenceBroken = new HashSet<>();
    private long nextRequest = 1;
    private String violation;

    /** One simulated machine: its hypervisor (outlives the daemon), watchdog, and daemon. */
    public final class Host {
        public final HostId id;
        final HostCapacity capacity;
        final String fenceDevice;
        final Map<VmId, DomainState> domains = new TreeMap<>();
        final Map<VmId, VmSpec> specs = new HashMap<>();
        Node node;
        int incarnation;
        boolean powered = true;
        boolean isolated;
        long watchdogDeadline = Long.MIN_VALUE;
        boolean watchdogArmed;
        int watchdogResets;

        Host(HostId id, HostCapacity capacity, String fenceDevice) {
            this.id = id;
            this.capacity = capacity;
            this.fenceDevice = fenceDevice;
        }

        public Node node() {
            return node;
        }

        public Set<VmId> running() {
            Set<VmId> out = new HashSet<>();
            domains.forEach((v, s) -> {
                if (s == DomainState.RUNNING) {
                    out.add(v);
                }
            });
            return out;
        }

        public Map<VmId, DomainState> domains() {
            return domains;
        }

        public int watchdogResets() {
            return watchdogResets;
        }
    }

    public TestCluster(Settings settings) {
        this.settings = settings;
        this.coordination = new FakeCoordination(clock, settings.sessionTimeoutMs(), NET_LATENCY_MS);
        clock.afterEachTask(this::checkInvariants);
        clock.schedule(ms(100), this::housekeeping);
    }

    public TestCluster() {
        this(Settings.defaults());
    }

    static long ms(long v) {
        return v * 1_000_000L;
    }

    public Host addHost(String name, boolean fenceDevice) {
        HostId id = new HostId(name);
        Host h = new Host(id, new HostCapacity(32, 131072), fenceDevice ? "ipmi-" + name : null);
        hosts.put(id, h);
        return h;
    }

    public Host host(String name) {
        return hosts.get(new HostId(name));
    }

    /** A VM whose domain already runs on {@code host}, with a record naming that host (as an earlier cluster left it). */
    public VmSpec addRunningVm(String name, String host, Priority priority) {
        return addRunningVm(name, host, priority, 1, 1024);
    }

    public VmSpec addRunningVm(String name, String host, Priority priority, int cpus, long memoryMiB) {
        VmSpec spec = new VmSpec(new VmId(name), name, cpus, memoryMiB, priority, true, "<domain/>");
        Host h = host(host);
        h.domains.put(spec.id(), DomainState.RUNNING);
        h.specs.put(spec.id(), spec);
        coordination.seedVm(VmRecord.running(spec, h.id, 0));
        return spec;
    }

    /** Starts every host's daemon (the first one listed joins the election first) and waits until settled. */
    public void start() {
        for (Host h : hosts.values()) {
            bootDaemon(h);
            clock.advanceMs(5);
        }
        awaitMs(20_000, this::settled, "cluster settles");
    }

    /** Every daemon ready, a leader elected, every HA VM running where its record says. */
    public boolean settled() {
        boolean leader = false;
        for (Host h : hosts.values()) {
            if (h.powered && h.node != null) {
                if (!h.node.isReady()) {
                    return false;
                }
                leader |= h.node.isLeader();
            }
        }
        return leader && settledMajority();
    }

    private boolean settledMajority() {
        return clock.nanos() > ms(settings.settleMs()) + 1_000_000_000L;
    }

    private void bootDaemon(Host h) {
        h.incarnation++;
        int inc = h.incarnation;
        HostId id = h.id;
        Node[] self = new Node[1];
        java.util.function.Consumer<NodeEvent> inbox = e -> {
            if (h.node == self[0] && h.incarnation == inc && h.powered) {
                self[0].handle(e);
            }
        };
        FakeCoordination.Client client = coordination.connect(id, inbox);
        client.connected = !h.isolated;
        NodePorts ports = new NodePorts(clock, clock, transport(h, inc), client, hypervisor(h, inbox),
                fencer(inbox), watchdog(h), d -> decisions.add(d), (rid, reply) -> replies.put(rid, reply));
        Node node = new Node(new Node.Identity(id, h.capacity, id + ":7405", h.fenceDevice), settings, ports);
        self[0] = node;
        h.node = node;
        node.start();
    }

    private Transport transport(Host from, int inc) {
        return (to, hb) -> {
            Host dest = hosts.get(to);
            if (dest == null || from.isolated || dest.isolated || !from.powered || from.incarnation != inc) {
                return;
            }
            clock.schedule(ms(NET_LATENCY_MS), () -> {
                if (dest.powered && dest.node != null && !dest.isolated) {
                    dest.node.handle(new NodeEvent.HeartbeatReceived(hb));
                }
            });
        };
    }

    private Watchdog watchdog(Host h) {
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
        };
    }

    private Fencer fencer(java.util.function.Consumer<NodeEvent> inbox) {
        return (target, device) -> clock.schedule(ms(FENCE_MS), () -> {
            Host t = hosts.get(target);
            if (fenceBroken.contains(target) || t == null) {
                inbox.accept(new NodeEvent.FenceDone(target, false, "device did not answer"));
                return;
            }
            powerOff(t);
            inbox.accept(new NodeEvent.FenceDone(target, true, null));
        });
    }

    private Hypervisor hypervisor(Host h, java.util.function.Consumer<NodeEvent> inbox) {
        return new Hypervisor() {
            private void later(long delayMs, Runnable r) {
                int inc = h.incarnation;
                clock.schedule(ms(delayMs), () -> {
                    if (h.powered && h.incarnation == inc) {
                        r.run();
                    }
                });
            }

            @Override
            public void list() {
                later(HV_OP_MS, () -> {
                    List<DomainInfo> out = new ArrayList<>();
                    h.domains.forEach((v, s) -> out.add(new DomainInfo(v, v.value(), s)));
                    inbox.accept(new NodeEvent.DomainsListed(out));
                });
            }

            @Override
            public void start(VmSpec spec) {
                assertClaimed(h, spec.id(), "start");
                later(HV_OP_MS, () -> {
                    int left = failStartCount.getOrDefault(spec.id(), 0);
                    if (failStart.contains(spec.id()) || left > 0) {
                        failStartCount.put(spec.id(), Math.max(0, left - 1));
                        inbox.accept(new NodeEvent.HypervisorDone(spec.id(), Op.START, false, "injected start failure"));
                        return;
                    }
                    h.domains.put(spec.id(), DomainState.RUNNING);
                    h.specs.put(spec.id(), spec);
                    inbox.accept(new NodeEvent.HypervisorDone(spec.id(), Op.START, true, null));
                });
            }

            @Override
            public void resume(VmId vm) {
                assertClaimed(h, vm, "resume");
                later(HV_OP_MS, () -> {
                    boolean ok = h.domains.get(vm) == DomainState.PAUSED;
                    if (ok) {
                        h.domains.put(vm, DomainState.RUNNING);
                    }
                    inbox.accept(new NodeEvent.HypervisorDone(vm, Op.RESUME, ok, ok ? null : "not paused"));
                });
            }

            @Override
            public void shutdown(VmId vm, long timeoutMs) {
                later(HV_OP_MS, () -> {
                    h.domains.remove(vm);
                    inbox.accept(new NodeEvent.HypervisorDone(vm, Op.SHUTDOWN, true, null));
                });
            }

            @Override
            public void destroy(VmId vm) {
                later(HV_OP_MS, () -> {
                    h.domains.remove(vm);
                    inbox.accept(new NodeEvent.HypervisorDone(vm, Op.DESTROY, true, null));
                });
            }

            @Override
            public void migrate(VmId vm, HostId target) {
                later(MIGRATE_MS, () -> {
                    Host t = hosts.get(target);
                    int left = failMigrateCount.getOrDefault(vm, 0);
                    if (t == null || !t.powered || t.isolated || h.isolated || left > 0
                            || h.domains.get(vm) != DomainState.RUNNING) {
                        failMigrateCount.put(vm, Math.max(0, left - 1));
                        inbox.accept(new NodeEvent.HypervisorDone(vm, Op.MIGRATE, false, "migration failed"));
                        return;
                    }
                    // the destination copy appears paused in the same instant the source copy is gone
                    h.domains.remove(vm);
                    t.domains.put(vm, DomainState.PAUSED);
                    t.specs.put(vm, h.specs.get(vm));
                    inbox.accept(new NodeEvent.HypervisorDone(vm, Op.MIGRATE, true, null));
                    if (t.node != null) {
                        Node tn = t.node;
                        clock.schedule(ms(1), () -> {
                            if (t.powered && t.node == tn) {
                                tn.handle(new NodeEvent.DomainChanged(vm, DomainState.PAUSED, true, "migrated in"));
                            }
                        });
                    }
                });
            }
        };
    }

    /**
     * Rule 1, checked at the port: a host starts or resumes a VM only when the record names it, in a
     * live session, as the owner of a running VM (it claimed it).
     */
    private void assertClaimed(Host h, VmId vm, String what) {
        Versioned<VmRecord> v = coordination.vm(vm);
        VmRecord r = v == null ? null : v.value();
        boolean ok = r != null && h.id.equals(r.owner()) && r.phase() == io.havn.common.model.VmPhase.RUNNING
                && coordination.isLive(h.id, r.ownerSession());
        if (!ok && violation == null) {
            violation = h.id + " asked to " + what + " " + vm + " without a claim; record: " + r;
            throw new AssertionError(violation + "\n" + trail());
        }
    }

    /** Runs every 100 ms of virtual time: session expiry, and watchdogs that were not petted in time. */
    private void housekeeping() {
        coordination.expireSessions();
        long now = clock.nanos();
        for (Host h : hosts.values()) {
            if (h.powered && h.watchdogArmed && now > h.watchdogDeadline + ms(settings.watchdogMs())) {
                h.watchdogResets++;
                powerOff(h);
                // the machine reboots empty; its daemon starts again
                powerOn(h.id.value());
            }
        }
        clock.schedule(ms(100), this::housekeeping);
    }

    private void checkInvariants() {
        if (violation != null) {
            return;
        }
        Map<VmId, HostId> where = new HashMap<>();
        for (Host h : hosts.values()) {
            for (Map.Entry<VmId, DomainState> d : h.domains.entrySet()) {
                if (d.getValue() != DomainState.RUNNING) {
                    continue;
                }
                HostId other = where.put(d.getKey(), h.id);
                if (other != null) {
                    violation = "VM " + d.getKey() + " runs on " + other + " and " + h.id + " at t="
                            + clock.nanos() / 1_000_000 + " ms";
                }
            }
        }
        if (violation != null) {
            throw new AssertionError(violation + "\n" + trail());
        }
    }

    // ---- faults

    /** Power loss: the daemon and every VM of the host stop at once. */
    public void crash(String name) {
        powerOff(host(name));
    }

    private void powerOff(Host h) {
        h.powered = false;
        h.domains.clear();
        h.watchdogArmed = false;
        coordination.setConnected(h.id, false);
        if (h.node != null) {
            h.node.stop();
        }
        h.node = null;
    }

    public void powerOn(String name) {
        Host h = host(name);
        h.powered = true;
        h.isolated = false;
        bootDaemon(h);
    }

    /** The daemon dies; its VMs keep running (and its watchdog keeps the deadline it had). */
    public void daemonCrash(String name) {
        Host h = host(name);
        if (h.node != null) {
            h.node.stop();
        }
        coordination.setConnected(h.id, false);
        h.node = null;
        h.incarnation++;
    }

    public void daemonStart(String name) {
        bootDaemon(host(name));
    }

    /** Drops all traffic to and from the host, peers and coordination alike. */
    public void isolate(String name) {
        Host h = host(name);
        h.isolated = true;
        coordination.setConnected(h.id, false);
    }

    public void reconnect(String name) {
        Host h = host(name);
        h.isolated = false;
        coordination.setConnected(h.id, true);
    }

    public void coordinationDown() {
        coordination.setUp(false);
    }

    public void coordinationUp() {
        coordination.setUp(true);
    }

    public void vmCrash(String vm) {
        for (Host h : hosts.values()) {
            VmId id = new VmId(vm);
            if (h.domains.remove(id) != null && h.node != null) {
                Node n = h.node;
                clock.schedule(ms(1), () -> n.handle(new NodeEvent.DomainChanged(id, DomainState.CRASHED, false,
                        "guest crashed")));
            }
        }
    }

    public void failStarts(String vm, int times) {
        failStartCount.put(new VmId(vm), times);
    }

    public void failStartsForever(String vm) {
        failStart.add(new VmId(vm));
    }

    public void failMigrations(String vm, int times) {
        failMigrateCount.put(new VmId(vm), times);
    }

    public void breakFence(String host) {
        fenceBroken.add(new HostId(host));
    }

    /** Sends an admin request to the daemon on {@code via}; returns its id for {@link #reply}. */
    public long admin(String via, AdminCommand cmd) {
        long id = nextRequest++;
        Node n = host(via).node;
        clock.schedule(ms(1), () -> n.handle(new NodeEvent.AdminRequest(id, cmd)));
        return id;
    }

    public AdminReply reply(long id) {
        return replies.get(id);
    }

    /** Sends {@code cmd} and waits (in virtual time) for the answer. */
    public AdminReply adminAndWait(String via, AdminCommand cmd) {
        long id = admin(via, cmd);
        awaitMs(5_000, () -> replies.containsKey(id), "an answer to " + cmd);
        return replies.get(id);
    }

    public void inject(String name, NodeEvent e) {
        Node n = host(name).node;
        clock.schedule(ms(1), () -> n.handle(e));
    }

    public void injectHeartbeat(String to, Heartbeat hb) {
        inject(to, new NodeEvent.HeartbeatReceived(hb));
    }

    // ---- observing

    /** Advances virtual time until {@code condition} holds, failing after {@code boundMs}. Returns the time taken. */
    public long awaitMs(long boundMs, BooleanSupplier condition, String what) {
        long start = clock.nanos();
        long step = ms(10);
        while (!condition.getAsBoolean()) {
            if (clock.nanos() - start > ms(boundMs)) {
                throw new AssertionError("not within " + boundMs + " ms: " + what + "\n" + trail());
            }
            clock.advance(step);
        }
        return (clock.nanos() - start) / 1_000_000;
    }

    public void runMs(long ms) {
        clock.advanceMs(ms);
    }

    /** The hosts where {@code vm} runs now (RUNNING domains). */
    public Set<HostId> whereRunning(String vm) {
        Set<HostId> out = new HashSet<>();
        for (Host h : hosts.values()) {
            if (h.domains.get(new VmId(vm)) == DomainState.RUNNING) {
                out.add(h.id);
            }
        }
        return out;
    }

    public boolean runsOn(String vm, String host) {
        return whereRunning(vm).equals(Set.of(new HostId(host)));
    }

    public boolean runsNotOn(String vm, String host) {
        Set<HostId> w = whereRunning(vm);
        return w.size() == 1 && !w.contains(new HostId(host));
    }

    public VmRecord record(String vm) {
        Versioned<VmRecord> v = coordination.vm(new VmId(vm));
        return v == null ? null : v.value();
    }

    public List<Decision> decisions() {
        return decisions;
    }

    public boolean decided(String host, Decision.Kind kind) {
        return decisions.stream().anyMatch(d -> d.host().value().equals(host) && d.kind() == kind);
    }

    public long count(Predicate<Decision> p) {
        return decisions.stream().filter(p).count();
    }

    public Node leaderNode() {
        for (Host h : hosts.values()) {
            if (h.node != null && h.node.isLeader()) {
                return h.node;
            }
        }
        return null;
    }

    public String trail() {
        StringBuilder b = new StringBuilder("last decisions:\n");
        int from = Math.max(0, decisions.size() - 40);
        for (Decision d : decisions.subList(from, decisions.size())) {
            b.append("  ").append(d.atNanos() / 1_000_000).append(" ms ").append(d).append('\n');
        }
        return b.toString();
    }
}
