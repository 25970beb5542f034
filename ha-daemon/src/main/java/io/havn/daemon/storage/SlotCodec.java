package io.havn.daemon.storage;

import io.havn.common.model.HostId;
import io.havn.common.node.HostSignal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One host's record in its slot of a datastore: what havn's signal says of the host
 * ({@link HostSignal}: the guard its watchdog enforces, its incarnation, a sequence growing by one
 * per write), sealed so that only a holder of the cluster key could have written it there.
 *
 * <p>Layout, big-endian, version 1, at the start of the slot; the rest of the slot is zeros:
 * <pre>
 *   magic          3 bytes   "HVS"
 *   version        1 byte    1
 *   members        2 bytes   how many hosts the writer counts (its slot area's slots)
 *   from           1 byte length (1-63) + ASCII host name
 *   incarnation    8 bytes
 *   sequence       8 bytes
 *   guard          1 byte    1 armed, 2 released, 3 lapsed
 *   remainingMs    4 bytes   &gt; 0 when armed, 0 otherwise
 *   tag           32 bytes   HMAC-SHA256(storage key, cluster, datastore, slot, every byte before the tag)
 * </pre>
 * Before the record's bytes the MAC takes the cluster's name and the datastore's (each a 2-byte
 * length and UTF-8) and the slot's index (4 bytes): a record copied into another slot, datastore
 * or cluster fails its seal. The storage key is HMAC-SHA256(cluster key, "havn storage heartbeat
 * v1"), never the cluster key itself. An older record written back into its own slot keeps its
 * seal; its sequence (or incarnation) says it is old.
 *
 * <p>Thread-safe: its {@link Mac} is used under a lock.
 */
final class SlotCodec {
    static final int TAG_BYTES = 32;
    static final byte VERSION = 1;
    private static final byte[] MAGIC = {'H', 'V', 'S'};
    private static final String HMAC = "HmacSHA256";
    private static final byte[] LABEL = "havn storage heartbeat v1".getBytes(StandardCharsets.US_ASCII);
    private static final int MAX_HOST_BYTES = 63;
    private static final int FIELD_BYTES = 2 * Long.BYTES + 1 + Integer.BYTES;

    /** What a slot holds. */
    enum Kind {
        /** A record sealed by a holder of the key, for this cluster, datastore and slot. */
        RECORD,
        /** Nothing: every byte zero (a new device or file). */
        EMPTY,
        /** A havn storage record whose seal fails: forged, moved, another cluster's, another key's. */
        BAD_SEAL,
        /** A havn storage record this version cannot read (another version, a broken layout). */
        MALFORMED,
        /** Data that is no havn storage record at all. */
        FOREIGN
    }

    /** What {@link #decode} found in one slot: the record (with the writer's member count) or why there is none. */
    record Slot(Kind kind, HostSignal record, int members) {
        static Slot of(Kind kind) {
            return new Slot(kind, null, 0);
        }
    }

    private final byte[] cluster;
    private final byte[] datastore;
    /** Guarded by itself. */
    private final Mac mac;

    private SlotCodec(String cluster, String datastore, Mac mac) {
        this.cluster = cluster.getBytes(StandardCharsets.UTF_8);
        this.datastore = datastore.getBytes(StandardCharsets.UTF_8);
        this.mac = mac;
    }

    /**
     * The codec of {@code datastore} in {@code cluster}, keyed by a key derived from
     * {@code clusterKey} (the heartbeat key file's content; not kept).
     */
    static SlotCodec fromClusterKey(String cluster, String datastore, byte[] clusterKey) {
        Objects.requireNonNull(cluster, "cluster");
        Objects.requireNonNull(datastore, "datastore");
        Objects.requireNonNull(clusterKey, "clusterKey");
        if (clusterKey.length == 0) {
            throw new IllegalArgumentException("cluster key is empty");
        }
        byte[] storageKey = keyed(clusterKey).doFinal(LABEL);
        try {
            return new SlotCodec(cluster, datastore, keyed(storageKey));
        } finally {
            Arrays.fill(storageKey, (byte) 0);
        }
    }

    /** The whole slot ({@value SlotLayout#SLOT_BYTES} bytes) holding {@code record}, sealed for {@code slot}. */
    byte[] encode(HostSignal record, int slot, int members) {
        Objects.requireNonNull(record, "record");
        byte[] from = record.from().value().getBytes(StandardCharsets.US_ASCII); // HostId admits ASCII only
        byte[] out = new byte[SlotLayout.SLOT_BYTES];
        ByteBuffer b = ByteBuffer.wrap(out);
        b.put(MAGIC).put(VERSION).putShort((short) members);
        b.put((byte) from.length).put(from);
        b.putLong(record.incarnation()).putLong(record.sequence());
        b.put(code(record.guard())).putInt(record.remainingMs());
        int bodyBytes = b.position();
        b.put(tag(slot, out, bodyBytes));
        return out;
    }

    /** What {@code area}'s slot {@code slot} holds. Never throws. */
    Slot decode(byte[] area, int slot) {
        int at = slot * SlotLayout.SLOT_BYTES;
        if (at < 0 || at + SlotLayout.SLOT_BYTES > area.length) {
            return Slot.of(Kind.MALFORMED);
        }
        if (!Arrays.equals(area, at, at + MAGIC.length, MAGIC, 0, MAGIC.length)) {
            for (int i = at; i < at + SlotLayout.SLOT_BYTES; i++) {
                if (area[i] != 0) {
                    return Slot.of(Kind.FOREIGN);
                }
            }
            return Slot.of(Kind.EMPTY);
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(area, at, SlotLayout.SLOT_BYTES);
            b.position(at + MAGIC.length);
            if (b.get() != VERSION) {
                return Slot.of(Kind.MALFORMED);
            }
            int members = b.getShort() & 0xffff;
            int fromLength = b.get() & 0xff;
            if (fromLength == 0 || fromLength > MAX_HOST_BYTES) {
                return Slot.of(Kind.MALFORMED);
            }
            int bodyBytes = MAGIC.length + 1 + 2 + 1 + fromLength + FIELD_BYTES;
            byte[] found = Arrays.copyOfRange(area, at + bodyBytes, at + bodyBytes + TAG_BYTES);
            byte[] body = Arrays.copyOfRange(area, at, at + bodyBytes);
            if (!MessageDigest.isEqual(tag(slot, body, bodyBytes), found)) {
                return Slot.of(Kind.BAD_SEAL);
            }
            byte[] name = new byte[fromLength];
            b.get(name);
            for (byte c : name) {
                if (c < 0) {
                    return Slot.of(Kind.MALFORMED);
                }
            }
            HostId from = new HostId(new String(name, StandardCharsets.US_ASCII));
            long incarnation = b.getLong();
            long sequence = b.getLong();
            HostSignal.Guard guard = guard(b.get());
            int remainingMs = b.getInt();
            if (guard == null) {
                return Slot.of(Kind.MALFORMED);
            }
            // the record refuses a remainingMs that does not fit the guard
            return new Slot(Kind.RECORD, new HostSignal(from, incarnation, sequence, guard, remainingMs), members);
        } catch (RuntimeException e) {
            return Slot.of(Kind.MALFORMED);
        }
    }

    private byte[] tag(int slot, byte[] body, int bodyBytes) {
        ByteBuffer head = ByteBuffer.allocate(2 + cluster.length + 2 + datastore.length + Integer.BYTES);
        head.putShort((short) cluster.length).put(cluster).putShort((short) datastore.length).put(datastore)
                .putInt(slot);
        synchronized (mac) {
            mac.update(head.array());
            mac.update(body, 0, bodyBytes);
            return mac.doFinal();
        }
    }

    private static byte code(HostSignal.Guard guard) {
        return io.havn.daemon.transport.SignalCodec.code(guard); // the signal's codes
    }

    private static HostSignal.Guard guard(byte code) {
        return io.havn.daemon.transport.SignalCodec.guard(code);
    }

    /** An HMAC-SHA256 keyed with a copy of {@code key}. */
    private static Mac keyed(byte[] key) {
        try {
            Mac m = Mac.getInstance(HMAC);
            m.init(new SecretKeySpec(key, HMAC));
            return m;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("no " + HMAC + " in this JVM: storage records cannot be sealed", e);
        }
    }

    @Override
    public String toString() {
        return "SlotCodec[" + new String(cluster, StandardCharsets.UTF_8) + "/"
                + new String(datastore, StandardCharsets.UTF_8) + "]"; // never the key
    }
}
