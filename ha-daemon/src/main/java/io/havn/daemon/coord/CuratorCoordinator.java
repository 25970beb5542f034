package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.common.port.Coordinator;
import io.havn.common.port.ViewScope;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.utils.CloseableUtils;
import org.apache.curator.utils.ThreadUtils;
import org.apache.zookeeper.ZooKeeper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Coordinator} port on ZooKeeper through Apache Curator. It translates; the node
 * decides. The layout of the state is in {@link CoordPaths}, the translation of writes in
 * {@link Multi}.
 *
 * <p>Sessions: {@link #openSession()} builds a new CuratorFramework with exactly one ZooKeeper
 * handle. Once connected, the session makes sure the base nodes exist, reads the state with
 * watches, posts it as deltas (EpochChanged, HostChanged, LiveChanged, VmChanged, ViewLoaded in
 * WHOLE, and LeadershipChanged if it already leads), then {@code SessionStarted(id, timeoutMs)} with ZooKeeper's
 * session id and the session timeout the ensemble negotiated (the servers clamp the one asked for
 * to their minSessionTimeout and maxSessionTimeout; a difference is logged as a warning); afterwards
 * it posts each change as a delta. When ZooKeeper reports the session expired, or a
 * confirmation finds the session's live node deleted by someone else ({@link #evict}), it posts
 * {@code LeadershipChanged(false)} if it led, then {@code SessionEnded(id)}; the next
 * {@code openSession()} starts a new session. Nothing is posted because of a (re)connection: only
 * a successful write, {@code Confirmed(token, true)}, confirms anything.
 *
 * <p>VM records: the state read holds every host, presence, request and the epoch, but of the VM
 * records only those in scope ({@link #scope}, OWN to begin with: the records that name this host,
 * found through the index {@code hostvms/<host>}, and the followed ones). Every write that puts a
 * VM record also indexes it, in the same multi, under each host it comes to name ({@link Multi}).
 *
 * <p>Requests: each of {@link #confirm}, {@link #claimEpoch} and {@link #write} gets exactly one
 * answer, the ensemble's or, when none comes within {@link #REQUEST_TIMEOUT_MS} (or there is no
 * started session), the failure ({@code Confirmed(false)}, {@code EpochClaimed(-1)},
 * {@code WriteDone(FAILED)}), which means "not known to have happened". Curator retries nothing.
 *
 * <p>Threading: every method returns at once and may be called from any thread. All work runs on
 * one loop thread per coordinator, which is also the only thread that calls the sink, so events
 * arrive in the order the ensemble produced them for this session. The answer to a write comes
 * before the deltas it causes (they are read after a watch fires). The sink must not block for
 * long.
 *
 * <p>Lifecycle: LATENT, then {@link #start()}, then {@link #close()}. Closing does not close the
 * ZooKeeper session: it abandons it and the ensemble expires it a session timeout later, as it
 * would if the daemon died (the simulated coordinator's {@code close} does the same). Deleting this
 * host's presence at once would let the leader restart its VMs while its lease may still be valid.
 */
public final class CuratorCoordinator implements Coordinator, AutoCloseable {
    /** How long a request waits for the ensemble's answer before it is answered as failed. */
    public static final long REQUEST_TIMEOUT_MS = 2_000;
    /** How long a failed read, base-node create or election entry waits before it is tried again. */
    static final long RETRY_MS = 500;
    private static final long CLOSE_WAIT_MS = 5_000;
    private static final Logger log = LoggerFactory.getLogger(CuratorCoordinator.class);

    private enum State { LATENT, STARTED, CLOSED }

    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final CoordSettings settings;
    private final RecordSeal seal;
    private final RecordRefusals refusals = new RecordRefusals();
    private final Consumer<NodeEvent> sink;
    private final ScheduledThreadPoolExecutor loop;
    /** Work that may block on the network: closing frameworks, a session's first operation. */
    private final ExecutorService blocking;

    // loop-confined
    private CoordSession current;
    /** The scope asked for last; each new session starts in it. */
    private ViewScope scope = ViewScope.OWN;
    /** The VMs followed, as given last; each new session reads them. */
    private Set<VmId> followed = Set.of();

    /**
     * @param connectString      ZooKeeper's "host:port,host:port" list
     * @param sessionTimeoutMs   the session timeout T to ask for
     * @param digestCredentials  "user:password": authenticate with it and create every znode with a
     *                           digest ACL for it alone; null for no ACL
     * @param cluster            the cluster's name; its state lives under {@code /havn/<cluster>}
     * @param host               this host
     * @param seal               seals every record written and checks every record read ({@link StateMirror})
     * @param sink               where events go (the node's event queue); called from one thread
     */
    public CuratorCoordinator(String connectString, int sessionTimeoutMs, String digestCredentials, String cluster,
                              HostId host, RecordSeal seal, Consumer<NodeEvent> sink) {
        this(connectString, sessionTimeoutMs, null, digestCredentials, cluster, host, seal, sink);
    }

    /**
     * A coordinator that reaches ZooKeeper over TLS when {@code tls} is given, and creates every
     * znode with an ACL for its identities alone ({@code x509:<subject>}, and the digest identity
     * when {@code digestCredentials} are given); the other parameters as above.
     */
    public CuratorCoordinator(String connectString, int sessionTimeoutMs, ClientTls tls, String digestCredentials,
                              String cluster, HostId host, RecordSeal seal, Consumer<NodeEvent> sink) {
        this.settings = new CoordSettings(connectString, sessionTimeoutMs, tls, digestCredentials, cluster, host);
        this.seal = Objects.requireNonNull(seal, "seal");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.loop = new ScheduledThreadPoolExecutor(1, threads("havn-coord-" + host));
        this.loop.setRemoveOnCancelPolicy(true);
        this.blocking = Executors.newSingleThreadExecutor(threads("havn-coord-io-" + host));
    }

    /** Starts the coordinator; sessions open on {@link #openSession()}. */
    public void start() {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("CuratorCoordinator of " + settings.host() + " cannot be started twice");
        }
        log.info("coordinator started: {}", settings);
    }

    @Override
    public void openSession() {
        submit(() -> {
            if (current == null || current.ended()) {
                newSession();
            }
        });
    }

    @Override
    public void confirm(long token) {
        submit(() -> {
            Answer a = answer(new NodeEvent.Confirmed(token, false));
            CoordSession s = startedSession();
            if (s == null) {
                a.fail();
            } else {
                s.confirm(token, a);
            }
        });
    }

    @Override
    public void joinElection() {
        submit(() -> {
            CoordSession s = startedSession();
            if (s != null) {
                s.joinElection();
            }
        });
    }

    @Override
    public void resign() {
        submit(() -> {
            CoordSession s = startedSession();
            if (s != null) {
                s.resign();
            }
        });
    }

    @Override
    public void evict(HostId host, long session) {
        Objects.requireNonNull(host, "host");
        submit(() -> {
            CoordSession s = startedSession();
            if (s != null) {
                s.evict(host, session);
            }
        });
    }

    @Override
    public void claimEpoch(long token) {
        submit(() -> {
            Answer a = answer(new NodeEvent.EpochClaimed(token, -1));
            CoordSession s = startedSession();
            if (s == null) {
                a.fail();
            } else {
                s.claimEpoch(token, a);
            }
        });
    }

    @Override
    public void write(long token, List<CoordOp> ops) {
        List<CoordOp> copy = List.copyOf(ops);
        submit(() -> {
            Answer a = answer(new NodeEvent.WriteDone(token, WriteOutcome.FAILED, "no answer from the ensemble"));
            CoordSession s = startedSession();
            if (s == null) {
                a.complete(new NodeEvent.WriteDone(token, WriteOutcome.FAILED, "no session"));
            } else {
                s.write(token, copy, a);
            }
        });
    }

    @Override
    public void scope(ViewScope s) {
        Objects.requireNonNull(s, "scope");
        submit(() -> {
            if (s == scope) {
                return;
            }
            scope = s;
            if (current != null && !current.ended()) {
                current.scope(s);
            }
        });
    }

    @Override
    public void follow(Set<VmId> vms) {
        Set<VmId> copy = Set.copyOf(vms);
        submit(() -> {
            followed = copy;
            if (current != null && !current.ended()) {
                current.follow(copy);
            }
        });
    }

    /**
     * Stops: abandons the session (it expires in the ensemble one session timeout later), closes
     * its framework and stops the threads; posts nothing more. Idempotent.
     */
    @Override
    public void close() {
        State was = state.getAndSet(State.CLOSED);
        if (was == State.CLOSED) {
            return;
        }
        if (was == State.STARTED) {
            call(() -> {
                if (current != null) {
                    current.abandon();
                    current = null;
                }
                return null;
            });
        }
        loop.shutdownNow();
        blocking.shutdown();
        try {
            if (!blocking.awaitTermination(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS)) {
                log.warn("{}: Curator did not close within {} ms", settings.host(), CLOSE_WAIT_MS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.info("coordinator of {} closed", settings.host());
    }

    /** The current session's ZooKeeper handle, for tests that expire it; null when there is none. */
    ZooKeeper zooKeeper() {
        return call(() -> current == null ? null : current.zooKeeper());
    }

    /** The records this coordinator refused for a missing or wrong seal, since it was built. */
    public RecordRefusals refusals() {
        return refusals;
    }

    // ---------------------------------------------------------------- for the session

    RecordSeal seal() {
        return seal;
    }

    CoordSettings settings() {
        return settings;
    }

    /** The scope a new session starts in. Loop thread only. */
    ViewScope scope() {
        return scope;
    }

    /** The VMs a new session follows. Loop thread only. */
    Set<VmId> followed() {
        return followed;
    }

    /** Posts an event to the node, unless the coordinator is closed. Loop thread only. */
    void post(NodeEvent event) {
        if (state.get() != State.STARTED) {
            return;
        }
        try {
            sink.accept(event);
        } catch (RuntimeException e) {
            log.error("{}: the event sink failed on {}", settings.host(), event, e);
        }
    }

    /** Runs {@code task} on the loop thread; dropped once the coordinator is closed. */
    void execute(Runnable task) {
        try {
            loop.execute(guarded(task));
        } catch (RejectedExecutionException e) {
            log.debug("{}: closed, dropping a callback", settings.host());
        }
    }

    void schedule(Runnable task, long delayMs) {
        try {
            loop.schedule(guarded(task), delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            log.debug("{}: closed, dropping a retry", settings.host());
        }
    }

    /** Closes a framework off the loop thread: closing can wait on the network. */
    void closeFramework(CuratorFramework framework) {
        try {
            blocking.execute(() -> CloseableUtils.closeQuietly(framework));
        } catch (RejectedExecutionException e) {
            CloseableUtils.closeQuietly(framework);
        }
    }

    /** Runs {@code task} off the loop thread, for work that may block on the network. */
    void blocking(Runnable task) {
        try {
            blocking.execute(guarded(task));
        } catch (RejectedExecutionException e) {
            log.debug("{}: closed, dropping blocking work", settings.host());
        }
    }

    /** A session died before the node heard of it: try another, as the node still waits for one. */
    void sessionLostBeforeStart(CoordSession lost) {
        schedule(() -> {
            if (current == lost && state.get() == State.STARTED) {
                newSession();
            }
        }, RETRY_MS);
    }

    static ThreadFactory threads(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    // ---------------------------------------------------------------- internals

    private void newSession() {
        current = new CoordSession(this);
        try {
            current.start();
        } catch (RuntimeException e) {
            log.error("{}: cannot start a ZooKeeper session", settings.host(), e);
            current.abandon();
            sessionLostBeforeStart(current);
        }
    }

    private CoordSession startedSession() {
        return current != null && current.started() ? current : null;
    }

    private Answer answer(NodeEvent failure) {
        return Answer.within(REQUEST_TIMEOUT_MS, failure, this::post, loop);
    }

    private void submit(Runnable task) {
        State s = state.get();
        if (s == State.LATENT) {
            throw new IllegalStateException("CuratorCoordinator of " + settings.host() + " is not started");
        }
        if (s == State.STARTED) {
            execute(task);
        }
    }

    private Runnable guarded(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("{}: coordination task failed", settings.host(), e);
            }
        };
    }

    private <T> T call(Callable<T> task) {
        try {
            return loop.submit(task).get(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            log.warn("{}: coordination task did not finish: {}", settings.host(), e.toString());
            return null;
        }
    }
}
