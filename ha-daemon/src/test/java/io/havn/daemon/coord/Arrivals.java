package io.havn.daemon.coord;

import io.havn.common.node.NodeEvent;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Events of several coordinators on one queue, handed to their probes on the test thread while
 * it waits for a condition: the only way tests here wait.
 */
final class Arrivals {
    private record Arrival(Probe probe, NodeEvent event) {
    }

    private final BlockingQueue<Arrival> queue = new LinkedBlockingQueue<>();

    /** The sink of {@code p}'s coordinator; called from any thread. */
    Consumer<NodeEvent> sinkOf(Probe p) {
        return e -> queue.add(new Arrival(p, e));
    }

    /** Hands events to their probes until {@code condition} holds or {@code withinMs} passed; whether it holds. */
    boolean awaitUntil(BooleanSupplier condition, long withinMs) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(withinMs);
        for (Arrival a; (a = queue.poll()) != null; ) {
            a.probe().receive(a.event());
        }
        while (!condition.getAsBoolean()) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            try {
                Arrival a = queue.poll(left, TimeUnit.NANOSECONDS);
                if (a != null) {
                    a.probe().receive(a.event());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted", e);
            }
        }
        return true;
    }
}
