package io.havn.sim.scenario;

import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import java.util.Objects;

/**
 * A VM of a scenario and the host it starts on. {@code disk}: the path of its one disk (a block
 * device under /dev, a file otherwise), or null for none; every host refuses to start a VM whose disk
 * is not on the simulated shared storage ({@code /srv/shared}).
 */
public record VmDecl(String name, HostId host, int cpus, long memoryMiB, Priority priority, boolean ha, String disk) {
    public static final int DEFAULT_CPUS = 1;
    public static final long DEFAULT_MEMORY_MIB = 1024;
    public static final Priority DEFAULT_PRIORITY = Priority.MEDIUM;

    public VmDecl {
        Objects.requireNonNull(name, "vm name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(priority, "priority");
    }

    /** A VM without a disk. */
    public VmDecl(String name, HostId host, int cpus, long memoryMiB, Priority priority, boolean ha) {
        this(name, host, cpus, memoryMiB, priority, ha, null);
    }

    /** Its libvirt domain XML: its name, and its disk if it has one. */
    public String domainXml() {
        String devices = "";
        if (disk != null) {
            String source = disk.startsWith("/dev/") ? "block'><source dev='" : "file'><source file='";
            devices = "<devices><disk type='" + source + disk + "'/><target dev='vda'/></disk></devices>";
        }
        return "<domain type='kvm'><name>" + name + "</name>" + devices + "</domain>";
    }
}
