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
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice,
                         HostAdminState admin, boolean offConfirmed, boolean offByFenceDevice,
                         PlannedRestart restart) {
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
    }

    public HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice, HostAdminState admin,
                      boolean offConfirmed, boolean offByFenceDevice) {
        this(id, capacity, address, fenceDevice, admin, offConfirmed, offByFenceDevice, null);
    }

    /** A host not confirmed off by a fence device. */
    public HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice, HostAdminState admin,
                      boolean offConfirmed) {
        this(id, capacity, address, fenceDevice, admin, offConfirmed, false, null);
    }

    public HostRecord withAdmin(HostAdminState a) {
        return new HostRecord(id, capacity, address, fenceDevice, a, offConfirmed, offByFenceDevice, restart);
    }

    /** Confirmed off by an operator ({@code true}), or no longer off ({@code false}). */
    public HostRecord withOffConfirmed(boolean off) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, off, false, restart);
    }

    /** Confirmed off by its fence device. */
    public HostRecord withFencedOff() {
        return new HostRecord(id, capacity, address, fenceDevice, admin, true, true, restart);
    }

    /** Its daemon announced a planned restart, leaving {@code session}, back within {@code windowMs}. */
    public HostRecord withRestart(long session, long windowMs) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, offConfirmed, offByFenceDevice,
                new PlannedRestart(session, windowMs));
    }

    public boolean inMaintenance() {
        return admin == HostAdminState.MAINTENANCE;
    }
}
