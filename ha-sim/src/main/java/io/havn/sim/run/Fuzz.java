package io.havn.sim.run;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Seeded fuzzing: each seed makes a random fault schedule within the fault budget the design
 * survives (at most a minority of hosts impaired at once, one coordination server down at a time
 * or a whole-ensemble outage alone), then heals everything and requires every HA VM running again
 * within a bound. The schedule is an ordinary scenario, so a failure is replayed by its file.
 */
public final class Fuzz {
    /** Faults happen in [FAULTS_FROM, FAULTS_UNTIL) seconds after settling; healing at HEAL_AT. */
    static final int FAULTS_FROM_S = 5;
    static final int FAULTS_UNTIL_S = 110;
    static final int HEAL_AT_S = 130;
    static final int MAINTENANCE_OFF_AT_S = 150;
    /** Every HA VM must run again this long after healing. */
    static final int LIVENESS_BOUND_S = 100;

    private final int hosts;
    private final int vms;
    private final Path out;
    private final PrintStream log;

    public Fuzz(int hosts, int vms, Path out, PrintStream log) {
        this.hosts = hosts;
        this.vms = vms;
        this.out = out;
        this.log = log;
    }

    /** Runs seeds {@code from} .. {@code from + count - 1}; returns whether all passed. */
    public boolean run(long from, int count) throws IOException {
        log.printf("fuzz: seeds %d..%d, %d hosts, %d VMs%n", from, from + count - 1, hosts, vms);
        long start = System.nanoTime();
        int failures = 0;
        long events = 0;
        for (long seed = from; seed < from + count; seed++) {
            Scenario s = generate(seed, hosts, vms);
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
        log.printf("fuzz: %d seeds, %d failed, %d events, %.1f s wall%n", count, failures, events,
                (System.nanoTime() - start) / 1e9);
        return failures == 0;
    }

    /** The scenario of one seed. */
    public static Scenario generate(long seed, int hostCount, int vmCount) {
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
        List<TimelineEntry> timeline = new ArrayList<>();
        byTime.forEach((t, cs) -> timeline.add(new TimelineEntry(t, List.copyOf(cs))));
        List<Expectation> expect = new ArrayList<>();
        for (String v : vmNames) {
            expect.add(Expectations.parse("by " + (HEAL_AT_S + LIVENESS_BOUND_S) + "s: " + v + " running"));
        }
        return new Scenario("fuzz-seed-" + seed, "generated by ha-sim fuzz from seed " + seed
                + " (" + hostCount + " hosts, " + vmCount + " VMs)", seed, null,
                fence ? Fencing.DEVICE : Fencing.NONE, hosts, vms, Map.of(), timeline, expect,
                (HEAL_AT_S + LIVENESS_BOUND_S + 10) * 1000L, zkMax);
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
