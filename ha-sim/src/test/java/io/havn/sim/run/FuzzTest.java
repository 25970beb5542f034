package io.havn.sim.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.sim.scenario.Scenario;
import io.havn.sim.scenario.ScenarioParser;
import io.havn.sim.scenario.ScenarioWriter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A fixed range of fuzz seeds runs in every build: enough to matter, small enough for CI. */
class FuzzTest {

    @Test
    void aFixedRangeOfSeedsFindsNoViolationAndEveryVmRunsAgainAfterHealing(@TempDir Path out) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        boolean ok = new Fuzz(5, 10, out, new PrintStream(buf, true, StandardCharsets.UTF_8)).run(1, 150);
        assertTrue(ok, buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void threeHostClustersToo(@TempDir Path out) throws Exception {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        boolean ok = new Fuzz(3, 6, out, new PrintStream(buf, true, StandardCharsets.UTF_8)).run(5001, 50);
        assertTrue(ok, buf.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aSeedAlwaysMakesTheSameScheduleAndItsFileReplaysIt() {
        Scenario a = Fuzz.generate(77, 5, 10);
        Scenario b = Fuzz.generate(77, 5, 10);
        assertEquals(a, b, "one seed, one schedule");
        Scenario replay = ScenarioParser.parse(ScenarioWriter.toYaml(a), "replay.yaml");
        assertEquals(a, replay, "the replay file holds the whole schedule");
    }
}
