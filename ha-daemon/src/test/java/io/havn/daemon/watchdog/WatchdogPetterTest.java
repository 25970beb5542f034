package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.daemon.watchdog.WatchdogPetter.Reason;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One tick at a time, at given monotonic times, on a fake device that collects the bytes. */
class WatchdogPetterTest {
    private static final long S = 1_000_000_000L;
    private static final long T0 = 5_000 * S;

    @TempDir
    Path dir;

    private final FakeDevice device = new FakeDevice();
    private StateFile state;
    private StatusFile status;
    private WatchdogPetter petter;

    @BeforeEach
    void open() throws IOException {
        state = new StateFile(dir.resolve("watchdog.state"), "boot-a");
        status = new StatusFile(StatusFile.beside(state.path()), "boot-a");
        status.write(4242, 3_000, Path.of("/dev/watchdog"));
        petter = new WatchdogPetter(state, status, Path.of("/dev/watchdog"), new Arming.Armed(device, 3_000), 300 * S);
    }

    @AfterEach
    void close() {
        petter.close(T0, false);
    }

    @Test
    void petsWhileTheDeadlineIsAheadAndStopsOnceItPassed() throws IOException {
        state.write(new WatchdogState.Armed(T0 + 3 * S));

        assertEquals(Reason.ARMED, petter.tick(T0).reason());
        assertEquals(Reason.ARMED, petter.tick(T0 + 2 * S).reason());
        assertEquals(Reason.ARMED, petter.tick(T0 + 3 * S - 1).reason());
        assertEquals(Reason.DEADLINE_PASSED, petter.tick(T0 + 3 * S).reason());
        assertEquals(Reason.DEADLINE_PASSED, petter.tick(T0 + 4 * S).reason());

        assertEquals("...", pets(), "three pets, none at or after the deadline");
    }

    @Test
    void aNewDeadlinePublishedInTimeKeepsItPetting() throws IOException {
        state.write(new WatchdogState.Armed(T0 + S));
        petter.tick(T0);
        state.write(new WatchdogState.Armed(T0 + 3 * S)); // the lease was confirmed again
        assertTrue(petter.tick(T0 + 2 * S).pets());
        assertEquals("..", pets());
    }

    @Test
    void keepsPettingWhenReleased() throws IOException {
        state.write(new WatchdogState.Released());
        for (int i = 0; i < 5; i++) {
            assertEquals(Reason.RELEASED, petter.tick(T0 + i * 1_000 * S).reason());
        }
        assertEquals(".....", pets());
    }

    @Test
    void noFileYetMeansNothingPublishedInThisBootAndPets() {
        assertEquals(Reason.NOTHING_PUBLISHED, petter.tick(T0).reason());
        assertEquals(".", pets(), "a petter that starts before the daemon must not reset the machine");
    }

    @Test
    void aFileFromAnotherBootCountsAsNothingPublished() throws IOException {
        new StateFile(state.path(), "boot-old").write(new WatchdogState.Armed(T0 + 100 * S));
        assertEquals(Reason.NOTHING_PUBLISHED, petter.tick(T0).reason());
    }

    @Test
    void aCorruptFileStopsPettingWhateverCameBefore() throws IOException {
        state.write(new WatchdogState.Released());
        petter.tick(T0);

        for (String corrupt : new String[] {"", "garbage\n", "havn-watchdog 1 boot-a armed\n",
                "havn-watchdog 1 boot-a armed 12x\n", "havn-watchdog 2 boot-a released\n",
                "havn-watchdog 1 boot-a released", "havn-watchdog 1 boot-a released\nmore\n"}) {
            Files.writeString(state.path(), corrupt, StandardCharsets.US_ASCII);
            WatchdogPetter.Verdict v = petter.tick(T0 + S);
            assertEquals(Reason.UNTRUSTED, v.reason(), "'" + corrupt + "' gave " + v);
        }
        assertEquals(".", pets(), "only the tick before the corruption pet");

        state.write(new WatchdogState.Released());
        assertTrue(petter.tick(T0 + 2 * S).pets(), "a valid state published later resumes petting");
    }

