package io.havn.daemon.watchdog;

import static io.havn.daemon.files.AtomicFile.printable;

import io.havn.daemon.files.AtomicFile;
import io.havn.daemon.files.AtomicFile.Durability;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The one-line file format the daemon and the petter share in the runtime directory:
 * {@code <kind> <version> <boot-id> <fields...>\n}, replaced whole (never fsynced: after a crash the
 * machine reboots, and the boot id voids the file anyway). The boot id
 * ({@code /proc/sys/kernel/random/boot_id}) ties what the line says (a CLOCK_MONOTONIC time, a pid)
 * to the boot it was written in: a line of an earlier boot (only possible off a tmpfs such as /run)
 * counts as no file.
 *
 * <p>Threading: immutable; reads and writes may come from any thread.
 */
final class BootLine {
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");
    private static final Pattern BOOT_ID_CHARS = Pattern.compile("[A-Za-z0-9-]{1,64}");
    private static final int MAX_BYTES = 256;

    private final Path path;
    private final String kind;
    private final String version;
    private final String bootId;

    /** Lines of {@code kind} and {@code version} in {@code path}, in boot {@code bootId}. */
    BootLine(Path path, String kind, String version, String bootId) {
        this.path = Objects.requireNonNull(path, "file");
        this.kind = Objects.requireNonNull(kind, "kind");
        this.version = Objects.requireNonNull(version, "version");
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

    /** Replaces the file atomically with the line of {@code fields}, which hold printable ASCII only. */
    void write(String... fields) throws IOException {
        String line = kind + " " + version + " " + bootId + " " + String.join(" ", fields);
        if (!line.matches("[\\x20-\\x7e]*")) {
            throw new IllegalArgumentException("not printable ASCII on one line: '" + printable(line) + "'");
        }
        AtomicFile.replace(path, line + "\n", Durability.VOLATILE);
    }

    /**
     * Reads the file; never throws. A line of this boot, of the right kind and version, goes to
     * {@code parse} as its fields after the boot id, which gives what it says, or null when they
     * are not {@code what}; no line of this boot (no file, or an earlier boot's) goes to
     * {@code absent}; a file that cannot be trusted (unreadable, malformed, unknown version, fields
     * that are not {@code what}) to {@code unusable}, each with a sentence saying why.
     */
    <R> R read(Function<List<String>, R> parse, Function<String, R> absent, Function<String, R> unusable,
               String what) {
        byte[] bytes;
        try {
            bytes = AtomicFile.readAtMost(path, MAX_BYTES);
        } catch (NoSuchFileException e) {
            return absent.apply("no file " + path);
        } catch (IOException | RuntimeException e) {
            return unusable.apply("cannot read " + path + ": " + e);
        }
        if (bytes.length > MAX_BYTES) {
            return unusable.apply(path + " is longer than " + MAX_BYTES + " bytes");
        }
        String text = new String(bytes, StandardCharsets.US_ASCII);
        if (!text.endsWith("\n") || text.indexOf('\n') != text.length() - 1) {
            return unusable.apply(path + " is not one complete line: '" + printable(text) + "'");
        }
        String[] t = text.substring(0, text.length() - 1).split(" ", -1);
        if (t.length < 4 || !t[0].equals(kind)) {
            return unusable.apply(path + " is not a " + kind + " line: '" + printable(text) + "'");
        }
        if (!t[1].equals(version)) {
            return unusable.apply(path + " has format version " + printable(t[1]) + ", this reads " + version);
        }
        if (!t[2].equals(bootId)) {
            return absent.apply(path + " was written in another boot (" + printable(t[2]) + ")");
        }
        R parsed = parse.apply(List.copyOf(Arrays.asList(t).subList(3, t.length)));
        return parsed != null ? parsed : unusable.apply(path + " holds no valid " + what + ": '" + printable(text) + "'");
    }
}
