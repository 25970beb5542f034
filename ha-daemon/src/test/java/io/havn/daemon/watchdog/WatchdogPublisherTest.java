package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WatchdogPublisherTest {
    private static final long S = 1_000_000_000L;
    private static final long MAX_AHEAD = 300 * S;

    @TempDir
    Path dir;

    private final AtomicLong now = new AtomicLong(1_000 * S);

    private WatchdogPublisher publisher(String bootId) {
        return new WatchdogPublisher(new StateFile(dir.resolve("watchdog.state"), bootId), now::get, MAX_AHEAD);
    }

    @Test
    void theFileIsOneLineWithBootIdAndMonotonicDeadline() throws Exception {
        publisher("boot-a").armUntil(1_005 * S);
        assertEquals("havn-watchdog 1 boot-a armed 1005000000000\n", Files.readString(dir.resolve("watchdog.state")));
        publisher("boot-a").release();
        assertEquals("havn-watchdog 1 boot-a released\n", Files.readString(dir.resolve("watchdog.state")));
    }

    @Test
    void aRestartedDaemonInheritsADeadlineThatIsStillAhead() {
        publisher("boot-a").armUntil(now.get() + 5 * S);

        OptionalLong inherited = publisher("boot-a").inheritedDeadline(); // the next incarnation

        assertEquals(OptionalLong.of(now.get() + 5 * S), inherited);
    }

    @Test
    void aDeadlineThatPassedIsNotInherited() {
        publisher("boot-a").armUntil(now.get() + 5 * S);
        now.addAndGet(5 * S);
        assertEquals(OptionalLong.empty(), publisher("boot-a").inheritedDeadline());
    }

    @Test
    void releasedMissingCorruptOrAnotherBootsFileIsNoInheritance() throws Exception {
        assertEquals(OptionalLong.empty(), publisher("boot-a").inheritedDeadline(), "no file");
        publisher("boot-a").release();
        assertEquals(OptionalLong.empty(), publisher("boot-a").inheritedDeadline(), "released");
        publisher("boot-a").armUntil(now.get() + 5 * S);
        assertEquals(OptionalLong.empty(), publisher("boot-b").inheritedDeadline(), "another boot's clock");
        Files.writeString(dir.resolve("watchdog.state"), "havn-watchdog 1 boot-a armed 12x\n");
        assertEquals(OptionalLong.empty(), publisher("boot-a").inheritedDeadline(), "corrupt");
    }

    @Test
    void aDeadlineThePetterWouldRefuseIsNotInherited() {
        publisher("boot-a").armUntil(now.get() + MAX_AHEAD + S);
        assertEquals(OptionalLong.empty(), publisher("boot-a").inheritedDeadline());
    }

    @Test
    void aReaderDuringManyReplacesAlwaysSeesAWholeValidState() throws Exception {
        StateFile file = new StateFile(dir.resolve("watchdog.state"), "boot-a");
        WatchdogPublisher p = new WatchdogPublisher(file, now::get, MAX_AHEAD);
        p.armUntil(now.get() + S);
        int writes = 500;
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try {
            Future<?> done = writer.submit(() -> {
                for (int i = 0; i < writes; i++) {
                    if (i % 3 == 0) {
                        p.release();
                    } else {
                        p.armUntil(now.get() + i);
                    }
                }
            });
            int reads = 0;
            while (!done.isDone() || reads < 100) {
                StateFile.Reading r = file.read();
                assertInstanceOf(StateFile.Reading.Published.class, r, "read " + reads + " saw " + r);
                reads++;
            }
            done.get(60, TimeUnit.SECONDS);
        } finally {
            writer.shutdownNow();
        }
        try (Stream<Path> files = Files.list(dir)) {
            List<String> names = files.map(f -> f.getFileName().toString()).collect(Collectors.toList());
            assertEquals(List.of("watchdog.state"), names, "no temporary file left behind");
        }
    }

    @Test
    void aFailedWriteIsLoggedNotThrown() throws Exception {
        Path notADir = Files.writeString(dir.resolve("plain-file"), "x");
        WatchdogPublisher p = new WatchdogPublisher(new StateFile(notADir.resolve("watchdog.state"), "boot-a"),
                now::get, MAX_AHEAD);
        assertDoesNotThrow(() -> p.armUntil(now.get() + S));
        assertDoesNotThrow(p::release);
    }

    @Test
    void thePublicConstructorUsesThisBootAndSystemNanoTime() {
        WatchdogPublisher p = new WatchdogPublisher(dir.resolve("run/havn/watchdog.state"));
        long deadline = System.nanoTime() + 60 * S;
        p.armUntil(deadline);
        assertEquals(OptionalLong.of(deadline), new WatchdogPublisher(dir.resolve("run/havn/watchdog.state")).inheritedDeadline());
        assertTrue(Files.exists(dir.resolve("run/havn/watchdog.state")), "the directory is created");
    }
}
