package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Retries of failed operations back off: doubling, capped, spread by what is retried. */
class BackoffTest {
    @ParameterizedTest(name = "base {0}, max {1}, after {2} failures: {3} ms plus up to a quarter")
    @CsvSource({"5000, 60000, 1, 5000", "5000, 60000, 2, 10000", "5000, 60000, 4, 40000", "5000, 60000, 5, 60000",
        "5000, 60000, 64, 60000", "1000, 1000, 3, 1000"})
    void doublesUpToTheMaximumPlusAtMostAQuarter(long base, long max, int failures, long expected) {
        for (String key : new String[] {"node1", "node2", "a-much-longer-host-name.example"}) {
            long w = Backoff.waitMs(base, max, new HostId(key), failures);
            assertTrue(w >= expected && w <= expected + expected / 4, key + ": " + w);
        }
    }

    @Test
    void noFailureIsNoRetry() {
        assertThrows(IllegalArgumentException.class, () -> Backoff.waitMs(1000, 60000, "x", 0));
    }

    @Test
    void aFenceDeviceThatKeepsFailingIsTriedAgainLessAndLessOften() {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("a");
        int attempts = 0;
        for (int t = 0; t < 60_000; t += 100) { // node2 falls silent; its device never answers
            if (rig.calls.stream().filter("fence node2"::equals).count() > attempts) {
                attempts++;
                rig.driver.handle(new NodeEvent.FenceDone(new HostId("node2"), false, "timeout"));
            }
            rig.passMs(100, "node3");
        }
        // at a fixed 5 s it would have tried 12 times in the minute; doubling: at 0, 5, 15, 35 s (plus spread)
        assertTrue(attempts >= 3 && attempts <= 4, attempts + " attempts\n" + rig.trail());
        java.util.List<Long> waits = rig.decisions.stream().filter(d -> d.kind() == Decision.Kind.FENCE_FAILED)
                .map(d -> Long.parseLong(d.detail().replaceAll("^timeout; next attempt in (\\d+) ms$", "$1"))).toList();
        assertEquals(attempts, waits.size(), rig.trail());
        for (int i = 0; i < waits.size(); i++) {
            long base = Math.min(60_000, 5_000L << i);
            assertTrue(waits.get(i) >= base && waits.get(i) <= base + base / 4, "wait " + i + ": " + waits);
        }
    }
}
