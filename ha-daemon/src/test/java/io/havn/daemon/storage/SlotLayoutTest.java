package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.havn.common.model.HostId;
import java.util.List;
import org.junit.jupiter.api.Test;

class SlotLayoutTest {
    private static final HostId A = new HostId("hv-a");
    private static final HostId B = new HostId("hv-b");
    private static final HostId C = new HostId("hv-c");

    @Test
    void eachHostsSlotIsItsPlaceAmongTheMembersByName() {
        SlotLayout b = SlotLayout.of(List.of(C, A, B), B);
        assertEquals(List.of(A, B, C), b.members());
        assertEquals(1, b.self());
        assertEquals(3 * 4096, b.areaBytes());
        assertEquals(4096, b.offset(b.self()));
        assertEquals(0, SlotLayout.of(List.of(C, B, A), A).self());
        assertEquals(2, SlotLayout.of(List.of(A, B, C), C).self());
    }

    @Test
    void thisHostIsAMemberWhetherListedOrNot() {
        assertEquals(SlotLayout.of(List.of(A, B, C), B), SlotLayout.of(List.of(A, C), B),
                "the same list serves every host, and a host may leave itself out");
        assertEquals(new SlotLayout(List.of(A), 0), SlotLayout.of(List.of(), A));
    }

    @Test
    void anUnsortedListOrASelfOutsideItIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new SlotLayout(List.of(B, A), 0));
        assertThrows(IllegalArgumentException.class, () -> new SlotLayout(List.of(A, A), 0));
        assertThrows(IllegalArgumentException.class, () -> new SlotLayout(List.of(A, B), 2));
    }
}
