package io.havn.daemon.coord;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.havn.daemon.coord.RecordSeal.Refusal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** The seal binds a record to its cluster, path and znode version, under a key of its own. */
class RecordSealTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] JSON = "{\"spec\":{}}".getBytes(StandardCharsets.UTF_8);
    private final RecordSeal seal = RecordSeal.fromClusterKey("prod", KEY);

    @Test
    void aSealedRecordOpensAtItsPathAndVersion() {
        RecordSeal.Opened o = seal.open("/vms/vm1", 3, seal.seal("/vms/vm1", 3, JSON));
        assertNull(o.refusal());
        assertArrayEquals(JSON, o.payload());
    }

    @Test
    void anotherPathVersionClusterOrKeyBreaksTheSeal() {
        byte[] sealed = seal.seal("/vms/vm1", 3, JSON);
        assertEquals(Refusal.BAD_SEAL, seal.open("/vms/vm2", 3, sealed).refusal(), "moved to another path");
        assertEquals(Refusal.BAD_SEAL, seal.open("/vms/vm1", 4, sealed).refusal(), "written back later");
        assertEquals(Refusal.BAD_SEAL, RecordSeal.fromClusterKey("test", KEY).open("/vms/vm1", 3, sealed).refusal(),
                "moved to another cluster with the same key");
        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        assertEquals(Refusal.BAD_SEAL, RecordSeal.fromClusterKey("prod", otherKey).open("/vms/vm1", 3, sealed)
                .refusal(), "another cluster key");
        byte[] flipped = sealed.clone();
        flipped[flipped.length - 2] ^= 1;
        assertEquals(Refusal.BAD_SEAL, seal.open("/vms/vm1", 3, flipped).refusal(), "one payload bit changed");
    }

    @Test
    void bytesWithoutASealAreUnsigned() {
        assertEquals(Refusal.UNSIGNED, seal.open("/vms/vm1", 0, JSON).refusal());
        assertEquals(Refusal.UNSIGNED, seal.open("/vms/vm1", 0, new byte[0]).refusal());
        assertEquals(Refusal.UNSIGNED, seal.open("/vms/vm1", 0, null).refusal());
    }

    @Test
    void forAnUpgradeUnsignedRecordsMayBeAcceptedOrWrittenButABadSealIsRefusedAlways() {
        byte[] sealedElsewhere = seal.seal("/vms/vm1", 3, JSON);
        for (RecordSeal.Unsigned u : RecordSeal.Unsigned.values()) {
            RecordSeal s = seal.withUnsigned(u);
            assertEquals(Refusal.BAD_SEAL, s.open("/vms/vm2", 3, sealedElsewhere).refusal(), u.name());
            assertArrayEquals(JSON, s.open("/vms/vm1", 3, sealedElsewhere).payload(), u.name());
            if (u == RecordSeal.Unsigned.REFUSE) {
                assertEquals(Refusal.UNSIGNED, s.open("/vms/vm1", 0, JSON).refusal());
            } else {
                assertArrayEquals(JSON, s.open("/vms/vm1", 0, JSON).payload(), u.name());
            }
        }
        assertArrayEquals(JSON, seal.withUnsigned(RecordSeal.Unsigned.WRITE).seal("/vms/vm1", 0, JSON),
                "written as a daemon older than seals reads it");
        assertEquals(Refusal.UNSIGNED, seal.withUnsigned(RecordSeal.Unsigned.WRITE).open("/vms/vm1", 0, null).refusal());
    }

    @Test
    void theRecordKeyIsHmacOfTheClusterKeyOverItsLabelNeverTheClusterKeyItself() throws Exception {
        byte[] sealed = seal.seal("/epoch", 1, JSON);
        byte[] tag = Arrays.copyOfRange(sealed, 4, RecordSeal.HEADER_BYTES);
        byte[] derived = hmac(KEY, "havn records v1".getBytes(StandardCharsets.US_ASCII));
        assertArrayEquals(tag, tag(derived, "/epoch", 1), "the documented derivation");
        assertFalse(Arrays.equals(tag, tag(KEY, "/epoch", 1)), "the heartbeat key must not seal records");
    }

    /** The tag as SECURITY.md describes it, computed independently. */
    private static byte[] tag(byte[] key, String path, int version) throws Exception {
        byte[] c = "prod".getBytes(StandardCharsets.UTF_8);
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        ByteBuffer input = ByteBuffer.allocate(4 + c.length + p.length + 4 + JSON.length);
        input.putShort((short) c.length).put(c).putShort((short) p.length).put(p).putInt(version).put(JSON);
        return hmac(key, input.array());
    }

    private static byte[] hmac(byte[] key, byte[] data) throws Exception {
        Mac m = Mac.getInstance("HmacSHA256");
        m.init(new SecretKeySpec(key, "HmacSHA256"));
        return m.doFinal(data);
    }
}
