package io.havn.sim.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DurationsTest {

    @Test
    void parsesEveryUnit() {
        assertEquals(500, Durations.parseMs("500ms"));
        assertEquals(26_000, Durations.parseMs("26s"));
        assertEquals(120_000, Durations.parseMs("2m"));
        assertEquals(0, Durations.parseMs("0s"));
    }

    @Test
    void rejectsAnythingElse() {
        for (String bad : new String[] {"", "30", "1.5s", "-1s", "2h", "30 s", " 30s", "s", "1e3ms", "99999999999999999m"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Durations.parseMs(bad), bad);
            assertTrue(e.getMessage().contains("invalid duration '" + bad + "'"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Durations.parseMs(null));
    }

    @Test
    void formatsWithTheLargestExactUnit() {
        assertEquals("2m", Durations.format(120_000));
        assertEquals("1500ms", Durations.format(1_500));
        assertEquals("26s", Durations.format(26_000));
        assertEquals("90s", Durations.format(90_000));
        assertEquals("0s", Durations.format(0));
        assertThrows(IllegalArgumentException.class, () -> Durations.format(-1));
        for (long ms : new long[] {0, 1, 999, 1000, 59_000, 60_000, 61_500, 3_600_000}) {
            assertEquals(ms, Durations.parseMs(Durations.format(ms)));
        }
    }
}
