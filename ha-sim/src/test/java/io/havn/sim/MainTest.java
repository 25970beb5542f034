package io.havn.sim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line's contract: exit codes, what it prints, what it writes. */
class MainTest {
    static final Path PASSING = Path.of("scenarios/crash-with-fence-device.yaml");

    /** Exit code and what a call printed on stdout and stderr. */
    record Call(int exit, String out, String err) {
        String both() {
            return "exit " + exit + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    private static Call call(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit;
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            exit = Main.execute(args);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Call(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void runOnAPassingScenarioExitsZero() {
        assertTrue(Files.isRegularFile(PASSING), "run from the module directory: " + Path.of("").toAbsolutePath());
        Call c = call("run", PASSING.toString());
        assertEquals(0, c.exit(), c.both());
        assertTrue(c.out().contains("== crash-with-fence-device"), c.both());
        assertTrue(c.out().contains("RESULT: PASS"), c.both());
        assertTrue(c.out().contains("ALL PASSED"), c.both());
        assertFalse(c.out().contains("RESULT: FAIL"), c.both());
    }

    @Test
    void runOnAScenarioWhoseExpectationCannotHoldExitsOne(@TempDir Path dir) throws IOException {
        String yaml = Files.readString(PASSING, StandardCharsets.UTF_8);
        String last = "\"end: node1 fenced\"]";
        assertTrue(yaml.contains(last), "the scenario changed; adapt the test:\n" + yaml);
        Path file = dir.resolve("cannot-hold.yaml");
        Files.writeString(file, yaml.replace(last, "\"end: node1 fenced\", \"never: node1 fenced\"]"));

        Call c = call("run", file.toString());
        assertEquals(1, c.exit(), c.both());
        assertTrue(c.out().contains("FAIL  never: node1 fenced"), c.both());
        assertTrue(c.out().contains("PASS  end: node1 fenced"), c.both());
        assertTrue(c.out().contains("RESULT: FAIL"), c.both());
        assertTrue(c.out().lines().anyMatch(l -> l.equals("FAILED")), c.both());
    }

    @Test
    void runOnAMalformedFileExitsTwoNamingTheFileAndTheProblem(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("malformed.yaml");
        Files.writeString(file, "name: malformed\nhosts: {node1: {}, node2: {}}\nvms: {a: {host: node9}}\n");

        Call c = call("run", file.toString());
        assertEquals(2, c.exit(), c.both());
        assertTrue(c.err().contains(file.toString()), "the error names the file: " + c.both());
        assertTrue(c.err().contains("vms.a.host"), "the error names the place: " + c.both());
        assertTrue(c.err().contains("undeclared host 'node9'"), "the error names the problem: " + c.both());
        assertFalse(c.out().contains("RESULT"), "nothing runs: " + c.both());
    }

    @Test
    void runWithReportWritesAnHtmlPage(@TempDir Path dir) throws IOException {
        Path reports = dir.resolve("reports");
        Call c = call("run", "--quiet", "--report", reports.toString(), PASSING.toString());
        assertEquals(0, c.exit(), c.both());
        List<Path> html;
        try (Stream<Path> s = Files.list(reports)) {
            html = s.filter(p -> p.getFileName().toString().endsWith(".html")).toList();
        }
        assertEquals(1, html.size(), "files: " + html);
        String page = Files.readString(html.get(0), StandardCharsets.UTF_8);
        assertTrue(page.contains("crash-with-fence-device"), "the page names the scenario");
        assertTrue(c.out().contains("report: " + html.get(0)), c.both());
    }

    @Test
    void fuzzRunsTheSeedsAndPrintsTheirRangeFirst(@TempDir Path dir) {
        Path out = dir.resolve("fuzz-failures");
        Call c = call("fuzz", "--seeds", "3", "--out", out.toString());
        assertEquals(0, c.exit(), c.both());
        String first = c.out().lines().findFirst().orElse("");
        assertTrue(first.startsWith("fuzz: seeds 1..3"), "first line: " + first + "\n" + c.both());
        assertTrue(c.out().contains("fuzz: 3 seeds, 0 failed"), c.both());
        assertFalse(Files.exists(out), "no failure, no replay file");
    }

    @Test
    void fuzzWithNoSeedsExitsTwo(@TempDir Path dir) {
        Call c = call("fuzz", "--seeds", "0", "--out", dir.resolve("f").toString());
        assertEquals(2, c.exit(), c.both());
        assertTrue(c.err().contains("--seeds must be >= 1"), c.both());
        assertFalse(c.out().contains("fuzz: seeds"), "nothing runs: " + c.both());
    }

    @Test
    void quickBenchWritesMarkdownAndCsv(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("bench");
        Call c = call("bench", "--quick", "--out", out.toString());
        assertEquals(0, c.exit(), c.both());

        String md = Files.readString(out.resolve("results.md"), StandardCharsets.UTF_8);
        for (String heading : List.of("# ha-sim bench",
                "## Host crash to its VMs running elsewhere, with a fence device",
                "## Host crash to its VMs running elsewhere, without a fence device (session expiry)",
                "## False failovers", "## Simulation speed", "## Fuzzing at scale", "## Placement for a 40-host failure")) {
            assertTrue(md.lines().anyMatch(l -> l.equals(heading)), "results.md lacks '" + heading + "':\n" + md);
        }
        assertTrue(md.contains("Quick mode"), md);

        List<String> csv = Files.readAllLines(out.resolve("results.csv"), StandardCharsets.UTF_8);
        assertEquals("benchmark,metric,value,unit", csv.get(0));
        for (String bench : List.of("failover-fence-device", "failover-session-expiry", "false-failovers-pauses",
                "false-failovers-loss", "speed-10-hosts", "speed-100-hosts", "fuzz-30-hosts", "placement-40-of-1000-hosts")) {
            assertTrue(csv.stream().anyMatch(l -> l.startsWith(bench + ",")), "results.csv lacks " + bench + ":\n" + csv);
        }
        for (String line : csv.subList(1, csv.size())) {
            assertEquals(4, line.split(",", -1).length, "malformed CSV row: " + line);
        }
        assertTrue(csv.contains("fuzz-30-hosts,seeds-failed,0.000,count"), "every seed at 30 hosts passed:\n" + csv);
        assertTrue(c.out().contains("wrote " + out.resolve("results.md")), c.both());
    }
}
