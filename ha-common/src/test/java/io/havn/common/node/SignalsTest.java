package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The second liveness signal: when a peer's signal shows its host alive, and which signals are taken. */
class SignalsTest {
    private static final HostId H = new HostId("node2");
    private static final long MS = 1_000_000L;
    /** DESIGN.md's defaults: a heartbeat timeout of 1 s. */
    private static final Settings SETTINGS = Settings.defaults();

    private static HostSignal signal(long incarnation, long sequence, String guard, int remainingMs) {
        return new HostSignal(H, incarnation, sequence, HostSignal.Guard.valueOf(guard), remainingMs);
    }

    @ParameterizedTest(name = "{0} with {1} ms left, judged {2} ms after it arrived: alive {3}")
    @CsvSource(delimiter = '|', textBlock = """
            ARMED    | 5000 |    0 | true
            ARMED    | 5000 |  999 | true
            ARMED    | 5000 | 1000 | false
            ARMED    |  300 |  299 | true
            ARMED    |  300 |  300 | false
            ARMED    |  300 |  500 | false
            ARMED    |    1 |    0 | true
            RELEASED |    0 |    0 | true
            RELEASED |    0 |  999 | true
            RELEASED |    0 | 1000 | false
            LAPSED   |    0 |    0 | false
            LAPSED   |    0 |  500 | false
            """)
    void aHostIsAliveByItsSignalOnlyWhileItIsFreshAndItsWatchdogIsArmedAheadOrReleased(
            String guard, int remainingMs, long afterMs, boolean alive) {
        Signals s = new Signals(SETTINGS);
        long arrival = 50_000 * MS;
        assertTrue(s.received(signal(1, 1, guard, remainingMs), arrival));
        String why = s.alive(H, arrival + afterMs * MS);
        assertEquals(alive, why != null, "alive: " + why);
    }

    @Test
    void aHostNeverHeardFromIsNotShownAlive() {
        Signals s = new Signals(SETTINGS);
        assertNull(s.alive(H, 0));
        assertEquals(Long.MIN_VALUE, s.lastArrival(H));
        assertNull(s.last(H));
    }

    @Test
    void theReasonSaysHowLongTheWatchdogStaysArmed() {
        Signals s = new Signals(SETTINGS);
        s.received(signal(1, 1, "ARMED", 4_000), 10 * MS);
        assertEquals("its signal says it runs, its watchdog armed for another 3700 ms", s.alive(H, 310 * MS));
    }

    @ParameterizedTest(name = "after incarnation {0} sequence {1}: incarnation {2} sequence {3} taken {4}")
    @CsvSource(delimiter = '|', textBlock = """
            5 | 10 | 5 | 11 | true
            5 | 10 | 5 | 10 | false
            5 | 10 | 5 |  9 | false
            5 | 10 | 6 |  1 | true
            5 | 10 | 4 | 99 | false
            """)
    void onlyALaterSignalIsTaken(long inc, long seq, long nextInc, long nextSeq, boolean taken) {
        Signals s = new Signals(SETTINGS);
        s.received(signal(inc, seq, "LAPSED", 0), 0);
        // a replayed ARMED one must not bring a lapsed host back to life
        assertEquals(taken, s.received(signal(nextInc, nextSeq, "ARMED", 5_000), 100 * MS));
        assertEquals(taken, s.alive(H, 100 * MS) != null);
        assertEquals(taken ? 100 * MS : 0, s.lastArrival(H));
    }

    @Test
    void aHostGoneFromTheClusterIsForgotten() {
        Signals s = new Signals(SETTINGS);
        s.received(signal(1, 1, "RELEASED", 0), 0);
        assertNotNull(s.alive(H, 0));
        s.remove(H);
        assertNull(s.alive(H, 0));
        assertTrue(s.received(signal(1, 1, "RELEASED", 0), 0), "taken again from the start");
    }

    @ParameterizedTest(name = "{0} with {1} ms is refused")
    @CsvSource({"ARMED, 0", "ARMED, -1", "RELEASED, 5", "LAPSED, 1"})
    void aSignalWhoseRemainingTimeContradictsItsGuardIsRefused(String guard, int remainingMs) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> signal(1, 1, guard, remainingMs));
        assertTrue(e.getMessage().contains("remainingMs"), e.getMessage());
    }

    @Test
    void isAfterComparesIncarnationFirst() {
        assertTrue(signal(2, 1, "LAPSED", 0).isAfter(signal(1, 9, "LAPSED", 0)));
        assertFalse(signal(1, 9, "LAPSED", 0).isAfter(signal(2, 1, "LAPSED", 0)));
        assertFalse(signal(1, 1, "LAPSED", 0).isAfter(signal(1, 1, "LAPSED", 0)));
    }
}
