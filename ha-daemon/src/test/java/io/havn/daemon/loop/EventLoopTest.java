package io.havn.daemon.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EventLoopTest {

    @Test
    void tasksRunInOrderOnTheLoopsOneThread() throws Exception {
        try (EventLoop loop = new EventLoop("test-loop")) {
            List<Integer> seen = new ArrayList<>();
            BlockingQueue<String> threads = new ArrayBlockingQueue<>(200);
            CountDownLatch done = new CountDownLatch(1);
            for (int i = 0; i < 100; i++) {
                int n = i;
                loop.run(() -> {
                    seen.add(n);
                    threads.add(Thread.currentThread().getName());
                });
            }
            loop.run(done::countDown);
            assertTrue(done.await(5, TimeUnit.SECONDS));
            for (int i = 0; i < 100; i++) {
                assertEquals(i, seen.get(i));
            }
            assertTrue(threads.stream().allMatch("test-loop"::equals), threads.toString());
        }
    }

    @Test
    void timersFireAndCanBeCancelled() throws Exception {
        try (EventLoop loop = new EventLoop("test-loop")) {
            BlockingQueue<String> fired = new ArrayBlockingQueue<>(10);
            loop.schedule(TimeUnit.MILLISECONDS.toNanos(20), () -> fired.add("kept"));
            loop.schedule(TimeUnit.MILLISECONDS.toNanos(10), () -> fired.add("cancelled")).cancel();
            assertEquals("kept", fired.poll(5, TimeUnit.SECONDS));
            CountDownLatch later = new CountDownLatch(1);
            loop.schedule(TimeUnit.MILLISECONDS.toNanos(30), later::countDown);
            assertTrue(later.await(5, TimeUnit.SECONDS));
            assertEquals(0, fired.size(), "the cancelled timer never fired");
        }
    }

    @Test
    void aThrowingTaskIsCountedAndTheLoopGoesOn() throws Exception {
        try (EventLoop loop = new EventLoop("test-loop")) {
            loop.run(() -> {
                throw new IllegalStateException("boom");
            });
            CountDownLatch after = new CountDownLatch(1);
            loop.run(after::countDown);
            assertTrue(after.await(5, TimeUnit.SECONDS));
            assertEquals(1, loop.failures());
        }
    }

    @Test
    void closedLoopsDropWorkAndStartOnlyOnce() {
        EventLoop loop = new EventLoop("test-loop");
        loop.close();
        loop.close();
        loop.run(() -> {
            throw new AssertionError("must not run after close");
        });
        assertNotNull(loop.schedule(1, () -> { }));
        assertThrows(IllegalStateException.class, () -> loop.start(null));
    }
}
