package io.havn.sim.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.sim.scenario.Command;
import io.havn.sim.scenario.Scenario;
import io.havn.sim.scenario.ScenarioParser;
import io.havn.sim.scenario.ScenarioWriter;
import io.havn.sim.scenario.TimelineEntry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    @Test
    void everyRuleSetTheGeneratorDrawsPassesThePolicyCheckAtTheStart() {
        for (long seed = 1; seed <= 2000; seed++) {
            // generate() refuses loudly a policy the cluster would refuse
            assertFalse(Fuzz.generate(seed, 5, 10, 1.0).placement().rules().isEmpty(), "seed " + seed);
            assertFalse(Fuzz.generate(seed, 3, 6, 1.0).placement().rules().isEmpty(), "seed " + seed);
        }
    }

    @Test
    void theRulesDrawLeavesTheFaultScheduleAlone() {
        int withRules = 0;
        for (long seed = 1; seed <= 300; seed++) {
            Scenario plain = Fuzz.generate(seed, 5, 10, 0.0);
            Scenario ruled = Fuzz.generate(seed, 5, 10, 1.0);
            Scenario half = Fuzz.generate(seed, 5, 10, Fuzz.DEFAULT_RULES_CHANCE);
            assertTrue(plain.placement().isEmpty());
            assertEquals(plain.vms(), ruled.vms());
            assertEquals(plain.fencing(), ruled.fencing());
            assertEquals(plain.zkMaxSessionTimeoutMs(), ruled.zkMaxSessionTimeoutMs());
            assertEquals(faults(plain), faults(ruled), "seed " + seed + ": the same faults with and without rules");
            if (half.placement().isEmpty()) {
                assertEquals(plain, half, "seed " + seed + " draws no rules: the same scenario as before rules existed");
            } else {
                withRules++;
                assertEquals(ruled, half, "seed " + seed);
            }
            Scenario replay = ScenarioParser.parse(ScenarioWriter.toYaml(ruled), "replay.yaml");
            assertEquals(ruled, replay, "seed " + seed + ": the replay file holds the whole schedule and its rules");
        }
        assertTrue(withRules > 100 && withRules < 200, withRules + " of 300 seeds drew rules at the default share");
    }

    private static List<String> faults(Scenario s) {
        List<String> out = new ArrayList<>();
        for (TimelineEntry e : s.timeline()) {
            for (Command c : e.commands()) {
                if (!(c instanceof Command.RuleAdd || c instanceof Command.RuleRemove || c instanceof Command.GroupSet)) {
                    out.add(e.atMs() + " " + c.text());
                }
            }
        }
        return out;
    }
}
