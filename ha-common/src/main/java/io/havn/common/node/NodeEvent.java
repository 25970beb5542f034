package io.havn.common.node;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.Versioned;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import java.util.List;
import java.util.Set;

/** Everything that can happen to a node. Adapters post these; the node handles them one at a time. */
public sealed interface NodeEvent {

    // ---- transport
    /**
     * A peer's heartbeat. {@code arrivedNanos} is when it was read from the network, on the node's
     * clock, stamped by whoever read it (the transport's thread, the simulator's delivery): the
     * failure detector counts from then, so a heartbeat that waited in the node's queue neither makes
     * its sender look silent nor, read late, hides a silence. The node takes it clamped: never after
     * its own now, never before the sender's last arrival.
     */
    record HeartbeatReceived(Heartbeat heartbeat, long arrivedNanos) implements NodeEvent {
        public HeartbeatReceived {
            java.util.Objects.requireNonNull(heartbeat, "heartbeat");
        }
    }

    /**
     * The daemon is being stopped cleanly (SIGTERM) and means to be back within {@code windowMs}
     * (0: no window); with {@code hostShutdown}, the host itself is being shut down or rebooted, and
     * the node follows the shutdown policy instead (see {@code ShutdownPolicy}). The node answers {@code requestId} once it has done what it does about it
     * ({@link Effect.Answer}); after a planned restart was recorded it stops handling events.
     */
    record Stopping(long requestId, long windowMs, boolean hostShutdown) implements NodeEvent {
        /** A stop of the daemon alone (a restart, an upgrade). */
        public Stopping(long requestId, long windowMs) {
            this(requestId, windowMs, false);
        }
    }

    /** A peer's signal sender spoke (authentic, addressed here, later than the last one taken from it). */
    record SignalReceived(HostSignal signal) implements NodeEvent { }

    // ---- coordinator
    /**
     * A session began. {@code timeoutMs} is the session timeout the ensemble negotiated (ZooKeeper
     * clamps the requested one to its own minimum and maximum): the lease is derived from it.
     */
    record SessionStarted(long session, long timeoutMs) implements NodeEvent { }

    /** The session is over (expired or closed); ephemeral presence is gone. */
    record SessionEnded(long session) implements NodeEvent { }

    record Confirmed(long token, boolean ok) implements NodeEvent { }

    record LeadershipChanged(boolean leader) implements NodeEvent { }

    /**
     * Whether this session is next in the election's line, right behind the leader ({@code next}):
     * the host that leads when the leader's entry goes. It keeps every VM record, so that it can
     * claim its epoch at once when it comes to lead. Told when it changes, and false when the
     * session ends.
     */
    record SuccessorChanged(boolean next) implements NodeEvent { }

    /** The result of claimEpoch: the new epoch, or a failure ({@code epoch <= 0}). */
    record EpochClaimed(long token, long epoch) implements NodeEvent { }

    record WriteDone(long token, WriteOutcome outcome, String detail) implements NodeEvent { }

    /** A VM record appeared or changed ({@code record} non-null) or disappeared (null). */
    record VmChanged(VmId vm, Versioned<VmRecord> record) implements NodeEvent { }

    /** A change request appeared or changed ({@code record} non-null) or disappeared (null). */
    record RequestChanged(String id, Versioned<ChangeRequest> record) implements NodeEvent { }

    record HostChanged(HostId host, Versioned<HostRecord> record) implements NodeEvent { }

    /** The cluster record appeared or changed ({@code record} non-null) or disappeared (null: the defaults). */
    record ClusterChanged(Versioned<ClusterRecord> record) implements NodeEvent { }

    /** The complete set of live sessions of {@code host} (empty when it has none). */
    record LiveChanged(HostId host, Set<Long> sessions) implements NodeEvent { }

    record EpochChanged(long epoch, HostId leader) implements NodeEvent { }

