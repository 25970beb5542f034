package io.havn.daemon.transport;

import io.havn.common.model.HostId;
import io.havn.common.node.HealthDigest;
import io.havn.common.node.Heartbeat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The wire format of one heartbeat datagram, authenticated with the cluster key.
 *
 * <p>Layout, big-endian, version 2 (version 1 lacked the incarnation):
 * <pre>
 *   magic          2 bytes   0x48 0x56 ("HV")
 *   version        1 byte    2 ({@link #VERSION})
 *   cluster id     1 byte length (1-64) + UTF-8 bytes
 *   sender         1 byte length (1-63) + ASCII host name
 *   receiver       1 byte length (1-63) + ASCII host name
 *   incarnation    8 bytes
 *   sequence       8 bytes
 *   epoch          8 bytes
 *   sentNanos      8 bytes
 *   echoNanos      8 bytes
 *   unconfirmedMs  4 bytes, >= 0
 *   frozen         1 byte, 0 or 1
 *   [digest]       only when the heartbeat carries one (hosts heartbeat their monitors):
 *     hosts        2 bytes, 1-{@value #MAX_DIGEST_HOSTS}; with the top bit set (0x8000), a run
 *                  of the hosts that does not begin with the first:
 *     [offset]     2 bytes, 1-2047, only then: the place of the run's first host in name order
 *     members      8 bytes   the hash of the hosts it indexes
 *     entries      2 bytes per host
 *   tag           32 bytes   HMAC-SHA256(cluster key, every byte before the tag)
 * </pre>
 * A heartbeat without a digest is byte for byte what it was before digests existed, so daemons of
 * both kinds heartbeat each other in a cluster small enough to heartbeat all to all; in a larger
 * one, a daemon that knows no digest refuses the heartbeats that carry one (MALFORMED). Likewise a
 * digest that begins with the first host is what it was before runs existed; a daemon that knows no
 * runs refuses a heartbeat with a run that begins further on (a cluster of more than
 * {@code digestHosts} hosts).
 * The receiver's name is authenticated, so a datagram cannot be replayed to another host; the
 * cluster id is authenticated, so it cannot be replayed into another cluster that shares the key.
 *
 * <p>{@link #decode} never throws. It checks in this order: length, magic, version, cluster id,
 * tag, then the rest of the structure. The cluster id is compared before the tag on purpose: a
 * datagram of another cluster (two clusters on one network, a misdirected port) is counted as
 * {@link Reason#FOREIGN_CLUSTER} rather than drowned among {@link Reason#BAD_MAC}, so the
 * operator sees the misconfiguration. Nothing but that counter depends on unauthenticated bytes.
 *
 * <p>Thread-safe: each thread gets its own {@link Mac}.
 */
public final class HeartbeatCodec {
    public static final int MIN_KEY_BYTES = 16;
    public static final int MAX_CLUSTER_ID_BYTES = 64;
    public static final int TAG_BYTES = 32;

    static final byte MAGIC_0 = 0x48;
    static final byte MAGIC_1 = 0x56;
    static final byte VERSION = 2;
    private static final int MAX_HOST_BYTES = 63;
    /** Magic, version, three length bytes, four longs, an int, the frozen flag and the tag. */
    private static final int FIXED_BYTES = 2 + 1 + 3 + 5 * Long.BYTES + Integer.BYTES + 1 + TAG_BYTES;
    static final int MIN_DATAGRAM_BYTES = FIXED_BYTES + 3;
    /** The most hosts a digest may speak of: a datagram of about 4 KiB. */
    public static final int MAX_DIGEST_HOSTS = HealthDigest.MAX_HOSTS;
    /** The top bit of a digest's host count: a run that does not begin with the first host, whose offset follows. */
    private static final int RUN = 0x8000;
    private static final int BASE_FIELD_BYTES = 5 * Long.BYTES + Integer.BYTES + 1;
    public static final int MAX_DATAGRAM_BYTES = FIXED_BYTES + MAX_CLUSTER_ID_BYTES + 2 * MAX_HOST_BYTES
            + 2 * Short.BYTES + Long.BYTES + 2 * MAX_DIGEST_HOSTS;
    private static final int MAX_KEY_FILE_BYTES = 4096;
    private static final String HMAC = "HmacSHA256";

    /** Why a datagram was rejected. */
    public enum Reason {
        /** Shorter than the smallest possible heartbeat. */
        TOO_SHORT,
        /** Not a havn heartbeat at all. */
        BAD_MAGIC,
        /** A havn heartbeat of a format version this daemon does not speak. */
        BAD_VERSION,
        /** Lengths or fields out of bounds, invalid host names, trailing bytes. */
        MALFORMED,
        /** A well-formed heartbeat of another cluster. */
        FOREIGN_CLUSTER,
        /** The tag does not match: a forgery, a corruption, or a peer with another key. */
        BAD_MAC
    }

    /** The outcome of {@link #decode}. */
    public sealed interface Decoded permits Ok, Rejected { }

    /** An authentic heartbeat addressed to {@code to}. */
    public record Ok(HostId to, Heartbeat heartbeat) implements Decoded {
        public Ok {
            Objects.requireNonNull(to, "to");
            Objects.requireNonNull(heartbeat, "heartbeat");
        }
    }

    /** A datagram refused, and why: for heartbeats and host signals ({@link SignalCodec}) alike. */
    public record Rejected(Reason reason) implements Decoded, SignalCodec.Decoded {
        private static final Rejected[] BY_REASON = Arrays.stream(Reason.values())
                .map(Rejected::new).toArray(Rejected[]::new);

        public Rejected {
            Objects.requireNonNull(reason, "reason");
        }

        static Rejected of(Reason reason) {
            return BY_REASON[reason.ordinal()];
        }
    }

    private final String clusterId;
    private final byte[] clusterIdBytes;
    private final ThreadLocal<Mac> mac;

    /**
     * @param clusterId the cluster's name, 1-64 bytes of UTF-8
     * @param key       the cluster key, at least {@value #MIN_KEY_BYTES} bytes; copied
     * @throws IllegalArgumentException naming the bad argument
     */
    public HeartbeatCodec(String clusterId, byte[] key) {
        Objects.requireNonNull(clusterId, "clusterId");
        Objects.requireNonNull(key, "key");
        byte[] id = clusterId.getBytes(StandardCharsets.UTF_8);
        if (id.length == 0 || id.length > MAX_CLUSTER_ID_BYTES) {
            throw new IllegalArgumentException("cluster id '" + clusterId + "' is " + id.length
                    + " bytes of UTF-8; use 1-" + MAX_CLUSTER_ID_BYTES);
        }
        if (key.length < MIN_KEY_BYTES) {
            throw new IllegalArgumentException("cluster key is " + key.length + " bytes; at least "
                    + MIN_KEY_BYTES + " are needed (32 random bytes recommended: openssl rand -hex 32)");
        }
        this.clusterId = clusterId;
        this.clusterIdBytes = id;
        SecretKeySpec spec = new SecretKeySpec(key, HMAC); // copies the key
        newMac(spec); // fail here, not on the first datagram
        this.mac = ThreadLocal.withInitial(() -> newMac(spec));
    }

    public String clusterId() {
        return clusterId;
    }

    /** The datagram carrying {@code heartbeat} to {@code to}; at most {@link #MAX_DATAGRAM_BYTES} long. */
    public byte[] encode(HostId to, Heartbeat heartbeat) {
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(heartbeat, "heartbeat");
        HealthDigest digest = heartbeat.digest();
        if (digest != null && digest.offset() + digest.hosts() > MAX_DIGEST_HOSTS) {
            throw new IllegalArgumentException("a digest of hosts " + digest.offset() + " to "
                    + (digest.offset() + digest.hosts() - 1) + "; a heartbeat speaks of the first " + MAX_DIGEST_HOSTS
                    + " at most");
        }
        int digestBytes = digest == null ? 0
                : (digest.offset() == 0 ? Short.BYTES : 2 * Short.BYTES) + Long.BYTES + digest.bytes().length;
        ByteBuffer b = head(MAGIC_1, VERSION, heartbeat.from(), to, BASE_FIELD_BYTES + digestBytes);
        b.putLong(heartbeat.incarnation()).putLong(heartbeat.sequence()).putLong(heartbeat.epoch())
                .putLong(heartbeat.sentNanos()).putLong(heartbeat.echoNanos());
        b.putInt(heartbeat.unconfirmedMs());
        b.put((byte) (heartbeat.frozen() ? 1 : 0));
        if (digest != null) {
            if (digest.offset() == 0) {
                b.putShort((short) digest.hosts());
            } else {
                b.putShort((short) (RUN | digest.hosts())).putShort((short) digest.offset());
            }
            b.putLong(digest.members()).put(digest.bytes());
        }
        return seal(b);
    }

    /** Decodes and authenticates one datagram. Never throws; {@code null} is {@link Reason#TOO_SHORT}. */
    public Decoded decode(byte[] datagram) {
        if (datagram == null || datagram.length < MIN_DATAGRAM_BYTES) {
            return Rejected.of(Reason.TOO_SHORT);
        }
        try {
            return decodeChecked(datagram);
        } catch (RuntimeException e) {
            // every branch below is bounds-checked; this only keeps a bug from escaping the contract
            return Rejected.of(Reason.MALFORMED);
        }
    }

    private Decoded decodeChecked(byte[] d) {
        Opened o = open(d, MAGIC_1, VERSION, BASE_FIELD_BYTES, false);
        if (o.rejected() != null) {
            return o.rejected();
        }
        int fields = d.length - TAG_BYTES - o.fieldsAt();
        ByteBuffer b = ByteBuffer.wrap(d, o.fieldsAt(), fields);
        long incarnation = b.getLong();
        long sequence = b.getLong();
        long epoch = b.getLong();
        long sentNanos = b.getLong();
        long echoNanos = b.getLong();
        int unconfirmedMs = b.getInt();
        byte frozen = b.get();
        if (unconfirmedMs < 0 || (frozen != 0 && frozen != 1)) {
            return Rejected.of(Reason.MALFORMED);
        }
        HealthDigest digest = null;
        if (fields > BASE_FIELD_BYTES) {
            if (fields < BASE_FIELD_BYTES + Short.BYTES + Long.BYTES) {
                return Rejected.of(Reason.MALFORMED);
            }
            int hosts = b.getShort() & 0xffff;
            int offset = 0;
            if ((hosts & RUN) != 0) {
                hosts &= ~RUN;
                if (b.remaining() < Short.BYTES + Long.BYTES) {
                    return Rejected.of(Reason.MALFORMED);
                }
                offset = b.getShort() & 0xffff;
                if (offset == 0) {
                    return Rejected.of(Reason.MALFORMED); // a run from the first host has the plain form
                }
            }
            long members = b.getLong();
            if (hosts == 0 || offset + hosts > MAX_DIGEST_HOSTS || b.remaining() != 2 * hosts) {
                return Rejected.of(Reason.MALFORMED);
            }
            byte[] entries = new byte[2 * hosts];
            b.get(entries);
            digest = new HealthDigest(members, offset, entries);
        }
        return new Ok(o.to(), new Heartbeat(o.from(), incarnation, sequence, epoch, sentNanos, echoNanos,
                unconfirmedMs, frozen == 1, digest));
    }

    // ---------------------------------------------------------------- the envelope every kind shares

    /**
     * A buffer over a new datagram of kind {@code magic1} ({@code 0x48} and it are the magic) and
     * {@code version}, with {@code fieldBytes} of fields after the head and room for the tag; the
     * head (magic, version, cluster id, {@code from}, {@code to}) is written, the position is at
     * the fields. {@link #seal} then writes the tag.
     */
    ByteBuffer head(byte magic1, byte version, HostId from, HostId to, int fieldBytes) {
        byte[] sender = ascii(from);
        byte[] receiver = ascii(to);
        int bodyBytes = 2 + 1 + 3 + clusterIdBytes.length + sender.length + receiver.length + fieldBytes;
        ByteBuffer b = ByteBuffer.wrap(new byte[bodyBytes + TAG_BYTES]);
        b.put(MAGIC_0).put(magic1).put(version);
        b.put((byte) clusterIdBytes.length).put(clusterIdBytes);
        b.put((byte) sender.length).put(sender);
        b.put((byte) receiver.length).put(receiver);
        return b;
    }

    /** The datagram of {@code b}, whose fields are all written, with its tag. */
    byte[] seal(ByteBuffer b) {
        byte[] out = b.array();
        int bodyBytes = out.length - TAG_BYTES;
        if (b.position() != bodyBytes) {
            throw new IllegalStateException("wrote " + b.position() + " bytes before the tag, the layout has " + bodyBytes);
        }
        System.arraycopy(tag(out, bodyBytes), 0, out, bodyBytes, TAG_BYTES);
        return out;
    }

    /**
     * What {@link #open} found: the authentic sender and receiver, and where the fields begin; or
     * why the datagram is refused.
     */
    record Opened(Rejected rejected, HostId from, HostId to, int fieldsAt) {
        static Opened refused(Reason reason) {
            return new Opened(Rejected.of(reason), null, null, 0);
        }
    }

    /**
     * Checks the envelope of {@code d}, a datagram of at least the smallest length of its kind: the
     * magic ({@code 0x48}, {@code magic1}), the version, the cluster id, the tag, the sender and the
     * receiver, and that exactly {@code fieldBytes} remain before the tag. In that order: see the
     * class comment for why the cluster id comes before the tag.
     */
    Opened open(byte[] d, byte magic1, byte version, int fieldBytes) {
        return open(d, magic1, version, fieldBytes, true);
    }

    /** As above; unless {@code exact}, at least {@code fieldBytes} may remain (the kind's decoder checks the rest). */
    Opened open(byte[] d, byte magic1, byte version, int fieldBytes, boolean exact) {
        if (d[0] != MAGIC_0 || d[1] != magic1) {
            return Opened.refused(Reason.BAD_MAGIC);
        }
        if (d[2] != version) {
            return Opened.refused(Reason.BAD_VERSION);
        }
        int bodyBytes = d.length - TAG_BYTES;
        int idLength = d[3] & 0xff;
        int pos = 4;
        if (idLength == 0 || idLength > MAX_CLUSTER_ID_BYTES || pos + idLength > bodyBytes) {
            return Opened.refused(Reason.MALFORMED);
        }
        if (!Arrays.equals(d, pos, pos + idLength, clusterIdBytes, 0, clusterIdBytes.length)) {
            return Opened.refused(Reason.FOREIGN_CLUSTER);
        }
        pos += idLength;
        // authenticate before trusting any other byte
        if (!MessageDigest.isEqual(tag(d, bodyBytes), Arrays.copyOfRange(d, bodyBytes, d.length))) {
            return Opened.refused(Reason.BAD_MAC);
        }
        HostId from = host(d, pos, bodyBytes);
        if (from == null) {
            return Opened.refused(Reason.MALFORMED);
        }
        pos += 1 + from.value().length();
        HostId to = host(d, pos, bodyBytes);
        if (to == null) {
            return Opened.refused(Reason.MALFORMED);
        }
        pos += 1 + to.value().length();
        // a sender with the key but another layout (a bug, or a version that forgot to bump) ends here
        if (exact ? bodyBytes - pos != fieldBytes : bodyBytes - pos < fieldBytes) {
            return Opened.refused(Reason.MALFORMED);
        }
        return new Opened(null, from, to, pos);
    }

    /** The host name at {@code pos} (length byte, then ASCII), or null if out of bounds or invalid. */
    private static HostId host(byte[] d, int pos, int limit) {
        if (pos >= limit) {
            return null;
        }
        int length = d[pos] & 0xff;
        if (length == 0 || length > MAX_HOST_BYTES || pos + 1 + length > limit) {
            return null;
        }
        for (int i = pos + 1; i <= pos + length; i++) {
            if (d[i] < 0) {
                return null; // not ASCII: the name would not survive the round trip
            }
        }
        try {
            return new HostId(new String(d, pos + 1, length, StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    private static byte[] ascii(HostId host) {
        return host.value().getBytes(StandardCharsets.US_ASCII); // HostId admits ASCII only
    }

    private byte[] tag(byte[] data, int length) {
        Mac m = mac.get();
        m.update(data, 0, length);
        return m.doFinal();
    }

    private static Mac newMac(SecretKeySpec spec) {
        try {
            Mac m = Mac.getInstance(HMAC);
            m.init(spec);
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(HMAC + " is not available in this JVM", e);
        }
    }

    /**
     * Reads a cluster key file. The file holds the key as hexadecimal text, nothing else but
     * leading and trailing white space (make one with {@code openssl rand -hex 32}); at least
     * {@value #MIN_KEY_BYTES} bytes, that is 32 hex digits. It must be private to this process's
     * user or root ({@link KeyFileAccess}): mode 0600 or 0400, owned by one of them. Error messages
     * name the file, never its content.
     *
     * @throws IOException              naming the file, if it cannot be read
     * @throws IllegalArgumentException naming the file and the problem, if others may read it, or its
     *                                  content is not a key
     */
    public static byte[] readKeyFile(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        return readKeyFile(file, KeyFileAccess.ownUid());
    }

    /** {@link #readKeyFile(Path)} for a process whose user id is {@code ownUid}. */
    static byte[] readKeyFile(Path file, int ownUid) throws IOException {
        byte[] raw;
        try {
            KeyFileAccess.check(file, ownUid);
            if (Files.size(file) > MAX_KEY_FILE_BYTES) {
                throw new IllegalArgumentException("cluster key file " + file + " is larger than "
                        + MAX_KEY_FILE_BYTES + " bytes; it must hold only the key as hex text");
            }
            raw = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException("cluster key file " + file + " does not exist", e);
        } catch (AccessDeniedException e) {
            throw new IOException("cluster key file " + file + " cannot be read: permission denied (it must belong to "
                    + "the daemon's user, e.g. chown havn " + file + ")", e);
        } catch (IOException e) {
            throw new IOException("cluster key file " + file + " cannot be read: " + e, e);
        }
        try {
            return parseHexKey(file, raw);
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
    }

    private static byte[] parseHexKey(Path file, byte[] raw) {
        int start = 0;
        int end = raw.length;
        while (start < end && isSpace(raw[start])) {
            start++;
        }
        while (end > start && isSpace(raw[end - 1])) {
            end--;
        }
        String hint = "; it must hold the key as hex text, e.g. from: openssl rand -hex 32";
        if (start == end) {
            throw new IllegalArgumentException("cluster key file " + file + " is empty" + hint);
        }
        for (int i = start; i < end; i++) {
            if (Character.digit(raw[i], 16) < 0) {
                throw new IllegalArgumentException("cluster key file " + file + ": byte " + i
                        + " is not a hex digit" + hint);
            }
        }
        int digits = end - start;
        if (digits % 2 != 0) {
            throw new IllegalArgumentException("cluster key file " + file + " has an odd number of hex digits ("
                    + digits + ")" + hint);
        }
        if (digits / 2 < MIN_KEY_BYTES) {
            throw new IllegalArgumentException("cluster key file " + file + " holds a " + digits / 2
                    + "-byte key; at least " + MIN_KEY_BYTES + " bytes (" + 2 * MIN_KEY_BYTES
                    + " hex digits) are needed" + hint);
        }
        char[] hex = new char[digits];
        for (int i = 0; i < digits; i++) {
            hex[i] = (char) raw[start + i];
        }
        try {
            return HexFormat.of().parseHex(CharBuffer.wrap(hex)); // no String: it could not be wiped
        } finally {
            Arrays.fill(hex, '\0');
        }
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }

    @Override
    public String toString() {
        return "HeartbeatCodec[cluster=" + clusterId + "]"; // never the key
    }
}
