package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Objects;

/**
 * What a VM is: identity, size, restart priority, whether havn keeps it available, and the
 * libvirt domain XML any host can define it from (its disks sit on shared storage).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmSpec(VmId id, String name, int cpus, long memoryMiB, Priority priority, boolean ha,
                     String domainXml) {
    public VmSpec {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(priority, "priority");
        if (name.isBlank()) {
            throw new IllegalArgumentException("VM " + id + ": name must not be blank");
        }
        if (cpus < 1) {
            throw new IllegalArgumentException("VM " + id + ": cpus must be >= 1, got " + cpus);
        }
        if (memoryMiB < 1) {
            throw new IllegalArgumentException("VM " + id + ": memoryMiB must be >= 1, got " + memoryMiB);
        }
    }

    public VmSpec withHa(boolean newHa) {
        return new VmSpec(id, name, cpus, memoryMiB, priority, newHa, domainXml);
    }
}
