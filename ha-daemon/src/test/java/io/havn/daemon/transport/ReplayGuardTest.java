package io.havn.daemon.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ReplayGuardTest {
    private static final HostId A = new HostId("a");
    private static final HostId B = new HostId("b");

    private final ReplayGuard guard = new ReplayGuard();

    private static Heartbeat hb(HostId from, long sequence, long sentNanos) {
        return new Heartbeat(from, sequence, 1, sentNanos, Heartbeat.NO_ECHO, 0, false);
    }

    @Test
    void theFirstHeartbeatOfASenderIsAcceptedWhateverItsNumbers() {
        assertTrue(guard.accept(hb(A, Long.MIN_VALUE, Long.MIN_VALUE)));
        assertTrue(guard.accept(hb(B, 0, 0)));
    }

    @Test
    void theSameDatagramIsAcceptedOnlyOnce() {
        Heartbeat hb = hb(A, 5, 1_000);
        assertTrue(guard.accept(hb));
        assertFalse(guard.accept(hb), "exact duplicate");
        assertFalse(guard.accept(hb), "and again");
    }

    @Test
    void anOlderHeartbeatIsRejectedAfterANewerOne() {
        assertTrue(guard.accept(hb(A, 6, 2_000)));
        assertFalse(guard.accept(hb(A, 5, 1_000)), "arrived out of order: older sequence and time");
        assertTrue(guard.accept(hb(A, 7, 3_000)), "the next one still passes");
    }

    @Test
    void aRestartedSenderWithALowerSequenceAndALaterClockIsAccepted() {
        assertTrue(guard.accept(hb(A, 1_000, 50_000)));
        assertTrue(guard.accept(hb(A, 1, 60_000)), "new incarnation: sequence restarted, clock went on");
        assertTrue(guard.accept(hb(A, 2, 60_200)));
    }

    /** The reason for one total order: under "greater sequence OR later clock" this replay would pass each time. */
    @Test
    void theOldIncarnationCannotBeReplayedAfterARestart() {
        Heartbeat old = hb(A, 1_000, 50_000);
        assertTrue(guard.accept(old));
        assertTrue(guard.accept(hb(A, 1, 60_000)));
        assertFalse(guard.accept(old), "old incarnation, greater sequence, earlier clock");
        assertTrue(guard.accept(hb(A, 2, 60_200)));
        assertFalse(guard.accept(old), "still refused after the new incarnation moved on");
    }

    @Test
    void aRebootedSenderIsAcceptedAndItsPreviousLifeCannotBeReplayed() {
        ReplayGuard guard = new ReplayGuard();
        HostId a = new HostId("a");
        Heartbeat before = new Heartbeat(a, 100, 50, 1, 9_000_000_000L, Heartbeat.NO_ECHO, 0, false);
        assertTrue(guard.accept(before));
        // the host rebooted: its monotonic clock and its sequence began again, its incarnation grew
        Heartbeat after = new Heartbeat(a, 200, 1, 1, 5_000_000L, Heartbeat.NO_ECHO, 0, false);
        assertTrue(guard.accept(after), "a later incarnation passes with a smaller clock");
        assertFalse(guard.accept(before), "a replay of the previous incarnation never passes again");
        assertFalse(guard.accept(new Heartbeat(a, 100, 51, 1, 9_100_000_000L, Heartbeat.NO_ECHO, 0, false)),
                "nor anything else of it");
    }

    @Test
    void aSequenceBreaksATieOfClocks() {
        assertTrue(guard.accept(hb(A, 1, 1_000)));
        assertTrue(guard.accept(hb(A, 2, 1_000)));
        assertFalse(guard.accept(hb(A, 1, 1_000)));
        assertFalse(guard.accept(hb(A, 3, 999)), "a greater sequence with an earlier clock is older");
    }

    @Test
    void sendersAreJudgedSeparately() {
        assertTrue(guard.accept(hb(A, 100, 100_000)));
        assertTrue(guard.accept(hb(B, 1, 1)));
        assertFalse(guard.accept(hb(A, 1, 1)));
    }

    @Test
    void aForgottenSenderStartsAfresh() {
        assertTrue(guard.accept(hb(A, 100, 100_000)));
        guard.forget(A);
        assertTrue(guard.accept(hb(A, 1, 5)), "e.g. a rebooted host whose monotonic clock restarted");
        assertFalse(guard.accept(hb(A, 1, 5)));
    }

    @Test
    void racingThreadsAcceptOneDatagramOnce() throws Exception {
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 200; round++) {
                Heartbeat hb = hb(A, round + 1, round + 1);
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Boolean>> results = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    Callable<Boolean> accept = () -> {
                        go.await();
                        return guard.accept(hb);
                    };
                    results.add(pool.submit(accept));
                }
                go.countDown();
                int accepted = 0;
                for (Future<Boolean> r : results) {
                    accepted += r.get(10, TimeUnit.SECONDS) ? 1 : 0;
                }
                assertEquals(1, accepted, "round " + round);
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
