package io.havn.daemon.libvirt;

import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A {@link CallRunner.Hook} that holds the chosen calls on their worker while it is shut: a hung
 * libvirt call, as dead storage makes one. Only the worker waits; the test thread waits on events.
 */
final class Gate implements CallRunner.Hook {
    private final Predicate<String> holds;
    private final BlockingQueue<String> arrivals = new LinkedBlockingQueue<>();
    private volatile CountDownLatch latch = new CountDownLatch(0);

    Gate(Predicate<String> holds) {
        this.holds = holds;
    }

    @Override
    public void before(String call) throws InterruptedException {
        CountDownLatch l = latch;
        if (l.getCount() > 0 && holds.test(call)) {
            arrivals.add(call);
            l.await();
        }
    }

    /** Held calls wait from now on. */
    Gate shut() {
        arrivals.clear();
        latch = new CountDownLatch(1);
        return this;
    }

    /** Lets every held call go on. */
    void open() {
        latch.countDown();
    }

    /** Waits, bounded, until a worker is held in {@code call}. */
    void awaitHeld(String call, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        for (long left = within.toNanos(); left > 0; left = deadline - System.nanoTime()) {
            String c = arrivals.poll(left, TimeUnit.NANOSECONDS);
            if (call.equals(c)) {
                return;
            }
        }
        throw new AssertionError("no worker reached the '" + call + "' call within " + within.toMillis() + " ms");
    }
}
