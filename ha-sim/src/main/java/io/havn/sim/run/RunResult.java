package io.havn.sim.run;

import io.havn.sim.report.RunTrace;
import io.havn.sim.scenario.Scenario;
import java.util.List;

/**
 * The result of one scenario run.
 *
 * @param violation      the first invariant violation, or null
 * @param trail          the events that led to the violation (empty without one)
 * @param settleFailure  why the cluster never settled, or null
 * @param events         how many simulation events ran
 */
public record RunResult(Scenario scenario, boolean passed, List<Outcome> outcomes, String violation,
                        List<String> trail, String settleFailure, List<ScenarioRunner.Line> timeline, RunTrace trace,
                        long events) {

    /** One expectation's verdict, with what decided it. */
    public record Outcome(String text, boolean passed, String detail) { }
}
