package io.havn.sim.run;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.sim.Main;
import io.havn.sim.scenario.ScenarioParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** Every shipped scenario passes: its expectations and every invariant. */
class ScenarioFilesTest {

    @TestFactory
    Stream<DynamicTest> everyShippedScenarioPasses() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(Path.of("scenarios"))) {
            files = s.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "scenario files found");
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> {
            RunResult r = new ScenarioRunner(ScenarioParser.parse(f)).run();
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            Main.print(r, new PrintStream(buf, true, StandardCharsets.UTF_8), true);
            assertTrue(r.passed(), buf.toString(StandardCharsets.UTF_8));
        }));
    }
}
