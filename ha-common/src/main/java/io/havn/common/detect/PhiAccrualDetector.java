package io.havn.common.detect;

/**
 * A phi-accrual failure detector for one peer (Hayashibara et al., as Akka and Cassandra use it).
 *
 * <p>The caller feeds heartbeat arrival times and asks for the suspicion level {@code phi} at a
 * given time; both are monotonic nanoseconds from the caller's clock (this class never reads a
 * clock). Phi is {@code -log10} of the estimated probability that a heartbeat would arrive even
 * later than now, given the last {@code windowSize} inter-arrival intervals: phi 1 means about a
 * 10% chance the peer is still fine, phi 8 about 10<sup>-8</sup>.
 *
 * <p>Model: intervals are taken as normally distributed with the window's mean plus
 * {@code acceptablePauseNanos} and the window's standard deviation, but at least
 * {@code minStdDevNanos} (and at least 1 ns). At the first heartbeat the window is seeded, as
 * Akka does, with two intervals {@code firstIntervalEstimateNanos ± firstIntervalEstimateNanos/4},
 * so phi is meaningful from the first heartbeat on; real intervals displace the seeds as the
 * window fills. Each heartbeat is O(1) and allocates nothing.
 *
 * <p>A heartbeat not later than the previous one (out of order or a duplicate) is ignored.
 * Intervals spent while the peer was suspected are recorded like any other. Not thread-safe:
 * the node's one thread owns it.
 */
public final class PhiAccrualDetector {
    private static final double LN_10 = Math.log(10.0);
    /** Above this, {@code log(1 + e^z)} and {@code z} are the same double. */
    private static final double SOFTPLUS_LINEAR_FROM = 40.0;

    private final long minStdDevNanos;
    private final long acceptablePauseNanos;
    private final long firstIntervalEstimateNanos;

    /** Ring buffer of the last intervals; {@code next} is where the next one goes. */
    private final long[] intervals;
    private int next;
    private int count;
    /** Running sums as compensated (Neumaier) pairs, so adding and removing does not drift. */
    private double sum;
    private double sumComp;
    private double sumSq;
    private double sumSqComp;

    private boolean started;
    private long lastNanos = Long.MIN_VALUE;

    /**
     * @param windowSize                 how many recent intervals the estimate uses, >= 1
     * @param minStdDevNanos             floor of the standard deviation, >= 0; keeps very regular
     *                                   heartbeats from making phi jump at the slightest delay
     * @param acceptablePauseNanos       extra delay tolerated on top of the mean interval, >= 0
     *                                   (e.g. for GC pauses or network hiccups)
     * @param firstIntervalEstimateNanos expected interval before any has been measured, > 0
     * @throws IllegalArgumentException naming the offending argument
     */
    public PhiAccrualDetector(int windowSize, long minStdDevNanos, long acceptablePauseNanos,
                              long firstIntervalEstimateNanos) {
        if (windowSize < 1) {
            throw new IllegalArgumentException("windowSize must be >= 1, got " + windowSize);
        }
        if (minStdDevNanos < 0) {
            throw new IllegalArgumentException("minStdDevNanos must be >= 0, got " + minStdDevNanos);
        }
        if (acceptablePauseNanos < 0) {
            throw new IllegalArgumentException("acceptablePauseNanos must be >= 0, got " + acceptablePauseNanos);
        }
        if (firstIntervalEstimateNanos <= 0) {
            throw new IllegalArgumentException("firstIntervalEstimateNanos must be > 0, got "
                    + firstIntervalEstimateNanos);
        }
        this.intervals = new long[windowSize];
        this.minStdDevNanos = minStdDevNanos;
        this.acceptablePauseNanos = acceptablePauseNanos;
        this.firstIntervalEstimateNanos = firstIntervalEstimateNanos;
    }

