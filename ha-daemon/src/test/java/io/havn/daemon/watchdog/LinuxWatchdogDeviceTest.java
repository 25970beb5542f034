package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.jna.NativeLong;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libc side of the device, on what this machine has: no /dev/watchdog, but plain files, which
 * take bytes and refuse the watchdog ioctls as any non-watchdog does (ENOTTY).
 */
@EnabledOnOs(OS.LINUX)
class LinuxWatchdogDeviceTest {
    @TempDir
    Path dir;

    @Test
    void theIoctlNumbersAreLinuxsGenericEncodingOfWatchdogH() {
        // _IOC(dir, type, nr, size) = dir << 30 | size << 16 | type << 8 | nr; read 2, write 1; sizeof(int) 4
        long iowr = ioc(3, 'W', 6, 4);
        long ior = ioc(2, 'W', 7, 4);
        assertEquals(iowr, LinuxWatchdogDevice.WDIOC_SETTIMEOUT, "_IOWR('W', 6, int)");
        assertEquals(ior, LinuxWatchdogDevice.WDIOC_GETTIMEOUT, "_IOR('W', 7, int)");
        assertEquals(0xC0045706L, iowr, "what gcc prints for WDIOC_SETTIMEOUT on x86_64");
        assertEquals(0x80045707L, ior, "what gcc prints for WDIOC_GETTIMEOUT on x86_64");
    }

    @Test
    void aFileThatIsNoWatchdogTakesBytesButRefusesBothIoctlsNamingThem() throws IOException {
        Path file = Files.createFile(dir.resolve("not-a-watchdog"));
        try (LinuxWatchdogDevice d = LinuxWatchdogDevice.open(file)) {
            d.write((byte) '.');
            IOException set = assertThrows(IOException.class, () -> d.setTimeoutSeconds(3));
            assertTrue(set.getMessage().contains("WDIOC_SETTIMEOUT on " + file), set.getMessage());
            IOException get = assertThrows(IOException.class, d::timeoutSeconds);
            assertTrue(get.getMessage().contains("WDIOC_GETTIMEOUT on " + file), get.getMessage());
            d.write((byte) 'V');
        }
        assertEquals(".V", Files.readString(file, StandardCharsets.US_ASCII));
    }

    @Test
    void theIoctlMappingHandsTheKernelAnIntPointerAndReadsWhatItWrote() throws IOException {
        // FIONREAD (asm-generic/ioctls.h, 0x541B) writes an int through its pointer like
        // WDIOC_GETTIMEOUT does, and works on a plain file: the bytes left to read
        Path file = Files.writeString(dir.resolve("five-bytes"), "12345");
        int fd = LinuxWatchdogDevice.LibC.INSTANCE.open(file.toString(), 0);
        try {
            IntByReference left = new IntByReference(-1);
            assertEquals(0, LinuxWatchdogDevice.LibC.INSTANCE.ioctl(fd, new NativeLong(0x541B), left));
            assertEquals(5, left.getValue());
        } finally {
            LinuxWatchdogDevice.LibC.INSTANCE.close(fd);
        }
    }

    @Test
    void aMissingDeviceIsAnErrorNotANewFile() {
        Path absent = dir.resolve("no-watchdog");
        assertThrows(NoSuchFileException.class, () -> LinuxWatchdogDevice.open(absent));
        assertFalse(Files.exists(absent));
    }

    @Test
    void aClosedDeviceTakesNoMoreBytes() throws IOException {
        Path file = Files.createFile(dir.resolve("closed"));
        LinuxWatchdogDevice d = LinuxWatchdogDevice.open(file);
        d.close();
        d.close(); // a second close does nothing
        assertThrows(IOException.class, () -> d.write((byte) '.'));
        assertEquals("", Files.readString(file));
    }

    private static long ioc(int direction, char type, int nr, int size) {
        return ((long) direction << 30) | ((long) size << 16) | ((long) type << 8) | nr;
    }
}
