package io.havn.daemon.metrics;

import com.fasterxml.jackson.databind.JsonNode;
import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.Rule;
import io.havn.common.model.VmPhase;
import io.havn.common.node.Decision;
import io.havn.common.node.PeerStat;
import io.havn.daemon.net.OneRequestServer;
import io.havn.daemon.coord.RecordRefusals;
import io.havn.daemon.coord.RecordSeal;
import io.havn.daemon.transport.NettyTransport;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.regex.Pattern;

/**
 * The daemon's metrics, in a Prometheus registry ({@link #scrape}). Three kinds of input feed it:
 *
 * <ul>
 *   <li>{@link #update}: a {@link NodeSnapshot} taken on the node's thread about every second.
 *       The node's gauges read the latest snapshot, so a scrape never touches the node.</li>
 *   <li>{@link #record}: every decision of the node, on the node's thread, as it is made
 *       (counters and the failover histograms).</li>
 *   <li>{@link #adminAnswered} (the admin socket's threads), {@link #connectionCut} (the admin
 *       socket's and the metrics endpoint's I/O threads) and the transport's drop counts,
 *       which are read at scrape time.</li>
 * </ul>
 *
 * Every series that can be known up front is registered at zero, so that rates and alerts work
 * from the first scrape. Names and labels are listed in {@code ha-daemon/METRICS.md}.
 */
public final class HavnMetrics implements AutoCloseable {
    /** Failover phases span a few hundred milliseconds (a fence device) to a minute (session expiry). */
    private static final Duration[] FAILOVER_BUCKETS = {
        Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
        Duration.ofMillis(1500), Duration.ofSeconds(2), Duration.ofMillis(2500), Duration.ofSeconds(3),
        Duration.ofSeconds(5), Duration.ofSeconds(7), Duration.ofSeconds(10), Duration.ofSeconds(15),
        Duration.ofSeconds(20), Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(120)};
    /** Admin label values a client can choose are bounded in form and in number. */
    private static final Pattern LABEL = Pattern.compile("[a-z][a-z0-9-]{0,31}");
    private static final int MAX_LABEL_VALUES = 32;
    /** Rule ids are the operators' own, bounded in form; in number, those past this share "other". */
    static final int MAX_RULE_LABELS = 500;

    private enum Phase { DETECT, FENCE, RESTART }

    private enum FenceResult { OFF, FAILED, ALARM }

    /** The daemon's endpoints whose connections are budgeted ({@code havn_connections_cut_total}'s endpoint). */
    public enum Endpoint { ADMIN, METRICS }

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private volatile NodeSnapshot current = NodeSnapshot.none();
    private volatile Map<HostId, PeerStat> peers = Map.of();

    private final Map<Decision.Kind, Counter> decisions = new EnumMap<>(Decision.Kind.class);
    private final Map<Decision.Proof, Counter> failovers = new EnumMap<>(Decision.Proof.class);
    private final Map<Decision.Proof, Timer> failoverTotal = new EnumMap<>(Decision.Proof.class);
    private final Map<Decision.Proof, Map<Phase, Timer>> failoverPhases = new EnumMap<>(Decision.Proof.class);
    private final Map<FenceResult, Counter> fences = new EnumMap<>(FenceResult.class);
    private final Counter startsOk;
    private final Counter startsFailed;
    private final Counter migrationsOk;
    private final Counter migrationsFailed;
    private final Counter selfFences;
    private final Map<Endpoint, Map<OneRequestServer.Cut, Counter>> cuts = new EnumMap<>(Endpoint.class);
    /** The hosts this node's fence calls are out for (node thread only): an alarm ends one of them. */
    private final Set<HostId> fencing = new HashSet<>();
    /** The per-peer gauges, by peer (node thread only). */
    private final Map<HostId, List<Meter>> peerGauges = new HashMap<>();
    /** {@code havn_placement_blocked_total} by rule id (node thread only); never removed, as counters go. */
    private final Map<String, Counter> blocked = new HashMap<>();
    /** The storage heartbeat's last outcome per datastore (1, 0, NaN before a round), and its failures. */
    private final Map<String, java.util.concurrent.atomic.AtomicReference<Double>> reachable =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final Map<String, Counter> roundsFailed = new java.util.concurrent.ConcurrentHashMap<>();
    /** The admin label values seen so far (under this object's lock). */
    private final Set<String> adminCommands = new HashSet<>();
    private final Set<String> adminResults = new HashSet<>();

