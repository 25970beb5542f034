package io.havn.daemon.storage;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A datastore's slot area on a path: a small block device every host sees (a SAN LUN, a multipath
 * device), or a file on a filesystem every host mounts (NFS). Every call opens the path anew (NFS's
 * close-to-open consistency: a read after the open sees what other clients wrote and closed) with
 * O_DIRECT, so that no page cache of this host serves a read, and O_DSYNC, so that a write is on
 * the storage when it returns. Where the filesystem refuses O_DIRECT, it goes on with O_DSYNC
 * alone and says once that this host's page cache may then hide other hosts' writes.
 *
 * <p>A regular file that does not exist is created (never under {@code /dev}), and one shorter
 * than the area is extended with zeros (a hole); what lies past the end of a file reads as zeros.
 * A block device shorter than the area is an error.
 *
 * <p>Not thread-safe, but {@link #abort} may be called from anywhere (it does nothing: a hung
 * read or write cannot be cut short from Java).
 */
final class FileSlots implements SlotIo {
    private static final Logger LOG = LoggerFactory.getLogger(FileSlots.class);
    /** O_DIRECT's alignment: buffers, offsets and lengths are multiples of it. */
    private static final int ALIGN = SlotLayout.SLOT_BYTES;

    private final Path path;
    private final String datastore;
    private volatile boolean direct = true;

    FileSlots(String datastore, Path path) {
        this.datastore = Objects.requireNonNull(datastore, "datastore");
        this.path = Objects.requireNonNull(path, "path");
    }

    /** Whether I/O still bypasses the page cache (O_DIRECT). */
    boolean direct() {
        return direct;
    }

    @Override
    public byte[] read(int bytes) throws IOException {
        if (creatable()) {
            return new byte[bytes]; // a file still to be made: every slot empty
        }
        return withChannel(false, c -> readArea(c, bytes));
    }

    /** Whether nothing is at the path and a file may be made there (not under {@code /dev}). */
    private boolean creatable() {
        // not through a dangling link, never a device node
        return !Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !path.startsWith("/dev");
    }

    @Override
    public byte[] writeThenRead(long offset, byte[] slot, int bytes) throws IOException {
        if (offset % ALIGN != 0 || slot.length % ALIGN != 0) {
            throw new IllegalArgumentException("slots are whole " + ALIGN + "-byte blocks");
        }
        return withChannel(true, c -> {
            if (regularFile() && c.size() < bytes) {
                extend(bytes);
            }
            ByteBuffer b = aligned(slot.length);
            b.put(slot).flip();
            while (b.hasRemaining()) {
                int n = c.write(b, offset + b.position());
                if (n <= 0) {
                    throw new IOException("wrote nothing at offset " + (offset + b.position()));
                }
            }
            return readArea(c, bytes);
        });
    }

    /** What one call does on an open channel. */
    @FunctionalInterface
    private interface Call<T> {
        T on(FileChannel c) throws IOException;
    }

    /**
     * Runs {@code call} on the path opened for it, with O_DIRECT unless it failed before: an open
     * or an I/O refused with EINVAL (a filesystem without O_DIRECT, or an alignment it does not
     * take) is tried once more without it, and O_DIRECT is not tried again.
     */
    private <T> T withChannel(boolean write, Call<T> call) throws IOException {
        try {
            return withChannelAsIs(write, call);
        } catch (java.nio.file.NoSuchFileException e) {
            throw new java.nio.file.NoSuchFileException(null, null, path + " does not exist"
                    + (path.startsWith("/dev") ? " (the device is not there)" : " (is its filesystem mounted?)"));
        } catch (java.nio.file.AccessDeniedException e) {
            throw new java.nio.file.AccessDeniedException(null, null, "permission denied: this user ("
                    + System.getProperty("user.name") + ") cannot read and write " + path);
        } catch (java.nio.file.FileSystemException e) {
            throw new java.nio.file.FileSystemException(null, null, path + ": " + e.getReason());
        }
    }

    private <T> T withChannelAsIs(boolean write, Call<T> call) throws IOException {
        if (direct) {
            try (FileChannel c = FileChannel.open(path, options(write, true))) {
                return call.on(c);
            } catch (IOException | UnsupportedOperationException e) {
                if (!refusesDirect(e)) {
                    throw e;
                }
                direct = false;
                LOG.warn("storage heartbeat {}: {} refuses O_DIRECT ({}); going on with O_DSYNC alone: this host's "
                        + "page cache may then hide other hosts' writes (on NFS, every round opens the file anew)",
                        datastore, path, e.toString());
            }
        }
        try (FileChannel c = FileChannel.open(path, options(write, false))) {
            return call.on(c);
        }
    }

    private static boolean refusesDirect(Exception e) {
        if (e instanceof UnsupportedOperationException) {
            return true;
        }
        String m = e.getMessage();
        return m != null && m.contains("Invalid argument");
    }

    private OpenOption[] options(boolean write, boolean withDirect) throws IOException {
        List<OpenOption> o = new ArrayList<>(List.of(StandardOpenOption.READ));
        if (write) {
            o.add(StandardOpenOption.WRITE);
            o.add(StandardOpenOption.DSYNC);
            if (creatable()) {
                o.add(StandardOpenOption.CREATE);
            }
        }
        if (withDirect) {
            o.add(ExtendedOpenOption.DIRECT);
        }
        return o.toArray(OpenOption[]::new);
    }

    private boolean regularFile() {
        return Files.isRegularFile(path);
    }

    /** Makes the regular file {@code bytes} long, the new part a hole of zeros; never shortens it. */
    private void extend(int bytes) throws IOException {
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(path.toFile(), "rw")) {
            if (f.length() < bytes) {
                f.setLength(bytes);
                LOG.info("storage heartbeat {}: extended {} to {} bytes, the slot area", datastore, path, bytes);
            }
        }
    }

    /** The first {@code bytes} of the area; past the end of a regular file, zeros. */
    private byte[] readArea(FileChannel c, int bytes) throws IOException {
        int length = (bytes + ALIGN - 1) / ALIGN * ALIGN;
        ByteBuffer b = aligned(length);
        while (b.hasRemaining()) {
            int n = c.read(b, b.position());
            if (n < 0) {
                if (!regularFile()) {
                    throw new IOException("the device ends at byte " + b.position() + "; the slot area needs "
                            + bytes);
                }
                break; // a file not yet extended by every host: the rest is empty slots
            }
        }
        byte[] out = new byte[bytes];
        b.flip();
        b.get(out, 0, Math.min(bytes, b.remaining()));
        return out;
    }

    private static ByteBuffer aligned(int bytes) {
        ByteBuffer b = ByteBuffer.allocateDirect(bytes + ALIGN).alignedSlice(ALIGN);
        b.limit(bytes);
        return b;
    }

    @Override
    public void abort() {
        // a read or write the kernel holds cannot be cut short; the round waits for it
    }

    @Override
    public void close() {
        // nothing is held between calls
    }

    @Override
    public String toString() {
        return path.toString();
    }
}
