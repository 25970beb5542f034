package io.havn.sim.scenario;

import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import java.util.Objects;

/** A VM of a scenario and the host it starts on. */
public record VmDecl(String name, HostId host, int cpus, long memoryMiB, Priority priority, boolean ha) {
    public static final int DEFAULT_CPUS = 1;
    public static final long DEFAULT_MEMORY_MIB = 1024;
    public static final Priority DEFAULT_PRIORITY = Priority.MEDIUM;

    public VmDecl {
        Objects.requireNonNull(name, "vm name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(priority, "priority");
    }
}