    /**
     * @param cluster  the cluster's name, the {@code cluster} label of every series
     * @param host     this daemon's host, the {@code host} label of every series
     */
    public HavnMetrics(String cluster, HostId host) {
        registry.config().commonTags("cluster", cluster, "host", host.value());
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        new FileDescriptorMetrics().bindTo(registry);

        flag("havn.leader", "1 if this daemon is the cluster's leader", NodeSnapshot::leader);
        flag("havn.ready", "1 once this daemon has reconciled its VMs and takes work", NodeSnapshot::ready);
        flag("havn.frozen", "1 while this daemon is frozen: its coordination lapsed, the majority's too, and it "
                + "keeps its VMs", NodeSnapshot::frozen);
        flag("havn.self.fenced", "1 if this daemon has self-fenced (destroyed its HA VMs) since its last "
                + "confirmation", NodeSnapshot::selfFenced);
        Gauge.builder("havn.epoch", this, m -> m.current.epoch())
                .description("the leader epoch this daemon knows").register(registry);
        flag("havn.cluster.disarmed", "1 while the cluster is disarmed (havnctl disarm): nothing is fenced, "
                + "self-fenced or restarted elsewhere until havnctl arm", s -> s.disarmed() != null);
        Gauge.builder("havn.hosts.not.armed", this, m -> m.current.hostsNotArmed())
                .description("live hosts that have not acknowledged the cluster's current arm in their session: "
                        + "if one fails, its VMs wait for a fence device or a fence confirm").register(registry);
        for (NodeSnapshot.HostState s : NodeSnapshot.HostState.values()) {
            Gauge.builder("havn.hosts", this, m -> m.current.hosts().get(s)).tag("state", s.label())
                    .description("registered hosts by state, each counted once: maintenance, else off_confirmed, "
                            + "else live (has a coordination session), else down").register(registry);
        }
        for (VmPhase p : VmPhase.values()) {
            Gauge.builder("havn.vms", this, m -> m.current.vms().get(p)).tag("phase", label(p))
                    .description("HA VMs by phase, as this daemon sees the cluster state").register(registry);
        }
        Gauge.builder("havn.vms.on.maintenance.hosts", this, m -> m.current.vmsOnMaintenanceHosts())
                .description("HA VMs still on a host in maintenance: a drain not finished (migrations failing, "
                        + "no other host with room, or the host down without proof)").register(registry);
        Gauge.builder("havn.host.failures.tolerated", this, m -> reserve(m.current, NodeSnapshot.FailureReserve::tolerated))
                .description("how many host failures the cluster can absorb now with every HA VM placed, as this "
                        + "daemon assesses its view; NaN while not assessed").register(registry);
        Gauge.builder("havn.host.failures.wanted", this, m -> reserve(m.current, NodeSnapshot.FailureReserve::wanted))
                .description("how many host failures the operators want the cluster to absorb (havnctl admission "
                        + "--tolerate); NaN while not assessed").register(registry);

        for (Decision.Kind k : Decision.Kind.values()) {
            decisions.put(k, Counter.builder("havn.decisions").tag("kind", label(k))
                    .description("decisions this daemon made, by kind").register(registry));
        }
        for (Decision.Proof p : Decision.Proof.values()) {
            failovers.put(p, Counter.builder("havn.failovers").tag("proof", label(p))
                    .description("VMs this daemon, as leader, saw restarted on another host after their host "
                            + "failed, by the proof that the host held no copy").register(registry));
            failoverTotal.put(p, Timer.builder("havn.failover").tag("proof", label(p))
                    .description("from a failed host's last heartbeat to its VM claimed by a new host")
                    .serviceLevelObjectives(FAILOVER_BUCKETS).register(registry));
            Map<Phase, Timer> phases = new EnumMap<>(Phase.class);
            for (Phase ph : Phase.values()) {
                phases.put(ph, Timer.builder("havn.failover.phase").tags("phase", label(ph), "proof", label(p))
                        .description("one phase of a failover: detect (last heartbeat to suspicion), fence "
                                + "(suspicion to proof of death), restart (proof to the VM claimed by its new host)")
                        .serviceLevelObjectives(FAILOVER_BUCKETS).register(registry));
            }
            failoverPhases.put(p, phases);
        }
        for (FenceResult r : FenceResult.values()) {
            fences.put(r, Counter.builder("havn.fence.attempts").tag("result", label(r))
                    .description("fence device calls of this daemon, by outcome: off (confirmed), failed, alarm "
                            + "(the device said off but the host's heartbeat arrived after fencing began)")
                    .register(registry));
        }
        startsOk = vmCounter("havn.vm.restarts", "ok");
        startsFailed = vmCounter("havn.vm.restarts", "failed");
        migrationsOk = vmCounter("havn.vm.migrations", "ok");
        migrationsFailed = vmCounter("havn.vm.migrations", "failed");
        selfFences = Counter.builder("havn.self.fences")
                .description("times this daemon self-fenced: its lease lapsed and it destroyed its HA VMs")
                .register(registry);
        for (Endpoint e : Endpoint.values()) {
            Map<OneRequestServer.Cut, Counter> byReason = new EnumMap<>(OneRequestServer.Cut.class);
            for (OneRequestServer.Cut c : OneRequestServer.Cut.values()) {
                byReason.put(c, Counter.builder("havn.connections.cut").tags("endpoint", label(e), "reason", c.label())
                        .description("connections the daemon closed because a client was too slow, too large or "
                                + "in the way, by endpoint and reason").register(registry));
            }
            cuts.put(e, byReason);
        }
    }

