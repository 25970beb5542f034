package io.havn.daemon.watchdog;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The file through which the daemon publishes its {@link WatchdogState} to the petter, one line:
 *
 * <pre>
 * havn-watchdog 1 &lt;boot-id&gt; armed &lt;deadline, CLOCK_MONOTONIC ns&gt;
 * havn-watchdog 1 &lt;boot-id&gt; released
 * </pre>
 *
 * <p>Written whole to a temporary file in the same directory, then renamed over the old one, so a
 * reader sees the old line or the new one, never a mix. The boot id
 * ({@code /proc/sys/kernel/random/boot_id}) ties the monotonic deadline to the boot whose clock it
 * was read from: a file from an earlier boot (only possible if the path is not on a tmpfs such as
 * /run) counts as nothing published.
 */
final class StateFile {
    private static final String MAGIC = "havn-watchdog";
    private static final String VERSION = "1";
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");
    private static final Pattern BOOT_ID_CHARS = Pattern.compile("[A-Za-z0-9-]{1,64}");
    private static final int MAX_BYTES = 256;

    /** What a read found. */
    sealed interface Reading {
        /** A valid state of this boot. */
        record Published(WatchdogState state) implements Reading { }

        /** Nothing published in this boot: no file, or one left by an earlier boot. */
        record Absent(String why) implements Reading { }

        /** A file that cannot be trusted: unreadable, malformed, unknown version. */
        record Unusable(String why) implements Reading { }
    }

    private final Path path;
    private final String bootId;

    StateFile(Path path, String bootId) {
        this.path = Objects.requireNonNull(path, "state file");
        this.bootId = Objects.requireNonNull(bootId, "boot id");
        if (!BOOT_ID_CHARS.matcher(bootId).matches()) {
            throw new IllegalArgumentException("boot id '" + bootId + "': letters, digits and '-' only");
        }
    }

    /** This boot's id, or "unknown" where the kernel does not tell (then boots are not told apart). */
    static String currentBootId() {
        try {
            String id = Files.readString(BOOT_ID, StandardCharsets.US_ASCII).strip();
            return BOOT_ID_CHARS.matcher(id).matches() ? id : "unknown";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    Path path() {
        return path;
    }

    /** Replaces the file atomically with {@code state}. */
    void write(WatchdogState state) throws IOException {
        Objects.requireNonNull(state, "state");
        String what = state instanceof WatchdogState.Armed a ? "armed " + a.deadlineNanos() : "released";
        String line = MAGIC + " " + VERSION + " " + bootId + " " + what + "\n";
        Path dir = path.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + path.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(line.getBytes(StandardCharsets.US_ASCII));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                // No fsync: readers need the rename's atomicity, not durability; after a crash the
                // machine reboots and the boot id voids the file anyway.
            }
            try {
                // Not secret, and readable for whoever runs the petter and for operators.
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: keep the default
            }
            try {
                Files.move(tmp, path, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + path + " atomically: " + e.getMessage(), e);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Reads the file; never throws. */
    Reading read() {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(path)) {
            bytes = in.readNBytes(MAX_BYTES + 1);
        } catch (NoSuchFileException e) {
            return new Reading.Absent("no state file " + path);
        } catch (IOException | RuntimeException e) {
            return new Reading.Unusable("cannot read " + path + ": " + e);
        }
        if (bytes.length > MAX_BYTES) {
            return new Reading.Unusable(path + " is longer than " + MAX_BYTES + " bytes");
        }
        String text = new String(bytes, StandardCharsets.US_ASCII);
        if (!text.endsWith("\n") || text.indexOf('\n') != text.length() - 1) {
            return new Reading.Unusable(path + " is not one complete line: '" + printable(text) + "'");
        }
        String[] t = text.substring(0, text.length() - 1).split(" ", -1);
        if (t.length < 4 || !t[0].equals(MAGIC)) {
            return new Reading.Unusable(path + " is not a havn watchdog state: '" + printable(text) + "'");
        }
        if (!t[1].equals(VERSION)) {
            return new Reading.Unusable(path + " has format version " + printable(t[1]) + ", this reads " + VERSION);
        }
        if (!t[2].equals(bootId)) {
            return new Reading.Absent(path + " was written in another boot (" + printable(t[2]) + ")");
        }
        if (t[3].equals("released") && t.length == 4) {
            return new Reading.Published(new WatchdogState.Released());
        }
        if (t[3].equals("armed") && t.length == 5) {
            try {
                return new Reading.Published(new WatchdogState.Armed(Long.parseLong(t[4])));
            } catch (NumberFormatException e) {
                // falls through to malformed
            }
        }
        return new Reading.Unusable(path + " holds no valid state: '" + printable(text) + "'");
    }

    private static String printable(String s) {
        String p = s.strip().replaceAll("[^\\x20-\\x7e]", "?");
        return p.length() > 80 ? p.substring(0, 80) + "..." : p;
    }
}
