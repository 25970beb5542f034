package io.havn.daemon.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.node.Decision;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Real parts at scale, small: its options are checked, and 12 real nodes fail two hosts' VMs over with fence devices. */
class ScaleRunTest {
    private static ScaleRun parsed(String... args) {
        ScaleRun r = new ScaleRun();
        new CommandLine(r).parseArgs(args);
        return r;
    }

    @Test
    void badOptionsAreNamedAndNothingRuns() {
        List<String> errors = parsed("--hosts", "2", "--vms-per-host", "0", "--kill-percent", "50", "--fencing",
                "maybe", "--digest-hosts", "1", "--server-heap", "lots").check();
        assertEquals(List.of("--hosts: 2 is outside 3..1000", "--vms-per-host: 0 is outside 1..50",
                "--kill-percent: 50 is outside 1..49 (a majority stays)", "--fencing: 'maybe' is neither with nor without",
                "--digest-hosts: 1 is outside 2..2048", "--server-heap: 'lots' is not a size such as 512m or 1g"), errors);
        assertEquals(List.of(), parsed().check(), "the defaults are good");
        assertEquals(20, parsed().killed(), "10% of 200 hosts");
        assertEquals(2, parsed("--hosts", "12", "--kill-percent", "17").killed());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ScaleRun r = new ScaleRun(new PrintStream(out, true, StandardCharsets.UTF_8));
        assertEquals(2, new CommandLine(r).execute("--hosts", "1"));
        assertEquals("", out.toString(StandardCharsets.UTF_8), "no ensemble was started, nothing measured");
    }

    @Test
    @Timeout(120)
    void twelveRealNodesWithFenceDevicesRunEveryKilledHostsVmAgainOnExactlyOneHost(@TempDir Path dir) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ScaleRun run = new ScaleRun(new PrintStream(out, true, StandardCharsets.UTF_8));
        Path results = dir.resolve("results.md");
        // 12 hosts: more than monitors + 1, so each heartbeats its 8 monitors and health is gossiped; and
        // more than digestHosts 4, so the digests go in three runs over the real transports
        int code = new CommandLine(run).execute("--hosts", "12", "--vms-per-host", "2", "--kill-percent", "17",
                "--digest-hosts", "4",
                "--fencing", "with", "--settle-seconds", "0", "--idle-seconds", "8", "--fence-ms", "200",
                "--start-ms", "100", "--server-heap", "256m", "--recovery-bound-seconds", "40",
                "--dir", dir.resolve("work").toString(), "--out", results.toString());
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, code, text);
        assertEquals(1, run.results.size(), text);
        ScaleRun.Result r = run.results.get(0);
        assertTrue(r.fence(), text);
        assertEquals(2, r.killed(), text);
        assertEquals(4, r.killedVms(), text);
        assertEquals(List.of(), r.violations(), "no VM ever started while a powered host held it: " + text);
        assertEquals(4, r.killedVmHolders().size(), text);
        for (Map.Entry<VmId, Set<HostId>> e : r.killedVmHolders().entrySet()) {
            assertEquals(1, e.getValue().size(), e.getKey() + " runs on exactly one powered host: " + text);
        }
        assertTrue(r.recoveryAll() > 0, "every killed host's VM ran again within the bound: " + text);
        assertEquals(List.of(), r.recordMismatches(), "the leader records each running where it runs: " + text);
        assertEquals(4, r.proofs().getOrDefault(Decision.Proof.FENCE_DEVICE, 0),
                "each was recovered on the fence device's proof: " + text);
        assertEquals(0, r.fencedInSetUp(), "no live host was fenced while the cluster started: " + text);
        assertEquals(0, r.liveHostsFenced(), "no live host was fenced in the failover: " + text);
        assertEquals(10, r.liveHosts(), text);
        assertEquals(10, r.leasesHeld(), "every live host holds its lease, its watchdog armed: " + text);
        assertEquals(0, r.lapsed(), "no lease lapsed, no host fenced itself: " + text);
        assertTrue(r.heartbeatsPerHostPerSecond() > 0, "heartbeats went over the real transports: " + text);
        String row = Files.readAllLines(results).stream().filter(l -> l.startsWith("| yes | 12 (12) |")).findFirst()
                .orElseThrow(() -> new AssertionError("no row in\n" + text));
        assertTrue(row.contains("| 2 (4) |"), row);
    }
}