    private static double reserve(NodeSnapshot s, java.util.function.ToIntFunction<NodeSnapshot.FailureReserve> f) {
        return s.reserve() == null ? Double.NaN : f.applyAsInt(s.reserve());
    }

    /** The counter of placements rule {@code id} blocked, made (from 0) on first use; "other" past the bound. */
    private Counter blocked(String id) {
        Counter c = blocked.get(id);
        if (c == null) {
            String label = blocked.size() < MAX_RULE_LABELS ? id : "other";
            c = blocked.computeIfAbsent(label, l -> Counter.builder("havn.placement.blocked").tag("rule", l)
                    .description("VMs a hard placement rule left unplaced (RULE_BLOCKED decisions of this daemon "
                            + "as leader), by rule").register(registry));
        }
        return c;
    }

    /** The rule a RULE_BLOCKED decision names: its detail starts with the rule's id and a colon. */
    static String blockingRule(String detail) {
        int colon = detail == null ? -1 : detail.indexOf(':');
        String id = colon < 0 ? null : detail.substring(0, colon);
        return id != null && Rule.NAME.matcher(id).matches() ? id : "unknown";
    }

    /** Counts one connection of {@code endpoint} cut off for {@code why}. Thread-safe. */
    public void connectionCut(Endpoint endpoint, OneRequestServer.Cut why) {
        cuts.get(endpoint).get(why).increment();
    }

    private void flag(String name, String help, java.util.function.Predicate<NodeSnapshot> p) {
        Gauge.builder(name, this, m -> p.test(m.current) ? 1 : 0).description(help).register(registry);
    }

    private Counter vmCounter(String name, String result) {
        String what = name.endsWith("restarts") ? "starts of HA VMs on this host (placements, restarts after "
                + "a failover, relocations)" : "live migrations of HA VMs away from this host";
        return Counter.builder(name).tag("result", result).description(what + ", by outcome").register(registry);
    }

    /** The reasons a host signal is dropped for: inbound, and told apart from heartbeats by its magic. */
    private static final List<NettyTransport.Drop> SIGNAL_DROPS = List.of(NettyTransport.Drop.TOO_SHORT,
            NettyTransport.Drop.BAD_VERSION, NettyTransport.Drop.MALFORMED, NettyTransport.Drop.FOREIGN_CLUSTER,
            NettyTransport.Drop.BAD_MAC, NettyTransport.Drop.NOT_FOR_ME, NettyTransport.Drop.REPLAYED,
            NettyTransport.Drop.SINK_FAILED);

