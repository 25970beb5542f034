package io.havn.daemon.fence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.FenceDone;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fencer against fake fence agents (bash scripts in test resources) that follow the fence-agents protocol. */
class FenceAgentFencerTest {
    private static final HostId H2 = HostId.of("h2");
    private static final String PASSWORD = "pw-Kx93-secret";
    private static final long WAIT_S = 30;

    @TempDir
    Path dir;

    private final BlockingQueue<NodeEvent> events = new LinkedBlockingQueue<>();
    private FenceAgentFencer fencer;

    @AfterEach
    void close() {
        if (fencer != null) {
            fencer.close();
        }
    }

    @Test
    void reportsOffOnlyOnceStatusSaysOffAndFeedsTheAgentItsOptionsOnStdin() throws Exception {
        Path state = write("power", "on\n");
        Path log = dir.resolve("agent.log");
        fencer = fencer(Map.of("ipmi-h2", device("fence_fake_ok.sh", "state", state, "log", log)), limits(10_000, 20));

        fencer.powerOff(H2, "ipmi-h2");

        FenceDone done = next();
        assertEquals(new FenceDone(H2, true, null), done);
        assertEquals("off", Files.readString(state).strip(), "the fake host was powered off");
        List<String> runs = Arrays.asList(Files.readString(log).split("--\n"));
        List<String> off = runs.get(0).lines().toList();
        assertEquals(List.of("ip=10.0.0.9", "username=admin", "password=" + PASSWORD, "plug=3",
                "state=" + state, "log=" + log, "action=off"), off,
                "the first run reads every option, one key=value a line, and action=off last");
        assertTrue(runs.size() >= 2 && runs.get(runs.size() - 1).strip().endsWith("action=status"),
                "then status is asked until it says off: " + runs);
    }

    @Test
    void offThatFailsIsAFailureAndTheMessageHidesThePassword() throws Exception {
        fencer = fencer(Map.of("ipmi-h2", device("fence_fake_off_fails.sh")), limits(10_000, 20));

        fencer.powerOff(H2, "ipmi-h2");

        FenceDone done = next();
        assertFalse(done.off());
        assertTrue(done.error().contains("action=off exited 1"), done.error());
        assertTrue(done.error().contains("Unable to connect"), "the agent's own words explain it: " + done.error());
        assertFalse(done.error().contains(PASSWORD), "the password leaked: " + done.error());
        assertTrue(done.error().contains("***"), done.error());
    }

    @Test
    void anAgentThatEchoesItsInputShowsOnlyTheHarmlessValues() throws Exception {
        fencer = fencer(Map.of("snmp-h2", device("fence_fake_echoes_input.sh", "community", "cm-Zq81-private",
                "key", "0x5ec7e7", "snmp-priv-passwd", "pp-Wd55-secret", "power_timeout", "20")), limits(10_000, 20));

        fencer.powerOff(H2, "snmp-h2");

        FenceDone done = next();
        assertFalse(done.off());
        for (String secret : List.of(PASSWORD, "cm-Zq81-private", "0x5ec7e7", "pp-Wd55-secret")) {
            assertFalse(done.error().contains(secret), secret + " leaked: " + done.error());
        }
        for (String shown : List.of("got community=***", "got key=***", "got password=***", "got ip=10.0.0.9",
                "got username=admin", "got plug=3", "got power_timeout=20", "got action=off")) {
            assertTrue(done.error().contains(shown), shown + " in " + done.error());
        }
    }

    @Test
    void aHangingAgentIsKilledWithItsChildrenAtTheDeadline() throws Exception {
        Path pids = dir.resolve("pids");
        fencer = fencer(Map.of("ipmi-h2", device("fence_fake_hang.sh", "pids", pids)), limits(1_500, 20));

        long t0 = System.nanoTime();
        fencer.powerOff(H2, "ipmi-h2");

        FenceDone done = next();
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertFalse(done.off());
        assertTrue(done.error().contains("action=off was still running at the deadline and was killed"), done.error());
        assertTrue(tookMs < 15_000, "reported at its 1.5 s deadline, not after the agent's 30 s: " + tookMs + " ms");
        assertTrue(Files.exists(pids), "the fake agent ran");
        for (String pid : Files.readString(pids).strip().split(" ")) {
            assertDead(Long.parseLong(pid));
        }
    }

    @Test
    void aStatusThatKeepsSayingOnFailsAtTheDeadline() throws Exception {
        Path log = dir.resolve("actions");
        fencer = fencer(Map.of("pdu", device("fence_fake_stays_on.sh", "log", log)), limits(1_500, 50));

        fencer.powerOff(H2, "pdu");

        FenceDone done = next();
        assertFalse(done.off(), "off exited 0, but no status ever confirmed it");
        assertTrue(done.error().contains("status did not report off within 1500 ms"), done.error());
        assertTrue(done.error().contains("exited 0 (on)"), done.error());
        List<String> actions = Files.readAllLines(log);
        assertEquals("off", actions.get(0));
        assertTrue(actions.size() >= 2 && actions.subList(1, actions.size()).stream().allMatch("status"::equals),
                "status was asked again and again: " + actions);
    }

    @Test
    void aMissingProgramIsAFailure() throws Exception {
        FenceDevice absent = new FenceDevice(dir.resolve("fence_absent").toString(), Map.of("password", PASSWORD));
        fencer = fencer(Map.of("ipmi-h2", absent), limits(5_000, 20));

        fencer.powerOff(H2, "ipmi-h2");

        FenceDone done = next();
        assertFalse(done.off());
        assertTrue(done.error().contains("missing or not executable"), done.error());
        assertFalse(done.error().contains(PASSWORD), done.error());
    }

