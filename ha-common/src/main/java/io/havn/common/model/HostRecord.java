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
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice,
                         HostAdminState admin, boolean offConfirmed, boolean offByFenceDevice) {
    public HostRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(capacity, "capacity");
        Objects.requireNonNull(admin, "admin");
        offByFenceDevice = offConfirmed && offByFenceDevice;
    }

    /** A host not confirmed off by a fence device. */
    public HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice, HostAdminState admin,
                      boolean offConfirmed) {
        this(id, capacity, address, fenceDevice, admin, offConfirmed, false);
    }

    public HostRecord withAdmin(HostAdminState a) {
        return new HostRecord(id, capacity, address, fenceDevice, a, offConfirmed, offByFenceDevice);
    }

    /** Confirmed off by an operator ({@code true}), or no longer off ({@code false}). */
    public HostRecord withOffConfirmed(boolean off) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, off, false);
    }

    /** Confirmed off by its fence device. */
    public HostRecord withFencedOff() {
        return new HostRecord(id, capacity, address, fenceDevice, admin, true, true);
    }

    public boolean inMaintenance() {
        return admin == HostAdminState.MAINTENANCE;
    }
}
