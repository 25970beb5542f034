package io.havn.daemon.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The coordination load benchmark: its options are checked, and a small run on a real ensemble reports whole rounds. */
class CoordLoadTest {
    private static CoordLoad parsed(String... args) {
        CoordLoad c = new CoordLoad();
        new CommandLine(c).parseArgs(args);
        return c;
    }

    @Test
    void badOptionsAreNamedAndNothingRuns() {
        List<String> errors = parsed("--hosts", "2,5000", "--vms-per-host", "0", "--seconds", "0", "--fail-percent",
                "50", "--server-heap", "lots", "--view", "some").check();
        assertEquals(List.of("--hosts: 2 is outside 3..2000", "--hosts: 5000 is outside 3..2000",
                "--vms-per-host: 0 is outside 1..100", "--seconds: 0 is outside 1..3600",
                "--fail-percent: 50 is outside 1..49 (a majority stays)", "--view: 'some' is neither own nor whole",
                "--server-heap: 'lots' is not a size such as 512m or 1g"), errors);
        assertEquals(List.of(), parsed().check(), "the defaults are good");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CoordLoad c = new CoordLoad(new PrintStream(out, true, StandardCharsets.UTF_8));
        assertEquals(2, new CommandLine(c).execute("--hosts", "1"));
        assertEquals("", out.toString(StandardCharsets.UTF_8), "no ensemble was started, nothing measured");
    }

    @Test
    void aSmallRunOnARealEnsembleClaimsEveryMovedVmAndSeesTheDeadSessionsExpire(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        CoordLoad c = new CoordLoad(new PrintStream(out, true, StandardCharsets.UTF_8));
        Path results = dir.resolve("results.md");
        int code = new CommandLine(c).execute("--hosts", "11", "--seconds", "1", "--server-heap", "256m",
                "--dir", dir.resolve("work").toString(), "--out", results.toString());
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        String row = Files.readAllLines(results).stream().filter(l -> l.startsWith("| 11 |")).findFirst()
                .orElseThrow(() -> new AssertionError("no row for 11 hosts in\n" + text));
        String[] cells = row.split("\\|");
        // | hosts | writes/s | p50 | p99 | max | longest | over suspect | over lease | lost | round VMs | claimed
        // | mirrored | CPU | deltas | confirm p99 in round | longest in round | expiry seen | heap |
        assertTrue(Double.parseDouble(cells[2].trim()) > 0, "confirmations were answered: " + row);
        assertEquals("0", cells[8].trim(), "no lease would have lapsed: " + row);
        assertTrue(cells[10].trim().startsWith("2 ("), "one host of 11 failed, with its 2 VMs: " + row);
        assertTrue(cells[11].trim().endsWith("ms"), "every moved VM was claimed: " + row);
        assertTrue(cells[12].trim().endsWith("ms"), "the leader's and each target's view show both VMs running again: "
                + row);
        // own views (the default): only the leader and the target take each VM's change (the placement and the
        // claim, or both as one), not the 10 live hosts a whole view would tell
        long deltas = Long.parseLong(cells[14].trim().split(" ")[0]);
        double perWrite = Double.parseDouble(cells[14].trim().split("\\(")[1].split(" ")[0]);
        assertTrue(deltas >= 4, "the deltas are counted: " + row);
        assertTrue(perWrite <= 4, "each VM write reaches the leader and its target, not every host: " + row);
        assertTrue(cells[17].trim().endsWith("ms"), "the leader saw the dead session expire: " + row);
    }
}
