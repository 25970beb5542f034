package io.havn.daemon.transport;

import static io.havn.daemon.transport.HeartbeatCodecTest.CLUSTER;
import static io.havn.daemon.transport.HeartbeatCodecTest.KEY;
import static io.havn.daemon.transport.HeartbeatCodecTest.signed;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.HostSignal;
import io.havn.common.node.HostSignal.Guard;
import io.havn.daemon.transport.HeartbeatCodec.Reason;
import io.havn.daemon.transport.SignalCodec.Ok;
import io.havn.daemon.transport.HeartbeatCodec.Rejected;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class SignalCodecTest {
    private static final HostId A = new HostId("kvm-a");
    private static final HostId B = new HostId("kvm-b");

    private final SignalCodec codec = new SignalCodec(CLUSTER, KEY);

    private static HostSignal armed(long sequence) {
        return new HostSignal(A, 1_700_000_000_000L, sequence, Guard.ARMED, 2_500);
    }

    @Test
    void roundTripKeepsEveryField() {
        List<HostSignal> signals = List.of(
                armed(1),
                new HostSignal(A, 1, 2, Guard.RELEASED, 0),
                new HostSignal(A, Long.MAX_VALUE, Long.MAX_VALUE, Guard.LAPSED, 0),
                new HostSignal(new HostId("h".repeat(63)), Long.MIN_VALUE, -1, Guard.ARMED, Integer.MAX_VALUE));
        for (HostId to : List.of(B, new HostId("t".repeat(63)))) {
            for (HostSignal s : signals) {
                byte[] datagram = codec.encode(to, s);
                assertTrue(datagram.length <= SignalCodec.MAX_DATAGRAM_BYTES, "datagram of " + datagram.length + " bytes");
                assertTrue(SignalCodec.looksLikeSignal(datagram));
                assertEquals(new Ok(to, s), codec.decode(datagram), "round trip of " + s + " to " + to);
            }
        }
    }

    @Test
    void theLongestSignalIsTheDocumentedMaximum() {
        SignalCodec wide = new SignalCodec("ü".repeat(32), KEY); // 64 bytes of UTF-8
        HostSignal s = new HostSignal(new HostId("h".repeat(63)), 1, 1, Guard.RELEASED, 0);
        byte[] datagram = wide.encode(new HostId("t".repeat(63)), s);
        assertEquals(SignalCodec.MAX_DATAGRAM_BYTES, datagram.length);
        assertEquals(new Ok(new HostId("t".repeat(63)), s), wide.decode(datagram));
    }

    @Test
    void encodingFollowsTheDocumentedLayout() throws IOException {
        byte[] expected = signed(KEY, layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 1_700_000_000_000L, 9, 1, 2_500, 0));
        assertArrayEquals(expected, codec.encode(B, armed(9)));
        assertEquals(new Ok(B, new HostSignal(A, 5, 6, Guard.LAPSED, 0)),
                codec.decode(signed(KEY, layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 5, 6, 3, 0, 0))));
        assertEquals(new Ok(B, new HostSignal(A, 5, 6, Guard.RELEASED, 0)),
                codec.decode(signed(KEY, layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 5, 6, 2, 0, 0))));
    }

    @Test
    void aHeartbeatIsNotASignalNorASignalAHeartbeat() {
        HeartbeatCodec heartbeats = new HeartbeatCodec(CLUSTER, KEY);
        byte[] heartbeat = heartbeats.encode(B, new Heartbeat(A, 1, 1, 1, 1, 1, 0, false));
        assertFalse(SignalCodec.looksLikeSignal(heartbeat));
        assertEquals(new Rejected(Reason.BAD_MAGIC), codec.decode(heartbeat));
        byte[] signal = codec.encode(B, armed(1));
        // a signal is shorter than any heartbeat; padded to a heartbeat's length, its magic still refuses it
        assertEquals(new Rejected(Reason.TOO_SHORT), heartbeats.decode(signal));
        assertEquals(new Rejected(Reason.BAD_MAGIC),
                heartbeats.decode(Arrays.copyOf(signal, HeartbeatCodec.MIN_DATAGRAM_BYTES)));
    }

    @Test
    void aSignalAddressedToAnotherHostSaysSoAndCannotBeReaddressed() {
        byte[] toB = codec.encode(B, armed(1));
        assertEquals(B, ((Ok) codec.decode(toB)).to());
        // the receiver is under the tag: rewriting it to another host of the same length breaks the tag
        byte[] toC = toB.clone();
        int at = indexOf(toC, "kvm-b".getBytes(StandardCharsets.US_ASCII));
        toC[at + 4] = 'c';
        assertEquals(new Rejected(Reason.BAD_MAC), codec.decode(toC));
    }

    @Test
    void everyRejectionIsNamed() throws IOException {
        byte[] valid = codec.encode(B, armed(1));
        assertEquals(new Rejected(Reason.TOO_SHORT), codec.decode(null));
        assertEquals(new Rejected(Reason.TOO_SHORT), codec.decode(new byte[] {'H', 'S'}));
        assertEquals(new Rejected(Reason.TOO_SHORT), codec.decode(Arrays.copyOf(valid, SignalCodec.MIN_DATAGRAM_BYTES - 1)));
        byte[] magic = valid.clone();
        magic[0] = 'X';
        assertEquals(new Rejected(Reason.BAD_MAGIC), codec.decode(magic));
        assertEquals(new Rejected(Reason.BAD_VERSION),
                codec.decode(signed(KEY, layout('S', 2, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 1, 0))));
        assertEquals(new Rejected(Reason.FOREIGN_CLUSTER), codec.decode(new SignalCodec("prod-2", KEY).encode(B, armed(1))));
        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        assertEquals(new Rejected(Reason.BAD_MAC), codec.decode(new SignalCodec(CLUSTER, otherKey).encode(B, armed(1))));
        byte[] flipped = valid.clone();
        flipped[flipped.length - 33] ^= 1; // the last byte of remainingMs
        assertEquals(new Rejected(Reason.BAD_MAC), codec.decode(flipped));
    }

    /** A sender holding the key but writing nonsense (a bug) gets MALFORMED, never an exception. */
    @Test
    void authenticSignalsWithBadFieldsAreMalformed() throws IOException {
        record Case(String what, byte[] body) { }
        List<Case> cases = List.of(
                new Case("guard 0", layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 1, 1, 0, 0, 0)),
                new Case("guard 4", layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 1, 1, 4, 0, 0)),
                new Case("armed with no time left", layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 0, 0)),
                new Case("armed with a negative time", layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, -5, 0)),
                new Case("released with time left", layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 1, 1, 2, 100, 0)),
                new Case("lapsed with time left", layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 1, 1, 3, 1, 0)),
                new Case("an invalid sender", layout('S', 1, CLUSTER, "bad name", "kvm-b", 1, 1, 2, 0, 0)),
                new Case("an empty receiver", layout('S', 1, CLUSTER, "kvm-a", "", 1, 1, 2, 0, 0)),
                new Case("a trailing byte", layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 1, 1, 2, 0, 1)));
        for (Case c : cases) {
            assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, c.body())), c.what());
        }
        byte[] cut = signed(KEY, Arrays.copyOf(layout('S', 1, CLUSTER, "kvm-a", "kvm-b", 1, 1, 2, 0, 0), 40));
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(cut), "fields cut short");
    }

    @Test
    void randomBytesAfterTheMagicNeverThrow() {
        java.util.Random random = new java.util.Random(42);
        for (int i = 0; i < 5_000; i++) {
            byte[] d = new byte[random.nextInt(SignalCodec.MAX_DATAGRAM_BYTES + 20)];
            random.nextBytes(d);
            if (d.length >= 3) {
                d[0] = 'H';
                d[1] = 'S';
                d[2] = 1;
            }
            assertTrue(codec.decode(d) instanceof Rejected, "random datagram " + i + " taken");
        }
    }

    @Test
    void itNeverShowsTheKey() {
        assertEquals("SignalCodec[cluster=" + CLUSTER + "]", codec.toString());
        assertEquals(CLUSTER, codec.clusterId());
    }

    static byte[] layout(char kind, int version, String cluster, String from, String to, long incarnation,
                         long sequence, int guard, int remainingMs, int trailing) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = HeartbeatCodecTest.head(bytes, kind, version, cluster, from, to);
        out.writeLong(incarnation);
        out.writeLong(sequence);
        out.writeByte(guard);
        out.writeInt(remainingMs);
        out.write(new byte[trailing]);
        return bytes.toByteArray();
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            if (Arrays.equals(haystack, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }
}