    /** Records a heartbeat that arrived at {@code nowNanos}; ignored unless later than the previous one. */
    public void heartbeat(long nowNanos) {
        if (!started) {
            started = true;
            lastNanos = nowNanos;
            long stdDev = firstIntervalEstimateNanos / 4;
            record(firstIntervalEstimateNanos - stdDev);
            record(firstIntervalEstimateNanos + stdDev);
            return;
        }
        if (nowNanos <= lastNanos) {
            return;
        }
        long interval = nowNanos - lastNanos;
        if (interval < 0) {
            interval = Long.MAX_VALUE; // the true interval exceeds the range of long
        }
        lastNanos = nowNanos;
        record(interval);
    }

    /**
     * The suspicion level at {@code nowNanos}: 0.0 before the first heartbeat, otherwise a finite
     * value >= 0 that does not decrease as {@code nowNanos} grows (until the next heartbeat).
     */
    private static final double LOG10_2 = Math.log10(2.0);

    public double phi(long nowNanos) {
        if (!started) {
            return 0.0;
        }
        double mean = sum() / count;
        double variance = Math.max(0.0, sumSq() / count - mean * mean);
        double stdDev = Math.max(Math.max(Math.sqrt(variance), minStdDevNanos), 1.0);
        double y = (elapsedSince(lastNanos, nowNanos) - (mean + acceptablePauseNanos)) / stdDev;
        // Logistic approximation of the normal CDF. Akka writes it as
        //   e = exp(-y(1.5976 + 0.070566 y^2)); phi = t > mean ? -log10(e/(1+e)) : -log10(1 - 1/(1+e)),
        // which in both branches equals log10(1 + exp(z)) with z = y(1.5976 + 0.070566 y^2).
        // Computed as below it neither overflows to infinity nor loses monotonicity.
        double z = y * (1.5976 + 0.070566 * y * y);
        double softplus = z > SOFTPLUS_LINEAR_FROM ? z : Math.log1p(Math.exp(z));
        return softplus / LN_10;
    }

    /** Whether {@code phi(nowNanos) < threshold}, i.e. the peer is not suspected at that level. */
    public boolean isAvailable(long nowNanos, double threshold) {
        if (started && threshold > LOG10_2 && elapsedSince(lastNanos, nowNanos) <= sum() / count + acceptablePauseNanos) {
            return true; // not later than the expected arrival: y <= 0, so phi <= log10(2)
        }
        return phi(nowNanos) < threshold;
    }

    /** The arrival time of the latest recorded heartbeat, or {@code Long.MIN_VALUE} before the first. */
    public long lastHeartbeatNanos() {
        return started ? lastNanos : Long.MIN_VALUE;
    }

    /**
     * How many intervals the estimate uses now: 0 before the first heartbeat, then the seeds plus
     * measured intervals, never more than {@code windowSize}.
     */
    public int sampleCount() {
        return count;
    }

    private void record(long interval) {
        if (count == intervals.length) {
            long old = intervals[next];
            addToSum(-(double) old);
            addToSumSq(-((double) old * (double) old));
        } else {
            count++;
        }
        intervals[next] = interval;
        next = next + 1 == intervals.length ? 0 : next + 1;
        addToSum(interval);
        addToSumSq((double) interval * (double) interval);
    }

    private double sum() {
        return sum + sumComp;
    }

    private double sumSq() {
        return sumSq + sumSqComp;
    }

    private void addToSum(double x) {
        double t = sum + x;
        sumComp += Math.abs(sum) >= Math.abs(x) ? (sum - t) + x : (x - t) + sum;
        sum = t;
    }

    private void addToSumSq(double x) {
        double t = sumSq + x;
        sumSqComp += Math.abs(sumSq) >= Math.abs(x) ? (sumSq - t) + x : (x - t) + sumSq;
        sumSq = t;
    }

    /** {@code now - last} as a double, exact where long arithmetic is, and monotonic in {@code now}. */
    private static double elapsedSince(long last, long now) {
        long d = now - last;
        if (((now ^ last) & (now ^ d)) >= 0) {
            return d;
        }
        double approx = (double) now - (double) last;
        return now > last ? Math.max(0x1p63, approx) : Math.min(-0x1p63, approx);
    }
}