    /**
     * Counts the transport's dropped heartbeats, by reason, and the kernel's drops, and the host
     * signals it took and dropped, read at each scrape.
     */
    public void bindHeartbeatDrops(NettyTransport transport) {
        for (NettyTransport.Drop d : NettyTransport.Drop.values()) {
            FunctionCounter.builder("havn.heartbeat.dropped", transport, t -> t.dropped(d)).tag("reason", label(d))
                    .description("heartbeats dropped by the transport, by reason (inbound: bad or foreign "
                            + "datagrams, replays; outbound: unknown peer, backpressure, send failures)")
                    .register(registry);
        }
        // the kernel's count: datagrams that never reached the transport, its receive buffer full
        FunctionCounter.builder("havn.heartbeat.kernel.drops", transport, t -> {
            long n = t.kernelDrops();
            return n < 0 ? Double.NaN : n;
        }).description("datagrams the kernel dropped for the heartbeat socket, its receive buffer full "
                + "(/proc/net/udp, udp6: drops); NaN where that cannot be read").register(registry);
        Gauge.builder("havn.heartbeat.receive.buffer", transport, NettyTransport::receiveBufferBytes).baseUnit("bytes")
                .description("the heartbeat socket's receive buffer as the kernel granted it (SO_RCVBUF)")
                .register(registry);
        // host signals (a peer's havn-signal) share the socket; their drops are inbound only
        for (NettyTransport.Drop d : SIGNAL_DROPS) {
            FunctionCounter.builder("havn.signal.dropped", transport, t -> t.signalsDropped(d)).tag("reason", label(d))
                    .description("host signals from peers' havn-signal dropped, by reason (bad or foreign datagrams, "
                            + "addressed to another host, replays)").register(registry);
        }
        FunctionCounter.builder("havn.signal.received", transport, NettyTransport::signalsAccepted)
                .description("host signals from peers' havn-signal taken: authentic, addressed here, and new")
                .register(registry);
    }

    /** Counts the records the coordinator refused for a missing or wrong seal, read at scrape time. */
    public void bindRecordRefusals(RecordRefusals refusals) {
        for (RecordRefusals.Kind k : RecordRefusals.Kind.values()) {
            for (RecordSeal.Refusal r : RecordSeal.Refusal.values()) {
                FunctionCounter.builder("havn.coord.records.refused", refusals, x -> x.count(k, r))
                        .tag("kind", label(k)).tag("reason", label(r))
                        .description("records in the coordination service refused because no cluster member "
                                + "sealed them (unsigned), the seal does not match (bad_seal), or a removed "
                                + "request was written back (replayed); each stored version counted once").register(registry);
            }
        }
    }

    /**
     * The storage heartbeat's series of {@code datastores}: whether this host's last round on each
     * reached it (NaN until its first round), and the rounds that failed, from zero.
     */
    public void bindDatastores(List<String> datastores) {
        for (String d : datastores) {
            reachable.computeIfAbsent(d, name -> {
                java.util.concurrent.atomic.AtomicReference<Double> last =
                        new java.util.concurrent.atomic.AtomicReference<>(Double.NaN);
                Gauge.builder("havn.datastore.reachable", last, java.util.concurrent.atomic.AtomicReference::get)
                        .tag("datastore", name)
                        .description("1 if this host's last storage heartbeat round on the datastore wrote its slot "
                                + "and read the others' in time, 0 if not; NaN before the first round")
                        .register(registry);
                return last;
            });
            roundsFailed.computeIfAbsent(d, name -> Counter.builder("havn.storage.rounds.failed").tag("datastore", name)
                    .description("storage heartbeat rounds of this host on the datastore that failed or did not "
                            + "answer within storageTimeoutMs").register(registry));
        }
    }

    /** One storage heartbeat round on {@code datastore} ended; {@code ok}: it reached it. Thread-safe. */
    public void storageRound(String datastore, boolean ok) {
        java.util.concurrent.atomic.AtomicReference<Double> last = reachable.get(datastore);
        if (last == null) {
            return; // not bound: a datastore the metrics were not told of
        }
        last.set(ok ? 1.0 : 0.0);
        if (!ok) {
            roundsFailed.get(datastore).increment();
        }
    }

    /** Takes a new snapshot of the node for the gauges. Call on the node's thread. */
    public void update(NodeSnapshot s) {
        Map<HostId, PeerStat> byHost = new HashMap<>();
        for (PeerStat p : s.peers()) {
            byHost.put(p.host(), p);
        }
        peers = Map.copyOf(byHost);
        current = s;
        s.hardRules().forEach(this::blocked); // from 0, so the first block shows in increase()
        for (HostId h : byHost.keySet()) {
            peerGauges.computeIfAbsent(h, this::peerGauges);
        }
        peerGauges.entrySet().removeIf(e -> {
            if (byHost.containsKey(e.getKey())) {
                return false;
            }
            e.getValue().forEach(registry::remove);
            return true;
        });
    }