    @Test
    void anUnreadableStateStopsPetting() throws IOException {
        Files.createDirectory(state.path()); // reading a directory fails
        assertEquals(Reason.UNTRUSTED, petter.tick(T0).reason());
        assertEquals("", pets());
    }

    @Test
    void aFileThatVanishesKeepsTheLastStateReadSoAnArmedDeadlineStillLapses() throws IOException {
        state.write(new WatchdogState.Armed(T0 + 2 * S));
        petter.tick(T0);
        Files.delete(state.path());

        assertEquals(Reason.ARMED, petter.tick(T0 + S).reason());
        assertEquals(Reason.DEADLINE_PASSED, petter.tick(T0 + 2 * S).reason());
        assertEquals("..", pets());
    }

    @Test
    void aFileThatVanishesAfterACorruptOneDoesNotPet() throws IOException {
        state.write(new WatchdogState.Released());
        petter.tick(T0);
        Files.writeString(state.path(), "junk\n");
        petter.tick(T0 + S);
        Files.delete(state.path());

        assertEquals(Reason.UNTRUSTED, petter.tick(T0 + 2 * S).reason());
        assertEquals(".", pets());
    }

    @Test
    void aDeadlineImplausiblyFarAheadIsRefused() throws IOException {
        // A wall-clock time in nanoseconds published by mistake.
        state.write(new WatchdogState.Armed(1_700_000_000L * S));
        assertEquals(Reason.IMPLAUSIBLE, petter.tick(T0).reason());
        assertEquals("", pets());
    }

    @Test
    void aCleanStopWritesTheMagicCloseWhenReleased() throws IOException {
        state.write(new WatchdogState.Released());
        petter.tick(T0);
        petter.close(T0 + S, true);
        assertEquals(".V", pets());
        assertTrue(device.closed());
        assertThrows(IllegalStateException.class, () -> petter.tick(T0 + 2 * S));
    }

    @Test
    void aCleanStopBeforeAnythingWasPublishedWritesTheMagicClose() {
        petter.tick(T0);
        petter.close(T0 + S, true);
        assertEquals(".V", pets(), "nothing guarded in this boot: disarmed");
    }

    @Test
    void aCleanStopWhileArmedLeavesTheWatchdogRunning() throws IOException {
        // systemctl stop havn-watchdog while the host runs HA VMs under a lease
        state.write(new WatchdogState.Armed(T0 + 5 * S));
        assertEquals(Reason.ARMED, petter.tick(T0).reason());
        petter.close(T0 + S, true);
        assertEquals(".", pets(), "no 'V': the hardware resets the machine within W unless a petter is back");
        assertTrue(device.closed());
    }

    @Test
    void aCleanStopAfterTheDeadlineLeavesTheResetDue() throws IOException {
        state.write(new WatchdogState.Armed(T0 + S));
        petter.tick(T0);
        petter.close(T0 + 2 * S, true);
        assertEquals(".", pets(), "no 'V': the watchdog stays armed and resets the machine");
    }

    @Test
    void aCrashOrKillLeavesTheWatchdogArmed() throws IOException {
        state.write(new WatchdogState.Released());
        petter.tick(T0);
        petter.close(T0, false);
        assertEquals(".", pets());
    }

    @Test
    void everyStopDeletesTheStatusFileSoHavndSeesNoPetter() throws IOException {
        assertInstanceOf(StatusFile.Reading.Verified.class, status.read());
        state.write(new WatchdogState.Armed(T0 + 5 * S));
        petter.tick(T0);
        petter.close(T0 + S, true);
        assertInstanceOf(StatusFile.Reading.Absent.class, status.read());
    }

    /** What was written to the device; a pet is never the magic character. */
    private String pets() {
        return device.written();
    }
}
