package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the watchdog relies on between two processes: the daemon's and the petter's JVMs read one
 * monotonic clock; the petter process disarms on SIGTERM only while nothing is guarded; the real
 * petter refuses a device that is no watchdog.
 */
class WatchdogProcessTest {
    private static final long WAIT_S = 30;

    @TempDir
    Path dir;

    @Test
    void anotherJvmReadsTheSameMonotonicClock() throws Exception {
        // A source file run by the launcher: the second JVM needs nothing from the build.
        Path source = Files.writeString(dir.resolve("PrintNanoTime.java"),
                "public class PrintNanoTime { public static void main(String[] a) { System.out.println(System.nanoTime()); } }");
        long before = System.nanoTime();
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), source.toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
        assertTrue(p.waitFor(WAIT_S, TimeUnit.SECONDS), "the child JVM finished");
        long after = System.nanoTime();

        long child = Long.parseLong(out);
        assertTrue(before <= child && child <= after,
                "the child's nanoTime " + child + " lies between ours, " + before + " and " + after
                        + ": System.nanoTime is CLOCK_MONOTONIC, shared by the daemon and the petter");
    }

    @Test
    void nanoTimeIsRoughlyTheUptime() throws IOException {
        Path uptime = Path.of("/proc/uptime");
        Assumptions.assumeTrue(Files.isReadable(uptime), "no /proc/uptime");
        double up = Double.parseDouble(Files.readString(uptime).split(" ")[0]);
        double mono = System.nanoTime() / 1e9;
        // /proc/uptime also counts suspended time, and containers may virtualise it: that proves
        // nothing against us, so it skips; the cross-JVM test above is the real check.
        Assumptions.assumeTrue(Math.abs(up - mono) < 5,
                "/proc/uptime " + up + " s is not System.nanoTime " + mono + " s (suspend or a virtual /proc?)");
    }

    @Test
    void thePetterProcessPetsAndWritesTheMagicCloseOnSigtermWhenNothingIsGuarded() throws Exception {
        Path device = Files.createFile(dir.resolve("watchdog"));
        String log = sigtermAfterFirstPet(device);
        String bytes = Files.readString(device, StandardCharsets.US_ASCII);
        assertTrue(bytes.matches("\\.+V"), "pets, then the magic close; got '" + bytes + "', log:\n" + log);
        assertFalse(Files.exists(dir.resolve("watchdog.status")), "the status is gone with the petter; log:\n" + log);
    }

    @Test
    void aSigtermWhileArmedLeavesTheWatchdogRunningAndSaysSo() throws Exception {
        Path device = Files.createFile(dir.resolve("watchdog"));
        // this host runs HA VMs: the daemon armed the watchdog for two minutes (one clock, CLOCK_MONOTONIC)
        new StateFile(dir.resolve("watchdog.state"), StateFile.currentBootId())
                .write(new WatchdogState.Armed(System.nanoTime() + TimeUnit.MINUTES.toNanos(2)));
        String log = sigtermAfterFirstPet(device);
        String bytes = Files.readString(device, StandardCharsets.US_ASCII);
        assertTrue(bytes.matches("\\.+"), "pets and no magic close; got '" + bytes + "', log:\n" + log);
        assertTrue(log.contains("WILL RESET THIS MACHINE"), log);
    }

    @Test
    void theRealPetterRefusesAFileThatIsNoWatchdogDisarmsItAndExits3() throws Exception {
        Path device = Files.createFile(dir.resolve("not-a-watchdog"));
        Process p = java(WatchdogPetter.class.getName(), "--state", dir.resolve("watchdog.state").toString(),
                "--device", device.toString(), "--timeout-ms", "3000")
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("petter.log").toFile())
                .start();
        try {
            assertTrue(p.waitFor(WAIT_S, TimeUnit.SECONDS), "the petter exited");
        } finally {
            p.destroyForcibly();
        }
        String log = Files.readString(dir.resolve("petter.log"));
        assertEquals(3, p.exitValue(), log);
        assertTrue(log.contains("refusing to arm the watchdog " + device) && log.contains("WDIOC_SETTIMEOUT")
                && log.contains("3000 ms"), log);
        assertEquals("V", Files.readString(device, StandardCharsets.US_ASCII), "disarmed, never petted");
        assertFalse(Files.exists(dir.resolve("watchdog.status")));
    }

    /** Runs the petter process on {@code device}, SIGTERMs it after its first pet; returns its log. */
    private String sigtermAfterFirstPet(Path device) throws Exception {
        Path log = dir.resolve("petter.log");
        try (WatchService watch = FileSystems.getDefault().newWatchService()) {
            dir.register(watch, StandardWatchEventKinds.ENTRY_MODIFY);
            Process p = java(PetterOnPlainFile.class.getName(), "--state", dir.resolve("watchdog.state").toString(),
                    "--device", device.toString(), "--interval-ms", "50")
                    .redirectErrorStream(true)
                    .redirectOutput(log.toFile())
                    .start();
            try {
                awaitFirstPet(watch, device, p);
                assertTrue(Files.exists(dir.resolve("watchdog.status")), "verified: " + Files.readString(log));
                p.destroy(); // SIGTERM
                assertTrue(p.waitFor(WAIT_S, TimeUnit.SECONDS), "the petter stopped on SIGTERM");
            } finally {
                p.destroyForcibly();
            }
        }
        return Files.readString(log);
    }

    /** Waits on file-change events (no sleeping) until the device has its first byte. */
    private static void awaitFirstPet(WatchService watch, Path device, Process p) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
        while (Files.size(device) == 0) {
            if (!p.isAlive()) {
                fail("the petter exited with " + p.exitValue() + " before petting");
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                fail("no pet within " + WAIT_S + " s");
            }
            WatchKey k = watch.poll(Math.min(left, TimeUnit.MILLISECONDS.toNanos(500)), TimeUnit.NANOSECONDS);
            if (k != null) {
                k.pollEvents();
                k.reset();
            }
        }
        assertEquals('.', Files.readString(device, StandardCharsets.US_ASCII).charAt(0));
    }

    private static ProcessBuilder java(String mainClass, String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }
}
