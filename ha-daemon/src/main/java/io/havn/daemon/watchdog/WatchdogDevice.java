package io.havn.daemon.watchdog;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The hardware watchdog as the petter uses it: opened, it runs (the hardware resets the machine
 * unless written to within its timeout); a write pets it; writing {@link WatchdogPetter#MAGIC_CLOSE}
 * just before closing stops it, where the driver allows.
 *
 * <p>Threading: one thread at a time (the petter serialises its calls).
 */
interface WatchdogDevice extends Closeable {
    /** Opens a device; opening a real watchdog starts its hardware timer. */
    @FunctionalInterface
    interface Opener {
        /** Throws {@link java.nio.file.NoSuchFileException} when there is no such device. */
        WatchdogDevice open(Path device) throws IOException;
    }

    /** Asks the driver for a timeout of {@code seconds} (WDIOC_SETTIMEOUT); throws if it refuses. */
    void setTimeoutSeconds(int seconds) throws IOException;

    /** The timeout the driver has now, in seconds (WDIOC_GETTIMEOUT); throws if it cannot tell. */
    int timeoutSeconds() throws IOException;

    /** Writes one byte. */
    void write(byte b) throws IOException;
}