    /**
     * Every VM record of {@code scope} has been passed on since the node asked for it or since the
     * session began (only {@link io.havn.common.port.ViewScope#WHOLE} is reported).
     */
    record ViewLoaded(io.havn.common.port.ViewScope scope) implements NodeEvent {
        public ViewLoaded {
            java.util.Objects.requireNonNull(scope, "scope");
        }
    }

    // ---- hypervisor
    record DomainsListed(List<DomainInfo> domains) implements NodeEvent { }

    /**
     * An operation ended. {@code timedOut}: the adapter gave up waiting, but the call itself may still
     * complete; if it does, a {@link HypervisorLate} follows. Nothing can be inferred from such a failure.
     */
    record HypervisorDone(VmId vm, Hypervisor.Op op, boolean ok, String error, boolean timedOut) implements NodeEvent {
        /** A result the call itself gave (not a timeout). */
        public HypervisorDone(VmId vm, Hypervisor.Op op, boolean ok, String error) {
            this(vm, op, ok, error, false);
        }
    }

    /** A call reported as timed out ({@link HypervisorDone#timedOut()}) has returned after all, with this outcome. */
    record HypervisorLate(VmId vm, Hypervisor.Op op, boolean ok, String error) implements NodeEvent { }

    /**
     * A domain changed without being asked: it crashed, was shut down from inside, an incoming
     * migration completed (state PAUSED, {@code migratedIn} true), or it appeared, paused or resumed
     * behind havn's back (started by hand, by libvirt autostart, paused on a storage error).
     */
    record DomainChanged(VmId vm, DomainState state, boolean migratedIn, String cause) implements NodeEvent { }

    /**
     * What a guest agent ping got. {@code OK}: the agent answered; {@code NO_ANSWER}: the domain has
     * an agent channel but nothing answered in time (a hung guest, an agent not running); {@code
     * NOT_CONFIGURED}: the domain has no agent channel, so it cannot be judged; {@code NOT_RUNNING}:
     * the domain was not running (gone or paused).
     */
    record AgentPinged(VmId vm, AgentAnswer answer, String detail) implements NodeEvent {
        public AgentPinged {
            java.util.Objects.requireNonNull(vm, "vm");
            java.util.Objects.requireNonNull(answer, "answer");
        }
    }

    enum AgentAnswer { OK, NO_ANSWER, NOT_CONFIGURED, NOT_RUNNING }

    // ---- storage heartbeat
    /**
     * One round of the storage heartbeat on {@code datastore}, every {@code storageIntervalMs}: whether
     * this host wrote its own slot and read the others' within the adapter's timeout ({@code ok}, with
     * {@code error} saying why not), and the slots it read (every host's last record it found there,
     * its own included; empty when the read failed). Each slot is what that host's watchdog enforced
     * when it wrote it, as a {@link HostSignal}; its sequence is the host's write counter.
     */
    record StorageRound(String datastore, boolean ok, String error, List<HostSignal> slots) implements NodeEvent {
        public StorageRound {
            java.util.Objects.requireNonNull(datastore, "datastore");
            slots = List.copyOf(slots);
        }
    }

    // ---- fencer
    record FenceDone(HostId host, boolean off, String error) implements NodeEvent { }

    // ---- operator
    /** An operator's request; {@code caller} says who asked, with the role the daemon gave them. */
    record AdminRequest(long requestId, AdminCommand command, Caller caller) implements NodeEvent {
        public AdminRequest {
            java.util.Objects.requireNonNull(command, "command");
            java.util.Objects.requireNonNull(caller, "caller");
        }

        /** A request from root (the simulator's operator, tests). */
        public AdminRequest(long requestId, AdminCommand command) {
            this(requestId, command, Caller.ROOT);
        }
    }

    enum WriteOutcome {
        OK,
        /** A check failed: a version, the epoch, a session. Nothing was written. */
        CONFLICT,
        /** The service did not answer or failed; nothing is known to be written. */
        FAILED
    }
}
