package io.havn.daemon.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo, run as a user runs it but in quick mode: a real ZooKeeper server, three real havnd
 * processes, a real kill and a real failover. It must end with every VM of the killed host running
 * on a survivor, report the time of each phase, and leave no process and no work directory behind.
 */
class DemoTest {
    private static final Pattern KILL = Pattern.compile("power loss on (host\\d): SIGKILL to its havnd \\(pid \\d+\\); "
            + "its hypervisor and (vm\\d+(?:, vm\\d+)*) die with it");
    private static final Pattern DETECT = Pattern.compile(
            "(?m)^  detect +(\\d+\\.\\d+) s  the leader (host\\d) suspects (host\\d)$");
    private static final Pattern FENCE = Pattern.compile(
            "(?m)^  fence +(\\d+\\.\\d+) s  the fence device confirmed (host\\d) off$");

    private record Run(int exit, String output) { }

    /** Runs the demo; then no process it started may be left (processes other tests left are not its). */
    private static Run demo(String... args) {
        Set<Long> before = ProcessHandle.current().descendants().map(ProcessHandle::pid).collect(Collectors.toSet());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int exit;
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            exit = Demo.run(args, out);
        }
        String output = bytes.toString(StandardCharsets.UTF_8);
        System.out.println(output); // in the test report, for whoever reads a failure
        List<String> left = ProcessHandle.current().descendants().filter(p -> !before.contains(p.pid()))
                .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).toList();
        assertEquals(List.of(), left, "processes left behind\n" + output);
        return new Run(exit, output);
    }

    @Test
    void aKilledHostsVmsRunAgainOnTheSurvivorsWithTheTimeOfEachPhaseAndNothingIsLeftBehind(@TempDir Path tmp) {
        Path work = tmp.resolve("demo");
        Run run = demo("--quick", "--dir", work.toString());
        String out = run.output();

        assertEquals(0, run.exit(), out);
        Matcher kill = KILL.matcher(out);
        assertTrue(kill.find(), "the demo says which host lost power and which VMs died with it\n" + out);
        String victim = kill.group(1);
        List<String> lost = List.of(kill.group(2).split(", "));
        assertEquals(2, lost.size(), out);

        Matcher detect = DETECT.matcher(out);
        assertTrue(detect.find(), "a detect time\n" + out);
        assertNotEquals(victim, detect.group(2), "the leader survives: a host other than the leader was killed");
        assertEquals(victim, detect.group(3), out);
        Matcher fence = FENCE.matcher(out);
        assertTrue(fence.find(), "a fence time, by the fence device\n" + out);
        assertEquals(victim, fence.group(2), out);
        double detected = Double.parseDouble(detect.group(1));
        double fenced = Double.parseDouble(fence.group(1));
        assertTrue(detected > 0, out);

        for (String vm : lost) {
            Matcher m = Pattern.compile("(?m)^  " + vm
                    + " +now on (host\\d) +restart +(\\d+\\.\\d+) s +total +(\\d+\\.\\d+) s$").matcher(out);
            assertTrue(m.find(), vm + " is reported running again with its timings\n" + out);
            assertNotEquals(victim, m.group(1), vm + " runs on a survivor\n" + out);
            double restart = Double.parseDouble(m.group(2));
            double total = Double.parseDouble(m.group(3));
            assertEquals(detected + fenced + restart, total, 0.02, vm + ": the phases add up to the total\n" + out);
            assertTrue(Pattern.compile("(?m)^\\[ *\\d+\\.\\d+s\\] " + m.group(1) + " started " + vm
                    + " in its hypervisor$").matcher(out).find(), "the start of " + vm + " was shown as it happened\n" + out);
        }
        assertTrue(out.contains("every VM of " + victim + " runs again, on a survivor"), out);

        assertFalse(Files.exists(work), "the work dir is removed\n" + out);
    }

    @Test
    void aWorkDirThatIsNotEmptyIsRefusedAndLeftAsItWas(@TempDir Path tmp) throws Exception {
        Path work = Files.createDirectories(tmp.resolve("used"));
        Path mine = Files.writeString(work.resolve("notes.txt"), "mine");

        Run run = demo("--quick", "--dir", work.toString());

        assertEquals(2, run.exit(), run.output());
        assertTrue(run.output().contains("--dir " + work + ": not empty"), run.output());
        assertEquals(List.of(mine), Files.list(work).toList(), "nothing was added or removed");
        assertEquals("mine", Files.readString(mine));
    }

    @Test
    void aWorkDirThatIsAFileIsRefused(@TempDir Path tmp) throws Exception {
        Path file = Files.writeString(tmp.resolve("file"), "x");

        Run run = demo("--dir", file.toString());

        assertEquals(2, run.exit(), run.output());
        assertTrue(run.output().contains("--dir " + file + ": not a directory"), run.output());
        assertEquals("x", Files.readString(file));
    }
}
