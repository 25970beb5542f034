package io.havn.daemon.metrics;

import io.havn.common.model.ClusterState;
import io.havn.common.node.AdminReply;
import io.havn.common.place.Admission;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Admission control's count ({@link Admission#assess}), taken on a thread of its own: at a thousand
 * hosts under thousands of rules one assessment costs up to a second of CPU, which the node's thread
 * (heartbeats, the leader's round) must never wait for. The node's thread offers its snapshots; one
 * is assessed at a time, at most once per interval, on the leader (whose gauges the alert reads) and
 * on a host whose status was asked for in the last minute, unless its answer was partial (it keeps
 * only its own VM records, {@link #assessed}); gauges and status answers read the last result.
 */
public final class ReserveAssessor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ReserveAssessor.class);

    private final java.util.concurrent.Executor executor;
    private final long intervalNanos;
    private final AtomicReference<Admission.Report> last = new AtomicReference<>();
    private final AtomicBoolean busy = new AtomicBoolean();
    /** When the last assessment was handed over (the node's thread only). */
    private long offeredAt;
    private boolean offered;
    /** When a status answer last asked for the reserve ({@link System#nanoTime}); 0: never. */
    private volatile long demandedAt;
    private static final long DEMAND_NANOS = 60_000_000_000L;

    public ReserveAssessor(long intervalMs) {
        this(intervalMs, Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "havn-reserve");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        }));
    }

    /** An assessor that runs its assessments on {@code executor} (tests: the caller's thread). */
    ReserveAssessor(long intervalMs, java.util.concurrent.Executor executor) {
        this.intervalNanos = intervalMs * 1_000_000L;
        this.executor = executor;
    }

    /**
     * On the node's thread: hands {@code state} over for assessment unless one runs or the last was
     * handed over less than an interval ago. The state is immutable, so the other thread may read it.
     */
    public void offer(ClusterState state, boolean leader, long nowNanos) {
        long asked = demandedAt;
        boolean wanted = leader || (asked != 0 && nowNanos - asked < DEMAND_NANOS);
        if (!wanted || (offered && nowNanos - offeredAt < intervalNanos) || !busy.compareAndSet(false, true)) {
            return;
        }
        offered = true;
        offeredAt = nowNanos;
        try {
            executor.execute(() -> {
                try {
                    last.set(Admission.assess(state));
                } catch (RuntimeException e) {
                    log.warn("assessing the failure reserve failed: {}", e.toString());
                } finally {
                    busy.set(false);
                }
            });
        } catch (RejectedExecutionException e) {
            busy.set(false); // closing
        }
    }

    /** The last assessment, or null while none has finished. */
    public Admission.Report last() {
        return last.get();
    }

    /** For a status answer: the last assessment, and this host keeps assessing for a minute. */
    public Admission.Report demand(long nowNanos) {
        demandedAt = nowNanos == 0 ? 1 : nowNanos;
        return last.get();
    }

    /**
     * A status answer with the last assessment, which keeps this host assessing for a minute
     * ({@link #demand}). A partial answer, from a host that keeps only its own VM records, passes as
     * it is: what this host offers now is part of the state, and a count on it would be wrong, so it
     * stops assessing on demand at once (a demand of less than a minute ago would otherwise go on).
     * As the leader it keeps every record, and assesses as before. Other answers pass as they are.
     */
    public AdminReply assessed(AdminReply r, long nowNanos) {
        if (r.state() == null || r.admission() != null) {
            return r;
        }
        if (r.partial()) {
            demandedAt = 0;
            return r;
        }
        return new AdminReply(r.ok(), r.code(), r.message(), r.state(), r.from(), r.peers(), r.whatIf(),
                demand(nowNanos), r.partialView());
    }

    @Override
    public void close() {
        if (executor instanceof ExecutorService e) {
            e.shutdownNow();
        }
    }
}
