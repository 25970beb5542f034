package io.havn.daemon.coord;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The seal on every record havn stores in ZooKeeper: proof that a holder of the cluster key wrote
 * these bytes, at this path, as this znode version.
 *
 * <p>Stored bytes, version 1:
 * <pre>
 *   magic     3 bytes   "HVR"
 *   format    1 byte    1
 *   tag      32 bytes   HMAC-SHA256(record key, cluster, path, version, payload)
 *   payload   the rest  the record as before (JSON; the leader's name for the epoch)
 * </pre>
 * The MAC input is the cluster name and the path, each as a 2-byte length and UTF-8, the znode
 * version the write produces (4 bytes), then the payload. So a record cannot be moved to another
 * path or cluster, and an older record written back at the same path fails: the znode's version
 * has moved on since. The record key is HMAC-SHA256(cluster key, "havn records v1"), never the
 * cluster key itself, which authenticates heartbeats.
 *
 * <p>Thread-safe: its one {@link Mac} is used under a lock (one coordinator's loop thread uses it).
 */
public final class RecordSeal {
    static final int TAG_BYTES = 32;
    private static final byte[] MAGIC = {'H', 'V', 'R'};
    private static final byte FORMAT = 1;
    static final int HEADER_BYTES = MAGIC.length + 1 + TAG_BYTES;
    private static final String HMAC = "HmacSHA256";
    private static final byte[] LABEL = "havn records v1".getBytes(StandardCharsets.US_ASCII);

    /** Why stored bytes are refused. */
    public enum Refusal {
        /** No seal at all: written outside havn, or by a version before seals. */
        UNSIGNED,
        /** A seal that does not match: forged, moved from another path, an older version written back, or another key. */
        BAD_SEAL,
        /** A request filed again at the path of one this daemon saw removed (request ids are never reused). */
        REPLAYED
    }

    /**
     * What to do with records that carry no seal: only for upgrading a cluster that ran a version
     * before seals (SECURITY.md). Records with a seal are checked whatever this says.
     */
    public enum Unsigned {
        /** Refuse them; write sealed records. The default. */
        REFUSE,
        /** Accept them; write sealed records. While some records are not sealed yet. */
        ACCEPT,
        /** Accept them and write unsigned records, readable by daemons older than seals. */
        WRITE
    }

    /** What {@link #open} found: the payload, or why there is none. */
    public record Opened(byte[] payload, Refusal refusal) {
        boolean ok() {
            return refusal == null;
        }
    }

    private final byte[] cluster;
    private final Unsigned unsigned;
    /** Guarded by itself. */
    private final Mac mac;

    private RecordSeal(String cluster, Mac mac, Unsigned unsigned) {
        this.cluster = cluster.getBytes(StandardCharsets.UTF_8);
        this.mac = mac;
        this.unsigned = Objects.requireNonNull(unsigned, "unsigned");
    }

    /** The same seal, treating records without one as {@code u} says. */
    public RecordSeal withUnsigned(Unsigned u) {
        return new RecordSeal(new String(cluster, StandardCharsets.UTF_8), keyedLike(), u);
    }

    public Unsigned unsigned() {
        return unsigned;
    }

    /**
     * The seal of {@code cluster}, keyed by a key derived from {@code clusterKey} (the heartbeat
     * key file's content; not kept).
     */
    public static RecordSeal fromClusterKey(String cluster, byte[] clusterKey) {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(clusterKey, "clusterKey");
        if (clusterKey.length == 0) {
            throw new IllegalArgumentException("cluster key is empty");
        }
        byte[] recordKey = keyed(clusterKey).doFinal(LABEL);
        try {
            return new RecordSeal(cluster, keyed(recordKey), Unsigned.REFUSE);
        } finally {
            Arrays.fill(recordKey, (byte) 0);
        }
    }

    /**
     * The bytes to store at {@code path} by a write that makes its znode version {@code version}:
     * sealed, or the payload as it is under {@link Unsigned#WRITE}.
     */
    byte[] seal(String path, int version, byte[] payload) {
        return unsigned == Unsigned.WRITE ? payload : sealed(path, version, payload);
    }

    /** The payload sealed for {@code path} and {@code version}, whatever the policy. */
    byte[] sealed(String path, int version, byte[] payload) {
        byte[] out = new byte[HEADER_BYTES + payload.length];
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        out[MAGIC.length] = FORMAT;
        System.arraycopy(tag(path, version, payload, 0, payload.length), 0, out, MAGIC.length + 1, TAG_BYTES);
        System.arraycopy(payload, 0, out, HEADER_BYTES, payload.length);
        return out;
    }

    /**
     * Checks {@code stored}, read at {@code path} with znode version {@code version}; bytes without
     * a seal are refused, or taken as they are unless the policy is {@link Unsigned#REFUSE}.
     */
    Opened open(String path, int version, byte[] stored) {
        if (!looksSealed(stored)) {
            return unsigned == Unsigned.REFUSE || stored == null ? new Opened(null, Refusal.UNSIGNED)
                    : new Opened(stored, null);
        }
        if (stored[MAGIC.length] != FORMAT) {
            return new Opened(null, Refusal.BAD_SEAL);
        }
        byte[] expected = tag(path, version, stored, HEADER_BYTES, stored.length - HEADER_BYTES);
        byte[] found = Arrays.copyOfRange(stored, MAGIC.length + 1, HEADER_BYTES);
        if (!MessageDigest.isEqual(expected, found)) {
            return new Opened(null, Refusal.BAD_SEAL);
        }
        return new Opened(Arrays.copyOfRange(stored, HEADER_BYTES, stored.length), null);
    }

    /** Whether {@code stored} carries a seal of this format (valid or not). */
    static boolean looksSealed(byte[] stored) {
        return stored != null && stored.length >= HEADER_BYTES
                && Arrays.equals(stored, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
    }

    private byte[] tag(String path, int version, byte[] data, int offset, int length) {
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        ByteBuffer head = ByteBuffer.allocate(2 + cluster.length + 2 + p.length + Integer.BYTES);
        head.putShort((short) cluster.length).put(cluster).putShort((short) p.length).put(p).putInt(version);
        synchronized (mac) {
            mac.update(head.array());
            mac.update(data, offset, length);
            return mac.doFinal();
        }
    }

    /** Another HMAC-SHA256 with this one's key. */
    private Mac keyedLike() {
        synchronized (mac) {
            try {
                return (Mac) mac.clone();
            } catch (CloneNotSupportedException e) {
                throw new IllegalStateException(HMAC + " of this JVM cannot be copied", e);
            }
        }
    }

    /** An HMAC-SHA256 keyed with a copy of {@code key}. */
    private static Mac keyed(byte[] key) {
        try {
            Mac m = Mac.getInstance(HMAC);
            m.init(new SecretKeySpec(key, HMAC));
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no " + HMAC + " in this JVM: records cannot be sealed", e);
        }
    }

    @Override
    public String toString() {
        return "RecordSeal[" + new String(cluster, StandardCharsets.UTF_8) + ", unsigned records: "
                + unsigned.name().toLowerCase(java.util.Locale.ROOT) + "]"; // never the key
    }
}
