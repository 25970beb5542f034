package io.havn.daemon.watchdog;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * A Linux watchdog device ({@code /dev/watchdog}) through libc: open(2), write(2), close(2) and the
 * two ioctl(2) calls of {@code <linux/watchdog.h>} that the JDK cannot make on a file descriptor.
 *
 * <p>The ioctl numbers are those of the kernel's generic encoding ({@code asm-generic/ioctl.h}),
 * which x86_64 and aarch64 use: {@code WDIOC_SETTIMEOUT = _IOWR('W', 6, int)} and
 * {@code WDIOC_GETTIMEOUT = _IOR('W', 7, int)}.
 *
 * <p>Threading: one thread at a time. After {@link #close} every call fails without touching the
 * descriptor, whose number the process may have given to another file.
 */
final class LinuxWatchdogDevice implements WatchdogDevice {
    static final long WDIOC_SETTIMEOUT = 0xC0045706L;
    static final long WDIOC_GETTIMEOUT = 0x80045707L;
    private static final int O_WRONLY = 1;
    private static final int O_CLOEXEC = 0x80000;
    private static final int ENOENT = 2;

    interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int open(String path, int flags) throws LastErrorException;

        int ioctl(int fd, NativeLong request, IntByReference arg) throws LastErrorException;

        NativeLong write(int fd, byte[] buf, NativeLong count) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private final Path path;
    private final int fd;
    private boolean closed;

    private LinuxWatchdogDevice(Path path, int fd) {
        this.path = path;
        this.fd = fd;
    }

    /** Opens {@code path} for writing, never creating it: a missing device must not become a plain file. */
    static LinuxWatchdogDevice open(Path path) throws IOException {
        try {
            return new LinuxWatchdogDevice(path, LibC.INSTANCE.open(path.toString(), O_WRONLY | O_CLOEXEC));
        } catch (LastErrorException e) {
            if (e.getErrorCode() == ENOENT) {
                throw new NoSuchFileException(path.toString());
            }
            throw new IOException("cannot open " + path + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void setTimeoutSeconds(int seconds) throws IOException {
        ioctl(WDIOC_SETTIMEOUT, "WDIOC_SETTIMEOUT", new IntByReference(seconds));
    }

    @Override
    public int timeoutSeconds() throws IOException {
        IntByReference t = new IntByReference();
        ioctl(WDIOC_GETTIMEOUT, "WDIOC_GETTIMEOUT", t);
        return t.getValue();
    }

    @Override
    public void write(byte b) throws IOException {
        checkOpen();
        try {
            long n = LibC.INSTANCE.write(fd, new byte[] {b}, new NativeLong(1)).longValue();
            if (n != 1) {
                throw new IOException("write to " + path + " wrote " + n + " bytes, not 1");
            }
        } catch (LastErrorException e) {
            throw new IOException("write to " + path + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            LibC.INSTANCE.close(fd);
        } catch (LastErrorException e) {
            throw new IOException("close " + path + ": " + e.getMessage(), e);
        }
    }

    private void ioctl(long request, String name, IntByReference arg) throws IOException {
        checkOpen();
        try {
            LibC.INSTANCE.ioctl(fd, new NativeLong(request), arg);
        } catch (LastErrorException e) {
            throw new IOException(name + " on " + path + ": " + e.getMessage(), e);
        }
    }

    /** A closed descriptor's number may already be another file's: never use it again. */
    private void checkOpen() throws IOException {
        if (closed) {
            throw new IOException(path + " is closed");
        }
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
