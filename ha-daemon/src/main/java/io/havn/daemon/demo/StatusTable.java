package io.havn.daemon.demo;

import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/** The cluster state as a few lines: the leader and epoch, then each host, its state and its VMs. */
final class StatusTable {
    private StatusTable() {
    }

    static List<String> lines(ClusterState s, Map<VmId, String> names) {
        List<String> out = new ArrayList<>();
        out.add("leader " + (s.leader() == null ? "(none)" : s.leader()) + ", epoch " + s.epoch());
        for (Map.Entry<HostId, HostRecord> e : s.hosts().entrySet()) {
            HostId h = e.getKey();
            String state = s.isLive(h) ? "live"
                    : e.getValue().offConfirmed() ? "down, fenced" : "down";
            List<String> vms = new ArrayList<>();
            for (VmRecord r : byName(s, names)) {
                if (h.equals(r.owner())) {
                    vms.add(name(r, names) + " " + phase(r));
                }
            }
            out.add(String.format("  %-6s %-7s %-13s %s", h, h.equals(s.leader()) ? "leader" : "", state,
                    vms.isEmpty() ? "-" : String.join(", ", vms)));
        }
        List<String> unowned = new ArrayList<>();
        for (VmRecord r : byName(s, names)) {
            if (r.owner() == null) {
                unowned.add(name(r, names) + " " + phase(r));
            }
        }
        if (!unowned.isEmpty()) {
            out.add("  on no host: " + String.join(", ", unowned));
        }
        return out;
    }

    private static List<VmRecord> byName(ClusterState s, Map<VmId, String> names) {
        return s.vms().values().stream().sorted(Comparator.comparing(r -> name(r, names))).toList();
    }

    private static String name(VmRecord r, Map<VmId, String> names) {
        return names.getOrDefault(r.id(), r.spec().name());
    }

    private static String phase(VmRecord r) {
        return r.phase().name().toLowerCase().replace('_', '-');
    }
}
