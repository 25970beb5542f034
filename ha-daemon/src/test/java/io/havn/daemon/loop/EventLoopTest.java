package io.havn.daemon.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.node.Node;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodePorts;
import io.havn.common.node.Settings;
import io.havn.common.port.Coordinator;
import io.havn.common.port.Fencer;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Transport;
import io.havn.common.port.Watchdog;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EventLoopTest {

    @Test
    void eventsPostedBeforeStartReachTheNodeAfterItsStartInOrder() throws Exception {
        BlockingQueue<String> seen = new LinkedBlockingQueue<>();
        try (EventLoop loop = new EventLoop("test-loop")) {
            NodePorts ports = new NodePorts(loop, loop, recording(Transport.class, seen),
                    recording(Coordinator.class, seen), recording(Hypervisor.class, seen), recording(Fencer.class, seen),
                    recording(Watchdog.class, seen), d -> seen.add(d.kind().name()), (id, reply) -> { });
            Node node = new Node(new Node.Identity(HostId.of("h1"), new HostCapacity(4, 4096), "127.0.0.1:7405", null),
                    Settings.defaults(), loop, ports.watchdog());
            // the coordinator's adapter runs before the node does: its session can be there first
            loop.post(new NodeEvent.SessionStarted(0x42, 10_000));
            loop.post(new NodeEvent.SessionEnded(0x42));
            loop.start(new NodeDriver(node, ports));
            List<String> order = new ArrayList<>();
            while (!order.contains("SESSION_ENDED")) {
                String next = seen.poll(5, TimeUnit.SECONDS);
                assertNotNull(next, "the node never saw the events posted before its start; it saw " + order);
                order.add(next);
            }
            assertEquals(0, loop.failures(), "no event reached a node that was not there yet");
            assertTrue(order.indexOf("Coordinator.openSession") < order.indexOf("SESSION_STARTED"),
                    "the node started before it handled the early events: " + order);
            assertTrue(order.indexOf("SESSION_STARTED") < order.indexOf("SESSION_ENDED"), "in the order posted: " + order);
        }
    }

    /** A port that does nothing and records "Port.method" for each call. */
    private static <T> T recording(Class<T> port, BlockingQueue<String> calls) {
        return port.cast(Proxy.newProxyInstance(port.getClassLoader(), new Class<?>[] {port}, (proxy, m, args) -> {
            calls.add(port.getSimpleName() + "." + m.getName());
            Class<?> r = m.getReturnType();
            if (r == Optional.class) {
                return Optional.empty();
            } else if (r == OptionalLong.class) {
                return OptionalLong.empty();
            } else if (r == boolean.class) {
                return false;
            } else if (r.isPrimitive() && r != void.class) {
                return 0;
            }
            return null;
        }));
    }

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

    /** A heartbeat from {@code from}, as the transport posts it. */
    private static NodeEvent.HeartbeatReceived heartbeat(String from, long seq) {
        return new NodeEvent.HeartbeatReceived(new io.havn.common.node.Heartbeat(HostId.of(from), seq, 1, seq, 0, 0,
                false), seq);
    }

    /** Blocks the loop's thread until the returned latch is counted down; returns once the loop is in it. */
    private static CountDownLatch busy(EventLoop loop) throws InterruptedException {
        CountDownLatch in = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        loop.run(() -> {
            in.countDown();
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(in.await(5, TimeUnit.SECONDS), "the loop took the blocking task");
        return release;
    }

    @Test
    void aDueTimerRunsBeforeABacklogOfOtherEvents() throws Exception {
        try (EventLoop loop = new EventLoop("test-loop")) {
            List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch done = new CountDownLatch(1);
            loop.start(() -> { }, e -> order.add(e.getClass().getSimpleName()), () -> { });
            CountDownLatch release = busy(loop); // the node is busy with one long event
            for (int i = 0; i < 1_000; i++) {
                loop.post(new NodeEvent.LiveChanged(HostId.of("h" + i), java.util.Set.of()));
            }
            loop.run(done::countDown);
            loop.schedule(0, () -> order.add("tick")); // falls due while the backlog waits
            release.countDown();
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertEquals("tick", order.get(0), "the due tick (the heartbeat send) ran first, not after 1,000 events");
            assertEquals(1_001, order.size());
        }
    }

    @Test
    void heartbeatsReceivedAreCountedBeforeADueTimerAndOtherEventsInTheOrderTheyCame() throws Exception {
        try (EventLoop loop = new EventLoop("test-loop")) {
            List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch done = new CountDownLatch(1);
            loop.start(() -> order.add("start"), e -> order.add(e instanceof NodeEvent.HeartbeatReceived h
                    ? "hb" + h.heartbeat().sequence() : e.getClass().getSimpleName()), () -> { });
            CountDownLatch release = busy(loop);
            loop.post(new NodeEvent.LiveChanged(HostId.of("h2"), java.util.Set.of()));
            loop.schedule(0, () -> order.add("tick"));
            loop.post(heartbeat("h2", 1));
            loop.post(heartbeat("h3", 2));
            loop.run(done::countDown);
            release.countDown();
            assertTrue(done.await(5, TimeUnit.SECONDS));
            // the tick judges the peers' silence: what was already read must be counted first
            assertEquals(List.of("start", "hb1", "hb2", "tick", "LiveChanged"), order);
        }
    }

    @Test
    void nothingPostedAfterStartReachesTheNodeBeforeItsStartAndTheEventsKeptBeforeIt() throws Exception {
        try (EventLoop loop = new EventLoop("test-loop")) {
            List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
            CountDownLatch done = new CountDownLatch(1);
            loop.post(new NodeEvent.LiveChanged(HostId.of("h2"), java.util.Set.of()));
            loop.post(heartbeat("h2", 1));
            loop.start(() -> order.add("start"), e -> order.add(e instanceof NodeEvent.HeartbeatReceived h
                    ? "hb" + h.heartbeat().sequence() : e.getClass().getSimpleName()), () -> { });
            loop.post(heartbeat("h2", 2));
            loop.run(done::countDown);
            assertTrue(done.await(5, TimeUnit.SECONDS));
            assertEquals(List.of("start", "LiveChanged", "hb1", "hb2"), order);
        }
    }

    @Test
    void closeStopsTheNodeAfterWhatWasQueuedAndDropsTheTimers() throws Exception {
        List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
        EventLoop loop = new EventLoop("test-loop");
        loop.start(() -> { }, e -> order.add(e.getClass().getSimpleName()), () -> order.add("stop"));
        CountDownLatch release = busy(loop);
        loop.post(new NodeEvent.LiveChanged(HostId.of("h2"), java.util.Set.of()));
        loop.schedule(0, () -> order.add("tick"));
        release.countDown();
        loop.close();
        assertEquals(List.of("LiveChanged", "stop"), order.stream().filter(s -> !s.equals("tick")).toList());
        loop.post(new NodeEvent.LiveChanged(HostId.of("h3"), java.util.Set.of()));
        assertTrue(order.indexOf("stop") == order.size() - 1, "nothing after the stop: " + order);
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
