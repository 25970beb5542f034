package io.havn.sim.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.havn.sim.scenario.Scenario;
import java.util.List;
import org.junit.jupiter.api.Test;

/** One seed derives everything: the same scenario runs the same, event for event. */
class DeterminismTest {

    @Test
    void theSameSeedGivesTheSameRun() {
        Scenario s = Fuzz.generate(123, 5, 10);
        RunResult a = new ScenarioRunner(s).run();
        RunResult b = new ScenarioRunner(s).run();
        assertEquals(a.events(), b.events(), "same number of events");
        assertEquals(lines(a), lines(b), "same timeline");
    }

    @Test
    void anotherSeedGivesAnotherRun() {
        RunResult a = new ScenarioRunner(Fuzz.generate(123, 5, 10)).run();
        RunResult b = new ScenarioRunner(Fuzz.generate(124, 5, 10)).run();
        assertNotEquals(lines(a), lines(b));
    }

    private static List<String> lines(RunResult r) {
        return r.timeline().stream().map(ScenarioRunner.Line::toString).toList();
    }
}
