package io.havn.daemon.signal;

import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.daemon.files.AtomicFile;
import io.havn.daemon.files.AtomicFile.Durability;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The peers the signal sender ({@link SignalSender}) signals to, as havnd knows them from the
 * host records: {@code signal.peers} in havnd's runtime directory (beside {@code watchdog.state}),
 * one line per peer other than this host, sorted by name:
 *
 * <pre>
 * &lt;host&gt; &lt;ip-or-name&gt;:&lt;port&gt;
 * </pre>
 *
 * the peer's heartbeat address as its host record advertises it. havnd rewrites it whole
 * ({@link AtomicFile}) whenever the set changes ({@link Publisher}); the sender reads it again
 * when its modification time (or, as each rewrite is a rename, its inode or size) changes
 * ({@link Reader}).
 */
public final class PeersFile {
    private static final Logger LOG = LoggerFactory.getLogger(PeersFile.class);
    public static final String NAME = "signal.peers";
    /** Far above a thousand peers' lines. */
    static final int MAX_BYTES = 256 * 1024;

    /** A peer: its name and its heartbeat address (resolved when read). */
    public record Peer(HostId host, InetSocketAddress address) {
        public Peer {
            Objects.requireNonNull(host, "host");
            Objects.requireNonNull(address, "address");
        }
    }

    private PeersFile() {
    }

    /** The peers file beside {@code watchdogStateFile}, in the same runtime directory. */
    public static Path beside(Path watchdogStateFile) {
        return watchdogStateFile.resolveSibling(NAME);
    }

    /** The text of the file for {@code peers}: host to "address:port", one line each, sorted. */
    static String render(Map<HostId, String> peers) {
        StringBuilder b = new StringBuilder();
        new TreeMap<>(peers).forEach((h, a) -> b.append(h.value()).append(' ').append(a).append('\n'));
        return b.toString();
    }

    /**
     * The peers {@code text} lists. A line that is not {@code <host> <address>:<port>}, or whose
     * address does not resolve, is skipped and passed to {@code skipped} with why; blank lines are
     * ignored.
     */
    static List<Peer> parse(String text, Consumer<String> skipped) {
        List<Peer> peers = new ArrayList<>();
        forEachLine(text, skipped, (host, address) -> peers.add(new Peer(host, resolve(address))));
        return List.copyOf(peers);
    }

