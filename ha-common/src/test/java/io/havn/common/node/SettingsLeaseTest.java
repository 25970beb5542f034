package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The lease a negotiated session timeout allows, with the defaults (F 6 s, W 3 s, suspect 1.5 s, confirm 0.5 s). */
class SettingsLeaseTest {
    @ParameterizedTest(name = "negotiated {0} ms -> lease {1} ms")
    @CsvSource({
        "10000, 6000", // as asked: F itself (10 s - 3 s - 0.5 s = 6.5 s leaves room for all of F)
        "20000, 6000", // more than asked never lengthens F
        "9000, 5500",  // 9 s - 3 s - 0.5 s
        "8000, 4500",
        "5001, 1501",  // just above suspectAfterMs
        "5000, 0",     // 1.5 s is not above suspectAfterMs: no lease fits
        "4000, 0",     // ZooKeeper's default maximum at tickTime 200 ms
        "0, 0",
    })
    void leaseForANegotiatedTimeout(long negotiatedMs, long leaseMs) {
        assertEquals(leaseMs, Settings.defaults().leaseForSessionMs(negotiatedMs));
    }

    @ParameterizedTest(name = "T {0} ms -> drift margin {1} ms")
    @CsvSource({"10000, 500", "20000, 1000", "4000, 500", "60000, 3000"})
    void theDriftMarginIsFivePercentAndAtLeastHalfASecond(long timeoutMs, long marginMs) {
        assertEquals(marginMs, Settings.driftMarginMs(timeoutMs));
    }
}
