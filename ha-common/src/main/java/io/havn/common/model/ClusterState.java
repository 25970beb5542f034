package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A consistent picture of the whole cluster state: what {@code havnctl status} shows and what
 * tests compare. Maps are sorted so that its JSON is stable.
 *
 * @param epoch   the current leader epoch (version of the epoch znode)
 * @param leader  the host that holds that epoch, or null while none does
 * @param hosts   every registered host
 * @param live    the live sessions of each host (a restarted daemon may briefly have two)
 * @param vms     every HA VM record
 * @param cluster the cluster record (never null: the defaults while none is written)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ClusterState(long epoch, HostId leader, SortedMap<HostId, HostRecord> hosts,
                           SortedMap<HostId, SortedSet<Long>> live, SortedMap<VmId, VmRecord> vms, ClusterRecord cluster) {
    public ClusterState {
        cluster = cluster == null ? ClusterRecord.DEFAULT : cluster;
        hosts = hosts == null ? new TreeMap<>() : new TreeMap<>(hosts);
        live = live == null ? new TreeMap<>() : copyLive(live);
        vms = vms == null ? new TreeMap<>() : new TreeMap<>(vms);
    }

    public ClusterState(long epoch, HostId leader, SortedMap<HostId, HostRecord> hosts,
                        SortedMap<HostId, SortedSet<Long>> live, SortedMap<VmId, VmRecord> vms) {
        this(epoch, leader, hosts, live, vms, null);
    }

    /** Whether {@code host} has a live coordination session. */
    public boolean isLive(HostId host) {
        SortedSet<Long> s = live.get(host);
        return s != null && !s.isEmpty();
    }

    private static SortedMap<HostId, SortedSet<Long>> copyLive(Map<HostId, ? extends Set<Long>> in) {
        SortedMap<HostId, SortedSet<Long>> out = new TreeMap<>();
        in.forEach((h, s) -> out.put(h, new TreeSet<>(s)));
        return out;
    }
}
