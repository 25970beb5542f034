package io.havn.daemon.watchdog;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What the petter tells the daemon about the hardware, one line (see {@link BootLine}) beside the
 * state file ({@code /run/havn/watchdog.status} beside {@code /run/havn/watchdog.state}):
 *
 * <pre>
 * havn-watchdog-status 1 &lt;boot-id&gt; &lt;petter pid&gt; &lt;verified timeout, ms&gt; &lt;device&gt;
 * </pre>
 *
 * <p>The petter writes it once it has set the device's timeout and read it back, and deletes it
 * when it stops; a petter that died leaves it behind, so a reader also checks that the pid lives.
 */
final class StatusFile {
    private final BootLine line;

    /** What a read found. */
    sealed interface Reading {
        /** A petter of this boot verified {@code device}'s timeout. */
        record Verified(long pid, long timeoutMs, String device) implements Reading { }

        /** No status of this boot: no file, or one left by an earlier boot. */
        record Absent(String why) implements Reading { }

        /** A file that cannot be trusted: unreadable, malformed, unknown version. */
        record Unusable(String why) implements Reading { }
    }

    StatusFile(Path path, String bootId) {
        this.line = new BootLine(path, "havn-watchdog-status", "1", bootId);
    }

    /**
     * Where the status of the petter that reads {@code stateFile} is: the same directory, the name
     * with {@code .state} replaced by {@code .status}, or {@code .status} added.
     */
    static Path beside(Path stateFile) {
        String name = stateFile.getFileName().toString();
        String status = name.endsWith(".state")
                ? name.substring(0, name.length() - ".state".length()) + ".status"
                : name + ".status";
        return stateFile.resolveSibling(status);
    }

    Path path() {
        return line.path();
    }

    /** Replaces the file atomically: this petter, {@code pid}, verified {@code device}'s timeout. */
    void write(long pid, long timeoutMs, Path device) throws IOException {
        Objects.requireNonNull(device, "device");
        line.write(Long.toString(pid), Long.toString(timeoutMs), device.toString());
    }

    /** Deletes the file if it is there. */
    void delete() throws IOException {
        Files.deleteIfExists(line.path());
    }

    /** Reads the file; never throws. */
    Reading read() {
        return line.read(StatusFile::parse, Reading.Absent::new, Reading.Unusable::new, "watchdog status");
    }

    /** The status the fields after the boot id say (the device last: its path may hold spaces), or null. */
    private static Reading parse(List<String> t) {
        if (t.size() < 3) {
            return null;
        }
        try {
            long pid = Long.parseLong(t.get(0));
            long timeoutMs = Long.parseLong(t.get(1));
            String device = String.join(" ", t.subList(2, t.size()));
            return pid > 0 && timeoutMs > 0 && !device.isEmpty() ? new Reading.Verified(pid, timeoutMs, device) : null;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
