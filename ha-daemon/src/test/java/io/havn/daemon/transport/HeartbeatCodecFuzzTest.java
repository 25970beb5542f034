package io.havn.daemon.transport;

import static io.havn.daemon.transport.HeartbeatCodecTest.CLUSTER;
import static io.havn.daemon.transport.HeartbeatCodecTest.KEY;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import io.havn.daemon.transport.HeartbeatCodec.Decoded;
import io.havn.daemon.transport.HeartbeatCodec.Ok;
import io.havn.daemon.transport.HeartbeatCodec.Rejected;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/** Whatever arrives on the socket, {@code decode} answers and never throws; no altered datagram passes. */
class HeartbeatCodecFuzzTest {
    private final HeartbeatCodec codec = new HeartbeatCodec(CLUSTER, KEY);

    @Property(tries = 2000)
    void randomBytesAreRejectedWithoutThrowing(@ForAll @Size(max = 600) byte[] bytes) {
        assertRejected(bytes, "random bytes");
    }

    /** Past the header checks, so the tag and the structure code see the random bytes. */
    @Property(tries = 2000)
    void randomBytesAfterAValidHeaderAreRejected(@ForAll @Size(max = 400) byte[] tail) {
        byte[] id = CLUSTER.getBytes(StandardCharsets.UTF_8);
        byte[] header = new byte[4 + id.length];
        header[0] = HeartbeatCodec.MAGIC_0;
        header[1] = HeartbeatCodec.MAGIC_1;
        header[2] = HeartbeatCodec.VERSION;
        header[3] = (byte) id.length;
        System.arraycopy(id, 0, header, 4, id.length);
        byte[] bytes = Arrays.copyOf(header, header.length + tail.length);
        System.arraycopy(tail, 0, bytes, header.length, tail.length);
        assertRejected(bytes, "a valid header and random bytes");
    }

    @Property
    void everyHeartbeatSurvivesTheRoundTrip(@ForAll("hosts") HostId to, @ForAll("heartbeats") Heartbeat hb) {
        assertEquals(new Ok(to, hb), codec.decode(codec.encode(to, hb)));
    }

    @Property(tries = 2000)
    void aFlippedBitAnywhereIsRejected(@ForAll("hosts") HostId to, @ForAll("heartbeats") Heartbeat hb,
                                       @ForAll @IntRange(min = 0, max = 10_000) int where,
                                       @ForAll @IntRange(min = 0, max = 7) int bit) {
        byte[] bytes = codec.encode(to, hb);
        int at = where % bytes.length;
        bytes[at] ^= (byte) (1 << bit);
        assertRejected(bytes, "bit " + bit + " of byte " + at + " flipped");
    }

    @Property(tries = 1000)
    void aReplacedByteAnywhereIsRejected(@ForAll("hosts") HostId to, @ForAll("heartbeats") Heartbeat hb,
                                         @ForAll @IntRange(min = 0, max = 10_000) int where,
                                         @ForAll @IntRange(min = 1, max = 255) int xor) {
        byte[] bytes = codec.encode(to, hb);
        int at = where % bytes.length;
        bytes[at] ^= (byte) xor;
        assertRejected(bytes, "byte " + at + " changed");
    }

    @Property(tries = 1000)
    void aTruncatedDatagramIsRejected(@ForAll("hosts") HostId to, @ForAll("heartbeats") Heartbeat hb,
                                      @ForAll @IntRange(min = 0, max = 10_000) int cut) {
        byte[] bytes = codec.encode(to, hb);
        int length = cut % bytes.length;
        assertRejected(Arrays.copyOf(bytes, length), "truncated to " + length + " of " + bytes.length + " bytes");
    }

    @Property(tries = 1000)
    void aDatagramWithBytesAppendedIsRejected(@ForAll("hosts") HostId to, @ForAll("heartbeats") Heartbeat hb,
                                              @ForAll @Size(min = 1, max = 64) byte[] extra) {
        byte[] bytes = codec.encode(to, hb);
        byte[] longer = Arrays.copyOf(bytes, bytes.length + extra.length);
        System.arraycopy(extra, 0, longer, bytes.length, extra.length);
        assertRejected(longer, extra.length + " bytes appended");
    }

    private void assertRejected(byte[] bytes, String what) {
        Decoded d = codec.decode(bytes); // a throw here fails the property with its stack trace
        assertInstanceOf(Rejected.class, d, what + " must be rejected, got " + d);
    }

    @Provide
    Arbitrary<HostId> hosts() {
        Arbitrary<String> first = Arbitraries.strings().alpha().numeric().ofLength(1);
        Arbitrary<String> rest = Arbitraries.strings().alpha().numeric().withChars('.', '_', '-').ofMaxLength(62);
        return Combinators.combine(first, rest).as((f, r) -> new HostId(f + r));
    }

    @Provide
    Arbitrary<Heartbeat> heartbeats() {
        return Combinators.combine(
                hosts(),
                Arbitraries.longs(),
                Arbitraries.longs(),
                Arbitraries.longs(),
                Arbitraries.longs().edgeCases(c -> c.add(Heartbeat.NO_ECHO)),
                Arbitraries.integers().greaterOrEqual(0).edgeCases(c -> c.add(Heartbeat.NEVER)),
                Arbitraries.of(true, false))
                .as(Heartbeat::new);
    }
}
