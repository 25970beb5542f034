package io.havn.daemon.systemd;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The probe answers true only when the command prints "stopping"; whatever goes wrong is "no". */
class HostShutdownProbeTest {
    private static boolean asks(String script, long timeoutMs) {
        return HostShutdownProbe.command(List.of("sh", "-c", script), timeoutMs).hostShuttingDown();
    }

    @Test
    void stoppingIsAHostShutdownWhateverTheExitStatus() {
        assertTrue(asks("echo stopping; exit 1", 5_000), "is-system-running exits 1 while stopping");
        assertTrue(asks("echo stopping", 5_000));
    }

    @Test
    void anyOtherStateIsNot() {
        for (String state : List.of("running", "degraded", "starting", "maintenance", "offline", "unknown", "")) {
            assertFalse(asks("echo '" + state + "'; exit 1", 5_000), state);
        }
        assertFalse(asks("echo stopping now", 5_000), "only the word itself");
    }

    @Test
    void aCommandThatHangsOrCannotRunIsNot() {
        long start = System.nanoTime();
        assertFalse(asks("sleep 20; echo stopping", 300));
        assertTrue(System.nanoTime() - start < 10_000_000_000L, "gave up at its timeout");
        assertFalse(HostShutdownProbe.command(List.of("/nonexistent/systemctl", "is-system-running"), 1_000)
                .hostShuttingDown());
    }
}
