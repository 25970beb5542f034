package io.havn.daemon.watchdog;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.function.IntUnaryOperator;

/**
 * A watchdog device in memory, for one test thread: what was written to it, and a driver whose
 * answer to WDIOC_SETTIMEOUT the test chooses (take it, round it, keep its own, refuse).
 */
final class FakeDevice implements WatchdogDevice {
    private final StringBuilder written = new StringBuilder();
    /** What the driver sets when asked for a timeout; throws for "refused". */
    private IntUnaryOperator driver = seconds -> seconds;
    private boolean refuseGet;
    private int timeoutSeconds = 60; // the driver's default before anyone set it
    private boolean closed;
    int setCalls;

    /** An opener that hands out this device at {@code path} only. */
    WatchdogDevice.Opener at(Path path) {
        return p -> {
            if (!p.equals(path)) {
                throw new java.nio.file.NoSuchFileException(p.toString());
            }
            return this;
        };
    }

    /** The driver sets this instead of what it is asked for. */
    FakeDevice setting(IntUnaryOperator what) {
        this.driver = what;
        return this;
    }

    /** The driver refuses WDIOC_SETTIMEOUT. */
    FakeDevice refusingSet() {
        return setting(s -> {
            throw new UnsupportedOperationException("Inappropriate ioctl for device");
        });
    }

    /** The driver refuses WDIOC_GETTIMEOUT. */
    FakeDevice refusingGet() {
        this.refuseGet = true;
        return this;
    }

    @Override
    public void setTimeoutSeconds(int seconds) throws IOException {
        check();
        setCalls++;
        try {
            timeoutSeconds = driver.applyAsInt(seconds);
        } catch (UnsupportedOperationException e) {
            throw new IOException("WDIOC_SETTIMEOUT on the fake: " + e.getMessage());
        }
    }

    @Override
    public int timeoutSeconds() throws IOException {
        check();
        if (refuseGet) {
            throw new IOException("WDIOC_GETTIMEOUT on the fake: Inappropriate ioctl for device");
        }
        return timeoutSeconds;
    }

    @Override
    public void write(byte b) throws IOException {
        check();
        written.append(new String(new byte[] {b}, StandardCharsets.US_ASCII));
    }

    @Override
    public void close() {
        closed = true;
    }

    String written() {
        return written.toString();
    }

    /** The driver's timeout now, in seconds, closed or not. */
    int timeoutSet() {
        return timeoutSeconds;
    }

    boolean closed() {
        return closed;
    }

    private void check() throws IOException {
        if (closed) {
            throw new IOException("the fake device is closed");
        }
    }
}
