package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.havn.common.model.HostId;
import io.havn.common.node.HostSignal;
import io.havn.common.node.HostSignal.Guard;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SlotCodecTest {
    static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final HostSignal ARMED = new HostSignal(new HostId("node2"), 1_700_000_000_000L, 42, Guard.ARMED,
            5_500);

    private final SlotCodec codec = SlotCodec.fromClusterKey("prod", "vmstore", KEY);

    /** An area of {@code slots} empty slots with {@code slot} written at {@code at}. */
    private static byte[] area(int slots, byte[] slot, int at) {
        byte[] a = new byte[slots * SlotLayout.SLOT_BYTES];
        System.arraycopy(slot, 0, a, at * SlotLayout.SLOT_BYTES, slot.length);
        return a;
    }

    @Test
    void aRecordReadsBackFromItsSlotWithTheWritersCount() {
        byte[] slot = codec.encode(ARMED, 1, 3);
        assertEquals(SlotLayout.SLOT_BYTES, slot.length);
        assertEquals(new SlotCodec.Slot(SlotCodec.Kind.RECORD, ARMED, 3), codec.decode(area(3, slot, 1), 1));
        for (Guard g : Guard.values()) {
            HostSignal s = new HostSignal(new HostId("a-much-longer-host-name.example"), 9, Long.MAX_VALUE, g,
                    g == Guard.ARMED ? Integer.MAX_VALUE : 0);
            assertEquals(s, codec.decode(area(1, codec.encode(s, 0, 1), 0), 0).record(), g.name());
        }
    }

    @Test
    void zerosAreAnEmptySlotAndOtherDataIsForeign() {
        assertEquals(SlotCodec.Kind.EMPTY, codec.decode(new byte[2 * SlotLayout.SLOT_BYTES], 1).kind());
        byte[] mbr = new byte[SlotLayout.SLOT_BYTES];
        mbr[510] = 0x55;
        mbr[511] = (byte) 0xaa; // a boot sector: somebody's disk
        assertEquals(SlotCodec.Kind.FOREIGN, codec.decode(mbr, 0).kind());
    }

    @Test
    void aRecordMovedToAnotherSlotDatastoreOrClusterFailsItsSeal() {
        byte[] slot = codec.encode(ARMED, 0, 2);
        assertEquals(SlotCodec.Kind.BAD_SEAL, codec.decode(area(2, slot, 1), 1).kind(), "copied into another slot");
        assertEquals(SlotCodec.Kind.BAD_SEAL,
                SlotCodec.fromClusterKey("prod", "lun2", KEY).decode(area(2, slot, 0), 0).kind(), "another datastore");
        assertEquals(SlotCodec.Kind.BAD_SEAL,
                SlotCodec.fromClusterKey("test", "vmstore", KEY).decode(area(2, slot, 0), 0).kind(), "another cluster");
        byte[] otherKey = KEY.clone();
        otherKey[0] ^= 1;
        assertEquals(SlotCodec.Kind.BAD_SEAL,
                SlotCodec.fromClusterKey("prod", "vmstore", otherKey).decode(area(2, slot, 0), 0).kind(), "another key");
    }

    @Test
    void everyByteOfTheRecordIsSealed() {
        byte[] slot = codec.encode(ARMED, 0, 1);
        int sealed = 3 + 1 + 2 + 1 + "node2".length() + 8 + 8 + 1 + 4 + SlotCodec.TAG_BYTES;
        for (int i = 4; i < sealed; i++) {
            byte[] forged = slot.clone();
            forged[i] ^= 0x01;
            SlotCodec.Kind k = codec.decode(forged, 0).kind();
            assertFalse(k == SlotCodec.Kind.RECORD, "byte " + i + " changed, yet read as " + k);
        }
        byte[] version = slot.clone();
        version[3] = 2;
        assertEquals(SlotCodec.Kind.MALFORMED, codec.decode(version, 0).kind(), "a version this havn cannot read");
    }

    @Test
    void aSlotOutsideTheAreaIsMalformedNotAnException() {
        assertEquals(SlotCodec.Kind.MALFORMED, codec.decode(new byte[100], 0).kind());
        assertEquals(SlotCodec.Kind.MALFORMED, codec.decode(new byte[SlotLayout.SLOT_BYTES], 1).kind());
    }

    @Test
    void theKeyIsNotKeptAndMustNotBeEmpty() {
        byte[] key = KEY.clone();
        SlotCodec c = SlotCodec.fromClusterKey("prod", "vmstore", key);
        Arrays.fill(key, (byte) 0);
        byte[] slot = c.encode(ARMED, 0, 1);
        assertEquals(SlotCodec.Kind.RECORD, codec.decode(slot, 0).kind(), "sealed with the key as it was given");
        assertThrows(IllegalArgumentException.class, () -> SlotCodec.fromClusterKey("prod", "vmstore", new byte[0]));
        assertFalse(c.toString().contains("0123"), c.toString());
    }
}
