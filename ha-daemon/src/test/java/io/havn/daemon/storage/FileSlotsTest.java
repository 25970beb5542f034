package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileSlotsTest {
    private static final int SLOT = SlotLayout.SLOT_BYTES;

    @TempDir
    Path dir;

    private static byte[] slot(int fill) {
        byte[] b = new byte[SLOT];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    @Test
    void aFileThatIsNotThereIsCreatedAndExtendedToTheArea() throws IOException {
        Path f = dir.resolve("heartbeat");
        FileSlots io = new FileSlots("vmstore", f);
        byte[] area = io.writeThenRead(SLOT, slot(7), 3 * SLOT);
        assertEquals(3 * SLOT, Files.size(f), "extended to the whole area");
        byte[] expected = new byte[3 * SLOT];
        Arrays.fill(expected, SLOT, 2 * SLOT, (byte) 7);
        assertArrayEquals(expected, area, "the slot written, the others empty");
    }

    @Test
    void twoHostsOnOneFileSeeEachOthersWritesAndAFileIsNeverShortened() throws IOException {
        Path f = dir.resolve("heartbeat");
        FileSlots a = new FileSlots("vmstore", f);
        FileSlots b = new FileSlots("vmstore", f);
        a.writeThenRead(0, slot(1), 2 * SLOT);
        byte[] seen = b.writeThenRead(SLOT, slot(2), 2 * SLOT);
        assertEquals(1, seen[0], "b reads a's slot");
        assertEquals(2, a.writeThenRead(0, slot(1), 2 * SLOT)[SLOT], "a reads b's slot");
        Files.write(f, new byte[5 * SLOT]); // another host counts more members
        a.writeThenRead(0, slot(3), 2 * SLOT);
        assertEquals(5 * SLOT, Files.size(f));
    }

    @Test
    void whatLiesPastTheEndOfAFileReadsAsEmptySlots() throws IOException {
        Path f = dir.resolve("heartbeat");
        Files.write(f, slot(9));
        byte[] area = new FileSlots("vmstore", f).read(2 * SLOT);
        assertEquals(2 * SLOT, area.length);
        assertEquals(9, area[SLOT - 1]);
        assertEquals(0, area[SLOT], "past the end: zeros");
    }

    @Test
    void nothingIsCreatedUnderDevNorInADirectoryThatIsNotThere() {
        assertThrows(NoSuchFileException.class,
                () -> new FileSlots("vmstore", Path.of("/dev/disk/by-id/havn-test-none")).writeThenRead(0, slot(1), SLOT));
        IOException e = assertThrows(IOException.class,
                () -> new FileSlots("vmstore", dir.resolve("not-mounted/heartbeat")).writeThenRead(0, slot(1), SLOT));
        assertTrue(e.getMessage().contains("not-mounted"), e.getMessage());
    }

    @Test
    void aDanglingLinkIsNotFollowedToCreateAFile() throws IOException {
        Path target = dir.resolve("gone");
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        assertThrows(NoSuchFileException.class, () -> new FileSlots("vmstore", link).writeThenRead(0, slot(1), SLOT));
        assertTrue(Files.notExists(target), "created nothing through the link");
    }
}
