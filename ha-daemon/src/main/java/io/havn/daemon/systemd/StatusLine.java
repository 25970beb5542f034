package io.havn.daemon.systemd;

import io.havn.common.model.VmPhase;
import io.havn.daemon.metrics.NodeSnapshot;

/**
 * The one line {@code systemctl status havnd} shows for this daemon, from a {@link NodeSnapshot}:
 * {@code leader epoch 7 · 3/3 hosts live · 6 VMs running, 0 recovering, 0 error}, or
 * {@code follower of node1 (epoch 7) · ...}, or what keeps it from taking part:
 * {@code joining}, {@code frozen: ...}, {@code self-fenced: ...}. While the cluster is disarmed,
 * the line starts with {@code DISARMED: }, whatever follows.
 */
public final class StatusLine {
    private StatusLine() {
    }

    /**
     * As {@link #of(NodeSnapshot)}, and, when this daemon has refused records in the coordination
     * service (no valid seal of the cluster key), how many: {@code ... · 2 records refused (see log)}.
     */
    public static String of(NodeSnapshot s, long recordsRefused) {
        String line = of(s);
        return recordsRefused == 0 ? line
                : line + " · " + recordsRefused + (recordsRefused == 1 ? " record" : " records") + " refused (see log)";
    }

    public static String of(NodeSnapshot s) {
        return s.disarmed() == null ? line(s) : "DISARMED: " + line(s);
    }

    private static String line(NodeSnapshot s) {
        if (s.selfFenced()) {
            return "self-fenced: lost coordination, runs no HA VM";
        }
        if (s.frozen()) {
            return "frozen: lost coordination, as did the majority; keeping VMs";
        }
        String role;
        if (s.leader()) {
            role = "leader epoch " + s.epoch();
        } else if (!s.ready()) {
            return "joining";
        } else if (s.leaderHost() == null) {
            role = "follower, no leader (epoch " + s.epoch() + ")";
        } else {
            role = "follower of " + s.leaderHost() + " (epoch " + s.epoch() + ")";
        }
        int running = s.vmsIn(VmPhase.RUNNING, VmPhase.MIGRATING);
        int recovering = s.vmsIn(VmPhase.PLACED, VmPhase.START_FAILED, VmPhase.NOT_RUNNING, VmPhase.RECOVERING);
        int maintenance = s.hosts().get(NodeSnapshot.HostState.MAINTENANCE);
        return role + " · " + s.hostsLive() + "/" + s.hostsTotal() + " hosts live"
                + (maintenance > 0 ? " (" + maintenance + " in maintenance)" : "")
                + " · " + running + (running == 1 ? " VM" : " VMs") + " running, " + recovering + " recovering, "
                + s.vmsIn(VmPhase.ERROR) + " error";
    }
}
