package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a VM is: identity, size, restart priority, whether havn keeps it available, and the
 * libvirt domain XML any host can define it from (its disks sit on shared storage).
 *
 * @param datastores     the shared datastores its disks live on, by the names the hosts' storage
 *                       heartbeat uses: a host that cannot reach one of them is no place for it (empty:
 *                       not known, any host will do)
 * @param onStorageError what to do when libvirt pauses it on a disk I/O error (null: resume)
 * @param guestMonitor   guest health through the QEMU guest agent (null: not monitored)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmSpec(VmId id, String name, int cpus, long memoryMiB, Priority priority, boolean ha,
                     String domainXml,
                     @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> datastores,
                     StorageErrorPolicy onStorageError, GuestMonitor guestMonitor) {
    /** A datastore's name: 1-63 letters, digits, '.', '_', '-', starting with a letter or digit. */
    public static final Pattern DATASTORE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");
    /** At most this many datastores per VM. */
    public static final int MAX_DATASTORES = 16;

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
        datastores = datastores == null ? List.of() : List.copyOf(datastores);
        if (datastores.size() > MAX_DATASTORES) {
            throw new IllegalArgumentException("VM " + id + ": at most " + MAX_DATASTORES + " datastores, got "
                    + datastores.size());
        }
        for (String d : datastores) {
            if (!DATASTORE_NAME.matcher(d).matches()) {
                throw new IllegalArgumentException("VM " + id + ": datastore '" + d
                        + "' is not a name (1-63 letters, digits, '.', '_', '-')");
            }
        }
        if (datastores.stream().distinct().count() != datastores.size()) {
            throw new IllegalArgumentException("VM " + id + ": datastores " + datastores + " name one twice");
        }
    }

    /** A VM with no datastores named, the default storage error policy and no guest monitoring. */
    public VmSpec(VmId id, String name, int cpus, long memoryMiB, Priority priority, boolean ha, String domainXml) {
        this(id, name, cpus, memoryMiB, priority, ha, domainXml, List.of(), null, null);
    }

    public VmSpec withHa(boolean newHa) {
        return new VmSpec(id, name, cpus, memoryMiB, priority, newHa, domainXml, datastores, onStorageError, guestMonitor);
    }

    /** This spec on {@code names}, with {@code policy} on storage errors and {@code monitor} (null: none). */
    public VmSpec withStorage(List<String> names, StorageErrorPolicy policy, GuestMonitor monitor) {
        return new VmSpec(id, name, cpus, memoryMiB, priority, ha, domainXml, names, policy, monitor);
    }

    /** What to do when it pauses on a disk I/O error ({@link StorageErrorPolicy#RESUME} unless set). */
    public StorageErrorPolicy storageErrorPolicy() {
        return onStorageError == null ? StorageErrorPolicy.RESUME : onStorageError;
    }
}
