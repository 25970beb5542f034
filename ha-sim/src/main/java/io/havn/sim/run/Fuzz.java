package io.havn.sim.run;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.place.PolicyCheck;
import io.havn.sim.scenario.Command;
import io.havn.sim.scenario.Commands;
import io.havn.sim.scenario.Expectation;
import io.havn.sim.scenario.Expectations;
import io.havn.sim.scenario.Fencing;
import io.havn.sim.scenario.Scenario;
import io.havn.sim.scenario.ScenarioWriter;
import io.havn.sim.scenario.TimelineEntry;
import io.havn.sim.scenario.VmDecl;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Seeded fuzzing: each seed makes a random fault schedule within the fault budget the design
 * survives (at most a minority of hosts impaired at once, one coordination server down at a time
 * or a whole-ensemble outage alone), then heals everything and requires every HA VM running again
 * within a bound. The schedule is an ordinary scenario, so a failure is replayed by its file.
 *
 * <p>A share of the seeds ({@code rulesChance}) also draws a placement policy that the starting
 * placement satisfies ({@link RuleDraw}): host groups, hard and soft apart and together rules,
 * preferred and strict host rules, restart order and start delays, sometimes admission control,
 * and a few rule changes at run time. The policy comes from a random stream of its own, so a seed
 * that draws no policy makes the same schedule as before policies existed.
 *
 * <p>A share of the seeds ({@code storageChance}) also draws shared storage ({@link StorageDraw}): one
 * or two datastores, most VMs on one of them under a random storage error policy (resume,
 * restart-elsewhere, now and then leave-paused), some under guest agent monitoring, and storage
 * faults: hosts losing their path to a datastore for a while, a datastore down for everybody, guests
 * that hang until a reset. From a random stream of its own too.
 */
public final class Fuzz {
    /** Faults happen in [FAULTS_FROM, FAULTS_UNTIL) seconds after settling; healing at HEAL_AT. */
    static final int FAULTS_FROM_S = 5;
    static final int FAULTS_UNTIL_S = 110;
    static final int HEAL_AT_S = 130;
    static final int MAINTENANCE_OFF_AT_S = 150;
    /** Every HA VM must run again this long after healing. */
    static final int LIVENESS_BOUND_S = 100;

    /** The share of seeds that draw a placement policy, unless told otherwise. */
    public static final double DEFAULT_RULES_CHANCE = 0.5;
    /** The share of seeds that draw shared storage and its faults, unless told otherwise. */
    public static final double DEFAULT_STORAGE_CHANCE = 0.5;
    /**
     * The share of seeds whose hosts keep only their own VM records (every host but the leader, as in
     * a cluster of at least {@code ownViewFromHosts} hosts), unless told otherwise.
     */
    public static final double DEFAULT_OWN_VIEW_CHANCE = 0.5;
    /**
     * The share of seeds whose hosts heartbeat only two monitors each and gossip health, as in a
     * cluster larger than {@code monitors + 1} hosts, unless told otherwise.
     */
    public static final double DEFAULT_MONITORS_CHANCE = 0.5;
    /** The share of the seeds with monitors whose digests go in runs of two hosts ({@link #RUNS_SETTING}). */
    public static final double DEFAULT_RUNS_CHANCE = 0.5;
    /** The {@code monitors} setting of a seed that gossips health: two, so that five hosts do not heartbeat all to all. */
    static final int FUZZ_MONITORS = 2;

    private final int hosts;
    private final int vms;
    private final Path out;
    private final PrintStream log;
    private final double rulesChance;
    private final double storageChance;
    private final double ownViewChance;
    private final double monitorsChance;
    private final double runsChance;

    public Fuzz(int hosts, int vms, Path out, PrintStream log) {
        this(hosts, vms, out, log, DEFAULT_RULES_CHANCE);
    }

    /** {@code rulesChance}: the share of seeds (0 to 1) that draw a placement policy. */
    public Fuzz(int hosts, int vms, Path out, PrintStream log, double rulesChance) {
        this(hosts, vms, out, log, rulesChance, DEFAULT_STORAGE_CHANCE);
    }

    /** {@code storageChance}: the share of seeds (0 to 1) that draw shared storage and its faults. */
    public Fuzz(int hosts, int vms, Path out, PrintStream log, double rulesChance, double storageChance) {
        this(hosts, vms, out, log, rulesChance, storageChance, DEFAULT_OWN_VIEW_CHANCE);
    }

    /** {@code ownViewChance}: the share of seeds (0 to 1) whose hosts keep only their own VM records. */
    public Fuzz(int hosts, int vms, Path out, PrintStream log, double rulesChance, double storageChance,
                double ownViewChance) {
        this(hosts, vms, out, log, rulesChance, storageChance, ownViewChance, DEFAULT_MONITORS_CHANCE);
    }

    /** {@code monitorsChance}: the share of seeds (0 to 1) whose hosts heartbeat two monitors each and gossip health. */
    public Fuzz(int hosts, int vms, Path out, PrintStream log, double rulesChance, double storageChance,
                double ownViewChance, double monitorsChance) {
        this(hosts, vms, out, log, rulesChance, storageChance, ownViewChance, monitorsChance, DEFAULT_RUNS_CHANCE);
    }

    /** {@code runsChance}: the share of the seeds with monitors (0 to 1) whose digests go in runs of two hosts. */
    public Fuzz(int hosts, int vms, Path out, PrintStream log, double rulesChance, double storageChance,
                double ownViewChance, double monitorsChance, double runsChance) {
        if (!(runsChance >= 0 && runsChance <= 1)) {
            throw new IllegalArgumentException("the share of seeds with digests in runs must be between 0 and 1, got "
                    + runsChance);
        }
        if (!(monitorsChance >= 0 && monitorsChance <= 1)) {
            throw new IllegalArgumentException("the share of seeds with monitors must be between 0 and 1, got "
                    + monitorsChance);
        }
        if (!(ownViewChance >= 0 && ownViewChance <= 1)) {
            throw new IllegalArgumentException("the share of seeds with own views must be between 0 and 1, got "
                    + ownViewChance);
        }
        if (!(rulesChance >= 0 && rulesChance <= 1)) {
            throw new IllegalArgumentException("the share of seeds with rules must be between 0 and 1, got " + rulesChance);
        }
        if (!(storageChance >= 0 && storageChance <= 1)) {
            throw new IllegalArgumentException("the share of seeds with storage must be between 0 and 1, got "
                    + storageChance);
        }
        this.hosts = hosts;
        this.vms = vms;
        this.out = out;
        this.log = log;
        this.rulesChance = rulesChance;
        this.storageChance = storageChance;
        this.ownViewChance = ownViewChance;
        this.monitorsChance = monitorsChance;
        this.runsChance = runsChance;
    }

