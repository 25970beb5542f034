package io.havn.sim.run;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.sim.scenario.ScenarioParser;
import org.junit.jupiter.api.Test;

/** The judge can say no: expectations that do not hold fail the run, each for its own reason. */
class ExpectationsFailTest {
    private static final String BASE = """
            name: judged
            fencing: device
            hosts: {node1: {}, node2: {}, node3: {}}
            vms: {a: {host: node1}, b: {host: node2}}
            timeline: [{at: 20s, do: crash node1}]
            expect: [%s]
            """;

    private static RunResult run(String expectation) {
        return new ScenarioRunner(ScenarioParser.parse(String.format(BASE, "\"" + expectation + "\""), "t.yaml")).run();
    }

    @Test
    void eachFormFailsWhenItsFactDoesNotHold() {
        for (String e : new String[] {
                "never: node1 fenced",
                "always: a running on node1",
                "at 30s: a running on node1",
                "by 21s: a running not on node1",
                "end: a stopped",
                "end: a downtime <= 1s",
                "end: leader node1",
                "end: node1 live",
                "end: a error",
                "end: a recovering",
                "end: node2 maintenance"}) {
            RunResult r = run(e);
            assertFalse(r.passed(), e + " should fail");
            assertFalse(r.outcomes().get(0).passed(), e);
        }
    }

    @Test
    void andHoldsWhenItDoes() {
        for (String e : new String[] {
                "end: node1 fenced",
                "always: b running on node2",
                "at 30s: a running not on node1",
                "by 26s: a running",
                "end: a downtime <= 5s",
                "end: leader not node1",
                "never: node2 fenced"}) {
            RunResult r = run(e);
            assertTrue(r.passed(), e + ": " + r.outcomes());
        }
    }
}
