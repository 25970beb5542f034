package io.havn.common.place;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Capacity-aware placement: high priority first, each VM onto the eligible host with the most free
 * memory (then cpus, then name), which spreads load. Pure and deterministic: the caller decides
 * which hosts are eligible and how much each has free.
 */
public final class Placement {
    private Placement() {
    }

    /** A host that may take VMs, with what it has free. */
    public record Host(HostId id, HostCapacity free) {
        public Host {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(free, "free");
        }
    }

    /**
     * A VM to place.
     *
     * @param excluded   hosts it must not go to (where it failed, its current host when draining)
     * @param preferred  a host to take if it is eligible and fits (an operator's move), or null
     * @param source     the host a migration leaves (a drain), or null: VMs of a hard together rule
     *                   that still run there follow it, so they do not hold it there
     */
    public record Request(VmId vm, Priority priority, int cpus, long memoryMiB, Set<HostId> excluded,
                          HostId preferred, HostId source) {
        public Request {
            Objects.requireNonNull(vm, "vm");
            Objects.requireNonNull(priority, "priority");
            excluded = excluded == null ? Set.of() : Set.copyOf(excluded);
        }

        public Request(VmId vm, Priority priority, int cpus, long memoryMiB, Set<HostId> excluded, HostId preferred) {
            this(vm, priority, cpus, memoryMiB, excluded, preferred, null);
        }
    }

    /** Requests in the order they are served: priority, then larger first, then id. */
    public static final Comparator<Request> ORDER = Comparator.comparing(Request::priority)
            .thenComparing(Comparator.comparingLong(Request::memoryMiB).reversed())
            .thenComparing(Request::vm);

    private static final class Slot {
        final HostId id;
        int cpus;
        long memoryMiB;

        Slot(Host h) {
            id = h.id();
            cpus = h.free().cpus();
            memoryMiB = h.free().memoryMiB();
        }
    }

    private static final Comparator<Slot> MOST_FREE = Comparator.<Slot>comparingLong(s -> -s.memoryMiB)
            .thenComparingInt(s -> -s.cpus)
            .thenComparing(s -> s.id);

    /**
     * Places as many requests as fit. Returns each placed VM's host, in service order; a VM absent
     * from the result fits nowhere.
     */
    public static Map<VmId, HostId> place(Collection<Request> requests, Collection<Host> hosts) {
        List<Request> order = new ArrayList<>(requests);
        order.sort(ORDER);
        TreeSet<Slot> byFree = new TreeSet<>(MOST_FREE);
        Map<HostId, Slot> slots = new HashMap<>();
        for (Host h : hosts) {
            Slot s = new Slot(h);
            slots.put(s.id, s);
            byFree.add(s);
        }
        Map<VmId, HostId> out = new LinkedHashMap<>();
        for (Request r : order) {
            Slot chosen = null;
            Slot pref = r.preferred() == null ? null : slots.get(r.preferred());
            if (pref != null && fits(pref, r)) {
                chosen = pref;
            } else {
                for (Slot s : byFree) {
                    if (s.memoryMiB < r.memoryMiB()) {
                        break; // sorted by free memory: nothing further fits
                    }
                    if (fits(s, r)) {
                        chosen = s;
                        break;
                    }
                }
            }
            if (chosen != null) {
                byFree.remove(chosen);
                chosen.cpus -= r.cpus();
                chosen.memoryMiB -= r.memoryMiB();
                byFree.add(chosen);
                out.put(r.vm(), chosen.id);
            }
        }
        return out;
    }

    private static boolean fits(Slot s, Request r) {
        return !r.excluded().contains(s.id) && s.cpus >= r.cpus() && s.memoryMiB >= r.memoryMiB();
    }
}
