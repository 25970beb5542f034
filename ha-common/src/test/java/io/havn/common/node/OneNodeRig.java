package io.havn.common.node;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.common.port.Coordinator;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Watchdog;
import io.havn.common.testkit.ManualClock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One real {@link Node} on a {@link ManualClock}, its ports small models a test steers: a quorum
 * that holds the cluster state and judges every multi-op as ZooKeeper would (so a test can let the
 * node's view lag behind it), a hypervisor whose calls complete after a delay, and peers that
 * heartbeat when the test says so. Everything the node does at its ports is recorded.
 */
final class OneNodeRig {
    static final long MS = 1_000_000L;
    static final HostCapacity CAPACITY = new HostCapacity(8, 16384);

    final ManualClock clock = new ManualClock();
    final HostId me;
    final Node node;
    /** Carries the node's effects out on this rig's ports; every event goes through it. */
    final NodeDriver driver;
    /** Hypervisor, fence and coordinator calls, in order ("start a", "fence node2", "claimEpoch", ...). */
    final List<String> calls = new ArrayList<>();
    final List<Decision> decisions = new ArrayList<>();
    /** Every write the node sent, in order. */
    final List<List<CoordOp>> writes = new ArrayList<>();
    /** What the quorum answered to each write, by its index in {@link #writes} (absent: not answered yet). */
    private final Map<Integer, WriteOutcome> outcomes = new HashMap<>();
    /** What the node told the watchdog, in order: the deadline armed (ns), or -1 for a release. */
    final List<Long> watchdogCalls = new ArrayList<>();
    /** The last heartbeat the node sent to each peer. */
    final Map<HostId, Heartbeat> sent = new HashMap<>();

    // ---- the quorum's state (what ZooKeeper holds, whatever the node's view says)
    long epoch;
    final Map<VmId, Versioned<VmRecord>> vms = new TreeMap<>();
    final Map<HostId, Versioned<HostRecord>> hosts = new TreeMap<>();
    final Map<HostId, Set<Long>> live = new HashMap<>();
    /** The cluster record; null while none is written. */
    Versioned<io.havn.common.model.ClusterRecord> cluster;
    /** Whether the quorum answers confirmations (false: unreachable, as in an outage). */
    boolean confirmsAnswered = true;
    /** Whether writes are held for {@link #releaseWrites()} instead of answered at once. */
    boolean holdWrites;
    private final Map<Long, Integer> held = new LinkedHashMap<>();
    /** The token of the node's last claimEpoch call. */
    long claimToken;
    /** The scope of VM records the node asked for last (a coordinator starts in OWN). */
    io.havn.common.port.ViewScope scope = io.havn.common.port.ViewScope.OWN;
    /** The VMs the node follows. */
    Set<VmId> followed = Set.of();
    /** Whether the answers to follows wait for {@link #answerFollows()} instead of coming after 2 ms. */
    boolean holdFollows;
    private final List<VmId> followsHeld = new ArrayList<>();
    /** Whether a switch to the whole state waits for {@link #loadWhole()} instead of loading after 2 ms. */
    boolean holdWhole;
    /** Local domains defined with libvirt autostart on. */
    final Set<VmId> autostartOn = new java.util.HashSet<>();

    // ---- the local hypervisor
    final Map<VmId, DomainState> domains = new TreeMap<>();
    /** The guests present on this host when each write was sent (by index, as {@link #writes}). */
    final List<Set<VmId>> domainsAtWrite = new ArrayList<>();
    /** Guests whose next destroy fails (libvirt refuses it), once each. */
    final Set<VmId> failDestroy = new java.util.HashSet<>();
    /** What each guest's agent answers a ping (a guest not named: no agent channel). */
    final Map<VmId, NodeEvent.AgentAnswer> agent = new HashMap<>();
    private final Map<VmId, VmSpec> specs = new HashMap<>();

    private final Settings nodeSettings;
    private long session;
    private long peerSequence;

    /** The answers to admin requests, by request id. */
    final Map<Long, AdminReply> replies = new HashMap<>();

    OneNodeRig(String me) {
        this(me, DomainPolicy.none());
    }

    OneNodeRig(String me, DomainPolicy policy) {
        this(me, policy, Settings.defaults());
    }

    /** A rig whose node runs with {@code nodeSettings} (their session timeout too). */
    OneNodeRig(String me, DomainPolicy policy, Settings nodeSettings) {
        this.me = new HostId(me);
        this.nodeSettings = nodeSettings;
        NodePorts ports = new NodePorts(clock, clock, sent::put, coordinator(), hypervisor(),
                (h, device) -> calls.add("fence " + h), watchdog(), decisions::add, replies::put);
        node = new Node(new Node.Identity(this.me, CAPACITY, null, null), nodeSettings, policy, clock,
                ports.watchdog());
        driver = new NodeDriver(node, ports);
    }

    /** node1 (the node, with {@code policy}), node2 (session 5) and node3 (9), none fenceable; node1 in session 7. */
    static OneNodeRig threeHosts(DomainPolicy policy) {
        OneNodeRig rig = new OneNodeRig("node1", policy);
        rig.host("node1", null, false, 0);
        rig.host("node2", null, false, 0);
        rig.host("node3", null, false, 0);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.passMs(1_000, "node2", "node3");
        return rig;
    }

    /**
     * node1 (the node) leading epoch 1, node2 (session 5, with fence device ipmi-node2) running
     * VM {@code vm} and node3 (9), all heard and settled.
     */
    static OneNodeRig leadingWithFenceableNode2Running(String vm) {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host("node2", "ipmi-node2", false, 0);
        rig.host("node3", null, false, 0);
        rig.vm(VmRecord.running(new VmSpec(new VmId(vm), vm, 1, 512, io.havn.common.model.Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + vm + "</name></domain>"), new HostId("node2"), 5), 0);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.lead(1);
        rig.passMs(settings().settleMs() + 1_000, "node2", "node3");
        return rig;
    }

    static Settings settings() {
        return Settings.defaults();
    }

    // ---------------------------------------------------------------- building the cluster state

    /** Registers hosts in the quorum and tells the node; a non-null device makes it fenceable. */
    void host(String name, String fenceDevice, boolean offConfirmed, int version) {
        host(name, fenceDevice, HostAdminState.ACTIVE, offConfirmed, version);
    }

    /** Registers a host in the quorum with the operator's setting {@code admin} and tells the node. */
    void host(String name, String fenceDevice, HostAdminState admin, boolean offConfirmed, int version) {
        HostId id = new HostId(name);
        Versioned<HostRecord> r = new Versioned<>(new HostRecord(id, CAPACITY, null, fenceDevice, admin,
                offConfirmed), version);
        hosts.put(id, r);
        driver.handle(new NodeEvent.HostChanged(id, r));
    }

    /** Puts a host record in the quorum and tells the node. */
    void host(HostRecord r, int version) {
        Versioned<HostRecord> v = new Versioned<>(r, version);
        hosts.put(r.id(), v);
        driver.handle(new NodeEvent.HostChanged(r.id(), v));
    }

    /** Puts the cluster record in the quorum and tells the node. */
    void cluster(io.havn.common.model.ClusterRecord r, int version) {
        cluster = new Versioned<>(r, version);
        driver.handle(new NodeEvent.ClusterChanged(cluster));
    }

    /** Puts a VM record in the quorum and tells the node. */
    void vm(VmRecord r, int version) {
        Versioned<VmRecord> v = new Versioned<>(r, version);
        vms.put(r.id(), v);
        specs.put(r.id(), r.spec());
        driver.handle(new NodeEvent.VmChanged(r.id(), v));
    }

    /** Sets a host's live sessions in the quorum and tells the node. */
    void live(String host, Long... sessions) {
        HostId id = new HostId(host);
        live.put(id, new TreeSet<>(List.of(sessions)));
        driver.handle(new NodeEvent.LiveChanged(id, Set.of(sessions)));
    }

    /** Ends a session at the quorum (expired, or evicted) without telling the node: its view lags. */
    void endSessionQuietly(String host, long s) {
        live.getOrDefault(new HostId(host), new TreeSet<>()).remove(s);
    }

    /** Starts the node: it lists its domains, opens session {@code s} and confirms it. */
    void start(long s) {
        driver.start();
        session = s;
        clock.advance(MS); // the listing
        driver.handle(new NodeEvent.SessionStarted(s, nodeSettings.sessionTimeoutMs()));
        live.computeIfAbsent(me, h -> new TreeSet<>()).add(s);
        driver.handle(new NodeEvent.LiveChanged(me, Set.copyOf(live.get(me))));
        clock.advance(10 * MS); // the first confirmation lands; the node registers
    }

    /** The node's session ended at the quorum and it opened {@code s}, which the quorum confirms. */
    void newSession(long s) {
        live.computeIfAbsent(me, h -> new TreeSet<>()).remove(session);
        driver.handle(new NodeEvent.SessionEnded(session));
        session = s;
        driver.handle(new NodeEvent.SessionStarted(s, nodeSettings.sessionTimeoutMs()));
        live.get(me).add(s);
        driver.handle(new NodeEvent.LiveChanged(me, Set.copyOf(live.get(me))));
    }

    /** Makes the node the leader of epoch {@code e}. */
    void lead(long e) {
        driver.handle(new NodeEvent.LeadershipChanged(true));
        epoch = e;
        driver.handle(new NodeEvent.EpochChanged(e, me));
        driver.handle(new NodeEvent.EpochClaimed(claimToken, e));
    }

    // ---------------------------------------------------------------- peers and time

    /** Each named peer answers the node's last heartbeat (so it is fresh), reporting {@code unconfirmedMs}. */
    void heartbeatFrom(int unconfirmedMs, String... peers) {
        for (String p : peers) {
            HostId id = new HostId(p);
            Heartbeat ours = sent.get(id);
            long echo = ours == null ? Heartbeat.NO_ECHO : ours.sentNanos();
            driver.handle(new NodeEvent.HeartbeatReceived(new Heartbeat(id, ++peerSequence, epoch, clock.nanos(), echo,
                    unconfirmedMs, false), clock.nanos()));
        }
    }

    /** Lets {@code ms} pass in heartbeat steps, the named peers heartbeating healthy all along. */
    void passMs(long ms, String... healthyPeers) {
        passMs(ms, 0, healthyPeers);
    }

    /** Lets {@code ms} pass in heartbeat steps, the named peers reporting {@code unconfirmedMs} all along. */
    void passMs(long ms, int unconfirmedMs, String... peers) {
        for (long t = 0; t < ms; t += 100) {
            clock.advance(100 * MS);
            if (t % 200 == 0) {
                heartbeatFrom(unconfirmedMs, peers);
            }
        }
    }

    /** Passes every record the quorum holds on to the node, then the word that they are in. */
    void loadWhole() {
        new ArrayList<>(vms.entrySet()).forEach(e -> driver.handle(new NodeEvent.VmChanged(e.getKey(), e.getValue())));
        driver.handle(new NodeEvent.ViewLoaded(io.havn.common.port.ViewScope.WHOLE));
    }

    /** Answers the follows held so far with the records as the quorum holds them now (null: none). */
    void answerFollows() {
        List<VmId> now = new ArrayList<>(followsHeld);
        followsHeld.clear();
        for (VmId v : now) {
            driver.handle(new NodeEvent.VmChanged(v, vms.get(v)));
        }
    }

    /** Answers the writes held so far, in order, as the quorum judges them now. */
    void releaseWrites() {
        List<Map.Entry<Long, Integer>> now = new ArrayList<>(held.entrySet());
        held.clear();
        for (Map.Entry<Long, Integer> w : now) {
            answer(w.getKey(), w.getValue());
        }
    }

    // ---------------------------------------------------------------- observing

    boolean called(String call) {
        return calls.contains(call);
    }

    boolean decided(Decision.Kind kind) {
        return decisions.stream().anyMatch(d -> d.kind() == kind);
    }

    /** The writes the quorum took (answered OK). */
    List<List<CoordOp>> accepted() {
        List<List<CoordOp>> out = new ArrayList<>();
        for (int i = 0; i < writes.size(); i++) {
            if (outcomes.get(i) == WriteOutcome.OK) {
                out.add(writes.get(i));
            }
        }
        return out;
    }

    String trail() {
        StringBuilder b = new StringBuilder("calls: ").append(calls).append("\ndecisions:\n");
        for (Decision d : decisions) {
            b.append("  ").append(d.kind()).append(d.vm() != null ? " vm=" + d.vm() : "")
                    .append(d.subject() != null ? " host=" + d.subject() : "")
                    .append(d.detail() != null ? ": " + d.detail() : "").append('\n');
        }
        b.append("writes:\n");
        for (int i = 0; i < writes.size(); i++) {
            b.append("  ").append(outcomes.getOrDefault(i, null) == null ? "HELD" : outcomes.get(i)).append(' ')
                    .append(writes.get(i))
                    .append('\n');
        }
        return b.toString();
    }

    // ---------------------------------------------------------------- the quorum

    private Coordinator coordinator() {
        return new Coordinator() {
            @Override
            public void openSession() {
                calls.add("openSession");
            }

            @Override
            public void confirm(long token) {
                if (confirmsAnswered) {
                    long s = session;
                    clock.schedule(2 * MS, () -> driver.handle(new NodeEvent.Confirmed(token,
                            live.getOrDefault(me, Set.of()).contains(s))));
                }
            }

            @Override
            public void joinElection() {
                calls.add("joinElection");
            }

            @Override
            public void resign() {
                calls.add("resign");
            }

            @Override
            public void evict(HostId host, long s) {
                calls.add("evict " + host);
            }

            @Override
            public void claimEpoch(long token) {
                claimToken = token;
                calls.add("claimEpoch");
            }

            @Override
            public void scope(io.havn.common.port.ViewScope s) {
                scope = s;
                if (s == io.havn.common.port.ViewScope.WHOLE && !holdWhole) {
                    clock.schedule(2 * MS, OneNodeRig.this::loadWhole);
                }
            }

            @Override
            public void follow(Set<VmId> next) {
                Set<VmId> before = followed;
                followed = Set.copyOf(next);
                for (VmId v : new TreeSet<>(next)) {
                    if (before.contains(v)) {
                        continue;
                    }
                    if (holdFollows) {
                        followsHeld.add(v);
                    } else {
                        clock.schedule(2 * MS, () -> driver.handle(new NodeEvent.VmChanged(v, vms.get(v))));
                    }
                }
            }

            @Override
            public void write(long token, List<CoordOp> ops) {
                int index = writes.size();
                writes.add(ops);
                domainsAtWrite.add(Set.copyOf(domains.keySet()));
                if (holdWrites) {
                    held.put(token, index);
                } else {
                    clock.schedule(2 * MS, () -> answer(token, index));
                }
            }
        };
    }

    private void answer(long token, int index) {
        WriteOutcome o = apply(writes.get(index));
        outcomes.put(index, o);
        driver.handle(new NodeEvent.WriteDone(token, o, null));
    }

    /** A multi-op as ZooKeeper takes it: every check holds, or nothing is written. */
    private WriteOutcome apply(List<CoordOp> ops) {
        for (CoordOp op : ops) {
            if (!holds(op)) {
                return WriteOutcome.CONFLICT;
            }
        }
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.PutVm p) {
                vms.put(p.record().id(), new Versioned<>(p.record(), p.expectedVersion() + 1));
            } else if (op instanceof CoordOp.PutHost p) {
                hosts.put(p.record().id(), new Versioned<>(p.record(), p.expectedVersion() + 1));
            } else if (op instanceof CoordOp.PutCluster p) {
                cluster = new Versioned<>(p.record(), p.expectedVersion() + 1);
            }
        }
        return WriteOutcome.OK;
    }

    private boolean holds(CoordOp op) {
        if (op instanceof CoordOp.CheckEpoch c) {
            return c.epoch() == epoch;
        } else if (op instanceof CoordOp.CheckSessionLive c) {
            return live.getOrDefault(c.host(), Set.of()).contains(c.session());
        } else if (op instanceof CoordOp.CheckSessionGone c) {
            return !live.getOrDefault(c.host(), Set.of()).contains(c.session());
        } else if (op instanceof CoordOp.CheckHost c) {
            Versioned<HostRecord> h = hosts.get(c.host());
            return h != null && h.version() == c.version();
        } else if (op instanceof CoordOp.PutVm p) {
            return at(vms.get(p.record().id()), p.expectedVersion());
        } else if (op instanceof CoordOp.PutHost p) {
            return at(hosts.get(p.record().id()), p.expectedVersion());
        } else if (op instanceof CoordOp.CheckCluster c) {
            return at(cluster, c.version());
        } else if (op instanceof CoordOp.PutCluster p) {
            return at(cluster, p.expectedVersion());
        }
        return true; // requests: not modelled
    }

    private static boolean at(Versioned<?> current, int expected) {
        return expected == CoordOp.NEW ? current == null : current != null && current.version() == expected;
    }

    // ---------------------------------------------------------------- the hypervisor and the watchdog

    private Hypervisor hypervisor() {
        return new Hypervisor() {
            @Override
            public void list() {
                clock.schedule(MS, () -> {
                    List<DomainInfo> out = new ArrayList<>();
                    domains.forEach((v, s) -> out.add(new DomainInfo(v, v.value(), s, autostartOn.contains(v))));
                    driver.handle(new NodeEvent.DomainsListed(out));
                });
            }

            @Override
            public void start(VmSpec spec) {
                calls.add("start " + spec.id());
                done(spec.id(), Hypervisor.Op.START, DomainState.RUNNING, 500);
            }

            @Override
            public void resume(VmId vm) {
                calls.add("resume " + vm);
                done(vm, Hypervisor.Op.RESUME, DomainState.RUNNING, 50);
            }

            @Override
            public void shutdown(VmId vm, long timeoutMs) {
                calls.add("shutdown " + vm);
                done(vm, Hypervisor.Op.SHUTDOWN, null, 2_000);
            }

            @Override
            public void destroy(VmId vm) {
                calls.add("destroy " + vm);
                if (failDestroy.remove(vm)) {
                    clock.schedule(100 * MS, () -> driver.handle(new NodeEvent.HypervisorDone(vm, Hypervisor.Op.DESTROY,
                            false, "injected: libvirt refused the destroy")));
                    return;
                }
                done(vm, Hypervisor.Op.DESTROY, null, 100);
            }

            @Override
            public void migrate(VmId vm, HostId target) {
                calls.add("migrate " + vm);
            }

            @Override
            public void disableAutostart(VmId vm) {
                calls.add("autostart-off " + vm);
            }

            @Override
            public void pingAgent(VmId vm) {
                calls.add("ping " + vm);
                clock.schedule(10 * MS, () -> {
                    DomainState s = domains.get(vm);
                    NodeEvent.AgentAnswer a = s != DomainState.RUNNING ? NodeEvent.AgentAnswer.NOT_RUNNING
                            : agent.getOrDefault(vm, NodeEvent.AgentAnswer.NOT_CONFIGURED);
                    driver.handle(new NodeEvent.AgentPinged(vm, a, a == NodeEvent.AgentAnswer.OK ? null : a.name()));
                });
            }

            @Override
            public void reset(VmId vm) {
                calls.add("reset " + vm);
                done(vm, Hypervisor.Op.RESET, DomainState.RUNNING, 100);
            }
        };
    }

    private void done(VmId vm, Hypervisor.Op op, DomainState after, long ms) {
        clock.schedule(ms * MS, () -> {
            if (after == null) {
                domains.remove(vm);
            } else {
                domains.put(vm, after);
            }
            driver.handle(new NodeEvent.HypervisorDone(vm, op, true, null));
        });
    }

    private Watchdog watchdog() {
        return new Watchdog() {
            @Override
            public void armUntil(long deadlineNanos) {
                watchdogCalls.add(deadlineNanos);
            }

            @Override
            public void release() {
                watchdogCalls.add(-1L);
            }

            @Override
            public OptionalLong inheritedDeadline() {
                return OptionalLong.empty();
            }

            @Override
            public java.util.Optional<String> problem() {
                return java.util.Optional.empty();
            }
        };
    }
}
