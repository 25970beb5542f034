package io.havn.common.place;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.ClusterState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/** Hand-built cluster states for the placement tests: live active hosts and HA VMs running on them. */
final class StateBuilder {
    private final SortedMap<HostId, HostRecord> hosts = new TreeMap<>();
    private final SortedMap<HostId, SortedSet<Long>> live = new TreeMap<>();
    private final SortedMap<VmId, VmRecord> vms = new TreeMap<>();
    private PlacementPolicy policy = PlacementPolicy.EMPTY;
    private long nextSession = 100;

    static HostId hid(String name) {
        return new HostId(name);
    }

    static VmId vm(String id) {
        return new VmId(id);
    }

    static VmSpec spec(String id, int cpus, long memoryMiB, Priority priority) {
        return new VmSpec(vm(id), id, cpus, memoryMiB, priority, true, "<domain type='kvm'><name>" + id
                + "</name></domain>");
    }

    /** A live, active host without a fence device. */
    StateBuilder host(String name, int cpus, long memoryMiB) {
        return host(new HostRecord(hid(name), new HostCapacity(cpus, memoryMiB), null, null, HostAdminState.ACTIVE,
                false), true);
    }

    /** Puts a host record; a live host keeps the session it has, or gets a new one. */
    StateBuilder host(HostRecord r, boolean isLive) {
        hosts.put(r.id(), r);
        if (isLive) {
            live.computeIfAbsent(r.id(), k -> new TreeSet<>(Set.of(nextSession++))); // a host put again keeps its session
        } else {
            live.remove(r.id());
        }
        return this;
    }

    /** An HA VM of medium priority running on {@code host}. */
    StateBuilder vm(String id, String host, int cpus, long memoryMiB) {
        return vm(id, host, cpus, memoryMiB, Priority.MEDIUM);
    }

    StateBuilder vm(String id, String host, int cpus, long memoryMiB, Priority priority) {
        HostId h = hid(host);
        return vm(VmRecord.running(spec(id, cpus, memoryMiB, priority), h, session(h)));
    }

    StateBuilder vm(VmRecord r) {
        vms.put(r.id(), r);
        return this;
    }

    long session(HostId h) {
        SortedSet<Long> s = live.get(h);
        return s == null ? 1 : s.last();
    }

    StateBuilder group(String name, String... members) {
        Set<HostId> hs = new HashSet<>();
        for (String m : members) {
            hs.add(hid(m));
        }
        policy = policy.withGroup(name, hs);
        return this;
    }

    StateBuilder rule(Rule r) {
        policy = policy.withRule(r);
        return this;
    }

    StateBuilder admission(int tolerate, boolean strict, String... reserved) {
        Set<HostId> hs = new HashSet<>();
        for (String m : reserved) {
            hs.add(hid(m));
        }
        policy = policy.withAdmission(tolerate, strict, hs);
        return this;
    }

    ClusterState build() {
        return new ClusterState(1, null, hosts, live, vms, ClusterRecord.DEFAULT.withPlacement(policy));
    }
}
