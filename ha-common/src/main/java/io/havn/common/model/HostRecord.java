package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Objects;

/**
 * A host as the cluster knows it (persistent znode {@code hosts/<host>}).
 *
 * @param address       where its peers send heartbeats (host:port), may be null in tests
 * @param fenceDevice   the name of its fence device, or null when it has none
 * @param admin         active or in maintenance; survives the host's reboot and a change of leader
 * @param offConfirmed  an operator confirmed the host is powered off; cleared by the host itself
 *                      when it registers again
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record HostRecord(HostId id, HostCapacity capacity, String address, String fenceDevice,
                         HostAdminState admin, boolean offConfirmed) {
    public HostRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(capacity, "capacity");
        Objects.requireNonNull(admin, "admin");
    }

    public HostRecord withAdmin(HostAdminState a) {
        return new HostRecord(id, capacity, address, fenceDevice, a, offConfirmed);
    }

    public HostRecord withOffConfirmed(boolean off) {
        return new HostRecord(id, capacity, address, fenceDevice, admin, off);
    }

    public boolean inMaintenance() {
        return admin == HostAdminState.MAINTENANCE;
    }
}
