package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
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

    private static final long WATCHDOG_MS = 3_000;
    private static final long PETTER_PID = 4242;

    private final AtomicLong now = new AtomicLong(1_000 * S);
    /** The pids that live, for the publisher's check of the petter's. */
    private final Set<Long> alive = new HashSet<>(Set.of(PETTER_PID));

    private WatchdogPublisher publisher(String bootId) {
        return publisher(new StateFile(dir.resolve("watchdog.state"), bootId), true);
    }

    private WatchdogPublisher publisher(StateFile file, boolean required) {
        return new WatchdogPublisher(file, status("boot-a"), now::get, MAX_AHEAD, WATCHDOG_MS, required, alive::contains);
    }

    private StatusFile status(String bootId) {
        return new StatusFile(dir.resolve("watchdog.status"), bootId);
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
        WatchdogPublisher p = publisher(file, true);
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
        WatchdogPublisher p = publisher(new StateFile(notADir.resolve("watchdog.state"), "boot-a"), true);
        assertDoesNotThrow(() -> p.armUntil(now.get() + S));
        assertDoesNotThrow(p::release);
    }

    @Test
    void thePublicConstructorUsesThisBootAndSystemNanoTime() {
        WatchdogPublisher p = new WatchdogPublisher(dir.resolve("run/havn/watchdog.state"), WATCHDOG_MS, true);
        long deadline = System.nanoTime() + 60 * S;
        p.armUntil(deadline);
        assertEquals(OptionalLong.of(deadline),
                new WatchdogPublisher(dir.resolve("run/havn/watchdog.state"), WATCHDOG_MS, true).inheritedDeadline());
        assertTrue(Files.exists(dir.resolve("run/havn/watchdog.state")), "the directory is created");
    }

    // ---------------------------------------------------------------- problem()

    @Test
    void noProblemWhileALivePetterVerifiedATimeoutOfAtMostW() throws Exception {
        status("boot-a").write(PETTER_PID, WATCHDOG_MS, Path.of("/dev/watchdog"));
        assertEquals(Optional.empty(), publisher("boot-a").problem());
        status("boot-a").write(PETTER_PID, 2_000, Path.of("/dev/watchdog"));
        assertEquals(Optional.empty(), publisher("boot-a").problem(), "a shorter timeout resets sooner: safe");
    }

    @Test
    void withoutAStatusFileThePetterIsNotRunningOrRefusedTheDevice() {
        String p = publisher("boot-a").problem().orElseThrow();
        assertTrue(p.contains("havn-watchdog is not running, or it refused the device")
                && p.contains(dir.resolve("watchdog.status").toString()), p);
    }

    @Test
    void aTimeoutLongerThanWIsAProblemNamingBothValues() throws Exception {
        status("boot-a").write(PETTER_PID, 60_000, Path.of("/dev/watchdog"));
        String p = publisher("boot-a").problem().orElseThrow();
        assertTrue(p.contains("/dev/watchdog") && p.contains("60000 ms") && p.contains("3000 ms"), p);
    }

    @Test
    void aStatusLeftByAPetterThatDiedIsAProblem() throws Exception {
        status("boot-a").write(77, WATCHDOG_MS, Path.of("/dev/watchdog"));
        String p = publisher("boot-a").problem().orElseThrow();
        assertTrue(p.contains("pid 77") && p.contains("no longer running"), p);
    }

    @Test
    void anUnreadableOrAnotherBootsStatusIsAProblem() throws Exception {
        Files.writeString(dir.resolve("watchdog.status"), "havn-watchdog-status 1 boot-a 4242 3000\n");
        String malformed = publisher("boot-a").problem().orElseThrow();
        assertTrue(malformed.contains("cannot be trusted") && malformed.contains("no valid watchdog status"), malformed);

        status("boot-old").write(PETTER_PID, WATCHDOG_MS, Path.of("/dev/watchdog"));
        String old = publisher("boot-a").problem().orElseThrow();
        assertTrue(old.contains("another boot"), old);
    }

    @Test
    void theStatusIsReadAtMostOnceASecondAndTheAnswerKeptBetween() throws Exception {
        WatchdogPublisher p = publisher("boot-a");
        assertTrue(p.problem().isPresent(), "no petter yet");
        status("boot-a").write(PETTER_PID, WATCHDOG_MS, Path.of("/dev/watchdog"));
        now.addAndGet(WatchdogPublisher.RECHECK_NANOS - 1);
        assertTrue(p.problem().isPresent(), "the answer of less than a second ago holds");
        now.addAndGet(1);
        assertEquals(Optional.empty(), p.problem(), "read again after a second");

        alive.remove(PETTER_PID); // the petter was killed; its status stays behind
        now.addAndGet(WatchdogPublisher.RECHECK_NANOS);
        assertTrue(p.problem().isPresent(), "a dead petter is seen within a second");
    }

    @Test
    void notRequiredThereIsNeverAProblem() {
        WatchdogPublisher p = publisher(new StateFile(dir.resolve("watchdog.state"), "boot-a"), false);
        assertEquals(Optional.empty(), p.problem(), "no status file, and no problem: demos and tests");
        assertEquals(Optional.empty(), new WatchdogPublisher(dir.resolve("watchdog.state"), WATCHDOG_MS, false).problem());
    }

    @Test
    void aStateThatCannotBeWrittenKeepsHaVmsOffUntilAWriteSucceeds() throws Exception {
        // the petter verified its device, but havnd's lease cannot reach it: a petter that never read a
        // state pets on as if nothing were guarded, so havnd must not hold HA VMs
        status("boot-a").write(PETTER_PID, WATCHDOG_MS, Path.of("/dev/watchdog"));
        Path state = Files.createDirectories(dir.resolve("watchdog.state").resolve("in-the-way"));
        WatchdogPublisher p = publisher("boot-a");
        p.armUntil(now.get() + 5 * S);
        Optional<String> problem = p.problem();
        assertTrue(problem.isPresent() && problem.get().contains("cannot publish the watchdog state to "
                + dir.resolve("watchdog.state")), "a problem: " + problem);

        Files.delete(state);
        Files.delete(dir.resolve("watchdog.state"));
        now.addAndGet(WatchdogPublisher.RECHECK_NANOS);
        assertEquals(Optional.empty(), p.problem(), "the write is tried again, and succeeds");
        assertEquals("havn-watchdog 1 boot-a armed " + (now.get() - WatchdogPublisher.RECHECK_NANOS + 5 * S) + "\n",
                Files.readString(dir.resolve("watchdog.state")), "the lease the petter could not see is there now");
    }

    @Test
    void aPetterReadingAnotherFileLeavesHavndUnguardedAndSaysWhereToLook() throws Exception {
        // Both units have PrivateTmp=yes: a state file under /tmp is one file for havnd and another for
        // the petter. The petter then writes its status into its own /tmp, never beside havnd's state.
        Path petterTmp = Files.createDirectories(dir.resolve("petter-tmp"));
        new StatusFile(petterTmp.resolve("watchdog.status"), "boot-a").write(PETTER_PID, WATCHDOG_MS,
                Path.of("/dev/watchdog"));
        WatchdogPublisher p = publisher("boot-a");
        p.armUntil(now.get() + 5 * S);
        Optional<String> problem = p.problem();
        assertTrue(problem.isPresent() && problem.get().contains("no watchdog status from the petter")
                && problem.get().contains("under systemd both must be in /run/havn"), "no HA VM runs: " + problem);
    }

    /** The file work an {@code io} executor was handed and has not run yet (as if its thread were slow or hung). */
    private final java.util.ArrayDeque<Runnable> ioQueue = new java.util.ArrayDeque<>();

    private WatchdogPublisher offThread() {
        return new WatchdogPublisher(new StateFile(dir.resolve("watchdog.state"), "boot-a"), status("boot-a"), now::get,
                MAX_AHEAD, WATCHDOG_MS, true, alive::contains, ioQueue::add);
    }

    private String stateFile() throws Exception {
        return Files.readString(dir.resolve("watchdog.state"));
    }

    @Test
    void offTheCallersThreadOnlyTheFirstArmIsWrittenAtOnceAndLaterDeadlinesWaitForIo() throws Exception {
        WatchdogPublisher p = offThread();
        p.armUntil(1_005 * S);
        assertEquals("havn-watchdog 1 boot-a armed 1005000000000\n", stateFile(),
                "armed after nothing: written before the call returns (a VM may start right after it)");
        assertTrue(ioQueue.isEmpty());

        p.armUntil(1_006 * S);
        p.armUntil(1_007 * S);
        assertEquals("havn-watchdog 1 boot-a armed 1005000000000\n", stateFile(),
                "a later deadline does not wait for the file: the petter keeps the earlier one meanwhile");
        assertEquals(1, ioQueue.size(), "one write queued for both: the newest wins");
        ioQueue.poll().run();
        assertEquals("havn-watchdog 1 boot-a armed 1007000000000\n", stateFile());

        p.release();
        assertEquals("havn-watchdog 1 boot-a armed 1007000000000\n", stateFile(), "a release waits for io too");
        p.armUntil(1_008 * S); // armed again before the release was written: at once, and the release is void
        assertEquals("havn-watchdog 1 boot-a armed 1008000000000\n", stateFile());
        ioQueue.poll().run();
        assertEquals("havn-watchdog 1 boot-a armed 1008000000000\n", stateFile(), "the older release never lands");

        p.armUntil(1_002 * S); // shortened (the session ended): never left behind a longer deadline
        assertEquals("havn-watchdog 1 boot-a armed 1002000000000\n", stateFile());
    }

    @Test
    void offTheCallersThreadTheStatusIsReadOnIoAndTheLastAnswerGivenMeanwhile() throws Exception {
        status("boot-a").write(PETTER_PID, WATCHDOG_MS, Path.of("/dev/watchdog"));
        WatchdogPublisher p = offThread();
        assertEquals(Optional.empty(), p.problem(), "the first answer is read at once");
        alive.remove(PETTER_PID);
        now.addAndGet(2 * S);
        assertEquals(Optional.empty(), p.problem(), "the last answer, while io reads again");
        assertEquals(1, ioQueue.size());
        p.problem();
        assertEquals(1, ioQueue.size(), "one read queued at a time");
        ioQueue.poll().run();
        assertTrue(p.problem().orElse("").contains("no longer running"), p.problem().toString());
    }
}
