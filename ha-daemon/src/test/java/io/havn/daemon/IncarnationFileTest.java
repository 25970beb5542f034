package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host's record of the daemon's last incarnation, across starts with the wall clock given. */
class IncarnationFileTest {
    private static final long T = 1_760_000_000_000L;

    @TempDir
    Path dir;

    @Test
    void aStartAfterTheWallClockSteppedBack30sStillTakesAGreaterIncarnation() throws Exception {
        long first = new IncarnationFile(dir).advance(T);
        long second = new IncarnationFile(dir).advance(T - 30_000); // NTP stepped the clock back
        long third = new IncarnationFile(dir).advance(T + 60_000); // and a later start with it right again

        assertEquals(T, first, "the first start on a host takes the wall clock");
        assertEquals(T + 1, second, "above the last, whatever the clock says");
        assertEquals(T + 60_000, third);
        assertEquals(T + 60_000 + "\n", Files.readString(dir.resolve("incarnation")), "recorded as it was taken");
    }

    @Test
    void noFileIsAFirstStartAndTheDirectoryIsMade() throws Exception {
        Path stateDir = dir.resolve("var/lib/havn");
        IncarnationFile f = new IncarnationFile(stateDir);
        assertEquals(OptionalLong.empty(), f.read());
        assertEquals(T, f.advance(T));
        assertEquals(OptionalLong.of(T), new IncarnationFile(stateDir).read());
        try (Stream<Path> files = Files.list(stateDir)) {
            assertEquals(List.of(stateDir.resolve("incarnation")), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void aCorruptRecordIsRefusedNamingTheFileAndIsLeftAsItWas() throws Exception {
        Path file = dir.resolve("incarnation");
        for (String corrupt : List.of("", "\n", "12x\n", "-5\n", "0\n", "1 2\n", "99999999999999999999\n",
                "\u0000\u0000\u0000\u0000", "1760000000000\n\n")) {
            Files.writeString(file, corrupt);
            IncarnationFile.Unusable e = assertThrows(IncarnationFile.Unusable.class,
                    () -> new IncarnationFile(dir).advance(T), "'" + corrupt + "'");
            assertTrue(e.getMessage().startsWith(file + ": holds no incarnation"), e.getMessage());
            assertEquals(corrupt, Files.readString(file), "a refused record is not overwritten");
        }
    }

    @Test
    void anUnreadableRecordIsRefusedNamingTheFile() throws Exception {
        Files.createDirectory(dir.resolve("incarnation")); // reading a directory fails
        IncarnationFile.Unusable e = assertThrows(IncarnationFile.Unusable.class,
                () -> new IncarnationFile(dir).advance(T));
        assertTrue(e.getMessage().startsWith(dir.resolve("incarnation") + ": cannot read"), e.getMessage());
    }

    @Test
    void aRecordWithoutAFinalNewlineIsStillARecord() throws Exception {
        Files.writeString(dir.resolve("incarnation"), Long.toString(T + 5));
        assertEquals(T + 6, new IncarnationFile(dir).advance(T));
    }
}
