package io.havn.sim;

import io.havn.sim.report.HtmlReport;
import io.havn.sim.run.Bench;
import io.havn.sim.run.Fuzz;
import io.havn.sim.run.RunResult;
import io.havn.sim.run.ScenarioRunner;
import io.havn.sim.scenario.Scenario;
import io.havn.sim.scenario.ScenarioException;
import io.havn.sim.scenario.ScenarioParser;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code java -jar ha-sim.jar run|fuzz|bench}: the simulator's command line. */
@Command(name = "ha-sim", mixinStandardHelpOptions = true, version = "ha-sim 0.1",
        description = "Deterministic simulator of a havn cluster: runs the real node logic in virtual time.",
        subcommands = {Main.Run.class, Main.FuzzCmd.class, Main.BenchCmd.class})
public final class Main implements Callable<Integer> {

    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /** Runs the command line and returns the exit code (for tests). */
    public static int execute(String... args) {
        return new CommandLine(new Main()).execute(args);
    }

    @Override
    public Integer call() {
        CommandLine.usage(this, System.out);
        return 2;
    }

    @Command(name = "run", description = "Runs scenario files: prints each timeline and a verdict per expectation.")
    static final class Run implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "FILE", description = "scenario files (YAML)")
        List<Path> files = new ArrayList<>();

        @Option(names = "--report", paramLabel = "DIR", description = "also write an HTML page per scenario")
        Path report;

        @Option(names = "--quiet", description = "print verdicts only, not the timeline")
        boolean quiet;

        @Override
        public Integer call() throws Exception {
            PrintStream out = System.out;
            boolean allPassed = true;
            List<Scenario> scenarios = new ArrayList<>();
            for (Path f : files) {
                try {
                    scenarios.add(ScenarioParser.parse(f));
                } catch (ScenarioException e) {
                    System.err.println("error: " + e.getMessage());
                    return 2;
                }
            }
            for (Scenario s : scenarios) {
                RunResult r = new ScenarioRunner(s).run();
                print(r, out, !quiet);
                if (report != null) {
                    out.println("  report: " + HtmlReport.write(r.trace(), report));
                }
                allPassed &= r.passed();
            }
            out.println(allPassed ? "ALL PASSED" : "FAILED");
            return allPassed ? 0 : 1;
        }
    }

    /** Prints a run: timeline, verdicts, invariants. */
    public static void print(RunResult r, PrintStream out, boolean timeline) {
        Scenario s = r.scenario();
        out.println("== " + s.name() + " (seed " + s.seed() + ")");
        if (timeline) {
            for (ScenarioRunner.Line l : r.timeline()) {
                out.println("  " + l);
            }
        }
        for (RunResult.Outcome o : r.outcomes()) {
            out.printf("  %s  %s   (%s)%n", o.passed() ? "PASS" : "FAIL", o.text(), o.detail());
        }
        if (r.settleFailure() != null) {
            out.println("  FAIL  " + r.settleFailure());
        }
        if (r.violation() != null) {
            out.println("  FAIL  invariant violated at " + r.violation());
            out.println("  trail:");
            for (String t : r.trail()) {
                out.println("    " + t);
            }
        } else if (r.settleFailure() == null) {
            out.println("  PASS  invariants held on every event (" + r.events() + " events)");
        }
        out.println("  RESULT: " + (r.passed() ? "PASS" : "FAIL"));
    }

    @Command(name = "fuzz", description = "Runs random fault schedules within the design's fault budget, then heals "
            + "and requires every HA VM running again.")
    static final class FuzzCmd implements Callable<Integer> {
        @Option(names = "--seeds", required = true, description = "how many seeds")
        int seeds;

        @Option(names = "--from", defaultValue = "1", description = "first seed (default ${DEFAULT-VALUE})")
        long from;

        @Option(names = "--hosts", defaultValue = "5", description = "hosts per cluster (default ${DEFAULT-VALUE})")
        int hosts;

        @Option(names = "--vms", defaultValue = "10", description = "VMs per cluster (default ${DEFAULT-VALUE})")
        int vms;

        @Option(names = "--out", defaultValue = "fuzz-failures", description = "where replay scenarios of failures "
                + "go (default ${DEFAULT-VALUE})")
        Path out;

        @Option(names = "--rules", defaultValue = "" + Fuzz.DEFAULT_RULES_CHANCE, paramLabel = "SHARE",
                description = "the share of seeds, 0 to 1, that also draw placement rules (default ${DEFAULT-VALUE}; "
                        + "a seed without rules makes the same schedule whatever the share)")
        double rules;

        @Option(names = "--storage", defaultValue = "" + Fuzz.DEFAULT_STORAGE_CHANCE, paramLabel = "SHARE",
                description = "the share of seeds, 0 to 1, that also draw shared datastores, storage faults and "
                        + "hanging guests (default ${DEFAULT-VALUE}; a seed without storage makes the same schedule)")
        double storage;

        @Option(names = "--own-view", defaultValue = "" + Fuzz.DEFAULT_OWN_VIEW_CHANCE, paramLabel = "SHARE",
                description = "the share of seeds, 0 to 1, whose hosts keep only their own VM records, as in a large "
                        + "cluster (ownViewFromHosts 0; default ${DEFAULT-VALUE}; the schedule is the same either way)")
        double ownView;

        @Option(names = "--monitors", defaultValue = "" + Fuzz.DEFAULT_MONITORS_CHANCE, paramLabel = "SHARE",
                description = "the share of seeds, 0 to 1, whose hosts heartbeat only two monitors each and gossip "
                        + "health, as in a cluster larger than monitors + 1 hosts (default ${DEFAULT-VALUE}; the "
                        + "schedule is the same either way)")
        double monitors;

        @Option(names = "--runs", defaultValue = "" + Fuzz.DEFAULT_RUNS_CHANCE, paramLabel = "SHARE",
                description = "the share of the seeds with monitors, 0 to 1, whose digests go in runs of two hosts, "
                        + "as in a cluster larger than digestHosts (default ${DEFAULT-VALUE}; the schedule is the same "
                        + "either way)")
        double runs;

        @Override
        public Integer call() throws Exception {
            if (seeds < 1 || hosts < 2 || vms < 1 || !(rules >= 0 && rules <= 1) || !(storage >= 0 && storage <= 1)
                    || !(ownView >= 0 && ownView <= 1) || !(monitors >= 0 && monitors <= 1) || !(runs >= 0 && runs <= 1)) {
                System.err.println("error: --seeds must be >= 1, --hosts >= 2, --vms >= 1, --rules, --storage, "
                        + "--own-view, --monitors and --runs between 0 and 1");
                return 2;
            }
            return new Fuzz(hosts, vms, out, System.out, rules, storage, ownView, monitors, runs).run(from, seeds)
                    ? 0 : 1;
        }
    }

    @Command(name = "bench", description = "Measures failover times, false failovers, simulation speed and "
            + "placement time; prints them and writes Markdown and CSV.")
    static final class BenchCmd implements Callable<Integer> {
        @Option(names = "--out", defaultValue = "bench-results", description = "directory for results.md and "
                + "results.csv (default ${DEFAULT-VALUE})")
        Path out;

        @Option(names = "--quick", description = "fewer seeds and shorter runs (for tests)")
        boolean quick;

        @Option(names = "--only", split = ",", paramLabel = "SECTION", description = "run only these sections: "
                + "${COMPLETION-CANDIDATES} (default: all)")
        List<Bench.Section> only;

        @Override
        public Integer call() throws Exception {
            new Bench(quick, System.out).run(out, only == null || only.isEmpty()
                    ? java.util.EnumSet.allOf(Bench.Section.class) : java.util.EnumSet.copyOf(only));
            return 0;
        }
    }
}
