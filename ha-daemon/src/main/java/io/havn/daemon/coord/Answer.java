package io.havn.daemon.coord;

import io.havn.common.node.NodeEvent;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The one answer a request of the node gets: the ensemble's, or its failure when that does not
 * come within the request time-out. Whichever comes first is posted; the other is dropped. A
 * failure posted on time-out means "not known to have happened": the operation may still be
 * applied later, which the port allows for a FAILED write and which can only make a confirmation
 * count for less.
 *
 * <p>Threading: confined to the coordinator's loop thread.
 */
final class Answer {
    private final NodeEvent failure;
    private final Consumer<NodeEvent> post;
    private ScheduledFuture<?> timeout;
    private boolean done;

    private Answer(NodeEvent failure, Consumer<NodeEvent> post) {
        this.failure = failure;
        this.post = post;
    }

    /** An answer that fails by itself after {@code timeoutMs} unless completed before. */
    static Answer within(long timeoutMs, NodeEvent failure, Consumer<NodeEvent> post, ScheduledExecutorService loop) {
        Answer a = new Answer(failure, post);
        a.timeout = loop.schedule(a::fail, timeoutMs, TimeUnit.MILLISECONDS);
        return a;
    }

    void complete(NodeEvent event) {
        if (done) {
            return;
        }
        done = true;
        if (timeout != null) {
            timeout.cancel(false);
        }
        post.accept(event);
    }

    void fail() {
        complete(failure);
    }
}
