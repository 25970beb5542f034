package io.havn.daemon.watchdog;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The file through which the daemon publishes its {@link WatchdogState} to the petter, one line
 * (see {@link BootLine}):
 *
 * <pre>
 * havn-watchdog 1 &lt;boot-id&gt; armed &lt;deadline, CLOCK_MONOTONIC ns&gt;
 * havn-watchdog 1 &lt;boot-id&gt; released
 * </pre>
 *
 * <p>Written whole to a temporary file in the same directory, then renamed over the old one, so a
 * reader sees the old line or the new one, never a mix. The boot id ties the monotonic deadline to
 * the boot whose clock it was read from: a file from an earlier boot counts as nothing published.
 */
final class StateFile {
    private final BootLine line;

    /** What a read found. */
    sealed interface Reading {
        /** A valid state of this boot. */
        record Published(WatchdogState state) implements Reading { }

        /** Nothing published in this boot: no file, or one left by an earlier boot. */
        record Absent(String why) implements Reading { }

        /** A file that cannot be trusted: unreadable, malformed, unknown version. */
        record Unusable(String why) implements Reading { }
    }

    StateFile(Path path, String bootId) {
        this.line = new BootLine(path, "havn-watchdog", "1", bootId);
    }

    /** This boot's id, or "unknown" where the kernel does not tell (then boots are not told apart). */
    static String currentBootId() {
        return BootLine.currentBootId();
    }

    Path path() {
        return line.path();
    }

    /** Replaces the file atomically with {@code state}. */
    void write(WatchdogState state) throws IOException {
        Objects.requireNonNull(state, "state");
        if (state instanceof WatchdogState.Armed a) {
            line.write("armed", Long.toString(a.deadlineNanos()));
        } else {
            line.write("released");
        }
    }

    /** Reads the file; never throws. */
    Reading read() {
        return line.read(StateFile::parse, Reading.Absent::new, Reading.Unusable::new, "state");
    }

    /** The state the fields after the boot id say, or null. */
    private static Reading parse(List<String> t) {
        if (t.equals(List.of("released"))) {
            return new Reading.Published(new WatchdogState.Released());
        }
        if (t.size() == 2 && t.get(0).equals("armed")) {
            try {
                return new Reading.Published(new WatchdogState.Armed(Long.parseLong(t.get(1))));
            } catch (NumberFormatException e) {
                return null;
            }
        }
        return null;
    }
}
