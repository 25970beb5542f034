package io.havn.daemon.watchdog;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The petter's start: opens the watchdog device (which starts its hardware timer), sets its
 * timeout to W and reads it back. The safety relation (lease + W below the session timeout) holds
 * only if the hardware resets a hung machine within W, so a device that refuses either ioctl, or
 * whose timeout reads back longer than W, or too short for the petting interval, is not armed: it
 * is closed at once with the magic close character (nothing is guarded yet), and the petter exits.
 *
 * <p>W is asked for in whole seconds, the ioctl's unit: {@code timeoutMs / 1000}, rounded down, so
 * what the hardware is asked for never exceeds W.
 */
final class Arming {
    private static final Logger LOG = LoggerFactory.getLogger(Arming.class);

    /** A device whose timeout, {@code timeoutMs}, was read back and found at most W. */
    record Armed(WatchdogDevice device, long timeoutMs) {
        Armed {
            Objects.requireNonNull(device, "device");
        }
    }

    /** The device did not pass; it was closed with the magic close. The message names it and the values. */
    static final class Refused extends Exception {
        private static final long serialVersionUID = 1L;

        Refused(String message) {
            super(message);
        }
    }

    private Arming() {
    }

    /**
     * Opens {@code path} with {@code opener} and verifies that its timeout is at most
     * {@code timeoutMs} and at least twice {@code intervalMs}.
     *
     * @throws IOException if the device cannot be opened (nothing is armed then)
     * @throws Refused     if it was opened but failed the check (it was disarmed)
     */
    static Armed arm(WatchdogDevice.Opener opener, Path path, long timeoutMs, long intervalMs)
            throws IOException, Refused {
        if (timeoutMs < 1_000 || timeoutMs / 1_000 > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("timeoutMs " + timeoutMs + ": a watchdog's timeout is whole seconds");
        }
        int seconds = (int) (timeoutMs / 1_000);
        WatchdogDevice device = opener.open(path);
        try {
            device.setTimeoutSeconds(seconds);
        } catch (IOException e) {
            throw refuse(device, path, "it refused a timeout of " + seconds + " s (" + e.getMessage()
                    + "), so it cannot be known to reset this machine within the " + timeoutMs + " ms (--timeout-ms) "
                    + "that havnd's settings.watchdogMs assumes");
        }
        int got;
        try {
            got = device.timeoutSeconds();
        } catch (IOException e) {
            throw refuse(device, path, "its timeout cannot be read back (" + e.getMessage() + "), so it cannot be "
                    + "known to be at most the " + timeoutMs + " ms (--timeout-ms) that havnd's settings.watchdogMs assumes");
        }
        long gotMs = got * 1_000L;
        if (got <= 0 || gotMs > timeoutMs) {
            throw refuse(device, path, "its timeout reads back as " + gotMs + " ms after " + seconds
                    + " s was set, longer than the " + timeoutMs + " ms (--timeout-ms) that havnd's settings.watchdogMs "
                    + "assumes");
        }
        if (2 * intervalMs > gotMs) {
            throw refuse(device, path, "its timeout reads back as " + gotMs + " ms, too short to pet every "
                    + intervalMs + " ms (--interval-ms): at most half of it");
        }
        return new Armed(device, gotMs);
    }

    /** Disarms (magic close, then close) and says why, and whether disarming worked. */
    private static Refused refuse(WatchdogDevice device, Path path, String why) {
        String outcome;
        try {
            device.write(WatchdogPetter.MAGIC_CLOSE);
            outcome = "it was disarmed with the magic close";
        } catch (IOException e) {
            outcome = "the magic close failed (" + e.getMessage() + "): the hardware may reset this machine";
        }
        try {
            device.close();
        } catch (IOException e) {
            LOG.error("closing {}: {}", path, e.toString());
        }
        return new Refused("refusing to arm the watchdog " + path + ": " + why + "; " + outcome);
    }
}
