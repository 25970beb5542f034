package io.havn.sim.cluster;

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
import io.havn.common.node.Settings;
import io.havn.common.port.DomainState;
import io.havn.sim.world.SimClock;
import io.havn.sim.world.SimCoordination;
import io.havn.sim.world.SimHost;
import io.havn.sim.world.SimWorld;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;

/**
 * A small simulated cluster for tests that drive real {@link Node}s by name: the simulator's world
 * with a test's vocabulary (add hosts and VMs, start, inject faults and admin requests, wait in
 * virtual time). Every wait fails the test at the first invariant violation the world reports
 * (a VM on two hosts, a start without a claim, a needless kill, ...), with its trail.
 */
public final class TestCluster {
    public final SimWorld world;
    public final SimClock clock;
    public final Settings settings;
    public final SimCoordination coordination;
    private final List<HostId> order = new ArrayList<>();
    private final List<Decision> decisions = new ArrayList<>();

    public TestCluster(Settings settings) {
        this.settings = settings;
        this.world = new SimWorld(1, settings);
        this.clock = world.clock;
        this.coordination = world.coordination;
        world.listen(new SimWorld.Listener() {
            @Override
            public void decision(Decision d) {
                decisions.add(d);
            }
        });
    }

    public TestCluster() {
        this(Settings.defaults());
    }

    private static long ms(long v) {
        return v * SimClock.MS;
    }

    public SimHost addHost(String name, boolean fenceDevice) {
        HostId id = new HostId(name);
        order.add(id);
        return world.addHost(id, new HostCapacity(32, 131072), fenceDevice);
    }

    public SimHost host(String name) {
        return world.host(new HostId(name));
    }

    /** A VM whose domain already runs on {@code host}, with a record naming that host. */
    public VmSpec addRunningVm(String name, String host, Priority priority) {
        return addRunningVm(name, host, priority, 1, 1024);
    }

    public VmSpec addRunningVm(String name, String host, Priority priority, int cpus, long memoryMiB) {
        VmSpec spec = new VmSpec(new VmId(name), name, cpus, memoryMiB, priority, true,
                "<domain type='kvm'><name>" + name + "</name></domain>");
        world.addVm(spec, new HostId(host));
        return spec;
    }

    /** Boots every daemon (the first host added joins the election first) and waits until settled. */
    public void start() {
        start(Set.of());
    }

    /** Like {@link #start()}, leaving the daemons of {@code down} unstarted. */
    public void start(Set<String> down) {
        boolean first = true;
        for (HostId h : order) {
            if (!down.contains(h.value())) {
                world.bootDaemon(h);
                runMs(first ? 300 : 1);
                first = false;
            }
        }
        awaitMs(20_000, () -> settled(down), "cluster settles");
    }

    private boolean settled(Set<String> down) {
        boolean leader = false;
        for (HostId h : order) {
            SimHost sh = world.host(h);
            if (down.contains(h.value())) {
                continue;
            }
            if (sh.node() == null || !sh.node().isReady()) {
                return false;
            }
            leader |= sh.node().isLeader();
        }
        // the majority rule needs a strict majority healthy for the settle time before acting
        return leader && clock.nanos() > ms(settings.settleMs() + 1_000);
    }

    // ---- faults

    public void crash(String name) {
        world.crash(new HostId(name));
    }

    public void powerOn(String name) {
        world.powerOn(new HostId(name));
    }

    public void daemonCrash(String name) {
        world.daemonCrash(new HostId(name));
    }

    public void daemonStart(String name) {
        world.daemonStart(new HostId(name));
    }

    public void isolate(String name) {
        world.isolate(new HostId(name));
    }

    public void reconnect(String name) {
        world.reconnect(new HostId(name));
    }

    public void coordinationDown() {
        world.coordination.allDown();
    }

    public void coordinationUp() {
        world.coordination.allUp();
    }

    public void vmCrash(String vm) {
        world.vmCrash(new VmId(vm));
    }

    public void failStarts(String vm, int times) {
        world.failStarts(new VmId(vm), times);
    }

