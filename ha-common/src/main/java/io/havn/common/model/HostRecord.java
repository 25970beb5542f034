package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Objects;

/**
 * A host as the cluster knows it (persistent znode {@code hosts/<host>}).
 *
 * @param address       where its peers send heartbeats (host:port), may be null in tests
 * @param fenceDevice   the name of its fence device, or null when it has none
 * @param admin         active or in maintenance; survives the host's reboot and a change of leader
 * @param offConfirmed  a fence device or an operator confirmed the host is powered off; cleared by
 *                      the host itself when it registers again
 * @param offByFenceDevice  it was a fence device that confirmed it (so every leader to come reports
 *                      the failover's proof as the device's, not an operator's)
 * @param restart       the planned restart its daemon announced when it was stopped cleanly, or null:
 *                      the session it left and the window it may take to come back. Never cleared:
 *                      the next announcement replaces it, and it speaks of that session only
 * @param armed         the latest arm of the cluster ({@link ClusterRecord#generation()}) this host
 *                      bound its lease to again, and in which session; null if none since it registered
 * @param shutdownPolicy this host's own shutdown policy, or null to follow the cluster's
 * @param shutdown      the host shutdown its daemon announced, or null: the session that is shutting
 *                      down and the policy it follows. It speaks of that session only
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice,
                         HostAdminState admin, boolean offConfirmed, boolean offByFenceDevice,
                         PlannedRestart restart, ArmAck armed, ShutdownPolicy shutdownPolicy,
                         HostShutdown shutdown, java.util.Map<String, Boolean> datastores) {
    /**
     * The host bound its lease to the cluster's arm {@code generation} in {@code session}: from then on,
     * until the cluster is disarmed again, that session's expiry means its host self-fenced.
     */
    public record ArmAck(long generation, long session) {
        public ArmAck {
            if (generation <= 0 || session <= 0) {
                throw new IllegalArgumentException("an arm acknowledgement needs a generation and a session above 0, got "
                        + generation + ", " + session);
            }
        }
    }

    /** The host is being shut down by {@code session}, which follows {@code policy}: it takes no work. */
    public record HostShutdown(long session, ShutdownPolicy policy) {
        public HostShutdown {
            if (session <= 0) {
                throw new IllegalArgumentException("a host shutdown needs a session above 0, got " + session);
            }
            java.util.Objects.requireNonNull(policy, "policy");
        }
    }

    /**
     * A clean stop of the host's daemon, announced before it left {@code session}: its watchdog
     * stays armed for {@code windowMs} from before the announcement was sent, so its VMs run on
     * unguarded by the daemon for that long, and that session's expiry proves nothing before the
     * window (plus W and the drift margin) has passed where the leader saw the announcement.
     */
    public record PlannedRestart(long session, long windowMs) {
        public PlannedRestart {
            if (session <= 0 || windowMs <= 0) {
                throw new IllegalArgumentException("a planned restart needs a session and a window above 0, got session "
                        + session + ", window " + windowMs + " ms");
            }
        }
    }

    public HostRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(capacity, "capacity");
        Objects.requireNonNull(admin, "admin");
        offByFenceDevice = offConfirmed && offByFenceDevice;
        if (datastores != null) {
            for (String d : datastores.keySet()) {
                if (!VmSpec.DATASTORE_NAME.matcher(d).matches()) {
                    throw new IllegalArgumentException("host " + id + ": datastore '" + d + "' is not a name");
                }
            }
            datastores = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(datastores));
        }
    }

    public HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice, HostAdminState admin,
                      boolean offConfirmed, boolean offByFenceDevice, PlannedRestart restart, ArmAck armed,
                      ShutdownPolicy shutdownPolicy, HostShutdown shutdown) {
        this(id, capacity, address, fenceDevice, admin, offConfirmed, offByFenceDevice, restart, armed, shutdownPolicy,
                shutdown, null);
    }

    public HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice, HostAdminState admin,
                      boolean offConfirmed, boolean offByFenceDevice) {
        this(id, capacity, address, fenceDevice, admin, offConfirmed, offByFenceDevice, null, null, null, null);
    }

    /** A host not confirmed off by a fence device. */
    public HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice, HostAdminState admin,
                      boolean offConfirmed) {
        this(id, capacity, address, fenceDevice, admin, offConfirmed, false, null, null, null, null);
    }

    public HostRecord withAdmin(HostAdminState a) {
        return new HostRecord(id, capacity, address, fenceDevice, a, offConfirmed, offByFenceDevice, restart, armed, shutdownPolicy,
                shutdown, datastores);
    }

    /** Confirmed off by an operator ({@code true}), or no longer off ({@code false}). */
    public HostRecord withOffConfirmed(boolean off) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, off, false, restart, armed, shutdownPolicy, shutdown,
                datastores);
    }

    /** Confirmed off by its fence device. */
    public HostRecord withFencedOff() {
        return new HostRecord(id, capacity, address, fenceDevice, admin, true, true, restart, armed, shutdownPolicy, shutdown,
                datastores);
    }

    /** Its daemon announced a planned restart, leaving {@code session}, back within {@code windowMs}. */
    public HostRecord withRestart(long session, long windowMs) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, offConfirmed, offByFenceDevice,
                new PlannedRestart(session, windowMs), armed, shutdownPolicy, shutdown, datastores);
    }

    /** Bound its lease to the cluster's arm {@code generation} in {@code session}. */
    public HostRecord withArmed(long generation, long session) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, offConfirmed, offByFenceDevice, restart,
                new ArmAck(generation, session), shutdownPolicy, shutdown, datastores);
    }

    /** Follows {@code p} when shut down (null: the cluster's policy). */
    public HostRecord withShutdownPolicy(ShutdownPolicy p) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, offConfirmed, offByFenceDevice, restart,
                armed, p, shutdown, datastores);
    }

    /** Its daemon announced that {@code session} shuts the host down, following {@code policy}. */
    public HostRecord withShutdown(long session, ShutdownPolicy policy) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, offConfirmed, offByFenceDevice, restart,
                armed, shutdownPolicy, new HostShutdown(session, policy), datastores);
    }

    /** The datastores this host's storage heartbeat writes, each with whether it reaches it now (null: none). */
    public HostRecord withDatastores(java.util.Map<String, Boolean> reach) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, offConfirmed, offByFenceDevice, restart,
                armed, shutdownPolicy, shutdown, reach);
    }

    /**
     * Whether this host may hold a VM on {@code names}: it runs no storage heartbeat (nothing is known,
     * as before datastores), or it reaches every one of them now.
     */
    public boolean reaches(java.util.List<String> names) {
        if (datastores == null || names.isEmpty()) {
            return true;
        }
        for (String d : names) {
            if (!Boolean.TRUE.equals(datastores.get(d))) {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code session} of this host announced it is shutting the host down. */
    public boolean shuttingDown(long session) {
        return shutdown != null && shutdown.session() == session;
    }

    /** Whether the leader drains this host's VMs bound to {@code session}: maintenance, or a shutdown that migrates. */
    public boolean draining(long session) {
        return inMaintenance() || shuttingDown(session) && shutdown.policy() == ShutdownPolicy.MIGRATE;
    }

    /** Whether this host bound its lease, in {@code session}, to the cluster's current arm. */
    public boolean armedIn(ClusterRecord cluster, long session) {
        return cluster.generation() == 0
                || cluster.armed() && armed != null && armed.generation() == cluster.generation()
                && armed.session() == session;
    }

    public boolean inMaintenance() {
        return admin == HostAdminState.MAINTENANCE;
    }
}
