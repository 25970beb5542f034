package io.havn.daemon.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.node.Decision;
import io.havn.daemon.log.LoggingDecisionLog;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The demo reads the very lines the daemon's decision log writes, behind its time stamp. */
class DecisionLineTest {
    private static String logged(Decision d) {
        return "2026-11-25T19:00:01.250Z INFO  havn.decision - " + LoggingDecisionLog.format(d);
    }

    @Test
    void readsWhatTheDecisionLogWrites() {
        Decision off = new Decision(0, new HostId("host1"), Decision.Kind.FENCE_OFF, null, new HostId("host3"), 4,
                "device confirmed \"off\"");
        DecisionLine l = DecisionLine.parse(logged(off)).orElseThrow();
        assertEquals(Instant.parse("2026-11-25T19:00:01.250Z"), l.at());
        assertEquals(Decision.Kind.FENCE_OFF, l.kind());
        assertEquals("host1", l.host());
        assertEquals("host3", l.subject());
        assertEquals(4, l.epoch());
        assertEquals("device confirmed \"off\"", l.reason());
    }

    @Test
    void readsARecoveredLineWithItsTimings() {
        Decision rec = new Decision(0, new HostId("host1"), Decision.Kind.RECOVERED, new VmId("vm-a"),
                new HostId("host3"), 4, "claimed by host2, which starts it",
                new Decision.Timings(1_500_000_000L, 20_000_000L, 110_000_000L, Decision.Proof.FENCE_DEVICE));
        DecisionLine l = DecisionLine.parse(logged(rec)).orElseThrow();
        assertEquals(Decision.Kind.RECOVERED, l.kind());
        assertEquals("vm-a", l.vm());
        assertEquals("claimed by host2, which starts it", l.reason());
    }

    @Test
    void otherLinesAreNotDecisions() {
        assertTrue(DecisionLine.parse("2026-11-25T19:00:01.250Z INFO  i.h.d.Havnd - havnd started").isEmpty());
    }
}
