package io.havn.daemon.transport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;

/**
 * Who may read the cluster key file. Anyone who reads it can forge every host's heartbeats, so the
 * daemon refuses a file that its group or others may read or write (it must be 0600 or 0400), and
 * one owned by anybody but the daemon's own user or root: whoever owns a file may change its mode.
 */
final class KeyFileAccess {
    private static final Set<PosixFilePermission> GROUP_OR_OTHERS = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    private static final int ROOT = 0;

    private KeyFileAccess() {
    }

    /** This process's user id: the owner of its own /proc entry. */
    static int ownUid() throws IOException {
        return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    /**
     * Refuses {@code file} unless it is private to {@code ownUid} (or root).
     *
     * @throws IllegalArgumentException naming the file, its mode or owner, and the command that fixes it
     * @throws IOException              if its attributes cannot be read (a missing file among others)
     */
    static void check(Path file, int ownUid) throws IOException {
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
        int owner = (Integer) Files.getAttribute(file, "unix:uid");
        if (mode.stream().anyMatch(GROUP_OR_OTHERS::contains)) {
            throw new IllegalArgumentException("cluster key file " + file + " may be read or changed by others than "
                    + "its owner (" + PosixFilePermissions.toString(mode) + "): anyone who reads it can forge heartbeats; "
                    + "chmod 0600 " + file + " (and make a new key if others may have read it)");
        }
        if (owner != ownUid && owner != ROOT) {
            throw new IllegalArgumentException("cluster key file " + file + " is owned by uid " + owner
                    + ", neither this daemon's user (uid " + ownUid + ") nor root, who alone may own it; chown "
                    + (ownUid == ROOT ? "root" : String.valueOf(ownUid)) + " " + file);
        }
    }
}
