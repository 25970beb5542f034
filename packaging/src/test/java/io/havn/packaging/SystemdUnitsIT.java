package io.havn.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped units' relations, which the safety case rests on: havnd runs only beside a petter
 * that verified the watchdog, after the clock is synchronised, with a state directory on the disk;
 * and the petter is given the W that the shipped havn.yaml assumes.
 */
class SystemdUnitsIT {
    private static final Pattern EXPOSURE = Pattern.compile("Overall exposure level for \\S+: (\\d+\\.\\d+)");
    private static final Pattern WATCHDOG_MS = Pattern.compile("(?m)^#?\\s*watchdogMs: (\\d+)$");

    @TempDir
    static Path unpacked;
    static Path top;

    @BeforeAll
    static void unpack() {
        top = Artifacts.extractTarball(unpacked);
    }

    @Test
    void havndRunsOnlyBesideThePetterAndAfterTheClockIsSynchronised() throws IOException {
        Map<String, List<String>> havnd = settings("havnd.service");
        assertTrue(havnd.getOrDefault("Requires", List.of()).contains("havn-watchdog.service"), "Requires=: " + havnd);
        assertTrue(havnd.getOrDefault("BindsTo", List.of()).contains("havn-watchdog.service"), "BindsTo=: " + havnd);
        assertTrue(havnd.getOrDefault("After", List.of()).containsAll(List.of("havn-watchdog.service", "time-sync.target")),
                "After=: " + havnd);
        assertTrue(havnd.getOrDefault("Wants", List.of()).contains("time-sync.target"), "Wants=: " + havnd);
        assertEquals(List.of("havn"), havnd.getOrDefault("StateDirectory", List.of()), "host.stateDir's default, /var/lib/havn");
    }

    @Test
    void atAHostShutdownHavndStopsBeforeLibvirtAndHasTheTimeToMoveItsVmsAway() throws IOException {
        Map<String, List<String>> havnd = settings("havnd.service");
        // units stop in the reverse of their start order: After= libvirt means havnd stops first
        assertTrue(havnd.getOrDefault("After", List.of()).containsAll(List.of("libvirtd.service",
                "virtqemud.service", "libvirt-guests.service", "network-online.target")), "After=: " + havnd);
        List<String> timeout = havnd.getOrDefault("TimeoutStopSec", List.of());
        assertEquals(1, timeout.size(), "TimeoutStopSec=: " + havnd);
        Matcher min = Pattern.compile("(\\d+)min").matcher(timeout.get(0));
        assertTrue(min.matches(), "in minutes: " + timeout);
        long stopMs = Long.parseLong(min.group(1)) * 60_000;
        Matcher migrate = Pattern.compile("(?m)^#?\\s*shutdownMigrateMs: (\\d+)$")
                .matcher(Files.readString(top.resolve("conf/havn.yaml")));
        assertTrue(migrate.find(), "conf/havn.yaml shows settings.shutdownMigrateMs");
        assertTrue(stopMs > Long.parseLong(migrate.group(1)) + 30_000,
                "TimeoutStopSec= exceeds shutdownMigrateMs and the 30 s after it: " + timeout);
    }

    @Test
    void havndAndItsSignalAreHardToStarve() throws IOException {
        for (String unit : List.of("havnd.service", "havn-signal.service")) {
            Map<String, List<String>> u = settings(unit);
            assertEquals(List.of("1000"), u.get("CPUWeight"), unit + ": ten times a default unit's, the guests' too");
            assertEquals(List.of("-10"), u.get("Nice"), unit);
            assertEquals(List.of("-900"), u.get("OOMScoreAdjust"), unit + ": the last to be killed");
        }
        Map<String, List<String>> havnd = settings("havnd.service");
        assertEquals(List.of("256M"), havnd.get("MemoryMin"), "its memory kept from reclaim");
        assertTrue(String.join(" ", havnd.get("Environment")).contains("-XX:MaxGCPauseMillis=50"), "short pauses");
        assertTrue(String.join(" ", havnd.get("Environment")).contains("-XX:+ExitOnOutOfMemoryError"));
        assertTrue(String.join(" ", havnd.get("Environment")).contains("-Xms64m -Xmx512m"),
                "a bounded heap: the initial one, touched at start, is not 1/64 of the machine's memory");
        assertTrue(havnd.get("Environment").contains("HAVN_CDS_DIR=/var/lib/havn"),
                "class-data sharing in the state directory: a restart after a crash starts sooner");
        assertTrue(havnd.get("StateDirectory").contains("havn"), "where the archive is written");
    }

