package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.node.HostSignal.Guard;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the host signal says the watchdog enforces, for each state file and status file, at given monotonic times. */
class WatchdogGuardTest {
    private static final long MS = 1_000_000L;
    private static final long S = 1_000 * MS;
    private static final long NOW = 5_000 * S;
    private static final long PETTER = 4242;
    private static final String BOOT = "boot-a";

    @TempDir
    Path dir;

    /** One case: the state file's text (null: none), the status file's (null: none), whether the petter lives. */
    private record Case(String what, String state, String status, boolean petterAlive, Guard guard, int remainingMs) { }

    private static String armed(long deadlineNanos) {
        return "havn-watchdog 1 " + BOOT + " armed " + deadlineNanos + "\n";
    }

    private static final String RELEASED = "havn-watchdog 1 " + BOOT + " released\n";
    private static final String STATUS = "havn-watchdog-status 1 " + BOOT + " " + PETTER + " 3000 /dev/watchdog\n";

    private static final List<Case> CASES = List.of(
            new Case("armed, 2.5 s ahead, petter alive", armed(NOW + 2_500 * MS), STATUS, true, Guard.ARMED, 2_500),
            new Case("armed, 0.4 ms ahead: at least 1 ms", armed(NOW + 400_000), STATUS, true, Guard.ARMED, 1),
            new Case("armed at the max-ahead bound", armed(NOW + 300 * S), STATUS, true, Guard.ARMED, 300_000),
            new Case("armed beyond the max-ahead bound", armed(NOW + 300 * S + 1), STATUS, true, Guard.LAPSED, 0),
            new Case("armed, deadline now", armed(NOW), STATUS, true, Guard.LAPSED, 0),
            new Case("armed, deadline passed", armed(NOW - S), STATUS, true, Guard.LAPSED, 0),
            new Case("armed, petter's pid dead", armed(NOW + S), STATUS, false, Guard.LAPSED, 0),
            new Case("armed, no status file", armed(NOW + S), null, true, Guard.LAPSED, 0),
            new Case("armed, status of another boot", armed(NOW + S),
                    STATUS.replace(BOOT, "boot-b"), true, Guard.LAPSED, 0),
            new Case("armed, status unusable", armed(NOW + S), "havn-watchdog-status 1 " + BOOT + " x\n", true,
                    Guard.LAPSED, 0),
            new Case("released, petter alive", RELEASED, STATUS, true, Guard.RELEASED, 0),
            new Case("released, no petter", RELEASED, null, false, Guard.RELEASED, 0),
            new Case("no state file: nothing published", null, STATUS, true, Guard.RELEASED, 0),
            new Case("state of another boot: nothing published", armed(NOW + S).replace(BOOT, "boot-b"), STATUS, true,
                    Guard.RELEASED, 0),
            new Case("state malformed", "havn-watchdog 1 " + BOOT + " armed soon\n", STATUS, true, Guard.LAPSED, 0),
            new Case("state of an unknown version", "havn-watchdog 9 " + BOOT + " released\n", STATUS, true,
                    Guard.LAPSED, 0),
            new Case("state not one line", "havn-watchdog 1 " + BOOT + " released", STATUS, true, Guard.LAPSED, 0));

    private WatchdogGuard guard(boolean petterAlive) {
        return new WatchdogGuard(new StateFile(dir.resolve("watchdog.state"), BOOT),
                new StatusFile(dir.resolve("watchdog.status"), BOOT), 300 * S, pid -> petterAlive && pid == PETTER);
    }

    private void files(String state, String status) throws IOException {
        write(dir.resolve("watchdog.state"), state);
        write(dir.resolve("watchdog.status"), status);
    }

    private static void write(Path file, String text) throws IOException {
        if (text == null) {
            Files.deleteIfExists(file);
        } else {
            Files.writeString(file, text, StandardCharsets.US_ASCII);
        }
    }

    @Test
    void eachStateAndStatusGivesItsGuard() throws IOException {
        for (Case c : CASES) {
            files(c.state(), c.status());
            WatchdogGuard.Reading r = guard(c.petterAlive()).read(NOW);
            assertEquals(c.guard(), r.guard(), c.what() + ": " + r.why());
            assertEquals(c.remainingMs(), r.remainingMs(), c.what() + ": " + r.why());
            assertTrue(!r.why().isBlank(), c.what());
        }
    }

    @Test
    void aStateFileThatDisappearsLeavesTheLastStateInForceAsForThePetter() throws IOException {
        files(armed(NOW + 2 * S), STATUS);
        WatchdogGuard g = guard(true);
        assertEquals(Guard.ARMED, g.read(NOW).guard());
        Files.delete(dir.resolve("watchdog.state"));
        WatchdogGuard.Reading r = g.read(NOW + S);
        assertEquals(Guard.ARMED, r.guard(), r.why());
        assertEquals(1_000, r.remainingMs());
        assertEquals(Guard.LAPSED, g.read(NOW + 2 * S).guard(), "the deadline read last lapses");
    }

    @Test
    void anUntrustedStateIsLapsedUntilAGoodOneIsPublished() throws IOException {
        files("garbage\n", STATUS);
        WatchdogGuard g = guard(true);
        assertEquals(Guard.LAPSED, g.read(NOW).guard());
        Files.delete(dir.resolve("watchdog.state"));
        assertEquals(Guard.LAPSED, g.read(NOW).guard(), "no file after an untrusted one is not 'nothing published'");
        files(RELEASED, STATUS);
        assertEquals(Guard.RELEASED, g.read(NOW).guard());
    }

    @Test
    void itReadsThePathsItWasGiven() {
        Path state = dir.resolve("watchdog.state");
        assertEquals(state, new WatchdogGuard(state).stateFile());
    }
}
