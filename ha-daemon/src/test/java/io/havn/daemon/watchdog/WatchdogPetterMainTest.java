package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The petter's main, in-process on temp files, its ticks driven by a fake monotonic clock. */
class WatchdogPetterMainTest {
    private static final long S = 1_000_000_000L;

    @TempDir
    Path dir;

    @Test
    void petsUntilTheDeadlineStopsAfterItResumesOnReleaseAndDisarmsOnAStop() throws IOException {
        Path device = Files.createFile(dir.resolve("watchdog"));
        Path stateFile = dir.resolve("watchdog.state");
        StateFile daemon = new StateFile(stateFile, StateFile.currentBootId());
        AtomicLong clock = new AtomicLong(7_000 * S);
        daemon.write(new WatchdogState.Armed(clock.get() + 2_500_000_000L)); // deadline at t = 2.5 s
        List<Long> pauses = new ArrayList<>();
        List<Integer> bytesSeen = new ArrayList<>();

        int rc = WatchdogPetter.run(new String[] {"--state", stateFile.toString(), "--device", device.toString(),
                "--interval-ms", "1000"}, clock::get, nanos -> {
                    pauses.add(nanos);
                    bytesSeen.add(size(device));
                    clock.addAndGet(nanos); // time passes only here: one interval per tick
                    if (pauses.size() == 4) {
                        write(daemon, new WatchdogState.Released()); // at t = 4 s: no HA VM any more
                    }
                    return pauses.size() < 6; // a stop request after the tick at t = 5 s
                });

        assertEquals(0, rc);
        assertEquals(List.of(S, S, S, S, S, S), pauses, "one interval between ticks");
        // ticks at t = 0, 1, 2 pet; t = 3 (deadline 2.5 s passed) does not; t = 4, 5 (released) pet
        assertEquals(List.of(1, 2, 3, 3, 4, 5), bytesSeen);
        assertEquals(".....V", Files.readString(device, StandardCharsets.US_ASCII), "five pets, then the magic close");
    }

    @Test
    void aStopAfterTheDeadlineLeavesTheWatchdogArmed() throws IOException {
        Path device = Files.createFile(dir.resolve("watchdog"));
        Path stateFile = dir.resolve("watchdog.state");
        AtomicLong clock = new AtomicLong(7_000 * S);
        new StateFile(stateFile, StateFile.currentBootId()).write(new WatchdogState.Armed(clock.get() + S / 2));
        int[] ticks = {0};

        int rc = WatchdogPetter.run(new String[] {"--state", stateFile.toString(), "--device", device.toString()},
                clock::get, nanos -> {
                    clock.addAndGet(nanos);
                    return ++ticks[0] < 3;
                });

        assertEquals(0, rc);
        assertEquals(".", Files.readString(device, StandardCharsets.US_ASCII));
    }

    @Test
    void badArgumentsExit2AndAMissingDeviceExits1() {
        Path state = dir.resolve("watchdog.state");
        assertEquals(2, WatchdogPetter.run(new String[] {"--bogus", "1"}, () -> 0, n -> false));
        assertEquals(2, WatchdogPetter.run(new String[] {"--interval-ms", "0"}, () -> 0, n -> false));
        assertEquals(2, WatchdogPetter.run(new String[] {"--state"}, () -> 0, n -> false));
        assertEquals(0, WatchdogPetter.run(new String[] {"--help"}, () -> 0, n -> false));
        assertEquals(1, WatchdogPetter.run(new String[] {"--state", state.toString(),
                "--device", dir.resolve("absent").toString()}, () -> 0, n -> false));
    }

    private static int size(Path p) {
        try {
            return (int) Files.size(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void write(StateFile f, WatchdogState s) {
        try {
            f.write(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
