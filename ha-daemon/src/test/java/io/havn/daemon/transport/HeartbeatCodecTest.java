package io.havn.daemon.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.HealthDigest;
import io.havn.common.node.Heartbeat;
import io.havn.daemon.transport.HeartbeatCodec.Ok;
import io.havn.daemon.transport.HeartbeatCodec.Reason;
import io.havn.daemon.transport.HeartbeatCodec.Rejected;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HeartbeatCodecTest {
    static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    static final String CLUSTER = "prod-1";
    static final HostId A = new HostId("kvm-a");
    static final HostId B = new HostId("kvm-b");

    private final HeartbeatCodec codec = new HeartbeatCodec(CLUSTER, KEY);

    @Test
    void roundTripKeepsEveryField() {
        String longName = "h".repeat(63);
        List<Heartbeat> heartbeats = List.of(
                new Heartbeat(A, 1, 3, 1_000_000_000L, 999_000_000L, 120, false),
                new Heartbeat(A, 2, 0, 5L, Heartbeat.NO_ECHO, Heartbeat.NEVER, false),
                new Heartbeat(A, 3, 7, -42L, 17L, 1_600, true),
                new Heartbeat(new HostId(longName), Long.MAX_VALUE, Long.MIN_VALUE, Long.MIN_VALUE,
                        Long.MAX_VALUE, 0, true),
                new Heartbeat(new HostId("9.x_y-z"), Long.MIN_VALUE, -1, 0, Heartbeat.NO_ECHO, Heartbeat.NEVER, true));
        for (HostId to : List.of(B, new HostId("t".repeat(63)))) {
            for (Heartbeat hb : heartbeats) {
                byte[] datagram = codec.encode(to, hb);
                assertTrue(datagram.length <= HeartbeatCodec.MAX_DATAGRAM_BYTES, "datagram of " + datagram.length + " bytes");
                assertEquals(new Ok(to, hb), codec.decode(datagram), "round trip of " + hb + " to " + to);
            }
        }
    }

    @Test
    void roundTripWithTheLongestMultiByteClusterId() {
        String id = "ü".repeat(32); // 64 bytes of UTF-8
        HeartbeatCodec wide = new HeartbeatCodec(id, KEY);
        Heartbeat hb = new Heartbeat(A, 9, 9, 9, 9, 9, false);
        byte[] datagram = wide.encode(B, hb);
        assertEquals(HeartbeatCodec.MAX_DATAGRAM_BYTES - 2 * 63 + A.value().length() + B.value().length()
                - (2 + 2 + 8 + 2 * HeartbeatCodec.MAX_DIGEST_HOSTS), datagram.length, "the longest heartbeat without a digest");
        assertEquals(new Ok(B, hb), wide.decode(datagram));
    }

    @Test
    void encodingFollowsTheDocumentedLayout() throws IOException {
        Heartbeat hb = new Heartbeat(A, INCARNATION, 7, 2, 100, Heartbeat.NO_ECHO, 5, true);
        byte[] expected = signed(KEY, layout(2, CLUSTER, "kvm-a", "kvm-b", 7, 2, 100, Heartbeat.NO_ECHO, 5, 1, 0));
        assertArrayEquals(expected, codec.encode(B, hb));
    }

    @Test
    void aForgedDatagramIsRejectedAsBadMac() {
        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        byte[] forged = new HeartbeatCodec(CLUSTER, otherKey).encode(B, new Heartbeat(A, 1, 1, 1, 1, 1, false));
        assertEquals(new Rejected(Reason.BAD_MAC), codec.decode(forged));
    }

    /** The cluster id is compared before the tag, so a neighbour cluster is named as such. */
    @Test
    void aDatagramOfAnotherClusterIsRejectedAsForeignEvenWithTheSameKey() {
        Heartbeat hb = new Heartbeat(A, 1, 1, 1, 1, 1, false);
        assertEquals(new Rejected(Reason.FOREIGN_CLUSTER), codec.decode(new HeartbeatCodec("prod-2", KEY).encode(B, hb)));
        assertEquals(new Rejected(Reason.FOREIGN_CLUSTER), codec.decode(new HeartbeatCodec("prod-1x", KEY).encode(B, hb)));
        assertEquals(new Rejected(Reason.FOREIGN_CLUSTER), codec.decode(new HeartbeatCodec("other", "another key, 16+ bytes".getBytes(StandardCharsets.UTF_8)).encode(B, hb)));
    }

    @Test
    void headerProblemsAreNamed() throws IOException {
        byte[] valid = codec.encode(B, new Heartbeat(A, 1, 1, 1, 1, 1, false));
        assertEquals(new Rejected(Reason.TOO_SHORT), codec.decode(new byte[0]));
        assertEquals(new Rejected(Reason.TOO_SHORT), codec.decode(null));
        assertEquals(new Rejected(Reason.TOO_SHORT), codec.decode(Arrays.copyOf(valid, HeartbeatCodec.MIN_DATAGRAM_BYTES - 1)));
        byte[] magic = valid.clone();
        magic[1] = 'X';
        assertEquals(new Rejected(Reason.BAD_MAGIC), codec.decode(magic));
        // a signed datagram of another version is refused by version, not by its content
        byte[] v2 = signed(KEY, layout(3, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 1, 1, 0, 0));
        assertEquals(new Rejected(Reason.BAD_VERSION), codec.decode(v2));
    }

    /** A peer holding the key but writing nonsense (a bug) gets MALFORMED, never an exception. */
    @Test
    void aRunOfADigestRoundTripsAndOneFromTheFirstHostHasThePlainLayout() throws IOException {
        byte[] entries = new byte[2 * 500];
        for (int i = 0; i < entries.length; i++) {
            entries[i] = (byte) (i * 31);
        }
        for (int offset : new int[] {1, 500, HeartbeatCodec.MAX_DIGEST_HOSTS - 500}) {
            Heartbeat hb = new Heartbeat(A, 9, 4, 2, 100, 90, 120, false, new HealthDigest(7L, offset, entries));
            assertEquals(new Ok(B, hb), codec.decode(codec.encode(B, hb)), "a run from host " + offset);
        }
        // from the first host: the layout a daemon that knows no runs reads
        Heartbeat first = new Heartbeat(A, 9, 4, 2, 100, 90, 120, false, new HealthDigest(7L, 0, entries));
        ByteArrayOutputStream plain = new ByteArrayOutputStream();
        plain.write(layout(2, CLUSTER, "kvm-a", "kvm-b", 4, 2, 100, 90, 120, 0, 0));
        DataOutputStream out = new DataOutputStream(plain);
        out.writeShort(500);
        out.writeLong(7L);
        out.write(entries);
        // (layout writes the incarnation this test class uses; the heartbeat's is 9)
        byte[] expected = codec.encode(B, first);
        assertEquals(new Ok(B, first), codec.decode(expected));
        assertEquals(plain.size() + HeartbeatCodec.TAG_BYTES, expected.length, "no offset field");
        int digestAt = expected.length - HeartbeatCodec.TAG_BYTES - entries.length - Long.BYTES - Short.BYTES;
        assertEquals(500, ((expected[digestAt] & 0xff) << 8) | (expected[digestAt + 1] & 0xff), "the plain host count");
        // a run marked as one that begins further on, but from the first host, or past the most hosts: refused
        for (int[] bad : new int[][] {{0, 3}, {HeartbeatCodec.MAX_DIGEST_HOSTS - 2, 3}}) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.write(layout(2, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 1, 1, 0, 0));
            DataOutputStream o = new DataOutputStream(body);
            o.writeShort(0x8000 | bad[1]);
            o.writeShort(bad[0]);
            o.writeLong(42);
            o.write(new byte[2 * bad[1]]);
            assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, body.toByteArray())),
                    "a run of " + bad[1] + " hosts from " + bad[0]);
        }
        ByteArrayOutputStream cut = new ByteArrayOutputStream();
        cut.write(layout(2, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 1, 1, 0, 0));
        cut.write(new byte[] {(byte) 0x80, 1, 0});
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, cut.toByteArray())), "an offset cut short");
    }

    @Test
    void aHeartbeatWithTheDefaultRunOfADigestFitsOneEthernetFrame() {
        // the longest cluster id and host names; UDP over IPv6 carries 1,452 bytes in a 1,500-byte frame
        HeartbeatCodec longest = new HeartbeatCodec("c".repeat(HeartbeatCodec.MAX_CLUSTER_ID_BYTES), KEY);
        int hosts = io.havn.common.node.Settings.defaults().digestHosts();
        Heartbeat hb = new Heartbeat(new HostId("a".repeat(63)), 9, 4, 2, 100, 90, 120, false,
                new HealthDigest(7L, 1, new byte[2 * hosts]));
        int bytes = longest.encode(new HostId("b".repeat(63)), hb).length;
        assertTrue(bytes <= 1452, "a heartbeat of " + bytes + " bytes");
    }

    @Test
    void aDigestRoundTripsUpToTheMostHostsAndItsLayoutIsChecked() throws IOException {
        for (int hosts : new int[] {1, 1000, HeartbeatCodec.MAX_DIGEST_HOSTS}) {
            byte[] entries = new byte[2 * hosts];
            for (int i = 0; i < entries.length; i++) {
                entries[i] = (byte) (i * 37);
            }
            Heartbeat hb = new Heartbeat(A, 9, 4, 2, 100, 90, 120, false, new HealthDigest(0x0123456789abcdefL, entries));
            byte[] datagram = codec.encode(B, hb);
            assertTrue(datagram.length <= HeartbeatCodec.MAX_DATAGRAM_BYTES, "datagram of " + datagram.length + " bytes");
            assertEquals(new Ok(B, hb), codec.decode(datagram), "a digest of " + hosts + " hosts");
        }
        assertThrows(IllegalArgumentException.class, () -> codec.encode(B, new Heartbeat(A, 9, 4, 2, 100, 90, 120, false,
                new HealthDigest(1, new byte[2 * HeartbeatCodec.MAX_DIGEST_HOSTS + 2]))));
        assertThrows(IllegalArgumentException.class, () -> codec.encode(B, new Heartbeat(A, 9, 4, 2, 100, 90, 120, false,
                new HealthDigest(1, HeartbeatCodec.MAX_DIGEST_HOSTS - 1, new byte[4]))), "a run past the last place");
        for (int[] bad : new int[][] {{0, 0}, {3, 4}, {3, 8}, {HeartbeatCodec.MAX_DIGEST_HOSTS + 1, 2 * (HeartbeatCodec.MAX_DIGEST_HOSTS + 1)}}) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            body.write(layout(2, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 1, 1, 0, 0));
            DataOutputStream out = new DataOutputStream(body);
            out.writeShort(bad[0]);
            out.writeLong(42);
            out.write(new byte[bad[1]]);
            assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, body.toByteArray())),
                    "a digest saying " + bad[0] + " hosts with " + bad[1] + " bytes");
        }
        ByteArrayOutputStream cut = new ByteArrayOutputStream();
        cut.write(layout(2, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 1, 1, 0, 0));
        cut.write(new byte[] {0, 1, 0, 0, 0});
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, cut.toByteArray())), "a digest cut short");
    }

    @Test
    void authenticDatagramsWithBadFieldsAreMalformed() throws IOException {
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, layout(2, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 1, 1, 2, 0))),
                "frozen flag 2");
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, layout(2, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 1, -1, 0, 0))),
                "negative unconfirmedMs");
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, layout(2, CLUSTER, "bad name", "kvm-b", 1, 1, 1, 1, 1, 0, 0))),
                "invalid sender name");
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, layout(2, CLUSTER, "kvm-a", "-b", 1, 1, 1, 1, 1, 0, 0))),
                "invalid receiver name");
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, layout(2, CLUSTER, "", "kvm-b", 1, 1, 1, 1, 1, 0, 0))),
                "empty sender name");
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, layout(2, CLUSTER, "kvm-a", "kvm-b", 1, 1, 1, 1, 1, 0, 1))),
                "a trailing byte");
        assertEquals(new Rejected(Reason.MALFORMED), codec.decode(signed(KEY, layout(2, CLUSTER, "kvm-\u00e9", "kvm-b", 1, 1, 1, 1, 1, 0, 0))),
                "a non-ASCII sender name");
    }

    @Test
    void constructorRefusesShortKeysAndBadClusterIds() {
        IllegalArgumentException shortKey = assertThrows(IllegalArgumentException.class,
                () -> new HeartbeatCodec(CLUSTER, new byte[15]));
        assertTrue(shortKey.getMessage().contains("15 bytes") && shortKey.getMessage().contains("16"), shortKey.getMessage());
        new HeartbeatCodec(CLUSTER, new byte[16]);
        IllegalArgumentException empty = assertThrows(IllegalArgumentException.class, () -> new HeartbeatCodec("", KEY));
        assertTrue(empty.getMessage().contains("cluster id"), empty.getMessage());
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                () -> new HeartbeatCodec("ü".repeat(33), KEY));
        assertTrue(tooLong.getMessage().contains("66 bytes"), tooLong.getMessage());
    }

    @Test
    void theKeyIsCopiedAndNeverShown() {
        byte[] key = KEY.clone();
        HeartbeatCodec c = new HeartbeatCodec(CLUSTER, key);
        Arrays.fill(key, (byte) 0);
        Heartbeat hb = new Heartbeat(A, 1, 1, 1, 1, 1, false);
        assertEquals(new Ok(B, hb), codec.decode(c.encode(B, hb)));
        assertFalse(c.toString().contains(new String(KEY, StandardCharsets.US_ASCII)), c.toString());
    }

    // ---- key files

    @Test
    void readsAHexKeyFileWithSurroundingWhiteSpace(@TempDir Path dir) throws IOException {
        Path file = privateFile(dir.resolve("cluster.key"));
        Files.writeString(file, "  " + HexFormat.of().formatHex(KEY).toUpperCase() + "\n");
        assertArrayEquals(KEY, HeartbeatCodec.readKeyFile(file));
    }

    @Test
    void aKeyFileOthersMayReadIsRefusedNamingItsModeAndTheFix(@TempDir Path dir) throws IOException {
        Path file = privateFile(dir.resolve("cluster.key"));
        Files.writeString(file, HexFormat.of().formatHex(KEY));
        for (String mode : new String[] {"rw-r--r--", "rw-r-----", "rw----r--", "rw--w----", "r--r-----"}) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> HeartbeatCodec.readKeyFile(file), mode);
            assertTrue(e.getMessage().contains(file + " may be read or changed by others than its owner (" + mode + ")")
                    && e.getMessage().contains("chmod 0600 " + file), e.getMessage());
        }
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));
        assertArrayEquals(KEY, HeartbeatCodec.readKeyFile(file), "0400 is private too");
    }

    @Test
    void aKeyFileOwnedByAnotherUserIsRefused(@TempDir Path dir) throws IOException {
        Path file = privateFile(dir.resolve("cluster.key"));
        Files.writeString(file, HexFormat.of().formatHex(KEY));
        int me = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        int daemon;
        if (me == 0) {
            // root may give the file away: the daemon runs as uid 4242, the file is root's (accepted) or uid 4343's
            daemon = 4242;
            assertArrayEquals(KEY, HeartbeatCodec.readKeyFile(file, daemon), "a root-owned key is accepted");
            Files.setAttribute(file, "unix:uid", 4343);
        } else {
            daemon = me + 1; // the file is ours, but the daemon is said to run as someone else
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> HeartbeatCodec.readKeyFile(file, daemon));
        assertTrue(e.getMessage().contains(file + " is owned by uid ")
                && e.getMessage().contains("neither this daemon's user (uid " + daemon + ") nor root"), e.getMessage());
    }

    /** An empty file that only its owner may read and write, as a cluster key file must be. */
    private static Path privateFile(Path file) throws IOException {
        Files.deleteIfExists(file);
        return Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    }

    @Test
    void keyFileErrorsNameTheFileAndTheProblem(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("cluster.key");
        IOException missing = assertThrows(IOException.class, () -> HeartbeatCodec.readKeyFile(file));
        assertTrue(missing.getMessage().contains(file.toString()) && missing.getMessage().contains("does not exist"),
                missing.getMessage());
        privateFile(file);

        assertKeyRefused(file, "\n", "empty");
        assertKeyRefused(file, "00112233445566778899aabbccddeeff0", "odd number");
        assertKeyRefused(file, "00112233445566778899aabbccddee", "15-byte key");
        assertKeyRefused(file, "00112233445566778899aabbccddeeff 00", "byte 32 is not a hex digit");
        assertKeyRefused(file, "secret-zz-112233445566778899aabbccddeeff", "not a hex digit");
        Files.write(file, new byte[5000]);
        assertKeyRefused(file, null, "larger than");
    }

    private static void assertKeyRefused(Path file, String content, String problem) throws IOException {
        if (content != null) {
            Files.writeString(file, content);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HeartbeatCodec.readKeyFile(file));
        assertTrue(e.getMessage().contains(file.toString()), "names the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(problem), "says '" + problem + "': " + e.getMessage());
        if (content != null && content.contains("secret")) {
            assertFalse(e.getMessage().contains("secret"), "shows no content: " + e.getMessage());
        }
    }

    // ---- the layout, written out independently of the codec

    /** The incarnation every hand-written datagram carries. */
    static final long INCARNATION = 0x1122334455667788L;

    /** The bytes before the tag, as the class comment documents them; {@code trailing} extra zero bytes. */
    static byte[] layout(int version, String cluster, String from, String to, long sequence, long epoch,
                         long sentNanos, long echoNanos, int unconfirmedMs, int frozen, int trailing) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = head(bytes, 'V', version, cluster, from, to);
        out.writeLong(INCARNATION);
        out.writeLong(sequence);
        out.writeLong(epoch);
        out.writeLong(sentNanos);
        out.writeLong(echoNanos);
        out.writeInt(unconfirmedMs);
        out.writeByte(frozen);
        out.write(new byte[trailing]);
        return bytes.toByteArray();
    }

    /** The envelope's head of a datagram of {@code kind} ('V' heartbeats, 'S' signals), written to {@code bytes}. */
    static DataOutputStream head(ByteArrayOutputStream bytes, char kind, int version, String cluster, String from,
                                 String to) throws IOException {
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeByte('H');
        out.writeByte(kind);
        out.writeByte(version);
        for (byte[] field : List.of(cluster.getBytes(StandardCharsets.UTF_8), from.getBytes(StandardCharsets.UTF_8),
                to.getBytes(StandardCharsets.UTF_8))) {
            out.writeByte(field.length);
            out.write(field);
        }
        return out;
    }

    static byte[] signed(byte[] key, byte[] body) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] tag = mac.doFinal(body);
            byte[] out = Arrays.copyOf(body, body.length + tag.length);
            System.arraycopy(tag, 0, out, body.length, tag.length);
            return out;
        } catch (GeneralSecurityException e) {
            throw new AssertionError(e);
        }
    }
}
