package io.havn.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
    void thePetterSaysWhenItIsReadyAndIsGivenTheWOfTheShippedConfig() throws IOException {
        Map<String, List<String>> petter = settings("havn-watchdog.service");
        assertEquals(List.of("notify"), petter.getOrDefault("Type", List.of()), "ready once the device's timeout is verified");
        assertEquals(List.of("main"), petter.getOrDefault("NotifyAccess", List.of()));
        assertEquals(List.of("havn"), petter.getOrDefault("RuntimeDirectory", List.of()), "it writes watchdog.status there");
        assertEquals(List.of("yes"), petter.getOrDefault("RuntimeDirectoryPreserve", List.of()));
        List<String> exec = petter.getOrDefault("ExecStart", List.of());
        int t = exec.indexOf("--timeout-ms");
        assertTrue(t >= 0 && t + 1 < exec.size(), "ExecStart= gives --timeout-ms: " + exec);
        Matcher w = WATCHDOG_MS.matcher(Files.readString(top.resolve("conf/havn.yaml")));
        assertTrue(w.find(), "conf/havn.yaml shows settings.watchdogMs");
        assertEquals(w.group(1), exec.get(t + 1), "the petter's W is the shipped settings.watchdogMs");
        assertTrue(petter.getOrDefault("RestartPreventExitStatus", List.of()).contains("3"), "a refused device is not retried");
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
