package io.havn.daemon;

import io.havn.common.node.Incarnation;
import io.havn.daemon.files.AtomicFile;
import io.havn.daemon.files.AtomicFile.Durability;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.regex.Pattern;

/**
 * The last incarnation of the daemon on this host ({@link io.havn.common.node.Heartbeat#incarnation()}),
 * kept in {@code <host.stateDir>/incarnation} as one decimal line. Peers drop every heartbeat whose
 * incarnation is below the highest they have seen from a host, so each start must take one above
 * the last, whatever the wall clock did meanwhile: {@link #advance} reads the last, takes the next
 * ({@link Incarnation#next}) and records it on the disk (fsynced) before the node may use it.
 *
 * <p>No file is a first start. A file that cannot be read or does not hold one positive number is
 * an error naming it: guessing could take an incarnation below one the peers saw, and silence the
 * host. Not thread-safe: one daemon start at a time uses it.
 *
 * <p>The signal sender ({@code havn-signal}) keeps its own incarnation the same way, in
 * {@link #SIGNAL_NAME} beside it ({@link #of}).
 */
public final class IncarnationFile {
    static final String NAME = "incarnation";
    /** The signal sender's record in the state directory. */
    public static final String SIGNAL_NAME = "signal.incarnation";
    private static final Pattern NUMBER = Pattern.compile("[0-9]{1,19}\n?");
    private static final int MAX_BYTES = 64;

    /** The file cannot be read, holds no incarnation, or cannot be written. */
    public static final class Unusable extends Exception {
        private static final long serialVersionUID = 1L;

        Unusable(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private final Path path;
    /** The process whose incarnation it holds, for messages. */
    private final String process;

    /** havnd's record in {@code stateDir}. */
    IncarnationFile(Path stateDir) {
        this(stateDir.resolve(NAME), "havnd");
    }

    private IncarnationFile(Path path, String process) {
        this.path = path;
        this.process = process;
    }

    /** The record of {@code process}'s incarnations in {@code file}. */
    public static IncarnationFile of(Path file, String process) {
        return new IncarnationFile(file, process);
    }

    public Path path() {
        return path;
    }

    /** The last incarnation recorded, or empty when there is no file (the first start on this host). */
    OptionalLong read() throws Unusable {
        byte[] bytes;
        try {
            bytes = AtomicFile.readAtMost(path, MAX_BYTES);
        } catch (NoSuchFileException e) {
            return OptionalLong.empty();
        } catch (IOException | RuntimeException e) {
            throw new Unusable(path + ": cannot read the last incarnation: " + e.getMessage()
                    + "; fix it (or, with " + process
                    + " stopped on this host, remove it) and start again", e);
        }
        String text = new String(bytes, StandardCharsets.US_ASCII);
        if (bytes.length <= MAX_BYTES && NUMBER.matcher(text).matches()) {
            try {
                long last = Long.parseLong(text.strip());
                if (last > 0) {
                    return OptionalLong.of(last);
                }
            } catch (NumberFormatException e) {
                // too large: reported below
            }
        }
        throw new Unusable(path + ": holds no incarnation (one positive whole number): '"
                + AtomicFile.printable(text) + "'; fix it (or, with " + process + " stopped on this host, remove it: the wall "
                + "clock then gives the next) and start again", null);
    }

    /**
     * The incarnation of this start: above the last recorded and at least {@code wallMillis},
     * recorded on the disk before it returns.
     */
    public long advance(long wallMillis) throws Unusable {
        long next;
        try {
            next = Incarnation.next(read(), wallMillis);
        } catch (IllegalStateException e) {
            throw new Unusable(path + ": " + e.getMessage(), e);
        }
        try {
            AtomicFile.replace(path, next + "\n", Durability.SYNCED);
        } catch (IOException | RuntimeException e) {
            throw new Unusable(path + ": cannot record the incarnation " + next + ": " + e.getMessage(), e);
        }
        return next;
    }
}