    /** Runs seeds {@code from} .. {@code from + count - 1}; returns whether all passed. */
    public boolean run(long from, int count) throws IOException {
        log.printf("fuzz: seeds %d..%d, %d hosts, %d VMs, rules in %.0f%% of seeds, storage in %.0f%%, own views in "
                + "%.0f%%, monitors in %.0f%%%n", from, from + count - 1, hosts, vms, rulesChance * 100,
                storageChance * 100, ownViewChance * 100, monitorsChance * 100);
        long start = System.nanoTime();
        int failures = 0;
        int ruled = 0;
        int stored = 0;
        int own = 0;
        int gossiped = 0;
        int inRuns = 0;
        long events = 0;
        for (long seed = from; seed < from + count; seed++) {
            Scenario s = generate(seed, hosts, vms, rulesChance, storageChance, ownViewChance, monitorsChance, runsChance);
            if (s.settings().containsKey(OWN_VIEW_SETTING)) {
                own++;
            }
            if (s.settings().containsKey(MONITORS_SETTING)) {
                gossiped++;
            }
            if (s.settings().containsKey(RUNS_SETTING)) {
                inRuns++;
            }
            if (!s.placement().isEmpty()) {
                ruled++;
            }
            if (!s.datastores().isEmpty()) {
                stored++;
            }
            RunResult r = new ScenarioRunner(s).run();
            events += r.events();
            if (!r.passed()) {
                failures++;
                Files.createDirectories(out);
                Path file = out.resolve("fuzz-seed-" + seed + ".yaml");
                Files.writeString(file, ScenarioWriter.toYaml(s));
                log.println("FAIL seed " + seed + ": replay with: java -jar ha-sim/target/ha-sim.jar run " + file);
                io.havn.sim.Main.print(r, log, false);
            }
            if ((seed - from + 1) % 500 == 0) {
                log.printf("  %d seeds, %d failed, %.1f s%n", seed - from + 1, failures, (System.nanoTime() - start) / 1e9);
            }
        }
        log.printf("fuzz: %d seeds, %d failed, %d events, %.1f s wall (%d seeds with placement rules, %d with storage, "
                + "%d with own views, %d with monitors, %d of them with digests in runs)%n", count, failures, events,
                (System.nanoTime() - start) / 1e9, ruled, stored, own, gossiped, inRuns);
        return failures == 0;
    }

    /** The scenario of one seed, with the default share of seeds drawing a placement policy. */
    public static Scenario generate(long seed, int hostCount, int vmCount) {
        return generate(seed, hostCount, vmCount, DEFAULT_RULES_CHANCE);
    }

    /** The scenario of one seed; {@code rulesChance} of the seeds draw a placement policy. */
    public static Scenario generate(long seed, int hostCount, int vmCount, double rulesChance) {
        return generate(seed, hostCount, vmCount, rulesChance, DEFAULT_STORAGE_CHANCE);
    }

    /** The scenario of one seed; {@code rulesChance} draw a placement policy, {@code storageChance} storage. */
    public static Scenario generate(long seed, int hostCount, int vmCount, double rulesChance, double storageChance) {
        return generate(seed, hostCount, vmCount, rulesChance, storageChance, DEFAULT_OWN_VIEW_CHANCE);
    }

    /** The setting a seed with own views sets to 0: every host but the leader keeps only its own VM records. */
    static final String OWN_VIEW_SETTING = "ownViewFromHosts";
    /** The setting a seed with monitors sets to {@link #FUZZ_MONITORS}. */
    static final String MONITORS_SETTING = "monitors";
    /** The setting a seed with monitors and digests in runs sets to 2. */
    static final String RUNS_SETTING = "digestHosts";

    /** The scenario of one seed, with the default share of seeds that gossip health. */
    public static Scenario generate(long seed, int hostCount, int vmCount, double rulesChance, double storageChance,
                                    double ownViewChance) {
        return generate(seed, hostCount, vmCount, rulesChance, storageChance, ownViewChance, DEFAULT_MONITORS_CHANCE);
    }

    /**
     * The scenario of one seed; {@code rulesChance} draw a placement policy, {@code storageChance} storage,
     * {@code ownViewChance} hosts that keep only their own VM records (a stream of its own: the schedule is the same),
     * {@code monitorsChance} hosts that heartbeat two monitors each and gossip health (a stream of its own too).
     */
    public static Scenario generate(long seed, int hostCount, int vmCount, double rulesChance, double storageChance,
                                    double ownViewChance, double monitorsChance) {
        return generate(seed, hostCount, vmCount, rulesChance, storageChance, ownViewChance, monitorsChance,
                DEFAULT_RUNS_CHANCE);
    }

