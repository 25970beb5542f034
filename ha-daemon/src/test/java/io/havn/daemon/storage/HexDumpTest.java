package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** qemu-io's dumps as qemu-io 7.2 wrote them (test resources under qemu-io/). */
class HexDumpTest {
    private static String output(String name) throws IOException {
        try (InputStream in = HexDumpTest.class.getResourceAsStream("/qemu-io/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void aWriteThenADumpOfTwoSlotsReadsBackByteForByte() throws IOException {
        // slot 0 written from a file holding 0..255 sixteen times; slot 1 held 0..255, then zeros
        byte[] expected = new byte[8192];
        for (int i = 0; i < 4096; i++) {
            expected[i] = (byte) i;
        }
        for (int i = 0; i < 256; i++) {
            expected[4096 + i] = (byte) i;
        }
        assertArrayEquals(expected, HexDump.parse(output("write-then-read-8192.txt"), 0, 8192));
    }

    @Test
    void aDumpThatEndsInAShortLineIsReadToItsLastByte() throws IOException {
        byte[] expected = {(byte) 0xfa, (byte) 0xfb, (byte) 0xfc, (byte) 0xfd, (byte) 0xfe, (byte) 0xff, 0, 1, 2, 3, 4,
            5, 6, 7, 8, 9, 10, 11, 12, 13};
        assertArrayEquals(expected, HexDump.parse(output("read-20-at-4090.txt"), 4090, 20));
    }

    @Test
    void aFailedReadIsAnErrorCarryingQemuIosWords() throws IOException {
        IOException e = assertThrows(IOException.class, () -> HexDump.parse(output("read-past-the-end.txt"), 0, 16384));
        assertEquals("qemu-io dumped 0 of 16384 bytes: read failed: Input/output error", e.getMessage());
    }

    @Test
    void aDumpShorterThanAskedOrAtAnotherOffsetIsAnError() throws IOException {
        String full = output("write-then-read-8192.txt");
        IOException shorter = assertThrows(IOException.class, () -> HexDump.parse(full, 0, 8208));
        assertTrue(shorter.getMessage().startsWith("qemu-io dumped 8192 of 8208 bytes"), shorter.getMessage());
        String gap = full.replace("00000ff0:  ", "00000ff8:  ");
        IOException jump = assertThrows(IOException.class, () -> HexDump.parse(gap, 0, 8192));
        assertTrue(jump.getMessage().contains("jumps from offset 4080 to 4088"), jump.getMessage());
        assertThrows(IOException.class, () -> HexDump.parse(full, 0, 4096), "more than asked");
    }
}
