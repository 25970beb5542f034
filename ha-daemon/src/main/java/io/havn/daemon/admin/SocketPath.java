package io.havn.daemon.admin;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;

/**
 * The admin socket's path on disk: what may be replaced before binding and removed after. Only a
 * stale socket of ours is ever deleted: a socket file (not followed through a link), owned by the
 * user this daemon runs as, on which nobody accepts connections. A regular file, a directory, a
 * link, another user's socket or a live one (another havnd) is left as it is and start fails.
 */
final class SocketPath {
    private static final int TYPE_MASK = 0170000;
    private static final int SOCKET = 0140000;

    private SocketPath() {
    }

    /** Deletes a stale socket of ours at {@code path}; throws {@link AdminSocketServer.PathTaken} for anything else. */
    static void clearStale(Path path) throws IOException {
        if (staleOrAbsent(path)) {
            Files.deleteIfExists(path);
        }
    }

    /**
     * True if nothing is at {@code path} or a stale socket of ours that may be replaced; throws
     * {@link AdminSocketServer.PathTaken} naming what is there otherwise. Changes nothing.
     */
    static boolean staleOrAbsent(Path path) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return true;
        }
        if (!isSocket(path, a)) {
            throw taken(path, "is " + kind(a) + ", not a socket");
        }
        // by number: a user without a name (no passwd entry) still owns its sockets
        long owner = ((Number) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS)).longValue();
        long me = new com.sun.security.auth.module.UnixSystem().getUid();
        if (owner != me) {
            throw taken(path, "is a socket owned by uid " + owner + ", not by uid " + me + " (this daemon's user)");
        }
        if (listening(path)) {
            throw taken(path, "is a socket another process listens on (is havnd already running?)");
        }
        return true;
    }

    private static AdminSocketServer.PathTaken taken(Path path, String what) {
        return new AdminSocketServer.PathTaken("admin.socket " + path + " " + what + "; refusing to replace it: "
                + "remove it yourself or set admin.socket to another path");
    }

    private static boolean isSocket(Path path, BasicFileAttributes a) throws IOException {
        if (!a.isOther()) {
            return false;
        }
        Object mode = Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        return mode instanceof Integer m && (m & TYPE_MASK) == SOCKET;
    }

    private static String kind(BasicFileAttributes a) {
        if (a.isSymbolicLink()) {
            return "a symbolic link";
        }
        if (a.isDirectory()) {
            return "a directory";
        }
        return a.isRegularFile() ? "a regular file" : "a special file";
    }

    /** Whether someone accepts on the socket; never blocks (a full backlog counts as listening). */
    private static boolean listening(Path path) throws IOException {
        try (SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            c.configureBlocking(false);
            c.connect(UnixDomainSocketAddress.of(path));
            return true;
        } catch (java.net.ConnectException e) {
            return false; // refused: nobody accepts, the socket is stale
        } catch (IOException e) {
            return true; // cannot tell: leave it alone
        }
    }

    /** The identity (device and inode) of the file at {@code path}, not following links. */
    static Object fileKey(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
    }

    /** Deletes {@code path} if it is still the file {@code key} names: a replaced socket is another's. */
    static void removeIfSame(Path path, Object key) {
        try {
            if (key != null && Objects.equals(fileKey(path), key)) {
                Files.delete(path);
            }
        } catch (NoSuchFileException e) {
            // already gone
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(SocketPath.class).warn("removing the admin socket {}: {}", path,
                    e.toString());
        }
    }
}