    /**
     * As above; of the seeds with monitors, {@code runsChance} send their digests in runs of two hosts
     * ({@code digestHosts} 2: at five hosts, three runs), drawn after the monitors from their stream.
     */
    public static Scenario generate(long seed, int hostCount, int vmCount, double rulesChance, double storageChance,
                                    double ownViewChance, double monitorsChance, double runsChance) {
        SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 1);
        Map<HostId, HostCapacity> hosts = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= hostCount; i++) {
            names.add("node" + i);
            hosts.put(new HostId("node" + i), new HostCapacity(32, 131072));
        }
        boolean fence = rnd.nextBoolean();
        // one seed in five runs against an ensemble that negotiates sessions down (to 8 s: the lease shrinks)
        long zkMax = rnd.nextInt(5) == 0 ? 8_000 : 0;
        Map<String, VmDecl> vms = new LinkedHashMap<>();
        List<String> vmNames = new ArrayList<>();
        Priority[] prios = Priority.values();
        for (int i = 1; i <= vmCount; i++) {
            String v = "vm" + i;
            vmNames.add(v);
            vms.put(v, new VmDecl(v, new HostId(names.get((i - 1) % hostCount)), 1 + rnd.nextInt(4),
                    1024L * (1 + rnd.nextInt(8)), prios[rnd.nextInt(prios.length)], true));
        }
        Schedule sch = new Schedule(rnd, names, vmNames, fence);
        String[] policies = {"migrate", "freeze", "failover"};
        sch.add(3000, "shutdown-policy " + policies[rnd.nextInt(policies.length)]);
        sch.fill();
        TreeMap<Long, List<Command>> byTime = sch.commands;
        // heal: everything back to normal, then every VM must run again
        List<String> heal = new ArrayList<>(List.of("heal", "zk-up", "zk-start zk1", "zk-start zk2", "zk-start zk3"));
        for (String h : names) {
            heal.add("power-on " + h);
            heal.add("daemon-start " + h);
        }
        for (String c : heal) {
            byTime.computeIfAbsent(HEAL_AT_S * 1000L, k -> new ArrayList<>()).add(Commands.parse(c));
        }
        for (String h : sch.maintained) {
            byTime.computeIfAbsent(MAINTENANCE_OFF_AT_S * 1000L, k -> new ArrayList<>())
                    .add(Commands.parse("maintenance " + h + " off"));
        }
        // the placement policy: a stream of its own, so that a seed without one keeps its schedule
        SplittableRandom rr = new SplittableRandom(seed * 0xC2B2AE3D27D4EB4FL + 0x165667B19E3779F9L);
        RuleDraw rules = null;
        if (rr.nextDouble() < rulesChance) {
            rules = new RuleDraw(rr, hosts, vms);
            rules.draw();
            String refused = rules.check();
            if (refused != null) {
                throw new IllegalStateException("fuzz seed " + seed + ": the rule generator drew a policy the cluster "
                        + "refuses: " + refused + "; policy: " + rules.policy);
            }
            rules.changes(byTime);
        }
        // shared storage and its faults: a stream of its own as well
        SplittableRandom sr = new SplittableRandom(seed * 0xD6E8FEB86659FD93L + 0x2545F4914F6CDD1DL);
        StorageDraw storage = null;
        if (sr.nextDouble() < storageChance) {
            storage = new StorageDraw(sr, names, vms);
            storage.draw(byTime);
        }
        SplittableRandom vr = new SplittableRandom(seed * 0xA0761D6478BD642FL + 0xE7037ED1A0B428DBL);
        Map<String, Object> settings = new java.util.TreeMap<>();
        if (vr.nextDouble() < ownViewChance) {
            settings.put(OWN_VIEW_SETTING, 0L);
        }
        SplittableRandom mr = new SplittableRandom(seed * 0x94D049BB133111EBL + 0xBF58476D1CE4E5B9L);
        if (mr.nextDouble() < monitorsChance) {
            settings.put(MONITORS_SETTING, (long) FUZZ_MONITORS);
            if (mr.nextDouble() < runsChance) {
                settings.put(RUNS_SETTING, 2L);
            }
        }
        List<TimelineEntry> timeline = new ArrayList<>();
        byTime.forEach((t, cs) -> timeline.add(new TimelineEntry(t, List.copyOf(cs))));
        List<Expectation> expect = new ArrayList<>();
        for (String v : vmNames) {
            if (storage != null && storage.leftPaused.contains(v)) {
                continue; // paused on a storage error and left for an operator: it may stay paused
            }
            expect.add(Expectations.parse("by " + (HEAL_AT_S + LIVENESS_BOUND_S) + "s: " + v + " running"));
        }
        if (rules != null) {
            for (Expectation e : rules.expectations()) {
                // a VM left paused on a storage error may stay so: no rule's expectation can speak of it. And a
                // together pair one of which lives on a datastore may end split: a drain whose migration fails
                // for want of storage at the target leaves the rest behind, and nothing brings them together
                // again once the drain ends (the leader says so: DRAIN_BLOCKED, RULE_BLOCKED); found by seed 3364
                List<String> words = java.util.Arrays.asList(e.text().split("[\\s:]+"));
                boolean paused = storage != null && words.stream().anyMatch(storage.leftPaused::contains);
                boolean splitByStorage = storage != null && e.fact() instanceof io.havn.sim.scenario.Fact.With
                        && words.stream().anyMatch(storage.onDatastore::contains);
                if (!paused && !splitByStorage) {
                    expect.add(e);
                }
            }
        }
        return new Scenario("fuzz-seed-" + seed, "generated by ha-sim fuzz from seed " + seed
                + " (" + hostCount + " hosts, " + vmCount + " VMs" + (rules == null ? "" : ", placement rules")
                + (settings.containsKey(OWN_VIEW_SETTING) ? ", own views" : "")
                + (settings.containsKey(MONITORS_SETTING) ? ", " + FUZZ_MONITORS + " monitors each" : "")
                + (settings.containsKey(RUNS_SETTING) ? ", digests in runs of two hosts" : "") + ")",
                seed, null, fence ? Fencing.DEVICE : Fencing.NONE, hosts, vms, java.util.Collections.unmodifiableMap(settings), timeline, expect,
                (HEAL_AT_S + LIVENESS_BOUND_S + 10) * 1000L, zkMax, rules == null ? PlacementPolicy.EMPTY : rules.policy,
                storage == null ? List.of() : storage.datastores);
    }

    /**
     * Shared storage for one seed: one or two datastores; most VMs on one of them, under resume (the
     * default), restart-elsewhere or, rarely, leave-paused; some VMs under guest agent monitoring.
     * Faults within the fault window: a host loses its path to a datastore for 3-40 s, a datastore goes
     * down for everybody for 3-25 s, a monitored guest hangs (at most twice: a reset cures it, and two
     * resets are allowed in the window). Healing brings every path and datastore back.
     */
    static final class StorageDraw {
        private final SplittableRandom rnd;
        private final List<String> hosts;
        private final Map<String, VmDecl> vms;
        final List<String> datastores = new ArrayList<>();
        /** VMs under leave-paused: they may stay paused after a storage fault. */
        final java.util.Set<String> leftPaused = new java.util.TreeSet<>();
        /** VMs on a datastore. */
        final java.util.Set<String> onDatastore = new java.util.TreeSet<>();
        private final List<String> monitored = new ArrayList<>();

        StorageDraw(SplittableRandom rnd, List<String> hosts, Map<String, VmDecl> vms) {
            this.rnd = rnd;
            this.hosts = hosts;
            this.vms = vms;
        }

        private static final io.havn.common.model.GuestMonitor MONITOR =
                new io.havn.common.model.GuestMonitor(2_000, 3, 10_000, 2, 600_000);

        void draw(TreeMap<Long, List<Command>> byTime) {
            int n = 1 + rnd.nextInt(2);
            for (int i = 1; i <= n; i++) {
                datastores.add("ds" + i);
            }
            for (Map.Entry<String, VmDecl> e : new ArrayList<>(vms.entrySet())) {
                VmDecl v = e.getValue();
                List<String> on = rnd.nextInt(10) < 7 ? List.of(datastores.get(rnd.nextInt(n))) : List.of();
                io.havn.common.model.StorageErrorPolicy policy = null;
                if (!on.isEmpty()) {
                    onDatastore.add(v.name());
                    int p = rnd.nextInt(10);
                    policy = p < 5 ? null : p < 9 ? io.havn.common.model.StorageErrorPolicy.RESTART_ELSEWHERE
                            : io.havn.common.model.StorageErrorPolicy.LEAVE_PAUSED;
                    if (policy == io.havn.common.model.StorageErrorPolicy.LEAVE_PAUSED) {
                        leftPaused.add(v.name());
                    }
                }
                io.havn.common.model.GuestMonitor monitor = null;
                if (rnd.nextInt(10) < 3) {
                    monitor = MONITOR;
                    monitored.add(v.name());
                }
                vms.put(e.getKey(), new VmDecl(v.name(), v.host(), v.cpus(), v.memoryMiB(), v.priority(), v.ha(),
                        v.disk(), on, policy, monitor, true));
            }
            int faults = 1 + rnd.nextInt(4);
            for (int i = 0; i < faults; i++) {
                long t = 1000L * (FAULTS_FROM_S + rnd.nextInt(FAULTS_UNTIL_S - FAULTS_FROM_S - 5));
                String d = datastores.get(rnd.nextInt(n));
                if (rnd.nextInt(4) == 0) {
                    add(byTime, t, "datastore-down " + d);
                    add(byTime, t + 1000L * (3 + rnd.nextInt(23)), "datastore-up " + d);
                } else {
                    String h = hosts.get(rnd.nextInt(hosts.size()));
                    add(byTime, t, "storage-lost " + h + " " + d);
                    add(byTime, t + 1000L * (3 + rnd.nextInt(38)), "storage-back " + h + " " + d);
                }
            }
            for (String v : monitored) {
                int hangs = rnd.nextInt(3);
                for (int i = 0; i < hangs; i++) {
                    add(byTime, 1000L * (FAULTS_FROM_S + 20 + rnd.nextInt(FAULTS_UNTIL_S - FAULTS_FROM_S - 20)),
                            "guest-hang " + v);
                }
            }
            for (String d : datastores) {
                add(byTime, HEAL_AT_S * 1000L, "datastore-up " + d);
                for (String h : hosts) {
                    add(byTime, HEAL_AT_S * 1000L, "storage-back " + h + " " + d);
                }
            }
        }

        private static void add(TreeMap<Long, List<Command>> byTime, long t, String command) {
            byTime.computeIfAbsent(t, k -> new ArrayList<>()).add(Commands.parse(command));
        }
    }

    /**
     * A random placement policy that the starting placement satisfies and that cannot leave a VM
     * without a host once every host is back: hard together pairs of VMs that start on one host;
     * hard apart pairs and triples of VMs that start on different hosts (never more VMs than hosts
     * minus one, a VM in one at most, none bound together); host groups, and host rules whose groups
     * hold the VMs' starting hosts (strict ones only for VMs kept apart from none, confined to two
     * hosts at least; with failback, the starting host in the first group); soft rules with weights;
     * dependencies that make no cycle, with timeouts that start or stay down; start delays; and now
     * and then admission control. Deterministic for its random stream.
     */
    static final class RuleDraw {
        final SplittableRandom rnd;
        final List<String> hosts;
        final Map<String, VmDecl> vms;
        final List<String> vmNames;
        final Map<String, SortedSet<HostId>> groups = new TreeMap<>();
        final List<Rule> rules = new ArrayList<>();
        /** The units of hard together rules: each VM of a pair maps to the pair; others to themselves. */
        final Map<String, List<String>> unit = new LinkedHashMap<>();
        final Set<String> apart = new HashSet<>();
        final Set<String> confined = new HashSet<>();
        PlacementPolicy policy = PlacementPolicy.EMPTY;
        /** The rules the timeline removes (adding one back may be refused: the placement may break it by then). */
        final Set<String> removed = new HashSet<>();
        private int ids;

        RuleDraw(SplittableRandom rnd, Map<HostId, HostCapacity> hosts, Map<String, VmDecl> vms) {
            this.rnd = rnd;
            this.hosts = new ArrayList<>();
            hosts.keySet().forEach(h -> this.hosts.add(h.value()));
            this.vms = vms;
            this.vmNames = new ArrayList<>(vms.keySet());
            for (String v : vmNames) {
                unit.put(v, List.of(v));
            }
        }

        private String id(String kind) {
            return kind + "-" + (++ids);
        }

        private static List<VmId> ids(List<String> names) {
            return names.stream().map(VmId::new).toList();
        }

        private String hostOf(String vm) {
            return vms.get(vm).host().value();
        }

        void draw() {
            together();
            apart();
            hostRules();
            soft();
            order();
            if (rules.isEmpty()) {
                String v = vmNames.get(rnd.nextInt(vmNames.size()));
                rules.add(new Rule.StartDelay(id("delay"), ids(List.of(v)), 1_000L * (1 + rnd.nextInt(20))));
            }
            boolean admission = rnd.nextInt(6) == 0;
            int tolerate = admission ? rnd.nextInt(2) : 0;
            boolean strict = admission && rnd.nextInt(3) == 0;
            SortedSet<HostId> reserved = new TreeSet<>();
            if (admission && hosts.size() >= 4 && rnd.nextBoolean()) {
                reserved.add(new HostId(hosts.get(rnd.nextInt(hosts.size()))));
            }
            policy = new PlacementPolicy(new TreeMap<>(groups), rules, tolerate, strict, reserved);
        }

        /** Hard together pairs among VMs that start on one host (they fit: it runs them). */
        private void together() {
            Map<String, List<String>> byHost = new LinkedHashMap<>();
            for (String v : vmNames) {
                byHost.computeIfAbsent(hostOf(v), k -> new ArrayList<>()).add(v);
            }
            for (List<String> on : byHost.values()) {
                if (on.size() >= 2 && rnd.nextInt(3) == 0) {
                    int i = rnd.nextInt(on.size());
                    int j = (i + 1 + rnd.nextInt(on.size() - 1)) % on.size();
                    List<String> pair = List.of(on.get(i), on.get(j));
                    rules.add(new Rule.Together(id("together"), ids(pair), true, null));
                    unit.put(pair.get(0), pair);
                    unit.put(pair.get(1), pair);
                }
            }
        }

        /** Hard apart pairs and triples among VMs that start on different hosts, bound together with none. */
        private void apart() {
            int count = rnd.nextInt(3);
            int maxSize = hosts.size() >= 4 ? 3 : 2;
            for (int k = 0; k < count; k++) {
                int size = 2 + (maxSize > 2 && rnd.nextInt(3) == 0 ? 1 : 0);
                List<String> candidates = new ArrayList<>();
                for (String v : vmNames) {
                    if (unit.get(v).size() == 1 && !apart.contains(v)) {
                        candidates.add(v);
                    }
                }
                List<String> picked = new ArrayList<>();
                Set<String> on = new HashSet<>();
                while (!candidates.isEmpty() && picked.size() < size) {
                    String v = candidates.remove(rnd.nextInt(candidates.size()));
                    if (on.add(hostOf(v))) {
                        picked.add(v);
                    }
                }
                if (picked.size() >= 2) {
                    rules.add(new Rule.Apart(id("apart"), ids(picked), true, null));
                    apart.addAll(picked);
                }
            }
        }

        /** Host groups, and host rules (preferred or strict) over them that hold the VMs' starting hosts. */
        private void hostRules() {
            int groupCount = rnd.nextInt(4);
            for (int g = 1; g <= groupCount; g++) {
                List<String> pool = new ArrayList<>(hosts);
                int size = 1 + rnd.nextInt(hosts.size() - 1);
                SortedSet<HostId> members = new TreeSet<>();
                while (members.size() < size) {
                    members.add(new HostId(pool.remove(rnd.nextInt(pool.size()))));
                }
                groups.put("group" + g, members);
            }
            if (groups.isEmpty()) {
                return;
            }
            int ruleCount = 1 + rnd.nextInt(3);
            for (int k = 0; k < ruleCount; k++) {
                String v = vmNames.get(rnd.nextInt(vmNames.size()));
                List<String> u = unit.get(v);
                if (u.stream().anyMatch(confined::contains)) {
                    continue;
                }
                HostId start = new HostId(hostOf(v));
                boolean strict = rnd.nextInt(3) == 0 && u.stream().noneMatch(apart::contains);
                boolean failback = !strict && rnd.nextBoolean();
                // the groups, in preference order: one holding the starting host, maybe another before or after
                List<String> holding = new ArrayList<>();
                List<String> other = new ArrayList<>();
                groups.forEach((name, members) -> (members.contains(start) ? holding : other).add(name));
                if (holding.isEmpty()) {
                    continue;
                }
                List<String> chosen = new ArrayList<>();
                chosen.add(holding.get(rnd.nextInt(holding.size())));
                List<String> rest = new ArrayList<>(other);
                for (String g : holding) {
                    if (!chosen.contains(g)) {
                        rest.add(g);
                    }
                }
                if (!rest.isEmpty() && rnd.nextBoolean()) {
                    String second = rest.get(rnd.nextInt(rest.size()));
                    if (failback || rnd.nextBoolean()) {
                        // with failback the starting host stays in the first group: a host the VM
                        // preferred to its own would pull it away before the run settles
                        chosen.add(second);
                    } else {
                        chosen.add(0, second);
                    }
                }
                Set<HostId> allowed = new TreeSet<>();
                chosen.forEach(g -> allowed.addAll(groups.get(g)));
                if (strict && allowed.size() < 2) {
                    strict = false;
                }
                rules.add(new Rule.OnHosts(id("hosts"), ids(u), chosen, strict, failback));
                if (strict) {
                    confined.addAll(u);
                }
            }
        }

        /** Soft together and apart rules with weights, over any VMs. */
        private void soft() {
            int count = rnd.nextInt(3);
            for (int k = 0; k < count && vmNames.size() >= 2; k++) {
                List<String> pool = new ArrayList<>(vmNames);
                List<String> picked = new ArrayList<>();
                int size = 2 + rnd.nextInt(2);
                while (picked.size() < size && !pool.isEmpty()) {
                    picked.add(pool.remove(rnd.nextInt(pool.size())));
                }
                int weight = 1 + rnd.nextInt(Rule.MAX_WEIGHT);
                rules.add(rnd.nextBoolean() ? new Rule.Together(id("soft-together"), ids(picked), false, weight)
                        : new Rule.Apart(id("soft-apart"), ids(picked), false, weight));
            }
        }

        /** Dependencies that make no cycle (a VM waits only for VMs before it in a shuffled order), and start delays. */
        private void order() {
            List<String> shuffled = new ArrayList<>(vmNames);
            for (int i = shuffled.size() - 1; i > 0; i--) {
                int j = rnd.nextInt(i + 1);
                String t = shuffled.get(i);
                shuffled.set(i, shuffled.get(j));
                shuffled.set(j, t);
            }
            int count = shuffled.size() < 2 ? 0 : rnd.nextInt(3);
            for (int k = 0; k < count; k++) {
                int w = 1 + rnd.nextInt(shuffled.size() - 1);
                String waiter = shuffled.get(w);
                List<String> deps = new ArrayList<>();
                deps.add(shuffled.get(rnd.nextInt(w)));
                String more = shuffled.get(rnd.nextInt(w));
                if (!deps.contains(more) && rnd.nextBoolean()) {
                    deps.add(more);
                }
                long timeout = 1_000L * (5 + rnd.nextInt(56));
                rules.add(new Rule.After(id("after"), ids(List.of(waiter)), ids(deps), Rule.Ready.RUNNING, timeout,
                        rnd.nextBoolean() ? Rule.OnTimeout.START : Rule.OnTimeout.STAY_DOWN));
            }
            int delays = rnd.nextInt(3);
            for (int k = 0; k < delays; k++) {
                String v = vmNames.get(rnd.nextInt(vmNames.size()));
                rules.add(new Rule.StartDelay(id("delay"), ids(List.of(v)), 1_000L * (1 + rnd.nextInt(20))));
            }
        }

        /** Why the cluster would refuse the policy against the starting placement, or null. */
        String check() {
            Map<HostId, HostCapacity> capacity = new LinkedHashMap<>();
            for (String h : hosts) {
                capacity.put(new HostId(h), new HostCapacity(32, 131072));
            }
            Map<VmId, VmSpec> specs = new LinkedHashMap<>();
            for (VmDecl v : vms.values()) {
                if (v.ha()) {
                    specs.put(new VmId(v.name()), io.havn.sim.scenario.ScenarioParser.spec(v));
                }
            }
            PolicyCheck.Refusal r = PolicyCheck.check(policy, capacity, specs,
                    vm -> vms.containsKey(vm.value()) ? List.of(vms.get(vm.value()).host()) : List.of());
            return r == null ? null : r.code() + ": " + r.message();
        }

        /**
         * Rule changes at run time, through the admin path: a rule removed (and maybe added back
         * later, which the cluster refuses if the placement then breaks it), or a host added to a
         * group (which never takes a host from a strict rule).
         */
        void changes(TreeMap<Long, List<Command>> byTime) {
            if (rules.isEmpty() || rnd.nextInt(3) != 0) {
                return;
            }
            long t = FAULTS_FROM_S * 1000L + rnd.nextLong((FAULTS_UNTIL_S - FAULTS_FROM_S) * 1000L);
            Rule r = rules.get(rnd.nextInt(rules.size()));
            byTime.computeIfAbsent(t, k -> new ArrayList<>()).add(new Command.RuleRemove(r.id()));
            removed.add(r.id());
            if (rnd.nextBoolean()) {
                long back = t + 1_000L + rnd.nextLong(Math.max(1, HEAL_AT_S * 1000L - t - 1_000L));
                byTime.computeIfAbsent(back, k -> new ArrayList<>()).add(new Command.RuleAdd(r));
            }
            if (!groups.isEmpty() && rnd.nextBoolean()) {
                List<String> names = new ArrayList<>(groups.keySet());
                String g = names.get(rnd.nextInt(names.size()));
                List<HostId> members = new ArrayList<>(groups.get(g));
                HostId extra = new HostId(hosts.get(rnd.nextInt(hosts.size())));
                if (!members.contains(extra)) {
                    members.add(extra);
                }
                long at = FAULTS_FROM_S * 1000L + rnd.nextLong((FAULTS_UNTIL_S - FAULTS_FROM_S) * 1000L);
                byTime.computeIfAbsent(at, k -> new ArrayList<>()).add(new Command.GroupSet(g, members));
            }
        }

        /** Once healed, each hard together pair (that the timeline leaves in force) runs on one host again. */
        List<Expectation> expectations() {
            List<Expectation> out = new ArrayList<>();
            for (Rule r : rules) {
                if (r instanceof Rule.Together t && t.hard() && !removed.contains(t.id())) {
                    out.add(Expectations.parse("end: " + t.vms().get(0) + " with " + t.vms().get(1)));
                }
            }
            return out;
        }
    }

    /** Builds a random schedule that never impairs more hosts at once than the budget allows. */
    private static final class Schedule {
        final SplittableRandom rnd;
        final List<String> hosts;
        final List<String> vms;
        final boolean fence;
        final int budget;
        final TreeMap<Long, List<Command>> commands = new TreeMap<>();
        /** Per host, the intervals [from, to) in ms during which it is impaired. */
        final Map<String, List<long[]>> impaired = new LinkedHashMap<>();
        final List<long[]> exclusive = new ArrayList<>();
        final List<long[]> zkServerDown = new ArrayList<>();
        final List<String> maintained = new ArrayList<>();
        /**
         * Whether this schedule has starts that time out and land late. A daemon that dies while
         * such a call hangs in libvirt leaves nothing to tell its successor that a guest may still
         * come up, so such a schedule has no daemon crashes (SAFETY.md: a residual outside the budget).
         */
        final boolean startsInDoubt;

        Schedule(SplittableRandom rnd, List<String> hosts, List<String> vms, boolean fence) {
            this.rnd = rnd;
            this.startsInDoubt = rnd.nextInt(3) == 0;
            this.hosts = hosts;
            this.vms = vms;
            this.fence = fence;
            this.budget = (hosts.size() - 1) / 2;
            for (String h : hosts) {
                impaired.put(h, new ArrayList<>());
            }
        }

        void add(long atMs, String text) {
            commands.computeIfAbsent(atMs, k -> new ArrayList<>()).add(Commands.parse(text));
        }

        long time(int fromS, int untilS) {
            return (fromS * 1000L) + rnd.nextLong((untilS - fromS) * 1000L);
        }

        long duration(int minS, int maxS) {
            return minS * 1000L + rnd.nextLong((maxS - minS) * 1000L + 1);
        }

        static boolean overlaps(List<long[]> spans, long from, long to) {
            for (long[] s : spans) {
                if (from < s[1] && s[0] < to) {
                    return true;
                }
            }
            return false;
        }

        /** Whether {@code h} may be impaired during [from, to) without exceeding the budget. */
        boolean fits(String h, long from, long to) {
            if (overlaps(impaired.get(h), from, to) || overlaps(exclusive, from, to)) {
                return false;
            }
            int others = 0;
            for (Map.Entry<String, List<long[]>> e : impaired.entrySet()) {
                if (!e.getKey().equals(h) && overlaps(e.getValue(), from, to)) {
                    others++;
                }
            }
            return others + 1 <= budget;
        }

        void fill() {
            int episodes = 2 + rnd.nextInt(7);
            for (int i = 0; i < episodes; i++) {
                episode();
            }
        }

        private void episode() {
            int kind = rnd.nextInt(100);
            String h = hosts.get(rnd.nextInt(hosts.size()));
            String vm = vms.get(rnd.nextInt(vms.size()));
            long t = time(FAULTS_FROM_S, FAULTS_UNTIL_S);
            if (kind < 14) {
                long d = duration(5, 60);
                if (budget > 0 && fits(h, t, HEAL_AT_S * 1000L)) {
                    impaired.get(h).add(new long[] {t, HEAL_AT_S * 1000L + 30_000});
                    add(t, "crash " + h);
                    if (t + d < HEAL_AT_S * 1000L) {
                        add(t + d, "power-on " + h);
                    }
                }
            } else if (kind < 28) {
                long d = duration(1, 40);
                if (budget > 0 && fits(h, t, t + d + 30_000)) {
                    impaired.get(h).add(new long[] {t, t + d + 30_000});
                    add(t, "isolate " + h);
                    add(Math.min(t + d, HEAL_AT_S * 1000L - 1), "reconnect " + h);
                }
            } else if (kind < 38) {
                long d = duration(1, 20);
                boolean clean = rnd.nextInt(3) == 0;
                if (!clean && budget > 0 && !startsInDoubt && fits(h, t, t + d + 30_000)) {
                    impaired.get(h).add(new long[] {t, t + d + 30_000});
                    add(t, "daemon-crash " + h);
                    add(Math.min(t + d, HEAL_AT_S * 1000L - 1), "daemon-start " + h);
                } else if (clean) {
                    plannedRestart(h, t);
                }
            } else if (kind < 48) {
                long d = 200 + rnd.nextLong(12_000);
                if (budget > 0 && fits(h, t, t + d + 30_000)) {
                    impaired.get(h).add(new long[] {t, t + d + 30_000});
                    add(t, "pause " + h + " " + d + "ms");
                }
            } else if (kind < 55) {
                // a minority of hosts (with maybe one coordination server) split from the rest
                long d = duration(2, 40);
                List<String> minority = new ArrayList<>();
                for (String x : hosts) {
                    if (minority.size() < budget && rnd.nextInt(3) == 0 && fits(x, t, t + d + 30_000)) {
                        minority.add(x);
                    }
                }
                if (!minority.isEmpty() && !overlaps(exclusive, t, t + d + 30_000)
                        && !overlaps(zkServerDown, t, t + d + 30_000)) {
                    for (String x : minority) {
                        impaired.get(x).add(new long[] {t, t + d + 30_000});
                    }
                    exclusive.add(new long[] {t, t + d + 30_000});
                    String group = String.join(",", minority) + (rnd.nextBoolean() ? ",zk" + (1 + rnd.nextInt(3)) : "");
                    // the majority comes first: unlisted coordination servers stay with it
                    add(t, "partition " + String.join(",", others(minority)) + " | " + group);
                    add(Math.min(t + d, HEAL_AT_S * 1000L - 1), "heal");
                }
            } else if (kind < 62) {
                long d = duration(2, 40);
                if (!overlaps(zkServerDown, t, t + d) && !overlaps(exclusive, t, t + d)) {
                    int z = 1 + rnd.nextInt(3);
                    zkServerDown.add(new long[] {t, t + d});
                    add(t, "zk-crash zk" + z);
                    add(Math.min(t + d, HEAL_AT_S * 1000L - 1), "zk-start zk" + z);
                }
            } else if (kind < 66) {
                // a whole-ensemble outage, alone
                long d = duration(2, 25);
                boolean clear = !overlaps(exclusive, t, t + d + 30_000) && !overlaps(zkServerDown, t, t + d);
                for (List<long[]> spans : impaired.values()) {
                    clear &= !overlaps(spans, t, t + d + 30_000);
                }
                if (clear) {
                    exclusive.add(new long[] {t, t + d + 30_000});
                    add(t, "zk-down");
                    add(Math.min(t + d, HEAL_AT_S * 1000L - 1), "zk-up");
                }
            } else if (kind < 72) {
                double p = rnd.nextInt(21) / 10.0;
                long d = duration(5, 60);
                add(t, "loss " + p + "%");
                add(Math.min(t + d, HEAL_AT_S * 1000L - 1), "loss 0%");
            } else if (kind < 76) {
                add(t, "delay " + (1 + rnd.nextInt(50)) + "ms");
                add(Math.min(t + duration(5, 60), HEAL_AT_S * 1000L - 1), "delay 0ms");
            } else if (kind < 83) {
                add(t, "vm-crash " + vm);
            } else if (kind < 86) {
                add(t, "vm-fail-start " + vm + " 1");
            } else if (kind < 89) {
                add(t, "vm-fail-migrate " + vm + " " + (1 + rnd.nextInt(2)));
            } else if (kind < 94) {
                if (maintained.isEmpty()) {
                    maintained.add(h);
                    add(t, "maintenance " + h + " on");
                    long off = t + duration(10, 60);
                    if (off < HEAL_AT_S * 1000L) {
                        add(off, "maintenance " + h + " off");
                    }
                }
            } else if (kind < 98) {
                add(t, "migrate " + vm + " " + h);
            } else if (fence) {
                add(t, "fence-fail " + h);
            }
            boundaryEpisode();
        }

        /**
         * A clean stop of a daemon (a planned restart), back within its window or not (then the
         * watchdog resets the host); its VMs run on without a daemon for up to the window.
         */
        private void plannedRestart(String h, long t) {
            if (budget <= 0 || startsInDoubt) {
                return;
            }
            long back = duration(1, 90);
            long until = t + Math.max(back, 60_000) + 30_000;
            if (fits(h, t, until)) {
                impaired.get(h).add(new long[] {t, until});
                if (t + back < HEAL_AT_S * 1000L && rnd.nextBoolean()) {
                    add(t, "daemon-restart " + h + " " + back + "ms");
                } else {
                    add(t, "daemon-stop " + h);
                }
            }
        }

        /** What real adapters do that the decision core must survive: lying starts, outside starts, cuts, clocks. */
        private void boundaryEpisode() {
            int kind = rnd.nextInt(100);
            String h = hosts.get(rnd.nextInt(hosts.size()));
            String vm = vms.get(rnd.nextInt(vms.size()));
            long t = time(FAULTS_FROM_S, FAULTS_UNTIL_S);
            if (kind < 12) {
                if (startsInDoubt) {
                    long timeout = duration(1, 30);
                    add(t, "vm-start-late " + vm + " " + timeout + "ms " + (timeout + duration(1, 20)) + "ms");
                }
            } else if (kind < 24) {
                add(t, "vm-start-error-runs " + vm);
            } else if (kind < 36) {
                // havn removes such a copy while its daemon runs: no stall or crash of that host meanwhile
                long until = t + 10_000;
                if (fits(h, t, until)) {
                    impaired.get(h).add(new long[] {t, until});
                    add(t, "vm-outside-start " + vm + " " + h);
                }
            } else if (kind < 46) {
                // the host clears it at its next listing: no power loss of that host meanwhile
                long until = t + 8_000;
                if (fits(h, t, until)) {
                    impaired.get(h).add(new long[] {t, until});
                    add(t, "autostart " + vm + " " + h);
                }
            } else if (kind < 66) {
                // one link cut, between two hosts or a host and a coordination server
                long d = duration(2, 40);
                boolean toZk = rnd.nextBoolean();
                String other = toZk ? "zk" + (1 + rnd.nextInt(3)) : hosts.get(rnd.nextInt(hosts.size()));
                long[] span = {t, t + d + 30_000};
                if (other.equals(h) || overlaps(exclusive, span[0], span[1]) || !fits(h, span[0], span[1])) {
                    return;
                }
                impaired.get(h).add(span);
                if (!toZk && !fits(other, span[0], span[1])) {
                    impaired.get(h).remove(span); // both ends of a host-to-host cut count against the budget
                    return;
                }
                if (!toZk) {
                    impaired.get(other).add(span);
                }
                exclusive.add(new long[] {t, t + d + 30_000});
                add(t, (rnd.nextBoolean() ? "cut " : "cut-oneway ") + h + " " + other);
                add(Math.min(t + d, HEAL_AT_S * 1000L - 1), "heal");
            } else if (kind < 80) {
                add(t, "clock-step " + h + " " + (rnd.nextBoolean() ? "-" : "") + duration(1, 120) + "ms");
            } else if (kind < 86) {
                // the second liveness signal stops (its sender dies) and maybe comes back: the host is
                // then judged on its daemon's heartbeats alone, as without the signal
                add(t, "signal " + h + " off");
                long on = t + duration(1, 60);
                if (rnd.nextBoolean() && on < HEAL_AT_S * 1000L) {
                    add(on, "signal " + h + " on");
                }
            } else if (kind < 90) {
                hostShutdown(h, t);
            } else if (kind < 94) {
                // the operator disarms the cluster for a while, whatever else happens meanwhile
                add(t, "disarm " + (rnd.nextBoolean() ? "keep" : "release"));
                add(Math.min(t + duration(5, 60), HEAL_AT_S * 1000L - 1), "arm");
            } else {
                plannedRestart(h, time(FAULTS_FROM_S, FAULTS_UNTIL_S - 60));
            }
        }

        /**
         * A clean shutdown of a host under the policy in force (drawn per seed, maybe overridden for
         * the host): a reboot back after a while, or off until the heal powers it on.
         */
        private void hostShutdown(String h, long t) {
            if (budget <= 0) {
                return;
            }
            long back = duration(5, 60);
            long until = HEAL_AT_S * 1000L + 30_000;
            if (fits(h, t, until)) {
                impaired.get(h).add(new long[] {t, until});
                if (rnd.nextInt(4) == 0) {
                    String[] policies = {"migrate", "freeze", "failover", "inherit"};
                    add(Math.max(FAULTS_FROM_S * 1000L, t - 1000), "host-shutdown-policy " + h + " "
                            + policies[rnd.nextInt(policies.length)]);
                }
                add(t, rnd.nextBoolean() && t + back < HEAL_AT_S * 1000L ? "reboot " + h + " " + back + "ms"
                        : "shutdown " + h);
            }
        }

        private List<String> others(List<String> minority) {
            List<String> o = new ArrayList<>();
            for (String x : hosts) {
                if (!minority.contains(x)) {
                    o.add(x);
                }
            }
            return o;
        }
    }
}