    @Test
    void havndWantsTheSignalSenderButRunsWithoutIt() throws IOException {
        Map<String, List<String>> havnd = settings("havnd.service");
        assertTrue(havnd.getOrDefault("Wants", List.of()).contains("havn-signal.service"), "Wants=: " + havnd);
        for (String strong : List.of("Requires", "BindsTo", "Requisite", "PartOf")) {
            assertFalse(havnd.getOrDefault(strong, List.of()).contains("havn-signal.service"),
                    strong + "=: havnd must not stop with the signal sender: " + havnd);
        }
    }

    @Test
    void theSignalSenderRunsAsHavndsUserReadsOnlyAndReachesOnlyTheNetwork() throws IOException {
        Map<String, List<String>> signal = settings("havn-signal.service");
        assertEquals(List.of("simple"), signal.get("Type"));
        assertEquals(List.of("always"), signal.get("Restart"), "a silent signal is back at once");
        assertEquals(List.of("0"), signal.get("RestartSec"));
        assertEquals(List.of("2"), signal.get("RestartPreventExitStatus"), "a bad config is not retried");
        assertEquals(List.of("/usr/lib/havn/havn-signal", "--config", "/etc/havn/havn.yaml"), signal.get("ExecStart"));
        assertEquals("\"HAVN_JAVA_OPTS=-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xmx32m\"",
                String.join(" ", signal.get("Environment")), "a small heap, and no compilation it does not need");
        assertEquals(List.of("havn"), signal.get("User"), "the cluster key is havn's, mode 0600");
        assertEquals(List.of("havn"), signal.get("Group"));
        assertEquals(List.of("-10"), signal.get("Nice"));
        assertEquals(null, signal.get("CPUSchedulingPolicy"), "real-time scheduling needs a capability it has not");
        assertEquals(List.of(""), signal.get("CapabilityBoundingSet"), "no capability at all");
        assertEquals(List.of("yes"), signal.get("NoNewPrivileges"));
        assertEquals(List.of("closed"), signal.get("DevicePolicy"));
        assertEquals(null, signal.get("DeviceAllow"), "no device");
        assertEquals(List.of("yes"), signal.get("PrivateDevices"));
        assertEquals(List.of("AF_INET", "AF_INET6", "AF_UNIX"), signal.get("RestrictAddressFamilies"));
        assertEquals(List.of("/etc/havn", "/run/havn"), signal.get("ReadOnlyPaths"), "it writes neither");
        assertEquals(null, signal.get("ReadWritePaths"));
        assertEquals(null, signal.get("RuntimeDirectory"), "/run/havn stays havnd's");
        assertEquals(List.of("havn"), signal.get("StateDirectory"), "its incarnation, beside havnd's in host.stateDir");
        assertEquals(List.of("strict"), signal.get("ProtectSystem"));
        assertEquals(List.of("@system-service"), signal.get("SystemCallFilter"));
    }

    @Test
    void thePetterSaysWhenItIsReadyAndIsGivenTheWOfTheShippedConfig() throws IOException {
        Map<String, List<String>> petter = settings("havn-watchdog.service");
        assertEquals(List.of("notify"), petter.getOrDefault("Type", List.of()), "ready once the device's timeout is verified");
        assertEquals(List.of("main"), petter.getOrDefault("NotifyAccess", List.of()));
        assertEquals(List.of("/run/havn"), petter.getOrDefault("ReadWritePaths", List.of()), "it writes watchdog.status there");
        List<String> exec = petter.getOrDefault("ExecStart", List.of());
        int t = exec.indexOf("--timeout-ms");
        assertTrue(t >= 0 && t + 1 < exec.size(), "ExecStart= gives --timeout-ms: " + exec);
        Matcher w = WATCHDOG_MS.matcher(Files.readString(top.resolve("conf/havn.yaml")));
        assertTrue(w.find(), "conf/havn.yaml shows settings.watchdogMs");
        assertEquals(w.group(1), exec.get(t + 1), "the petter's W is the shipped settings.watchdogMs");
        assertTrue(petter.getOrDefault("RestartPreventExitStatus", List.of()).contains("3"), "a refused device is not retried");
    }

