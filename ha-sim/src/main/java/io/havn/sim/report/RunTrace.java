package io.havn.sim.report;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Everything the HTML report needs to know about one simulated scenario run.
 *
 * <p>Times are in milliseconds of simulated time; 0 is the moment the cluster settled, so
 * things that happened before that (e.g. the initial leader election) may have negative times.
 * {@code endMs} is when the run stopped. Null lists are treated as empty; the lists are copied.
 *
 * @param scenario    scenario name (shown as title, used for the file name)
 * @param description free text describing the scenario (may be null)
 * @param seed        the random seed of the run
 * @param endMs       end of the run
 * @param hosts       the hosts, in lane order (top to bottom)
 * @param spans       where each VM ran, and when
 * @param marks       instants worth showing (faults, fences, leader changes, ...)
 * @param results     outcome of each expectation of the scenario
 * @param violations  invariant violations detected during the run
 * @param passed      overall verdict
 */
public record RunTrace(String scenario, String description, long seed, long endMs, List<String> hosts,
                       List<VmSpan> spans, List<Mark> marks, List<ExpectationResult> results,
                       List<String> violations, boolean passed) {

    public RunTrace {
        hosts = copy(hosts);
        spans = copy(spans);
        marks = copy(marks);
        results = copy(results);
        violations = copy(violations);
    }

    private static <T> List<T> copy(List<T> list) {
        return list == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(list));
    }
}
