package io.havn.common.detect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class PhiAccrualDetectorTest {
    private static final long MS = 1_000_000L;
    private static final double THRESHOLD = 8.0;

    /** The settings the task names: window 100, min stddev 100 ms, acceptable pause 1 s, first interval 200 ms. */
    private static PhiAccrualDetector standard() {
        return new PhiAccrualDetector(100, 100 * MS, 1000 * MS, 200 * MS);
    }

    /** Feeds {@code n} heartbeats {@code intervalNanos} apart starting at {@code start}; returns the last time. */
    private static long feedRegular(PhiAccrualDetector d, long start, int n, long intervalNanos) {
        long t = start;
        for (int i = 0; i < n; i++) {
            d.heartbeat(t);
            if (i < n - 1) {
                t += intervalNanos;
            }
        }
        return t;
    }

    /** Akka's formula, written the way Akka writes it, as the reference for moderate values. */
    private static double akkaPhi(double timeDiff, double mean, double stdDev) {
        double y = (timeDiff - mean) / stdDev;
        double e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
        return timeDiff > mean ? -Math.log10(e / (1.0 + e)) : -Math.log10(1.0 - 1.0 / (1.0 + e));
    }

    @Test
    void phiIsZeroAndNothingRecordedBeforeTheFirstHeartbeat() {
        PhiAccrualDetector d = standard();
        assertEquals(0.0, d.phi(0));
        assertEquals(0.0, d.phi(Long.MAX_VALUE));
        assertEquals(0.0, d.phi(Long.MIN_VALUE));
        assertTrue(d.isAvailable(123_456_789L, THRESHOLD));
        assertEquals(Long.MIN_VALUE, d.lastHeartbeatNanos());
        assertEquals(0, d.sampleCount());
    }

    @Test
    void firstHeartbeatSeedsTheWindowWithTheEstimate() {
        // pause 0 and a tiny stddev floor: phi at exactly the estimated interval is at y = 0, i.e. log10(2)
        PhiAccrualDetector d = new PhiAccrualDetector(100, 1, 0, 200 * MS);
        d.heartbeat(5_000 * MS);
        assertEquals(2, d.sampleCount(), "seeded with mean - stddev and mean + stddev");
        assertEquals(5_000 * MS, d.lastHeartbeatNanos());
        assertEquals(Math.log10(2.0), d.phi(5_200 * MS), 1e-12);
        // seeds 150 ms and 250 ms: mean 200 ms, stddev 50 ms
        for (long dt : new long[] {0, 100 * MS, 180 * MS, 260 * MS, 320 * MS}) {
            assertEquals(akkaPhi(dt, 200 * MS, 50 * MS), d.phi(5_000 * MS + dt), 1e-9, "dt=" + dt);
        }
    }

    @Test
    void matchesAkkasFormulaIncludingAcceptablePauseAndStdDevFloor() {
        // regular 200 ms heartbeats: measured stddev ~0, so the 100 ms floor applies; mean' = 200 ms + 1 s
        PhiAccrualDetector d = standard();
        long last = feedRegular(d, 0, 500, 200 * MS);
        for (long dt = 0; dt <= 1_900 * MS; dt += 50 * MS) {
            double expected = akkaPhi(dt, 1_200 * MS, 100 * MS);
            assertEquals(expected, d.phi(last + dt), 1e-9 * Math.max(1.0, expected), "dt=" + dt);
        }
    }

    @Test
    void phiIsLowRightAfterAHeartbeatAndGrowsMonotonicallyWithSilence() {
        PhiAccrualDetector d = new PhiAccrualDetector(100, 10 * MS, 0, 200 * MS);
        long last = feedRegular(d, 1_000 * MS, 50, 200 * MS);
        assertTrue(d.phi(last) < 0.1, "right after a heartbeat: " + d.phi(last));
        assertTrue(d.phi(last + 100 * MS) < 0.5, "half an interval later: " + d.phi(last + 100 * MS));

        double previous = d.phi(last);
        for (long t = last; t <= last + 5_000 * MS; t += MS) {
            double p = d.phi(t);
            assertTrue(p >= previous, "phi fell from " + previous + " to " + p + " at +" + (t - last) / MS + " ms");
            previous = p;
        }
        assertTrue(d.phi(last + 400 * MS) > d.phi(last + 250 * MS));
        assertTrue(d.phi(last + 250 * MS) > d.phi(last + 200 * MS));
        assertTrue(previous > 1_000, "after 5 s of silence at 200 ms heartbeats: " + previous);

        d.heartbeat(last + 5_000 * MS);
        assertTrue(d.phi(last + 5_000 * MS) < 1.0, "a heartbeat resets the suspicion");
    }

    @Test
    void aOneSecondPauseIsToleratedButThreeSecondsOfSilenceIsNot() {
        PhiAccrualDetector d = standard();
        long last = feedRegular(d, 0, 300, 200 * MS);

        // the next heartbeat is due at +200 ms; a 1 s pause on top of it is acceptable
        assertTrue(d.phi(last + 1_000 * MS) < THRESHOLD, "1 s silence: " + d.phi(last + 1_000 * MS));
        assertTrue(d.phi(last + 1_200 * MS) < THRESHOLD, "1 s pause: " + d.phi(last + 1_200 * MS));
        assertTrue(d.isAvailable(last + 1_200 * MS, THRESHOLD));

        assertTrue(d.phi(last + 3_000 * MS) >= THRESHOLD, "3 s silence: " + d.phi(last + 3_000 * MS));
        assertFalse(d.isAvailable(last + 3_000 * MS, THRESHOLD));

        // a delayed heartbeat after a 1 s pause keeps the peer available and phi drops back
        d.heartbeat(last + 1_200 * MS);
        assertTrue(d.phi(last + 1_300 * MS) < 1.0);
    }

    @Test
    void jitteredHeartbeatsNeverReachTheThresholdWhenTheyArrive() {
        for (PhiAccrualDetector d : List.of(standard(), new PhiAccrualDetector(100, 10 * MS, 0, 200 * MS))) {
            Random random = new Random(20240611L);
            long t = 7_000 * MS;
            d.heartbeat(t);
            double maxPhi = 0;
            for (int i = 0; i < 2_000; i++) {
                t += (150 + random.nextInt(101)) * MS;
                double p = d.phi(t);
                maxPhi = Math.max(maxPhi, p);
                assertTrue(d.isAvailable(t, THRESHOLD), "heartbeat " + i + " arrived at phi " + p);
                d.heartbeat(t);
            }
            assertTrue(maxPhi < THRESHOLD, "max phi " + maxPhi);
            assertTrue(maxPhi > 0, "phi was evaluated on a live detector");
        }
    }

    @Test
    void theWindowIsBoundedAndForgetsOldIntervals() {
        PhiAccrualDetector d = new PhiAccrualDetector(100, 10 * MS, 0, 200 * MS);
        long t = 0;
        for (int i = 0; i < 10_000; i++) {
            // first half: 1 s heartbeats; second half: 100 ms heartbeats
            t += i < 5_000 ? 1_000 * MS : 100 * MS;
            d.heartbeat(t);
            assertTrue(d.sampleCount() <= 100, "sampleCount " + d.sampleCount() + " after " + (i + 1));
        }
        assertEquals(100, d.sampleCount());
        // only the 100 ms intervals are in the window now: 1 s of silence is very suspicious
        assertTrue(d.phi(t + 1_000 * MS) > THRESHOLD, "phi " + d.phi(t + 1_000 * MS));

        PhiAccrualDetector one = new PhiAccrualDetector(1, 10 * MS, 0, 200 * MS);
        one.heartbeat(0);
        assertEquals(1, one.sampleCount());
        one.heartbeat(500 * MS);
        one.heartbeat(1_000 * MS);
        assertEquals(1, one.sampleCount());
        // the single interval is 500 ms: at 500 ms after the last heartbeat y = 0
        assertEquals(Math.log10(2.0), one.phi(1_500 * MS), 1e-12);
    }

    @Test
    void earlierOrRepeatedHeartbeatsAreIgnored() {
        PhiAccrualDetector d = standard();
        d.heartbeat(1_000 * MS);
        d.heartbeat(1_200 * MS);
        int samples = d.sampleCount();
        double phiBefore = d.phi(1_500 * MS);

        d.heartbeat(1_100 * MS);
        d.heartbeat(1_200 * MS);
        d.heartbeat(Long.MIN_VALUE);

        assertEquals(1_200 * MS, d.lastHeartbeatNanos());
        assertEquals(samples, d.sampleCount());
        assertEquals(phiBefore, d.phi(1_500 * MS));
    }

    @Test
    void extremeTimesGiveFiniteValues() {
        PhiAccrualDetector d = new PhiAccrualDetector(10, 0, 0, 1);
        d.heartbeat(Long.MIN_VALUE);
        d.heartbeat(Long.MAX_VALUE); // an interval beyond the range of long
        assertEquals(Long.MAX_VALUE, d.lastHeartbeatNanos());
        assertEquals(3, d.sampleCount());
        double atLast = d.phi(Long.MAX_VALUE);
        double early = d.phi(Long.MIN_VALUE);
        assertTrue(Double.isFinite(atLast) && atLast >= 0, "phi " + atLast);
        assertTrue(Double.isFinite(early) && early >= 0 && early <= atLast, "phi " + early);

        PhiAccrualDetector regular = new PhiAccrualDetector(4, 0, 0, 1_000);
        long last = feedRegular(regular, Long.MIN_VALUE, 20, 1_000); // stddev 0 and no floor
        double far = regular.phi(Long.MAX_VALUE);
        assertTrue(Double.isFinite(far) && far > 1e6, "phi " + far);
        assertTrue(regular.phi(last + 1_000) < 1.0);
    }

    @Test
    void badConstructorArgumentsAreRejectedByName() {
        assertRejected("windowSize", () -> new PhiAccrualDetector(0, 0, 0, 1));
        assertRejected("windowSize", () -> new PhiAccrualDetector(-5, 0, 0, 1));
        assertRejected("minStdDevNanos", () -> new PhiAccrualDetector(1, -1, 0, 1));
        assertRejected("acceptablePauseNanos", () -> new PhiAccrualDetector(1, 0, -1, 1));
        assertRejected("firstIntervalEstimateNanos", () -> new PhiAccrualDetector(1, 0, 0, 0));
        assertRejected("firstIntervalEstimateNanos", () -> new PhiAccrualDetector(1, 0, 0, -200 * MS));
    }

    private static void assertRejected(String argument, Executable construct) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, construct);
        assertTrue(e.getMessage().contains(argument), "message '" + e.getMessage() + "' names " + argument);
    }

    @Property(tries = 500)
    void phiIsFiniteNonNegativeAndNonDecreasingInNow(
            @ForAll @IntRange(min = 1, max = 20) int windowSize,
            @ForAll @LongRange(min = 0, max = 2_000_000_000L) long minStdDev,
            @ForAll @LongRange(min = 0, max = 5_000_000_000L) long acceptablePause,
            @ForAll @LongRange(min = 1, max = 5_000_000_000L) long firstInterval,
            @ForAll @LongRange(min = -1_000_000_000_000_000_000L, max = 1_000_000_000_000_000_000L) long start,
            @ForAll @Size(max = 40) List<@LongRange(min = 0, max = 100_000_000_000L) Long> intervals,
            @ForAll @Size(min = 1, max = 40) List<@LongRange(min = -10_000_000_000L, max = 1_000_000_000_000L) Long> offsets) {
        PhiAccrualDetector d = new PhiAccrualDetector(windowSize, minStdDev, acceptablePause, firstInterval);
        long t = start;
        d.heartbeat(t);
        for (long interval : intervals) {
            t += interval;
            assertValid(d.phi(t));
            d.heartbeat(t);
            assertTrue(d.sampleCount() >= 1 && d.sampleCount() <= windowSize);
        }
        assertEquals(t, d.lastHeartbeatNanos());

        List<Long> times = new ArrayList<>();
        times.add(Long.MIN_VALUE);
        for (long offset : offsets) {
            times.add(t + offset);
        }
        times.add(Long.MAX_VALUE);
        times.sort(null);

        double previous = 0.0;
        for (long now : times) {
            double p = d.phi(now);
            assertValid(p);
            assertTrue(p >= previous, "phi fell from " + previous + " to " + p + " at " + now);
            assertEquals(p < 8.0, d.isAvailable(now, 8.0));
            previous = p;
        }
    }

    private static void assertValid(double phi) {
        assertTrue(Double.isFinite(phi), "phi not finite: " + phi);
        assertTrue(phi >= 0.0, "phi negative: " + phi);
    }
}
