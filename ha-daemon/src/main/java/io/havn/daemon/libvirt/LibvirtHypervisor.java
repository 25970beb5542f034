package io.havn.daemon.libvirt;

import com.sun.jna.Pointer;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.DomainsListed;
import io.havn.common.node.NodeEvent.HypervisorDone;
import io.havn.common.node.NodeEvent.HypervisorLate;
import io.havn.common.port.Hypervisor;
import io.havn.daemon.libvirt.CallRunner.Result;
import io.havn.daemon.libvirt.DomainWatch.Effect;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;
import org.libvirt.jna.Libvirt;
import org.libvirt.jna.virError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Hypervisor} port on libvirt-java 0.5.2: the local libvirt (e.g. {@code qemu:///system},
 * or {@code test:///...} in tests). It translates; it decides nothing.
 *
 * <p><b>Results.</b> Every call returns at once. Its libvirt work runs on a bounded pool of workers
 * (see {@link CallRunner}) and its result comes back only as an event on the sink:
 * {@code DomainsListed} for {@link #list}, one {@code HypervisorDone} per operation. Each libvirt
 * call has the per-call timeout; one that hangs (dead storage) ends in
 * {@code HypervisorDone(vm, op, false, "timed out after ...", timedOut = true)} while its worker
 * stays busy until libvirt returns: the call may still complete. If it does return, whatever its
 * outcome, a {@code HypervisorLate(vm, op, ok, error)} follows (e.g. ok for a START the node was
 * told timed out: the domain runs). A call whose deadline passed while it waited for a worker is
 * never run; its failure is definite ({@code timedOut} false) and nothing follows it. An operation
 * on a domain libvirt does not know, a full pool, a broken connection: all are failure events,
 * never exceptions. A {@link #list} that fails has no failure event; it is retried at the next
 * poll. {@link #disableAutostart} has no event at all: a failure is logged, and the next list shows
 * the flag.
 *
 * <p><b>Operations.</b> {@code list}: every domain, defined or active, whoever started it, with
 * its autostart flag (a guest paused on a disk I/O error listed {@code PAUSED_STORAGE}). {@code start}: define the spec's XML (persistent), check that its UUID is the
 * VM id, turn autostart off (a definition left from before may carry it; a start that cannot turn
 * it off fails before the guest runs), create. {@code disableAutostart}: turn autostart off.
 * {@code shutdown}: ask the guest, look every poll interval whether it is off, destroy it once
 * {@code timeoutMs} has passed; if asking the guest returns only after its timeout, the shutdown
 * is over and the guest is not destroyed. {@code destroy} and {@code shutdown} of a defined domain
 * that is already off succeed. {@code migrate}: live migration to the target host's libvirt URI
 * (VIR_MIGRATE_LIVE | PERSIST_DEST | UNDEFINE_SOURCE | PAUSED), so the guest waits paused on the
 * destination; the whole migration is one call under the per-call timeout (closing the
 * connection to the destination happens after, off the call), and on timeout the migration job is
 * aborted, best effort. {@code resume}: of any paused guest, one paused on a disk I/O error
 * included (an ordinary RESUME; if the storage still fails, libvirt pauses it again and a poll says
 * so). {@code reset}: a hardware reset (virDomainReset), the guest boots again in the same domain.
 * {@code pingAgent}: {@code guest-ping} through libvirt's agent channel, answered by
 * {@code AgentPinged} alone (no HypervisorDone): see {@link #agentAnswer}.
 *
 * <p><b>Changes not asked for.</b> Every poll interval the adapter lists the active domains and,
 * for one none of its operations is in flight on, posts {@code DomainChanged(vm, state, false,
 * cause)} for every change it sees: a domain that appears running (started outside havn, or
 * running although havn's operation on it was reported failed or timed out), that pauses (a pause
 * on a disk I/O error, libvirt's VIR_DOMAIN_PAUSED_IOERROR, is {@code PAUSED_STORAGE}; any other
 * {@code PAUSED}), resumes, crashes, stops or vanishes; and {@code DomainChanged(vm, PAUSED, true, "incoming migration
 * complete")} when a paused domain appears that it did not start, once libvirt's state reason says
 * the migration finished. See {@link DomainWatch}. (libvirt-java 0.5.2 offers lifecycle events,
 * but they need libvirt's event loop on a thread of its own; polling keeps one code path for every
 * driver.)
 *
 * <p><b>Lifecycle.</b> LATENT until {@link #start()}, which may be called once; the connection
 * opens lazily on a worker and reopens after a failure that says it broke. {@link #close()} stops
 * polling and the workers (waiting up to a second for running calls) and closes the connection, or,
 * if a hung call still holds it, leaves it to close when that call returns; no event is posted
 * after it, and results of operations still in flight are dropped. Calls before {@code start()} or
 * after {@code close()} throw {@link IllegalStateException}.
 *
 * <p>Threading: the sink is called from worker and timer threads and must be thread-safe.
 * VM ids are domain UUIDs; events from polls and lists carry libvirt's lower-case spelling.
 */
public final class LibvirtHypervisor implements Hypervisor, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LibvirtHypervisor.class);

    /** Calls that may wait for a worker; beyond that a call is rejected with a failure event. */
    static final int QUEUE_CAPACITY = 256;

    // virDomainMigrateFlags (libvirt-domain.h); libvirt-java 0.5.2 keeps its MigrateFlags package-private
    static final long VIR_MIGRATE_LIVE = 1;
    static final long VIR_MIGRATE_PERSIST_DEST = 8;
    static final long VIR_MIGRATE_UNDEFINE_SOURCE = 16;
    static final long VIR_MIGRATE_PAUSED = 32;
    static final long MIGRATE_FLAGS = VIR_MIGRATE_LIVE | VIR_MIGRATE_PERSIST_DEST | VIR_MIGRATE_UNDEFINE_SOURCE
            | VIR_MIGRATE_PAUSED;

    /** Keeps libvirt from printing every error to stderr; they become events and logs instead. */
    private static final Libvirt.VirErrorCallback QUIET_ERRORS = (Pointer userData, virError error) ->
            LOG.trace("libvirt error {}: {}", error.code, error.message);

    private enum State { LATENT, STARTED, CLOSED }

    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final Consumer<NodeEvent> sink;
    private final Function<HostId, String> peerUri;
    private final PeerConnector peers;
    private final long pollIntervalMs;
    private final LibvirtConnection connection;
    private final CallRunner calls;
    private final DomainWatch watch = new DomainWatch();
    private final AtomicBoolean pollInFlight = new AtomicBoolean();
    private final AtomicBoolean pollFailing = new AtomicBoolean();
    private final AtomicBoolean listRetry = new AtomicBoolean();

    /**
     * @param uri          the local libvirt, e.g. {@code qemu:///system}
     * @param sink         where results and changes go; called from adapter threads, so thread-safe
     * @param callTimeout  how long one libvirt call may take before it is reported failed
     * @param workers      libvirt calls that may run at once; a hung call holds one until it returns
     * @param pollInterval how often domains are listed to see changes, and the step of a shutdown's wait
     * @param peerUri      a peer host's libvirt URI, the destination of a migration (null: unknown)
     */
    public LibvirtHypervisor(String uri, Consumer<NodeEvent> sink, Duration callTimeout, int workers,
                             Duration pollInterval, Function<HostId, String> peerUri) {
        this(uri, sink, callTimeout, workers, pollInterval, peerUri, QUEUE_CAPACITY, CallRunner.Hook.NONE);
    }

    /** For tests: a queue capacity of their choosing, and a hook that runs on the worker before each call. */
    LibvirtHypervisor(String uri, Consumer<NodeEvent> sink, Duration callTimeout, int workers,
                      Duration pollInterval, Function<HostId, String> peerUri, int queueCapacity,
                      CallRunner.Hook hook) {
        this(uri, sink, callTimeout, workers, pollInterval, peerUri, queueCapacity, hook, Connect::new);
    }

    /** How a migration connects to its destination's libvirt; tests hand in connections of their own. */
    @FunctionalInterface
    interface PeerConnector {
        Connect open(String uri) throws LibvirtException;
    }

    /** For tests: also how a migration connects to its destination. */
    LibvirtHypervisor(String uri, Consumer<NodeEvent> sink, Duration callTimeout, int workers,
                      Duration pollInterval, Function<HostId, String> peerUri, int queueCapacity,
                      CallRunner.Hook hook, PeerConnector peers) {
        if (uri == null || uri.isBlank()) {
            throw new IllegalArgumentException("libvirt uri must not be blank");
        }
        this.sink = Objects.requireNonNull(sink, "sink");
        this.peerUri = Objects.requireNonNull(peerUri, "peerUri");
        this.peers = Objects.requireNonNull(peers, "peers");
        long timeoutMs = positiveMs(callTimeout, "libvirt callTimeout");
        this.pollIntervalMs = positiveMs(pollInterval, "libvirt pollInterval");
        if (workers < 1) {
            throw new IllegalArgumentException("libvirt workers must be at least 1, got " + workers);
        }
        if (queueCapacity < 1) {
            throw new IllegalArgumentException("libvirt queueCapacity must be at least 1, got " + queueCapacity);
        }
        this.connection = new LibvirtConnection(uri);
        this.calls = new CallRunner(connection, timeoutMs, workers, queueCapacity, Objects.requireNonNull(hook));
    }

    private static long positiveMs(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero() || d.toMillis() < 1) {
            throw new IllegalArgumentException(name + " must be at least 1 ms, got " + d);
        }
        return d.toMillis();
    }

    /** Starts polling. The connection opens with the first call. */
    public void start() {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("LibvirtHypervisor cannot be started more than once");
        }
        try {
            Connect.setErrorCallback(QUIET_ERRORS);
        } catch (LibvirtException | RuntimeException e) {
            LOG.debug("cannot install the libvirt error callback: {}", e.toString());
        }
        calls.every(pollIntervalMs, this::tick);
    }

    /**
     * Stops polling and the workers and closes the connection (see the class comment); blocks at
     * most about a second. No event is posted afterwards. A second call does nothing.
     */
    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) == State.CLOSED) {
            return;
        }
        boolean idle = calls.shutdown();
        connection.close(idle);
    }

    /** For tests: the connection the workers share. */
    LibvirtConnection connection() {
        return connection;
    }

    // ---------------------------------------------------------------- the port

    @Override
    public void list() {
        checkStarted();
        runList();
    }

    @Override
    public void disableAutostart(VmId vm) {
        checkStarted();
        calls.<Boolean>run("disable-autostart", c -> {
            Domain d = Domains.lookup(c, vm);
            try {
                return Domains.autostartOff(d);
            } finally {
                Domains.free(d);
            }
        }, r -> {
            if (!r.ok()) {
                LOG.warn("turning autostart off for {} failed; the next list still shows it on: {}", vm, r.error());
            } else if (r.value()) {
                LOG.info("turned libvirt autostart off for {}", vm);
            }
        }, late -> LOG.info("turning autostart off for {} returned after its timeout: {}", vm,
                late.ok() ? "done" : late.error()));
    }

    @Override
    public void start(VmSpec spec) {
        checkStarted();
        VmId vm = spec.id();
        String xml = spec.domainXml();
        if (xml == null || xml.isBlank()) {
            post(new HypervisorDone(vm, Op.START, false, "VM " + vm + " has no domain XML"));
            return;
        }
        operate(vm, Op.START, "start", Effect.RUNNING, c -> {
            Domain d = c.domainDefineXML(xml);
            try {
                String uuid = d.getUUIDString();
                if (!uuid.equalsIgnoreCase(vm.value())) {
                    throw new CallFailed("the domain XML of VM " + vm + " defines UUID " + uuid
                            + "; the VM id must be the domain's UUID");
                }
                try {
                    if (Domains.autostartOff(d)) {
                        LOG.info("the definition of {} had libvirt autostart on; turned it off", vm);
                    }
                } catch (LibvirtException e) {
                    throw new CallFailed("cannot turn libvirt autostart off for VM " + vm + " ("
                            + LibvirtConnection.message(e) + "); not starting it");
                }
                d.create();
                return null;
            } finally {
                Domains.free(d);
            }
        });
    }

    @Override
    public void resume(VmId vm) {
        checkStarted();
        operate(vm, Op.RESUME, "resume", Effect.RUNNING, c -> {
            Domain d = Domains.lookup(c, vm);
            try {
                d.resume();
                return null;
            } finally {
                Domains.free(d);
            }
        });
    }

    @Override
    public void destroy(VmId vm) {
        checkStarted();
        operate(vm, Op.DESTROY, "destroy", Effect.GONE, c -> Domains.destroyNow(c, vm, false));
    }

    @Override
    public void shutdown(VmId vm, long timeoutMs) {
        checkStarted();
        watch.begin(vm);
        new Shutdown(vm, timeoutMs).ask();
    }

    @Override
    public void migrate(VmId vm, HostId target) {
        checkStarted();
        String uri;
        try {
            uri = peerUri.apply(target);
        } catch (RuntimeException e) {
            post(new HypervisorDone(vm, Op.MIGRATE, false, "no libvirt URI for host " + target + ": " + e));
            return;
        }
        if (uri == null || uri.isBlank()) {
            post(new HypervisorDone(vm, Op.MIGRATE, false, "no libvirt URI known for host " + target));
            return;
        }
        String destination = uri;
        watch.begin(vm);
        calls.<Void>run("migrate", c -> {
            Domain d = Domains.lookup(c, vm);
            try {
                Connect dconn;
                try {
                    dconn = peers.open(destination);
                } catch (LibvirtException e) {
                    throw new CallFailed("cannot connect to " + target + "'s libvirt at " + destination + ": "
                            + LibvirtConnection.message(e));
                }
                try {
                    Domains.free(d.migrate(dconn, MIGRATE_FLAGS, null, null, 0));
                    return null;
                } finally {
                    // The outcome is known and closing cannot change it, but closing talks to the
                    // destination: one that died just now would hold the outcome until libvirt's
                    // keepalive gives up (~30 s), past the call's deadline.
                    Domains.closeInBackground(dconn);
                }
            } finally {
                Domains.free(d);
            }
        }, r -> {
            finish(vm, Op.MIGRATE, Effect.GONE, r);
            if (r.timedOut()) {
                abortMigration(vm);
            }
        }, late -> reportLate(vm, Op.MIGRATE, Effect.GONE, late));
    }

    /** How long a guest agent ping waits for the agent's answer, in seconds (libvirt's agent timeout). */
    static final int AGENT_TIMEOUT_S = 5;

    @Override
    public void pingAgent(VmId vm) {
        checkStarted();
        calls.<NodeEvent.AgentPinged>run("guest-ping", c -> {
            Domain d;
            try {
                d = Domains.lookup(c, vm);
            } catch (CallFailed e) {
                return new NodeEvent.AgentPinged(vm, NodeEvent.AgentAnswer.NOT_RUNNING, e.getMessage());
            }
            try {
                d.qemuAgentCommand("{\"execute\":\"guest-ping\"}", AGENT_TIMEOUT_S, 0);
                return new NodeEvent.AgentPinged(vm, NodeEvent.AgentAnswer.OK, null);
            } catch (LibvirtException e) {
                return new NodeEvent.AgentPinged(vm, agentAnswer(e), LibvirtConnection.message(e));
            } finally {
                Domains.free(d);
            }
        }, r -> post(r.ok() ? r.value() : unanswered(vm, r)), late -> { });
    }

    /**
     * A ping whose call failed in the adapter: one that hung in libvirt past the call timeout is a
     * miss ({@code NO_ANSWER}); one that never reached the guest (no free worker, no connection to
     * libvirt) says nothing of it, and is reported as not judged ({@code NOT_CONFIGURED}), so that
     * havn's own trouble never counts against a guest.
     */
    static NodeEvent.AgentPinged unanswered(VmId vm, Result<?> r) {
        return r.timedOut() ? new NodeEvent.AgentPinged(vm, NodeEvent.AgentAnswer.NO_ANSWER, r.error())
                : new NodeEvent.AgentPinged(vm, NodeEvent.AgentAnswer.NOT_CONFIGURED, "not judged: " + r.error());
    }

    // virErrorNumber (virterror.h), as LibvirtConnection.code gives them
    static final int VIR_ERR_NO_SUPPORT = 3;
    static final int VIR_ERR_NO_DOMAIN = 42;
    static final int VIR_ERR_OPERATION_INVALID = 55;
    static final int VIR_ERR_ARGUMENT_UNSUPPORTED = 74;

    /**
     * What libvirt's refusal of an agent command says of the guest: no agent channel at all
     * (VIR_ERR_ARGUMENT_UNSUPPORTED, "QEMU guest agent is not configured"; or a driver without agent
     * commands, VIR_ERR_NO_SUPPORT): not judged; a domain not running (VIR_ERR_OPERATION_INVALID,
     * "domain is not running"; VIR_ERR_NO_DOMAIN); else an agent that did not answer, a miss:
     * VIR_ERR_AGENT_UNRESPONSIVE ("QEMU guest agent is not connected", "Guest agent is not
     * responding"), a timeout, an agent error. By libvirt's numbers ({@link LibvirtConnection#code}):
     * libvirt-java 0.5.2's names of them are wrong from 60 on.
     */
    static NodeEvent.AgentAnswer agentAnswer(LibvirtException e) {
        return switch (LibvirtConnection.code(e)) {
            case VIR_ERR_ARGUMENT_UNSUPPORTED, VIR_ERR_NO_SUPPORT -> NodeEvent.AgentAnswer.NOT_CONFIGURED;
            case VIR_ERR_OPERATION_INVALID, VIR_ERR_NO_DOMAIN -> NodeEvent.AgentAnswer.NOT_RUNNING;
            default -> NodeEvent.AgentAnswer.NO_ANSWER;
        };
    }

    @Override
    public void reset(VmId vm) {
        checkStarted();
        operate(vm, Op.RESET, "reset", Effect.RUNNING, c -> {
            Domain d = Domains.lookup(c, vm);
            try {
                d.reset();
                return null;
            } finally {
                Domains.free(d);
            }
        });
    }

    // ---------------------------------------------------------------- operations

    /** Runs a one-call operation: HypervisorDone when it ends, HypervisorLate if it returns after timing out. */
    private void operate(VmId vm, Op op, String name, Effect effect, LibvirtCall<Void> call) {
        watch.begin(vm);
        calls.run(name, call, r -> finish(vm, op, effect, r), late -> reportLate(vm, op, effect, late));
    }

    /** An operation ended; {@code effect} is what it did if it succeeded. */
    private void finish(VmId vm, Op op, Effect effect, Result<?> r) {
        watch.end(vm, r.ok() ? effect : Effect.NONE, r.timedOut());
        post(new HypervisorDone(vm, op, r.ok(), r.error(), r.timedOut()));
    }

    /**
     * An operation reported timed out has returned after all, with outcome {@code r}: the node
     * learns it, and the watch takes its effect as seen (so no poll reports it again).
     */
    private void reportLate(VmId vm, Op op, Effect effect, Result<?> r) {
        watch.late(vm, r.ok() ? effect : Effect.NONE);
        post(new HypervisorLate(vm, op, r.ok(), r.error()));
    }

    private void abortMigration(VmId vm) {
        calls.<Void>run("abort-migration", c -> {
            Domain d = Domains.lookup(c, vm);
            try {
                d.abortJob();
                return null;
            } finally {
                Domains.free(d);
            }
        }, r -> LOG.warn("migration of {} timed out; aborting its job: {}", vm, r.ok() ? "done" : r.error()),
                late -> { });
    }

    /**
     * One shutdown: ask the guest, then check every poll interval whether it is off, and destroy it
     * once {@code timeoutMs} has passed. Time comes from the timer's delays; no clock is read.
     */
    private final class Shutdown {
        private final VmId vm;
        private final long timeoutMs;
        private final long checks;
        private final AtomicBoolean finished = new AtomicBoolean();

        Shutdown(VmId vm, long timeoutMs) {
            this.vm = vm;
            this.timeoutMs = timeoutMs;
            this.checks = timeoutMs <= 0 ? 0 : (timeoutMs + pollIntervalMs - 1) / pollIntervalMs;
        }

        /** What asking the guest gave: it is off, or it was asked, or it refused to be asked. */
        private record Asked(boolean off, String refusal) { }

        void ask() {
            calls.<Asked>run("shutdown", c -> {
                Domain d = Domains.lookup(c, vm);
                try {
                    if (Domains.isOff(d)) {
                        return new Asked(true, null);
                    }
                    try {
                        d.shutdown();
                    } catch (LibvirtException e) {
                        return Domains.isOff(d) ? new Asked(true, null) : new Asked(false,
                                "the guest could not be asked to shut down (" + LibvirtConnection.message(e) + ")");
                    }
                    return new Asked(Domains.isOff(d), null);
                } finally {
                    Domains.free(d);
                }
            }, r -> {
                if (!r.ok()) {
                    finish(r);
                } else if (r.value().off()) {
                    finish(Result.ok(null));
                } else if (r.value().refusal() != null) {
                    forceOff(r.value().refusal()); // asking failed: waiting cannot help
                } else {
                    check(1);
                }
            }, this::askedLate);
        }

        /**
         * The ask was reported timed out and has returned after all. The shutdown is over: the
         * guest is not destroyed now. Still running, it may yet shut down, which a poll reports.
         */
        private void askedLate(Result<Asked> r) {
            Result<Void> outcome;
            if (!r.ok()) {
                outcome = Result.failed(r.error());
            } else if (r.value().off()) {
                outcome = Result.ok(null);
            } else if (r.value().refusal() != null) {
                outcome = Result.failed(r.value().refusal());
            } else {
                outcome = Result.failed("the guest was asked to shut down after the timeout and still runs;"
                        + " it is not destroyed");
            }
            reportLate(vm, Op.SHUTDOWN, Effect.GONE, outcome);
        }

        private void check(long n) {
            if (n > checks) {
                forceOff("the guest did not shut down within " + timeoutMs + " ms");
                return;
            }
            boolean scheduled = calls.schedule(pollIntervalMs, () -> calls.<Boolean>run("shutdown-check", c -> {
                try {
                    Domain d = Domains.lookup(c, vm);
                    try {
                        return Domains.isOff(d);
                    } finally {
                        Domains.free(d);
                    }
                } catch (CallFailed gone) {
                    return true; // a transient domain vanishes when it stops
                }
            }, r -> {
                if (r.ok() && r.value()) {
                    finish(Result.ok(null));
                } else {
                    check(n + 1); // a failed look is no answer: keep waiting until the deadline
                }
            }, late -> { })); // a look that came too late: the next one (or the destroy) ended it
            if (!scheduled) {
                finish(Result.failed("the libvirt adapter is closed"));
            }
        }

        private void forceOff(String why) {
            LOG.info("shutdown of {}: {}; destroying it", vm, why);
            calls.run("shutdown-destroy", c -> Domains.destroyNow(c, vm, true), r -> {
                if (r.ok()) {
                    finish(r);
                } else {
                    finish(new Result<>(null, why + "; destroying it failed: " + r.error(), r.timedOut()));
                }
            }, late -> reportLate(vm, Op.SHUTDOWN, Effect.GONE, late));
        }

        private void finish(Result<?> r) {
            if (finished.compareAndSet(false, true)) {
                LibvirtHypervisor.this.finish(vm, Op.SHUTDOWN, Effect.GONE, r);
            }
        }
    }

    // ---------------------------------------------------------------- listing and polling

    private void runList() {
        calls.run("list", Domains::listAll, r -> {
            if (r.ok()) {
                post(new DomainsListed(r.value()));
            } else {
                LOG.warn("listing domains failed, retrying at the next poll: {}", r.error());
                listRetry.set(true);
            }
        }, late -> { });
    }

    private void tick() {
        if (state.get() != State.STARTED) {
            return;
        }
        if (listRetry.getAndSet(false)) {
            runList();
        }
        if (!pollInFlight.compareAndSet(false, true)) {
            return; // the last poll has not ended yet
        }
        calls.run("poll", c -> Domains.observe(c, watch.seq(), watch.known()), r -> {
            pollInFlight.set(false);
            if (r.ok()) {
                if (pollFailing.getAndSet(false)) {
                    LOG.info("polling libvirt works again");
                }
                if (state.get() == State.STARTED) {
                    watch.apply(r.value()).forEach(this::post);
                }
            } else if (state.get() == State.STARTED && !pollFailing.getAndSet(true)) {
                LOG.warn("polling libvirt failed; changes go unseen until it works again: {}", r.error());
            }
        }, late -> { });
    }

    // ---------------------------------------------------------------- lifecycle helpers

    private void checkStarted() {
        State s = state.get();
        if (s != State.STARTED) {
            throw new IllegalStateException(s == State.LATENT ? "LibvirtHypervisor is not started; call start() first"
                    : "LibvirtHypervisor is closed");
        }
    }

    private void post(NodeEvent e) {
        if (state.get() != State.STARTED) {
            return; // closed: the node no longer listens
        }
        try {
            sink.accept(e);
        } catch (RuntimeException ex) {
            LOG.error("the event sink refused {}", e, ex);
        }
    }
}