    public void failStartsForever(String vm) {
        world.failStarts(new VmId(vm), Integer.MAX_VALUE / 2);
    }

    public void failMigrations(String vm, int times) {
        world.failMigrations(new VmId(vm), times);
    }

    public void breakFence(String host) {
        world.breakFence(new HostId(host));
    }

    /** Sends an admin request to the daemon on {@code via}; returns its id for {@link #reply}. */
    public long admin(String via, AdminCommand cmd) {
        long id = world.admin(new HostId(via), cmd);
        if (id < 0) {
            throw new AssertionError("no daemon runs on " + via + " to take " + cmd);
        }
        return id;
    }

    public AdminReply reply(long id) {
        return world.reply(id);
    }

    /** Sends {@code cmd} and waits (in virtual time) for the answer. */
    public AdminReply adminAndWait(String via, AdminCommand cmd) {
        long id = admin(via, cmd);
        awaitMs(5_000, () -> world.reply(id) != null, "an answer to " + cmd);
        return world.reply(id);
    }

    public void inject(String name, NodeEvent e) {
        world.inject(new HostId(name), e);
    }

    public void injectHeartbeat(String to, Heartbeat hb) {
        inject(to, new NodeEvent.HeartbeatReceived(hb, clock.nanos()));
    }

    // ---- time

    /** Advances virtual time until {@code condition} holds, failing after {@code boundMs}. Returns the time taken. */
    public long awaitMs(long boundMs, BooleanSupplier condition, String what) {
        long start = clock.nanos();
        while (!condition.getAsBoolean()) {
            if (clock.nanos() - start > ms(boundMs)) {
                throw new AssertionError("not within " + boundMs + " ms: " + what + "\n" + trail());
            }
            runMs(10);
        }
        return (clock.nanos() - start) / SimClock.MS;
    }

    /** Advances virtual time; fails at the first invariant violation. */
    public void runMs(long ms) {
        world.runUntil(clock.nanos() + ms(ms));
        if (world.violation() != null) {
            throw new AssertionError("invariant violated: " + world.violation() + "\n" + trail());
        }
    }

    // ---- observing

    /** The hosts where {@code vm} runs now (RUNNING domains). */
    public Set<HostId> whereRunning(String vm) {
        return new HashSet<>(world.runningOn(new VmId(vm)));
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
        for (HostId h : order) {
            Node n = world.host(h).node();
            if (n != null && n.isLeader()) {
                return n;
            }
        }
        return null;
    }

    /** The domains of {@code host} (running or paused), as its hypervisor has them. */
    public Map<VmId, DomainState> domains(String host) {
        return host(host).domains();
    }

    /** The decisions of {@code kind} about {@code vm} since decision number {@code from}. */
    public List<Decision> since(int from, Decision.Kind kind, String vm) {
        VmId id = new VmId(vm);
        List<Decision> out = new ArrayList<>();
        for (Decision d : decisions.subList(from, decisions.size())) {
            if (d.kind() == kind && id.equals(d.vm())) {
                out.add(d);
            }
        }
        return out;
    }

    /** The hosts holding a copy of {@code vm}: running, or paused for a migration's hand-over. */
    public Set<HostId> holders(String vm) {
        Set<HostId> out = new HashSet<>();
        for (HostId h : order) {
            DomainState s = world.host(h).domains().get(new VmId(vm));
            if (s == DomainState.RUNNING || s == DomainState.PAUSED) {
                out.add(h);
            }
        }
        return out;
    }

    /** Advances virtual time 1 ms at a time, running {@code check} at every step, until {@code done}. */
    public void stepUntil(long boundMs, BooleanSupplier done, Runnable check, String what) {
        long start = clock.nanos();
        check.run();
        while (!done.getAsBoolean()) {
            if (clock.nanos() - start > ms(boundMs)) {
                throw new AssertionError("not within " + boundMs + " ms: " + what + "\n" + trail());
            }
            runMs(1);
            check.run();
        }
    }

    public String trail() {
        StringBuilder b = new StringBuilder("last events:\n");
        for (String line : world.trail()) {
            b.append("  ").append(line).append('\n');
        }
        return b.toString();
    }
}
