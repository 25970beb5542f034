package io.havn.daemon.libvirt;

import static org.junit.jupiter.api.Assertions.fail;

import io.havn.common.node.NodeEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The events an adapter posted, read with bounded waits (never a sleep). Events a wait skips stay
 * in a backlog, so a later wait still finds them.
 */
public final class Events {
    private final BlockingQueue<NodeEvent> queue;
    private final List<NodeEvent> backlog = new ArrayList<>();

    public Events(BlockingQueue<NodeEvent> queue) {
        this.queue = queue;
    }

    /** The first event of {@code type} matching {@code match}, waiting at most {@code within}. */
    public <T extends NodeEvent> T await(Class<T> type, Predicate<? super T> match, Duration within, String what)
            throws InterruptedException {
        T found = take(type, match);
        if (found != null) {
            return found;
        }
        long deadline = System.nanoTime() + within.toNanos();
        for (long left = within.toNanos(); left > 0; left = deadline - System.nanoTime()) {
            NodeEvent e = queue.poll(left, TimeUnit.NANOSECONDS);
            if (e == null) {
                break;
            }
            if (type.isInstance(e) && match.test(type.cast(e))) {
                return type.cast(e);
            }
            backlog.add(e);
        }
        return fail("no " + what + " within " + within.toMillis() + " ms; events seen meanwhile: " + backlog);
    }

    /** Fails if an event of {@code type} matching {@code match} is posted within {@code window}. */
    public <T extends NodeEvent> void expectNone(Class<T> type, Predicate<? super T> match, Duration window,
                                                 String what) throws InterruptedException {
        T early = take(type, match);
        if (early != null) {
            fail("unexpected " + what + ": " + early);
        }
        long deadline = System.nanoTime() + window.toNanos();
        for (long left = window.toNanos(); left > 0; left = deadline - System.nanoTime()) {
            NodeEvent e = queue.poll(left, TimeUnit.NANOSECONDS);
            if (e == null) {
                return;
            }
            if (type.isInstance(e) && match.test(type.cast(e))) {
                fail("unexpected " + what + ": " + e);
            }
            backlog.add(e);
        }
    }

    /** Drops the skipped events of {@code type}, so the next wait only finds new ones. */
    public void forget(Class<? extends NodeEvent> type) {
        backlog.removeIf(type::isInstance);
    }

    private <T extends NodeEvent> T take(Class<T> type, Predicate<? super T> match) {
        for (Iterator<NodeEvent> it = backlog.iterator(); it.hasNext(); ) {
            NodeEvent e = it.next();
            if (type.isInstance(e) && match.test(type.cast(e))) {
                it.remove();
                return type.cast(e);
            }
        }
        return null;
    }
}
