package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.VmId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The wait before a drain tries a failed migration again: doubling, capped, spread per VM. */
class DrainRetryTest {
    @ParameterizedTest(name = "after {0} failures: {1} ms plus up to a quarter")
    @CsvSource({"1, 1000", "2, 2000", "3, 4000", "4, 8000", "6, 32000", "7, 60000", "20, 60000", "1000, 60000"})
    void theWaitDoublesUpToAMinuteAndIsSpreadByAtMostAQuarter(int failures, long baseMs) {
        for (String name : new String[] {"a", "web1", "db-primary", "6f1c5c2e-2f6b-4a55-9c39-3d1d2d6f0a01"}) {
            long w = Moves.retryWaitMs(new VmId(name), failures);
            assertTrue(w >= baseMs && w <= baseMs + baseMs / 4, name + ": " + w + " ms");
        }
    }

    @Test
    void twoVmsOfOneHostDoNotRetryInStep() {
        assertNotEquals(Moves.retryWaitMs(new VmId("web1"), 3), Moves.retryWaitMs(new VmId("web2"), 3));
    }
}
