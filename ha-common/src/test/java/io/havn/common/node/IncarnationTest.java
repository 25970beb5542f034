package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class IncarnationTest {
    @Test
    void aWallClockThatSteppedBackCannotTakeItBelowTheRecord() {
        assertEquals(1_700_000_000_001L, Incarnation.next(OptionalLong.of(1_700_000_000_000L), 1_699_999_970_000L));
    }

    @Test
    void aWallClockAheadOfTheRecordIsTaken() {
        assertEquals(1_700_000_100_000L, Incarnation.next(OptionalLong.of(1_700_000_000_000L), 1_700_000_100_000L));
    }

    @Test
    void withoutARecordTheWallClockIsTheFloor() {
        assertEquals(1_700_000_000_000L, Incarnation.next(OptionalLong.empty(), 1_700_000_000_000L));
        assertEquals(1, Incarnation.next(OptionalLong.empty(), -5), "never below 1");
    }

    @Test
    void consecutiveStartsWithAFrozenClockStillGrow() {
        long a = Incarnation.next(OptionalLong.empty(), 1000);
        long b = Incarnation.next(OptionalLong.of(a), 1000);
        long c = Incarnation.next(OptionalLong.of(b), 1000);
        assertEquals(1000, a);
        assertEquals(1001, b);
        assertEquals(1002, c);
    }

    @Test
    void aRecordAtTheMaximumIsAnError() {
        assertThrows(IllegalStateException.class, () -> Incarnation.next(OptionalLong.of(Long.MAX_VALUE), 0));
    }
}
