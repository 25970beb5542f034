package io.havn.daemon.files;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Objects;

/**
 * Small text files that are replaced whole: written to a temporary file in the same directory,
 * then renamed over the old one, so a reader sees the old text or the new one, never a mix. With
 * {@link Durability#SYNCED} the text is also on the disk when {@link #replace} returns (the file
 * and its directory are fsynced), so that it survives a power cut.
 *
 * <p>Threading: stateless; concurrent writers of one file each leave a whole text, the last
 * rename wins.
 */
public final class AtomicFile {
    /** Whether a replace waits for the disk. */
    public enum Durability {
        /** Atomic for readers only: for files on a tmpfs, or that a crash makes void anyway. */
        VOLATILE,
        /** Atomic and on the disk when {@code replace} returns. */
        SYNCED
    }

    private AtomicFile() {
    }

    /** Replaces {@code file} with {@code text} (US-ASCII), mode 0644, creating its directory if needed. */
    public static void replace(Path file, String text, Durability durability) throws IOException {
        Objects.requireNonNull(durability, "durability");
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII));
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                if (durability == Durability.SYNCED) {
                    ch.force(true);
                }
            }
            try {
                // not secret, and readable for the other havn process and for operators
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: keep the default
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                throw new IOException("cannot replace " + file + " atomically: " + e.getMessage(), e);
            }
            if (durability == Durability.SYNCED) {
                // the rename is on the disk only once the directory is
                try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                    d.force(true);
                }
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The first {@code maxBytes + 1} bytes of {@code file} at most, so that a caller can tell a file
     * that is too long; throws {@link java.nio.file.NoSuchFileException} when there is none.
     */
    public static byte[] readAtMost(Path file, int maxBytes) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return in.readNBytes(maxBytes + 1);
        }
    }

    /** {@code s} fit for a one-line message: printable ASCII only, at most 80 characters. */
    public static String printable(String s) {
        String p = s.strip().replaceAll("[^\\x20-\\x7e]", "?");
        return p.length() > 80 ? p.substring(0, 80) + "..." : p;
    }
}