    private List<Meter> peerGauges(HostId h) {
        return List.of(
                peerGauge("havn.peer.phi", h, null, p -> p.phi(),
                        "the failure detector's suspicion of the peer (phi accrual); the peer is suspected above "
                                + "the configured threshold"),
                peerGauge("havn.peer.heartbeat.rtt", h, "seconds", p -> p.rttMs() / 1e3,
                        "echo delay of the peer's last heartbeat: from our heartbeat it echoes to its arrival, so "
                                + "the network round trip plus up to one heartbeat interval the peer held it"),
                peerGauge("havn.peer.healthy", h, null, p -> "HEALTHY".equals(p.health()) ? 1 : 0,
                        "1 if the peer's fresh heartbeats say its coordination lease is valid"),
                peerGauge("havn.peer.last.heartbeat.age", h, "seconds",
                        p -> p.sinceLastMs() < 0 ? Double.NaN : p.sinceLastMs() / 1e3,
                        "time since the peer's last heartbeat arrived"));
    }

    private Meter peerGauge(String name, HostId h, String unit, ToDoubleFunction<PeerStat> f, String help) {
        return Gauge.builder(name, this, m -> {
            PeerStat p = m.peers.get(h);
            return p == null ? Double.NaN : f.applyAsDouble(p);
        }).tag("peer", h.value()).baseUnit(unit).description(help).register(registry);
    }

    /** Counts one decision of the node. Call on the node's thread. */
    public void record(Decision d) {
        decisions.get(d.kind()).increment();
        switch (d.kind()) {
            case FENCE_START -> fencing.add(d.subject());
            case FENCE_OFF -> fenced(d.subject(), FenceResult.OFF);
            case FENCE_FAILED -> fenced(d.subject(), FenceResult.FAILED);
            case ALARM -> {
                // the alarm that ends a fence call; the others (a VM, a heartbeat from a host recorded off) do not
                if (d.vm() == null && d.subject() != null && fencing.contains(d.subject())) {
                    fenced(d.subject(), FenceResult.ALARM);
                }
            }
            case START -> startsOk.increment();
            case START_FAILED -> startsFailed.increment();
            case MIGRATED -> migrationsOk.increment();
            case MIGRATE_FAILED -> migrationsFailed.increment();
            case SELF_FENCE -> selfFences.increment();
            case RULE_BLOCKED -> blocked(blockingRule(d.detail())).increment();
            case RECOVERED -> recovered(d.timings());
            default -> { }
        }
    }

    private void fenced(HostId h, FenceResult r) {
        fencing.remove(h);
        fences.get(r).increment();
    }

    private void recovered(Decision.Timings t) {
        if (t == null) {
            return;
        }
        failovers.get(t.proof()).increment();
        Map<Phase, Timer> phases = failoverPhases.get(t.proof());
        time(phases.get(Phase.DETECT), t.detectNanos());
        time(phases.get(Phase.FENCE), t.fenceNanos());
        time(phases.get(Phase.RESTART), t.restartNanos());
        time(failoverTotal.get(t.proof()), t.totalNanos());
    }

    /** Records a phase the leader saw; an unknown one (-1) is left out rather than counted as zero. */
    private static void time(Timer t, long nanos) {
        if (nanos >= 0) {
            t.record(nanos, TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Counts one admin request by command and result ({@code ok} or the answer's error code), from
     * the request and answer lines of the admin socket; {@code request} is null when the client
     * was refused before it could send one. Called on the admin socket's threads; rare enough to
     * serialize.
     */
    public synchronized void adminAnswered(String request, String answer) {
        String command = request == null ? "none" : token(parse(request), "command", "invalid", adminCommands);
        JsonNode a = parse(answer);
        String result = a != null && a.path("ok").asBoolean(false) ? "ok" : token(a, "code", "error", adminResults);
        registry.counter("havn.admin.requests", Tags.of("command", command, "result", result)).increment();
    }

    /** The text of field {@code name} of {@code json} if it is a plain token and the label has room, else {@code dflt}. */
    private static String token(JsonNode json, String name, String dflt, Set<String> seen) {
        String v = json == null ? null : json.path(name).textValue();
        if (v == null || !LABEL.matcher(v).matches()) {
            return dflt;
        }
        if (!seen.contains(v) && seen.size() >= MAX_LABEL_VALUES) {
            return "other";
        }
        seen.add(v);
        return v;
    }

    private static JsonNode parse(String line) {
        try {
            JsonNode n = Json.mapper().readTree(line);
            return n != null && n.isObject() ? n : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** The metrics in Prometheus' text format. Thread-safe. */
    public String scrape() {
        return registry.scrape();
    }

    private static String label(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
