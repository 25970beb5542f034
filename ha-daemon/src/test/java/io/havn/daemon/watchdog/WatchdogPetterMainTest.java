package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The petter's run, in-process on temp files and a fake device, its ticks driven by a fake monotonic clock. */
class WatchdogPetterMainTest {
    private static final long S = 1_000_000_000L;
    private static final Path DEV = Path.of("/dev/watchdog");

    @TempDir
    Path dir;

    private final FakeDevice device = new FakeDevice();

    private String[] args(String... more) {
        List<String> a = new ArrayList<>(List.of("--state", dir.resolve("watchdog.state").toString(),
                "--device", DEV.toString()));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void petsUntilTheDeadlineStopsAfterItResumesOnReleaseAndDisarmsOnAStop() throws IOException {
        StateFile daemon = new StateFile(dir.resolve("watchdog.state"), StateFile.currentBootId());
        AtomicLong clock = new AtomicLong(7_000 * S);
        daemon.write(new WatchdogState.Armed(clock.get() + 2_500_000_000L)); // deadline at t = 2.5 s
        List<Long> pauses = new ArrayList<>();
        List<Integer> bytesSeen = new ArrayList<>();

        int rc = WatchdogPetter.run(args("--interval-ms", "1000"), device.at(DEV), clock::get, nanos -> {
            pauses.add(nanos);
            bytesSeen.add(device.written().length());
            clock.addAndGet(nanos); // time passes only here: one interval per tick
            if (pauses.size() == 4) {
                write(daemon, new WatchdogState.Released()); // at t = 4 s: no HA VM any more
            }
            return pauses.size() < 6; // a stop request after the tick at t = 5 s
        }, () -> { });

        assertEquals(0, rc);
        assertEquals(List.of(S, S, S, S, S, S), pauses, "one interval between ticks");
        // ticks at t = 0, 1, 2 pet; t = 3 (deadline 2.5 s passed) does not; t = 4, 5 (released) pet
        assertEquals(List.of(1, 2, 3, 3, 4, 5), bytesSeen);
        assertEquals(".....V", device.written(), "five pets, then the magic close");
    }

    @Test
    void aStopAfterTheDeadlineLeavesTheWatchdogArmed() throws IOException {
        AtomicLong clock = new AtomicLong(7_000 * S);
        new StateFile(dir.resolve("watchdog.state"), StateFile.currentBootId())
                .write(new WatchdogState.Armed(clock.get() + S / 2));
        int[] ticks = {0};

        int rc = WatchdogPetter.run(args(), device.at(DEV), clock::get, nanos -> {
            clock.addAndGet(nanos);
            return ++ticks[0] < 3;
        }, () -> { });

        assertEquals(0, rc);
        assertEquals(".", device.written());
    }

    @Test
    void aStopWhileArmedLeavesTheWatchdogArmed() throws IOException {
        AtomicLong clock = new AtomicLong(7_000 * S);
        new StateFile(dir.resolve("watchdog.state"), StateFile.currentBootId())
                .write(new WatchdogState.Armed(clock.get() + 60 * S));

        int rc = WatchdogPetter.run(args(), device.at(DEV), clock::get, nanos -> false, () -> { });

        assertEquals(0, rc, "a clean stop");
        assertEquals(".", device.written(), "one pet and no 'V': HA VMs run under a lease");
        assertTrue(device.closed());
    }

    @Test
    void onceVerifiedItWritesTheStatusThenSaysReadyAndDeletesItOnStop() {
        StatusFile status = new StatusFile(dir.resolve("watchdog.status"), StateFile.currentBootId());
        List<StatusFile.Reading> atReady = new ArrayList<>();
        List<StatusFile.Reading> whilePetting = new ArrayList<>();

        int rc = WatchdogPetter.run(args("--timeout-ms", "5000"), device.at(DEV), () -> 7_000 * S, nanos -> {
            whilePetting.add(status.read());
            return false;
        }, () -> atReady.add(status.read()));

        assertEquals(0, rc);
        assertEquals(5, device.timeoutSet(), "W set on the device, in seconds");
        StatusFile.Reading.Verified v = new StatusFile.Reading.Verified(ProcessHandle.current().pid(), 5_000, DEV.toString());
        assertEquals(List.of(v), atReady, "the status is there before systemd hears READY=1");
        assertEquals(List.of(v), whilePetting);
        assertInstanceOf(StatusFile.Reading.Absent.class, status.read(), "gone once the petter stopped");
    }

    @Test
    void aDeviceThatResetsLaterThanWIsDisarmedAndTheProcessExits3WithoutAStatus() {
        device.setting(s -> 60);
        AtomicInteger ready = new AtomicInteger();
        AtomicInteger ticks = new AtomicInteger();

        int rc = WatchdogPetter.run(args("--timeout-ms", "3000"), device.at(DEV), () -> 0, nanos -> {
            ticks.incrementAndGet();
            return true;
        }, ready::incrementAndGet);

        assertEquals(3, rc);
        assertEquals("V", device.written(), "disarmed at once, never petted");
        assertEquals(0, ticks.get() + ready.get(), "no tick, no READY=1");
        assertInstanceOf(StatusFile.Reading.Absent.class,
                new StatusFile(dir.resolve("watchdog.status"), StateFile.currentBootId()).read());
    }

    @Test
    void aStatusLeftByAPetterThatDiedIsGoneBeforeTheDeviceIsTried() throws IOException {
        StatusFile status = new StatusFile(dir.resolve("watchdog.status"), StateFile.currentBootId());
        status.write(99, 3_000, DEV);
        device.refusingSet();

        assertEquals(3, WatchdogPetter.run(args(), device.at(DEV), () -> 0, nanos -> true, () -> { }));
        assertInstanceOf(StatusFile.Reading.Absent.class, status.read());
    }

    @Test
    void badArgumentsExit2AndAMissingDeviceExits1() {
        Path state = dir.resolve("watchdog.state");
        WatchdogDevice.Opener none = p -> {
            throw new java.nio.file.NoSuchFileException(p.toString());
        };
        assertEquals(2, WatchdogPetter.run(new String[] {"--bogus", "1"}, none, () -> 0, n -> false, () -> { }));
        assertEquals(2, WatchdogPetter.run(new String[] {"--interval-ms", "0"}, none, () -> 0, n -> false, () -> { }));
        assertEquals(2, WatchdogPetter.run(new String[] {"--state"}, none, () -> 0, n -> false, () -> { }));
        assertEquals(2, WatchdogPetter.run(new String[] {"--timeout-ms", "999"}, none, () -> 0, n -> false, () -> { }),
                "a watchdog's timeout is whole seconds");
        assertEquals(2, WatchdogPetter.run(new String[] {"--timeout-ms", "3000", "--interval-ms", "1600"}, none,
                () -> 0, n -> false, () -> { }), "pets at most half the timeout apart");
        assertEquals(0, WatchdogPetter.run(new String[] {"--help"}, none, () -> 0, n -> false, () -> { }));
        assertEquals(1, WatchdogPetter.run(new String[] {"--state", state.toString(),
                "--device", dir.resolve("absent").toString()}, none, () -> 0, n -> false, () -> { }));
    }

    private static void write(StateFile f, WatchdogState s) {
        try {
            f.write(s);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
