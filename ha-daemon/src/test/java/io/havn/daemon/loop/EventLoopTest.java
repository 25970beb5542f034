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
