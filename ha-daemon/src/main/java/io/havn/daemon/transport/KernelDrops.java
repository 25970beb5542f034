package io.havn.daemon.transport;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The datagrams the kernel dropped for one UDP socket of this process (its receive buffer was
 * full, or a checksum failed): the {@code drops} column of {@code /proc/net/udp} and
 * {@code /proc/net/udp6}. The socket is found once by its local port among the sockets this
 * process holds ({@code /proc/self/fd}), so another process's socket on the same port is never
 * counted, and then read by its inode.
 *
 * <p>Reads the files on every call (a scrape); not thread-safe beyond that the worst a race does
 * is look the socket up twice.
 */
final class KernelDrops {
    /** The columns of a line of /proc/net/udp after splitting on white space: inode, and drops last. */
    private static final int LOCAL_ADDRESS = 1;
    private static final int INODE = 9;
    private static final List<String> TABLES = List.of("udp", "udp6");

    private final Path procNet;
    private final Path ownFds;
    private final int port;
    /** The socket's inode, 0 until found. */
    private volatile long inode;

    /** The socket bound to local {@code port}, in /proc/net and /proc/self/fd. */
    KernelDrops(int port) {
        this(Path.of("/proc/net"), Path.of("/proc/self/fd"), port);
    }

    KernelDrops(Path procNet, Path ownFds, int port) {
        this.procNet = procNet;
        this.ownFds = ownFds;
        this.port = port;
    }

    /** The drops the kernel counted for the socket, or -1 where it cannot be told (no /proc, socket gone). */
    long read() {
        try {
            if (inode == 0) {
                inode = find();
            }
            if (inode == 0) {
                return -1;
            }
            for (String table : TABLES) {
                for (String[] f : rows(procNet.resolve(table))) {
                    if (Long.parseLong(f[INODE]) == inode) {
                        return Long.parseLong(f[f.length - 1]);
                    }
                }
            }
            return -1;
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The inode of this process's socket on {@link #port}, or 0. */
    private long find() throws IOException {
        Set<Long> mine = socketInodes(ownFds);
        for (String table : TABLES) {
            for (String[] f : rows(procNet.resolve(table))) {
                String local = f[LOCAL_ADDRESS];
                int p = Integer.parseInt(local.substring(local.lastIndexOf(':') + 1), 16);
                long ino = Long.parseLong(f[INODE]);
                if (p == port && mine.contains(ino)) {
                    return ino;
                }
            }
        }
        return 0;
    }

    /** The data rows of one table, each split into its columns; none if the table is absent. */
    static List<String[]> rows(Path table) throws IOException {
        if (!Files.exists(table)) {
            return List.of();
        }
        List<String> lines = Files.readAllLines(table);
        return lines.stream().skip(1).map(String::strip).filter(l -> !l.isEmpty()).map(l -> l.split("\\s+"))
                .filter(f -> f.length > INODE + 1).toList();
    }

    /** The inodes of the sockets among the open files in {@code fdDir} ("socket:[12345]"). */
    static Set<Long> socketInodes(Path fdDir) throws IOException {
        Set<Long> out = new HashSet<>();
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(fdDir)) {
            for (Path fd : fds) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith("socket:[") && target.endsWith("]")) {
                        out.add(Long.parseLong(target.substring("socket:[".length(), target.length() - 1)));
                    }
                } catch (IOException | UnsupportedOperationException e) {
                    // closed since it was listed, or not a link: not our socket
                }
            }
        }
        return out;
    }
}
