package io.havn.common.model;

/** What a host offers to VMs, or what a VM needs. */
public record HostCapacity(int cpus, long memoryMiB) {
    public static final HostCapacity ZERO = new HostCapacity(0, 0);

    public HostCapacity {
        if (cpus < 0) {
            throw new IllegalArgumentException("cpus must be >= 0, got " + cpus);
        }
        if (memoryMiB < 0) {
            throw new IllegalArgumentException("memoryMiB must be >= 0, got " + memoryMiB);
        }
    }

    public HostCapacity plus(int c, long m) {
        return new HostCapacity(cpus + c, memoryMiB + m);
    }

    public HostCapacity minus(int c, long m) {
        return new HostCapacity(Math.max(0, cpus - c), Math.max(0, memoryMiB - m));
    }

    public boolean fits(int c, long m) {
        return c <= cpus && m <= memoryMiB;
    }
}
