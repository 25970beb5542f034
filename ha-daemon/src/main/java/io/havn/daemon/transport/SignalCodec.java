package io.havn.daemon.transport;

import io.havn.common.model.HostId;
import io.havn.common.node.HostSignal;
import io.havn.daemon.transport.HeartbeatCodec.Reason;
import io.havn.daemon.transport.HeartbeatCodec.Rejected;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * The wire format of one host signal ({@link HostSignal}): what a host's signal sender, apart from
 * havnd, tells a peer each heartbeat interval, authenticated with the cluster key. It travels to
 * the peer's heartbeat port beside the heartbeats, and shares their envelope ({@link HeartbeatCodec}:
 * the same cluster id, host names, key and tag) under a magic of its own.
 *
 * <p>Layout, big-endian, version 1:
 * <pre>
 *   magic          2 bytes   0x48 0x53 ("HS"; a heartbeat's is "HV")
 *   version        1 byte    1 ({@link #VERSION})
 *   cluster id     1 byte length (1-64) + UTF-8 bytes
 *   sender         1 byte length (1-63) + ASCII host name
 *   receiver       1 byte length (1-63) + ASCII host name
 *   incarnation    8 bytes   the sender process's incarnation
 *   sequence       8 bytes
 *   guard          1 byte    1 armed, 2 released, 3 lapsed
 *   remainingMs    4 bytes   &gt; 0 when armed, 0 otherwise
 *   tag           32 bytes   HMAC-SHA256(cluster key, every byte before the tag)
 * </pre>
 * As with heartbeats, the receiver's name is authenticated, so a signal cannot be replayed to
 * another host, nor into another cluster that shares the key. A heartbeat is never taken for a
 * signal, nor a signal for a heartbeat: the magic differs, and the tag covers it.
 *
 * <p>{@link #decode} never throws, and checks in the order {@link HeartbeatCodec#decode} does,
 * with its {@link Reason}s ({@link Rejected}); an authentic signal whose guard byte is unknown, or whose
 * {@code remainingMs} does not fit its guard, is {@link Reason#MALFORMED}.
 *
 * <p>Thread-safe, as the {@link HeartbeatCodec} it is built on.
 */
public final class SignalCodec {
    static final byte MAGIC_1 = 0x53;
    static final byte VERSION = 1;
    private static final int FIELD_BYTES = 2 * Long.BYTES + 1 + Integer.BYTES;
    /** Magic, version, three length bytes of at least one byte each, the fields and the tag. */
    static final int MIN_DATAGRAM_BYTES = 2 + 1 + 3 + 3 + FIELD_BYTES + HeartbeatCodec.TAG_BYTES;
    public static final int MAX_DATAGRAM_BYTES = MIN_DATAGRAM_BYTES - 3 + HeartbeatCodec.MAX_CLUSTER_ID_BYTES + 2 * 63;

    /** The outcome of {@link #decode}. */
    public sealed interface Decoded permits Ok, HeartbeatCodec.Rejected { }

    /** An authentic signal addressed to {@code to}. */
    public record Ok(HostId to, HostSignal signal) implements Decoded {
        public Ok {
            Objects.requireNonNull(to, "to");
            Objects.requireNonNull(signal, "signal");
        }
    }

    private final HeartbeatCodec envelope;

    /** Signals of {@code envelope}'s cluster, sealed with its key. */
    public SignalCodec(HeartbeatCodec envelope) {
        this.envelope = Objects.requireNonNull(envelope, "envelope");
    }

    /**
     * @param clusterId the cluster's name, 1-64 bytes of UTF-8
     * @param key       the cluster key, at least {@value HeartbeatCodec#MIN_KEY_BYTES} bytes; copied
     * @throws IllegalArgumentException naming the bad argument
     */
    public SignalCodec(String clusterId, byte[] key) {
        this(new HeartbeatCodec(clusterId, key));
    }

    /** Whether {@code datagram} says it is a signal (its magic); it may still be refused. */
    public static boolean looksLikeSignal(byte[] datagram) {
        return datagram != null && datagram.length >= 2 && datagram[0] == HeartbeatCodec.MAGIC_0
                && datagram[1] == MAGIC_1;
    }

    /** The datagram carrying {@code signal} to {@code to}; at most {@link #MAX_DATAGRAM_BYTES} long. */
    public byte[] encode(HostId to, HostSignal signal) {
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(signal, "signal");
        ByteBuffer b = envelope.head(MAGIC_1, VERSION, signal.from(), to, FIELD_BYTES);
        b.putLong(signal.incarnation()).putLong(signal.sequence());
        b.put(code(signal.guard()));
        b.putInt(signal.remainingMs());
        return envelope.seal(b);
    }

    /** Decodes and authenticates one datagram. Never throws; {@code null} is {@link Reason#TOO_SHORT}. */
    public Decoded decode(byte[] datagram) {
        if (datagram == null || datagram.length < MIN_DATAGRAM_BYTES) {
            return Rejected.of(Reason.TOO_SHORT);
        }
        try {
            HeartbeatCodec.Opened o = envelope.open(datagram, MAGIC_1, VERSION, FIELD_BYTES);
            if (o.rejected() != null) {
                return o.rejected();
            }
            ByteBuffer b = ByteBuffer.wrap(datagram, o.fieldsAt(), FIELD_BYTES);
            long incarnation = b.getLong();
            long sequence = b.getLong();
            HostSignal.Guard guard = guard(b.get());
            int remainingMs = b.getInt();
            if (guard == null) {
                return Rejected.of(Reason.MALFORMED);
            }
            // the record refuses a remainingMs that does not fit the guard
            return new Ok(o.to(), new HostSignal(o.from(), incarnation, sequence, guard, remainingMs));
        } catch (RuntimeException e) {
            return Rejected.of(Reason.MALFORMED);
        }
    }

    public String clusterId() {
        return envelope.clusterId();
    }

    /** A guard's wire code, the same in a signal and in a storage heartbeat slot. */
    public static byte code(HostSignal.Guard guard) {
        return switch (guard) {
            case ARMED -> 1;
            case RELEASED -> 2;
            case LAPSED -> 3;
        };
    }

    /** The guard of a wire code, null for an unknown one. */
    public static HostSignal.Guard guard(byte code) {
        return switch (code) {
            case 1 -> HostSignal.Guard.ARMED;
            case 2 -> HostSignal.Guard.RELEASED;
            case 3 -> HostSignal.Guard.LAPSED;
            default -> null;
        };
    }

    @Override
    public String toString() {
        return "SignalCodec[cluster=" + envelope.clusterId() + "]"; // never the key
    }
}