    @Test
    void aDeviceThatIsNotConfiguredIsAFailure() throws Exception {
        fencer = fencer(Map.of("ipmi-h2", device("fence_fake_ok.sh", "state", write("power", "on"))), limits(5_000, 20));

        fencer.powerOff(H2, "ipmi-h9");
        FenceDone unknown = next();
        fencer.powerOff(H2, null);
        FenceDone none = next();

        assertFalse(unknown.off());
        assertTrue(unknown.error().contains("fence device 'ipmi-h9' is not configured"), unknown.error());
        assertFalse(none.off());
        assertTrue(none.error().contains("no fence device given"), none.error());
    }

    @Test
    void aSecondRequestForAHostWhileOneRunsJoinsIt() throws Exception {
        Path state = write("power", "on");
        Path log = dir.resolve("agent.log");
        Path gate = dir.resolve("gate");
        fencer = fencer(Map.of("ipmi-h2", device("fence_fake_ok.sh", "state", state, "log", log, "gate", gate)),
                limits(20_000, 20));

        fencer.powerOff(H2, "ipmi-h2");
        fencer.powerOff(H2, "ipmi-h2"); // the first waits at the gate
        Files.createFile(gate);

        assertEquals(new FenceDone(H2, true, null), next());
        fencer.close(); // a second attempt, queued or running, would report now
        assertNull(events.poll(), "one attempt, one answer");
        long offRuns = Files.readString(log).lines().filter("action=off"::equals).count();
        assertEquals(1, offRuns, "the agent ran off once");
    }

    @Test
    void aRetryAfterAResultStartsANewAttempt() throws Exception {
        fencer = fencer(Map.of("ipmi-h2", device("fence_fake_off_fails.sh")), limits(5_000, 20));

        fencer.powerOff(H2, "ipmi-h2");
        assertFalse(next().off());
        fencer.powerOff(H2, "ipmi-h2");
        assertFalse(next().off(), "the retry was answered");
    }

    @Test
    void differentHostsAreFencedAtOnce() throws Exception {
        Path s2 = write("power-h2", "on");
        Path s3 = write("power-h3", "on");
        Map<String, FenceDevice> devices = Map.of(
                "ipmi-h2", device("fence_fake_ok.sh", "state", s2),
                "ipmi-h3", device("fence_fake_ok.sh", "state", s3));
        fencer = fencer(devices, limits(10_000, 20));

        fencer.powerOff(H2, "ipmi-h2");
        fencer.powerOff(HostId.of("h3"), "ipmi-h3");

        FenceDone a = next();
        FenceDone b = next();
        assertTrue(a.off() && b.off(), a + " " + b);
        assertEquals(java.util.Set.of(H2, HostId.of("h3")), java.util.Set.of(a.host(), b.host()));
    }

    @Test
    void closeKillsARunningAttemptAndReportsItFailed() throws Exception {
        Path pids = dir.resolve("pids");
        fencer = fencer(Map.of("ipmi-h2", device("fence_fake_hang.sh", "pids", pids)), limits(60_000, 20));

        fencer.powerOff(H2, "ipmi-h2");
        long t0 = System.nanoTime();
        fencer.close();

        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) < 15_000, "close is bounded");
        FenceDone done = next();
        assertFalse(done.off(), "an attempt cut short is a failure: " + done);
        fencer.powerOff(H2, "ipmi-h2");
        FenceDone after = next();
        assertFalse(after.off());
        assertEquals("fencer is closed", after.error());
    }

    // ---------------------------------------------------------------- helpers

    private FenceAgentFencer fencer(Map<String, FenceDevice> devices, FenceAgentFencer.Limits limits) {
        return new FenceAgentFencer(devices, events::add, limits);
    }

    private static FenceAgentFencer.Limits limits(long timeoutMs, long statusIntervalMs) {
        return new FenceAgentFencer.Limits(timeoutMs, statusIntervalMs, 2);
    }

    /** A device running the fake agent {@code script}, with credentials and {@code extra} key/value pairs. */
    private FenceDevice device(String script, Object... extra) throws IOException {
        Map<String, String> options = new LinkedHashMap<>();
        options.put("ip", "10.0.0.9");
        options.put("username", "admin");
        options.put("password", PASSWORD);
        options.put("plug", "3");
        for (int i = 0; i < extra.length; i += 2) {
            options.put((String) extra[i], extra[i + 1].toString());
        }
        return new FenceDevice(install(script).toString(), options);
    }

    /** Copies a fake agent out of the test resources and makes it executable, as a real agent is. */
    private Path install(String script) throws IOException {
        Path target = dir.resolve(script);
        if (!Files.exists(target)) {
            try (InputStream in = FenceAgentFencerTest.class.getResourceAsStream("/fence/" + script)) {
                assertNotNull(in, "test resource fence/" + script);
                Files.copy(in, target);
            }
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
        }
        return target;
    }

    private Path write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
    }

    private FenceDone next() throws InterruptedException {
        NodeEvent e = events.poll(WAIT_S, TimeUnit.SECONDS);
        assertNotNull(e, "no FenceDone within " + WAIT_S + " s");
        return (FenceDone) e;
    }

    /** The process is gone, or a zombie nobody reaped yet: it runs no more. */
    private static void assertDead(long pid) throws InterruptedException, ExecutionException {
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty() || zombie(pid)) {
            return;
        }
        try {
            h.get().onExit().get(10, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            if (!zombie(pid)) {
                fail("process " + pid + " of the hanging agent is still running");
            }
        }
    }

    private static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            char s = stat.charAt(stat.lastIndexOf(')') + 2);
            return s == 'Z' || s == 'X';
        } catch (IOException e) {
            return true; // gone
        }
    }
}