    /** What each line of {@code text} says, to {@code each}; a line it refuses goes to {@code skipped}. */
    private static void forEachLine(String text, Consumer<String> skipped,
                                    java.util.function.BiConsumer<HostId, String> each) {
        String[] lines = text.split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) {
                continue;
            }
            try {
                String[] f = line.split("\\s+");
                if (f.length != 2) {
                    throw new IllegalArgumentException("not '<host> <address>:<port>'");
                }
                each.accept(new HostId(f[0]), f[1]);
            } catch (IllegalArgumentException e) {
                skipped.accept("line " + (i + 1) + " '" + AtomicFile.printable(line) + "': " + e.getMessage());
            }
        }
    }

    /** {@code <ip-or-name>:<port>} resolved; IllegalArgumentException naming what is wrong. */
    private static InetSocketAddress resolve(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0 || colon == hostPort.length() - 1) {
            throw new IllegalArgumentException("address '" + hostPort + "' is not <ip-or-name>:<port>");
        }
        int port;
        try {
            port = Integer.parseInt(hostPort.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("port '" + hostPort.substring(colon + 1) + "' is not a number");
        }
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("port " + port + " is not 1-65535");
        }
        String name = hostPort.substring(0, colon);
        if (name.startsWith("[") && name.endsWith("]")) {
            name = name.substring(1, name.length() - 1); // [::1]:7000
        }
        InetSocketAddress address = new InetSocketAddress(name, port);
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("'" + name + "' does not resolve");
        }
        return address;
    }

    /**
     * havnd's side: keeps the peers' heartbeat addresses from the host records it sees, and rewrites
     * the file whenever they change. A write that fails is logged and tried again at the next change.
     *
     * <p>Thread-safe: calls are serialised.
     */
    public static final class Publisher {
        private final Path file;
        private final HostId self;
        private final Map<HostId, String> peers = new TreeMap<>();
        private boolean written;
        private boolean failing;
        /** The peers havnd heartbeats (its monitors): the only ones listed; null until havnd names them (every peer). */
        private java.util.Set<HostId> monitors;

        /** Publishes to {@code file} the peers of {@code self}. */
        public Publisher(Path file, HostId self) {
            this.file = Objects.requireNonNull(file, "file");
            this.self = Objects.requireNonNull(self, "self");
        }

        /**
         * Starts from the peers the file lists, if an earlier havnd of this boot left one: a restart
         * then never empties it, and the sender keeps signalling every peer while havnd is away. The
         * host records seen afterwards correct it.
         */
        public synchronized void start() {
            try {
                byte[] bytes = AtomicFile.readAtMost(file, MAX_BYTES);
                if (bytes.length <= MAX_BYTES) {
                    forEachLine(new String(bytes, StandardCharsets.US_ASCII), why -> { }, (host, address) -> {
                        if (!host.equals(self) && usable(address) != null) {
                            peers.put(host, address);
                        }
                    });
                }
            } catch (NoSuchFileException e) {
                // the first havnd of this boot: written at the first peer
            } catch (IOException | RuntimeException e) {
                LOG.warn("signal peers: cannot read the earlier {}: {}; written afresh at the next change", file,
                        e.toString());
            }
        }

        /** {@code host}'s record changed to {@code record}, or it was removed ({@code null}). */
        public synchronized void changed(HostId host, HostRecord record) {
            Objects.requireNonNull(host, "host");
            if (host.equals(self)) {
                return;
            }
            String address = record == null ? null : usable(record.address());
            String before = address == null ? peers.remove(host) : peers.put(host, address);
            if (!Objects.equals(before, address) || failing) {
                write();
            }
        }

        /**
         * havnd heartbeats {@code peers} from now on (its monitors): the file lists only those, so the
         * signal sender's cost per host does not grow with the cluster either.
         */
        public synchronized void monitors(java.util.List<HostId> peers) {
            java.util.Set<HostId> next = java.util.Set.copyOf(peers);
            if (!next.equals(monitors) || failing) {
                monitors = next;
                write();
            }
        }

        private void write() {
            try {
                Map<HostId, String> listed = peers;
                if (monitors != null) {
                    listed = new TreeMap<>(peers);
                    listed.keySet().retainAll(monitors);
                }
                AtomicFile.replace(file, render(listed), Durability.VOLATILE);
                if (failing || !written) {
                    LOG.info("signal peers: {} lists {} peer(s)", file, listed.size());
                }
                written = true;
                failing = false;
            } catch (IOException | RuntimeException e) {
                if (!failing) {
                    LOG.error("signal peers: cannot write {}: {}; havn-signal keeps the list it last read", file,
                            e.toString());
                }
                failing = true;
            }
        }

        /** {@code address} if it can stand in the file ({@code <ip-or-name>:<port>}, no white space), else null. */
        private static String usable(String address) {
            if (address == null || address.isBlank() || !address.matches("\\S+:[0-9]{1,5}")) {
                return null;
            }
            return address;
        }
    }

    /**
     * The sender's side: the peers the file lists, read again when its modification time changes.
     * A missing file is no peers yet; a file that cannot be read leaves the last good list; a bad
     * line is skipped with one log line.
     *
     * <p>Not thread-safe: the sender's one thread uses it.
     */
    public static final class Reader {
        private final Path file;
        private List<Peer> peers = List.of();
        /** The file's modification time, identity (a rename gives a new one) and size at the last read. */
        private record Stamp(FileTime modified, Object key, long size) { }

        private Stamp seen;
        private boolean missing;
        private String failure;

        public Reader(Path file) {
            this.file = Objects.requireNonNull(file, "file");
        }

        public Path file() {
            return file;
        }

        /** The peers now: the file read again if it changed since the last call. Never throws. */
        public List<Peer> peers() {
            Stamp modified;
            try {
                BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
                modified = new Stamp(a.lastModifiedTime(), a.fileKey(), a.size());
            } catch (NoSuchFileException e) {
                if (!missing) {
                    LOG.info("signal peers: no {} (yet): no peer to signal to", file);
                    missing = true;
                }
                seen = null;
                peers = List.of();
                return peers;
            } catch (IOException | RuntimeException e) {
                return unreadable(e);
            }
            missing = false;
            if (modified.equals(seen) && failure == null) {
                return peers;
            }
            byte[] bytes;
            try {
                bytes = AtomicFile.readAtMost(file, MAX_BYTES);
            } catch (IOException | RuntimeException e) {
                return unreadable(e);
            }
            if (bytes.length > MAX_BYTES) {
                return unreadable(new IOException("longer than " + MAX_BYTES + " bytes"));
            }
            seen = modified;
            failure = null;
            peers = parse(new String(bytes, StandardCharsets.US_ASCII),
                    why -> LOG.warn("signal peers: {}: skipped {}", file, why));
            LOG.info("signal peers: {} lists {} peer(s)", file, peers.size());
            return peers;
        }

        private List<Peer> unreadable(Exception e) {
            String why = e.toString();
            if (!why.equals(failure)) {
                LOG.error("signal peers: cannot read {}: {}; signalling the {} peer(s) last read", file, why,
                        peers.size());
                failure = why;
            }
            return peers;
        }
    }
}
