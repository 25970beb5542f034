package io.havn.sim.scenario;

import io.havn.common.model.HostId;
import io.havn.common.model.GuestMonitor;
import io.havn.common.model.Priority;
import io.havn.common.model.StorageErrorPolicy;
import java.util.List;
import java.util.Objects;

/**
 * A VM of a scenario and the host it starts on. {@code disk}: the path of its one disk (a block
 * device under /dev, a file otherwise), or null for none; every host refuses to start a VM whose disk
 * is not on the simulated shared storage ({@code /srv/shared}). {@code datastores}: the scenario's
 * datastores its disks live on (it pauses when its host loses one); {@code onStorageError} its
 * policy then (null: resume); {@code guestMonitor} its guest agent monitoring (null: none);
 * {@code agentChannel} false: its domain has no agent channel.
 */
public record VmDecl(String name, HostId host, int cpus, long memoryMiB, Priority priority, boolean ha, String disk,
                     List<String> datastores, StorageErrorPolicy onStorageError, GuestMonitor guestMonitor,
                     boolean agentChannel) {
    public static final int DEFAULT_CPUS = 1;
    public static final long DEFAULT_MEMORY_MIB = 1024;
    public static final Priority DEFAULT_PRIORITY = Priority.MEDIUM;

    public VmDecl {
        Objects.requireNonNull(name, "vm name");
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(priority, "priority");
        datastores = datastores == null ? List.of() : List.copyOf(datastores);
    }

    /** A VM on no datastore, with no guest monitoring. */
    public VmDecl(String name, HostId host, int cpus, long memoryMiB, Priority priority, boolean ha, String disk) {
        this(name, host, cpus, memoryMiB, priority, ha, disk, List.of(), null, null, true);
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