    @Test
    void havndRunsAsItsOwnUserWithoutCapabilitiesAndWithTheSystemCallsOfAService() throws IOException {
        Map<String, List<String>> havnd = settings("havnd.service");
        assertEquals(List.of("havn"), havnd.get("User"), "never root: its parsers face the network");
        assertEquals(List.of("havn"), havnd.get("Group"));
        assertEquals(List.of("libvirt"), havnd.get("SupplementaryGroups"), "for /run/libvirt/libvirt-sock");
        assertEquals(List.of(""), havnd.get("CapabilityBoundingSet"), "no capability at all");
        assertEquals(List.of("yes"), havnd.get("NoNewPrivileges"));
        assertEquals(List.of("0077"), havnd.get("UMask"));
        assertEquals(List.of("@system-service"), havnd.get("SystemCallFilter"));
        assertEquals(List.of("EPERM"), havnd.get("SystemCallErrorNumber"), "a call outside the filter fails, never kills");
        assertEquals(List.of("AF_UNIX", "AF_INET", "AF_INET6", "AF_NETLINK"), havnd.get("RestrictAddressFamilies"));
        assertEquals(List.of("strict"), havnd.get("ProtectSystem"), "it writes only its own directories");
        assertEquals(List.of("yes"), havnd.get("PrivateDevices"));
        assertEquals(List.of("havn"), havnd.get("RuntimeDirectory"));
        assertEquals(List.of("yes"), havnd.get("RuntimeDirectoryPreserve"), "a petter restarted meanwhile finds the lease");
        assertEquals(null, havnd.get("MemoryDenyWriteExecute"), "the JVM's compiler writes the code it runs");
        assertEquals(null, havnd.get("ProtectProc"), "havnd checks in /proc that the petter lives");
    }

    @Test
    void thePetterHasTheWatchdogOneCapabilityAndNoNetwork() throws IOException {
        Map<String, List<String>> petter = settings("havn-watchdog.service");
        assertEquals(List.of("CAP_DAC_OVERRIDE"), petter.get("CapabilityBoundingSet"),
                "to read havnd's state and write its status into havnd's directory, nothing more");
        assertEquals(List.of("closed"), petter.get("DevicePolicy"));
        assertEquals(List.of("/dev/watchdog", "rw"), petter.get("DeviceAllow"));
        assertEquals(List.of("yes"), petter.get("PrivateNetwork"));
        assertEquals(List.of("AF_UNIX"), petter.get("RestrictAddressFamilies"), "only systemd's notify socket");
        assertEquals(List.of("@system-service"), petter.get("SystemCallFilter"));
        assertEquals(List.of("/run/havn"), petter.get("ReadWritePaths"));
    }

    @Test
    void runHavnHasOneOwnerWhicheverUnitStartsSoNeitherTakesItFromTheOther() throws IOException {
        // systemd gives a RuntimeDirectory= to its unit's user at each start, recursively: had the petter
        // (root) one too, each of its restarts would take /run/havn and havnd's lease file from havnd.
        Map<String, List<String>> havnd = settings("havnd.service");
        Map<String, List<String>> petter = settings("havn-watchdog.service");
        assertEquals(null, petter.get("RuntimeDirectory"), "the petter declares none");
        List<String> tmpfiles = Files.readAllLines(top.resolve("systemd/havn-tmpfiles.conf")).stream()
                .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertEquals(1, tmpfiles.size(), "one line: " + tmpfiles);
        List<String> d = List.of(tmpfiles.get(0).split("\\s+"));
        assertEquals(List.of("d", "/run/havn", havnd.get("RuntimeDirectoryMode").get(0), havnd.get("User").get(0),
                havnd.get("Group").get(0), "-"), d, "made at boot as havnd's unit keeps it");
    }

    @Test
    void systemdRatesEveryUnitBelowFive() {
        assumeTrue(Run.onPath("systemd-analyze"), "systemd-analyze is not installed");
        for (String unit : List.of("havnd.service", "havn-watchdog.service", "havn-signal.service")) {
            Run.Result r = Run.run("systemd-analyze", "security", "--offline=true", "--no-pager",
                    top.resolve("systemd").resolve(unit).toString());
            assumeTrue(r.exit() == 0 || !r.err().contains("--offline"), "this systemd-analyze has no --offline: " + r.err());
            Matcher m = EXPOSURE.matcher(r.out());
            assertTrue(m.find(), "systemd-analyze rates " + unit + ": " + r.describe());
            double exposure = Double.parseDouble(m.group(1));
            assertTrue(exposure < 5.0, unit + " is rated " + exposure + ", not below 5:\n" + r.out());
        }
    }

    /** The unit's settings, each with its space-separated words, values of repeated keys joined. */
    private static Map<String, List<String>> settings(String unit) throws IOException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(top.resolve("systemd").resolve(unit))) {
            int eq = line.indexOf('=');
            if (line.isBlank() || line.startsWith("#") || line.startsWith("[") || eq < 0) {
                continue;
            }
            out.computeIfAbsent(line.substring(0, eq), k -> new ArrayList<>())
                    .addAll(List.of(line.substring(eq + 1).strip().split("\\s+")));
        }
        return out;
    }
}
