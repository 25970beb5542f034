package io.havn.common.node;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import java.util.List;
import java.util.Objects;

/**
 * What the node wants done, as a value. The node never calls a port: every step
 * ({@link Node#start}, {@link Node#handle}, {@link Node#tick}) returns the effects it decided, in
 * order, and {@link NodeDriver} carries them out on the ports. Tests assert on these values.
 *
 * <p>Each effect names the port it goes to; its fields are what that port's call takes.
 */
public sealed interface Effect {
    // ---- the transport

    /**
     * One heartbeat round: {@code heartbeats.get(i)} to {@code to.get(i)}, in that order. One effect
     * per round, not per peer: at 1,000 hosts a round is 999 heartbeats.
     */
    record Send(List<HostId> to, List<Heartbeat> heartbeats) implements Effect {
        /** Takes both lists as they are (no copy: a round is made anew each time and never changed). */
        public Send {
            Objects.requireNonNull(to, "to");
            Objects.requireNonNull(heartbeats, "heartbeats");
            if (to.size() != heartbeats.size()) {
                throw new IllegalArgumentException(to.size() + " peers for " + heartbeats.size() + " heartbeats");
            }
        }

        /** One heartbeat to one peer. */
        public Send(HostId to, Heartbeat heartbeat) {
            this(List.of(to), List.of(heartbeat));
        }
    }

    /**
     * The peers this host heartbeats now, its monitors ({@link Monitors}), in name order; emitted
     * when they change. The host's signal sender signals the same peers.
     */
    record MonitorsChanged(List<HostId> peers) implements Effect {
        public MonitorsChanged {
            peers = List.copyOf(peers);
        }
    }

    // ---- the coordinator

    /** Open a new coordination session (answered by {@link NodeEvent.SessionStarted}). */
    record OpenSession() implements Effect { }

    /** Confirm the session against a quorum (answered by {@link NodeEvent.Confirmed}). */
    record Confirm(long token) implements Effect { }

    /** Stand for leader. */
    record JoinElection() implements Effect { }

    /** Give leadership up. */
    record Resign() implements Effect { }

    /** Close another host's session (it is proven dead). */
    record Evict(HostId host, long session) implements Effect {
        public Evict {
            Objects.requireNonNull(host, "host");
        }
    }

    /** Claim the next epoch (answered by {@link NodeEvent.EpochClaimed}). */
    record ClaimEpoch(long token) implements Effect { }

    /** Asks the coordinator for {@code scope} of the VM records ({@link io.havn.common.port.Coordinator#scope}). */
    record Scope(io.havn.common.port.ViewScope scope) implements Effect {
        public Scope {
            java.util.Objects.requireNonNull(scope, "scope");
        }
    }

    /** The VMs whose records this host follows besides its own ({@link io.havn.common.port.Coordinator#follow}). */
    record Follow(java.util.Set<VmId> vms) implements Effect {
        public Follow {
            vms = java.util.Set.copyOf(vms);
        }
    }

    /** An atomic multi-op on the cluster state (answered by {@link NodeEvent.WriteDone}). */
    record Write(long token, List<CoordOp> ops) implements Effect {
        public Write {
            ops = List.copyOf(ops);
        }
    }

    // ---- the local hypervisor

    /** List every local domain (answered by {@link NodeEvent.DomainsListed}). */
    record ListDomains() implements Effect { }

    /** Turn libvirt autostart off for a domain. */
    record DisableAutostart(VmId vm) implements Effect { }

    /** Start a guest (answered by {@link NodeEvent.HypervisorDone}). */
    record Start(VmSpec spec) implements Effect {
        public Start {
            Objects.requireNonNull(spec, "spec");
        }
    }

    /** Resume a paused guest. */
    record Resume(VmId vm) implements Effect { }

    /** Shut a guest down gracefully, destroying it after {@code timeoutMs}. */
    record Shutdown(VmId vm, long timeoutMs) implements Effect { }

    /** Power a guest off at once. */
    record Destroy(VmId vm) implements Effect { }

    /** Live-migrate a guest to another host. */
    record Migrate(VmId vm, HostId target) implements Effect { }

    /** Ping the guest's QEMU agent (answered by {@link NodeEvent.AgentPinged}). */
    record PingAgent(VmId vm) implements Effect { }

    /** Reset a guest (answered by {@link NodeEvent.HypervisorDone} with {@code RESET}). */
    record Reset(VmId vm) implements Effect { }

    // ---- the fencer

    /** Power a host off through its fence device (answered by {@link NodeEvent.FenceDone}). */
    record PowerOff(HostId host, String device) implements Effect { }

    // ---- the watchdog

    /** Keep the machine alive until {@code deadlineNanos} (the node's clock). */
    record ArmWatchdog(long deadlineNanos) implements Effect { }

    /** This host runs no HA VM: nothing to guard. */
    record ReleaseWatchdog() implements Effect { }

    // ---- the operator and the record

    /** Answer an admin request. */
    record Answer(long requestId, AdminReply reply) implements Effect {
        public Answer {
            Objects.requireNonNull(reply, "reply");
        }
    }

    /** Record a decision (the log, the metrics, the simulator's timeline). */
    record Record(Decision decision) implements Effect {
        public Record {
            Objects.requireNonNull(decision, "decision");
        }
    }

    // ---- time

    /** Run {@link Node#tick} once more, {@code delayNanos} from now. */
    record ScheduleTick(long delayNanos) implements Effect { }
}
