package io.havn.daemon.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class SlotsTest {
    /** Two open slots and one reserved; connections are named by who holds them. */
    private final Slots<String> slots = new Slots<>(2, 1);

    private void hold(String c, boolean privileged, boolean requestComplete) {
        assertEquals(new Slots.Verdict<String>(true, null), slots.admit(privileged), "room for " + c);
        slots.add(c, privileged);
        if (requestComplete) {
            slots.requestComplete(c);
        }
    }

    @Test
    void anyoneIsAdmittedWhileOpenSlotsAreFree() {
        hold("a", false, false);
        hold("b", false, false);
        assertEquals(List.of("a", "b"), slots.held());
    }

    @Test
    void whenOpenSlotsAreFullANewcomerTakesTheOldestSendersSlot() {
        hold("a", false, false);
        hold("b", false, false);
        assertEquals(new Slots.Verdict<>(true, "a"), slots.admit(false), "the oldest still sending yields");
    }

    @Test
    void aConnectionBeingAnsweredIsNeverEvicted() {
        hold("a", false, true);
        hold("b", false, false);
        assertEquals(new Slots.Verdict<>(true, "b"), slots.admit(false));
        slots.requestComplete("b");
        assertEquals(Slots.Verdict.busy(), slots.admit(false), "both are being answered: busy");
    }

    @Test
    void theReserveIsForPrivilegedPeersOnly() {
        hold("a", false, true);
        hold("b", false, true);
        assertEquals(Slots.Verdict.busy(), slots.admit(false), "others are turned away");
        assertEquals(new Slots.Verdict<String>(true, null), slots.admit(true), "root gets the reserved slot");
    }

    @Test
    void anUnprivilegedNewcomerNeverTakesAPrivilegedSlot() {
        hold("root1", true, false);
        hold("root2", true, false);
        hold("root3", true, false);
        assertEquals(Slots.Verdict.busy(), slots.admit(false), "only privileged senders hold slots");
        assertEquals(new Slots.Verdict<>(true, "root1"), slots.admit(true), "a privileged newcomer may");
    }

    @Test
    void aPrivilegedNewcomerDisplacesAnUnprivilegedSenderFirst() {
        hold("root1", true, false);
        hold("a", false, false);
        hold("b", false, true);
        assertEquals(new Slots.Verdict<>(true, "a"), slots.admit(true));
    }

    @Test
    void aRemovedConnectionFreesItsSlot() {
        hold("a", false, true);
        hold("b", false, true);
        slots.remove("a");
        assertEquals(1, slots.size());
        assertEquals(new Slots.Verdict<String>(true, null), slots.admit(false));
    }

    @Test
    void slotsNeedAtLeastOneOpenSlot() {
        assertThrows(IllegalArgumentException.class, () -> new Slots<String>(0, 4));
    }
}
