package io.havn.daemon.fence;

import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.FenceDone;
import io.havn.common.port.Fencer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Fencer} port on fence-agents programs ({@code fence_ipmilan}, {@code fence_redfish}...),
 * run the way fenced and Pacemaker run them (ClusterLabs/fence-agents, doc/FenceAgentAPI.md):
 * options as {@code key=value} lines on stdin, then {@code action=off}; exit 0 means done. Then
 * {@code action=status} is run every {@link Limits#statusIntervalMs} until it exits 2 ("off"; 0
 * means "on", 1 "device unreachable"). Only that confirmation is reported as
 * {@code FenceDone(host, true, null)}. Everything else is a failure with a reason, never assumed a
 * success: {@code off} exiting non-zero, a status that never says off before the deadline
 * ({@link Limits#timeoutMs}, for the whole attempt), an agent still running at the deadline (it is
 * killed, with its children), a missing program, a device name not configured.
 *
 * <p>Threading: {@link #powerOff} returns at once; attempts run on a small pool and their results
 * go to the sink from a pool thread, so the sink must be thread-safe (the node's inbox). A request
 * for a host whose attempt is still running joins it: one {@code FenceDone} answers both. Failure
 * messages and logs never show a secret option (see {@link FenceDevice#redact}).
 */
public final class FenceAgentFencer implements Fencer, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FenceAgentFencer.class);
    /** Where Debian's fence-agents package installs the agents; a bare agent name is looked up here. */
    static final Path AGENT_DIR = Path.of("/usr/sbin");

    /**
     * @param timeoutMs        the deadline of one attempt, {@code off} and every {@code status} together
     * @param statusIntervalMs the pause between two {@code status} runs
     * @param threads          attempts that may run at once (on different hosts)
     */
    public record Limits(long timeoutMs, long statusIntervalMs, int threads) {
        /** fence_ipmilan alone may take 20 s to see the power go off (its power_timeout). */
        public static final Limits DEFAULT = new Limits(60_000, 1_000, 4);

        public Limits {
            if (timeoutMs <= 0) {
                throw new IllegalArgumentException("fence timeoutMs must be positive, got " + timeoutMs);
            }
            if (statusIntervalMs <= 0) {
                throw new IllegalArgumentException("fence statusIntervalMs must be positive, got " + statusIntervalMs);
            }
            if (threads <= 0) {
                throw new IllegalArgumentException("fence threads must be positive, got " + threads);
            }
        }
    }

    private enum State { OPEN, CLOSED }

    private final Map<String, FenceDevice> devices;
    private final Consumer<NodeEvent> sink;
    private final Limits limits;
    private final ThreadPoolExecutor pool;
    /** Hosts with an attempt queued or running; bounds the pool's queue to one entry per host. */
    private final Set<HostId> inFlight = ConcurrentHashMap.newKeySet();
    private final AtomicReference<State> state = new AtomicReference<>(State.OPEN);

    public FenceAgentFencer(Map<String, FenceDevice> devices, Consumer<NodeEvent> sink) {
        this(devices, sink, Limits.DEFAULT);
    }

    public FenceAgentFencer(Map<String, FenceDevice> devices, Consumer<NodeEvent> sink, Limits limits) {
        this.devices = Map.copyOf(Objects.requireNonNull(devices, "fence devices"));
        this.sink = Objects.requireNonNull(sink, "sink");
        this.limits = Objects.requireNonNull(limits, "limits");
        AtomicInteger n = new AtomicInteger();
        this.pool = new ThreadPoolExecutor(limits.threads(), limits.threads(), 60, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "havn-fence-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        pool.allowCoreThreadTimeOut(true);
    }

    @Override
    public void powerOff(HostId host, String device) {
        Objects.requireNonNull(host, "host");
        if (!inFlight.add(host)) {
            LOG.info("fence {}: an attempt is already running; its result answers this request too", host);
            return;
        }
        Attempt a = new Attempt(host, device);
        try {
            if (state.get() != State.OPEN) {
                throw new RejectedExecutionException();
            }
            pool.execute(a);
        } catch (RejectedExecutionException e) {
            a.finish(failed(host, "fencer is closed"));
        }
    }

    /**
     * Stops: running agents are killed and their attempts, like queued ones, report a failure.
     * Waits a bounded time for the workers. A second call does nothing.
     */
    @Override
    public void close() {
        if (!state.compareAndSet(State.OPEN, State.CLOSED)) {
            return;
        }
        List<Runnable> queued = pool.shutdownNow();
        for (Runnable r : queued) {
            if (r instanceof Attempt a) {
                a.finish(failed(a.host, "fencer closed before the attempt ran"));
            }
        }
        try {
            if (!pool.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("fence workers did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One fencing of one host; reports exactly one FenceDone. */
    private final class Attempt implements Runnable {
        final HostId host;
        final String deviceName;

        Attempt(HostId host, String deviceName) {
            this.host = host;
            this.deviceName = deviceName;
        }

        @Override
        public void run() {
            FenceDone result;
            try {
                result = fence(host, deviceName);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                result = failed(host, "fencing of device '" + deviceName + "' was interrupted (fencer closing)");
            } catch (RuntimeException e) {
                // A bug or a bad path, never a success.
                FenceDevice d = deviceName == null ? null : devices.get(deviceName);
                String why = e.getClass().getSimpleName() + ": " + e.getMessage();
                result = failed(host, "fence device '" + deviceName + "': internal error: "
                        + (d == null ? why : d.redact(why)));
            }
            finish(result);
        }

        /** Frees the host for a new request first: a retry must never join a finished attempt. */
        void finish(FenceDone result) {
            inFlight.remove(host);
            if (result.off()) {
                LOG.info("fence {}: device '{}' confirmed power off", host, deviceName);
            } else {
                LOG.warn("fence {}: FAILED: {}", host, result.error());
            }
            try {
                sink.accept(result);
            } catch (RuntimeException e) {
                LOG.error("fence {}: the sink refused the result {}", host, result, e);
            }
        }
    }

    private FenceDone fence(HostId host, String name) throws InterruptedException {
        FenceDevice d = name == null ? null : devices.get(name);
        if (d == null) {
            return failed(host, name == null ? "no fence device given"
                    : "fence device '" + name + "' is not configured (configured: " + devices.keySet() + ")");
        }
        String where = "fence device '" + name + "' (" + d.agent() + ")";
        Path agent = agentPath(d.agent());
        if (!Files.isRegularFile(agent) || !Files.isExecutable(agent)) {
            return failed(host, where + ": agent program " + agent + " is missing or not executable");
        }
        long started = System.nanoTime();
        long deadline = started + TimeUnit.MILLISECONDS.toNanos(limits.timeoutMs());
        LOG.info("fence {}: {} action=off", host, where);
        AgentProcess.Result off = AgentProcess.run(agent, "off", d.input("off"), deadline, d::redact);
        if (!off.exitedWith(AgentProcess.EXIT_OK)) {
            return failed(host, where + ": " + off.describe());
        }
        // The agent said done; only a status that reports off is proof (a timeout is no proof).
        int polls = 0;
        AgentProcess.Result answer = null; // the last status that finished: it says the most
        while (true) {
            AgentProcess.Result status = AgentProcess.run(agent, "status", d.input("status"), deadline, d::redact);
            polls++;
            if (status.exitedWith(AgentProcess.STATUS_OFF)) {
                LOG.info("fence {}: status off after {} ms ({} status runs)", host,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), polls);
                return new FenceDone(host, true, null);
            }
            if (status.outcome() != AgentProcess.Outcome.KILLED || answer == null) {
                answer = status;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || status.outcome() == AgentProcess.Outcome.KILLED) {
                return failed(host, where + ": status did not report off within " + limits.timeoutMs()
                        + " ms (" + polls + " status runs; last answer: " + answer.describe() + ")");
            }
            TimeUnit.NANOSECONDS.sleep(Math.min(left, TimeUnit.MILLISECONDS.toNanos(limits.statusIntervalMs())));
        }
    }

    /** A bare name ({@code fence_ipmilan}) is looked up in {@link #AGENT_DIR}; a path is taken as is. */
    public static Path agentPath(String agent) {
        return agent.indexOf('/') < 0 ? AGENT_DIR.resolve(agent) : Path.of(agent);
    }

    private static FenceDone failed(HostId host, String why) {
        return new FenceDone(host, false, why);
    }
}
