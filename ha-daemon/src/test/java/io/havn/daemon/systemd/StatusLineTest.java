package io.havn.daemon.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havn.common.model.HostId;
import io.havn.common.model.VmPhase;
import io.havn.daemon.metrics.NodeSnapshot;
import io.havn.daemon.metrics.NodeSnapshot.HostState;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatusLineTest {
    private static final Map<HostState, Integer> THREE_LIVE = Map.of(HostState.LIVE, 3);
    private static final Map<VmPhase, Integer> VMS = Map.of(VmPhase.RUNNING, 5, VmPhase.MIGRATING, 1,
            VmPhase.PLACED, 1, VmPhase.RECOVERING, 1, VmPhase.ERROR, 2, VmPhase.STOPPED, 4);

    private static NodeSnapshot node(boolean leader, boolean ready, boolean frozen, boolean selfFenced, HostId leaderHost,
                                     Map<HostState, Integer> hosts, int live, Map<VmPhase, Integer> vms) {
        return new NodeSnapshot(leader, 7, leaderHost, ready, frozen, selfFenced, hosts, live, vms, 0, List.of());
    }

    @Test
    void theLeaderSaysSoWithHostsAndVms() {
        assertEquals("leader epoch 7 · 3/3 hosts live · 6 VMs running, 2 recovering, 2 error",
                StatusLine.of(node(true, true, false, false, new HostId("node1"), THREE_LIVE, 3, VMS)));
    }

    @Test
    void aFollowerNamesItsLeaderAndHostsNotLiveOrInMaintenanceShow() {
        assertEquals("follower of node1 (epoch 7) · 2/4 hosts live (1 in maintenance) · 1 VM running, 0 recovering, "
                + "0 error", StatusLine.of(node(false, true, false, false, new HostId("node1"),
                Map.of(HostState.LIVE, 2, HostState.DOWN, 1, HostState.MAINTENANCE, 1), 2, Map.of(VmPhase.RUNNING, 1))));
        assertEquals("follower, no leader (epoch 7) · 3/3 hosts live · 0 VMs running, 0 recovering, 0 error",
                StatusLine.of(node(false, true, false, false, null, THREE_LIVE, 3, Map.of())));
    }

    @Test
    void aDisarmedClusterPrefixesTheLineWhateverFollows() {
        NodeSnapshot n = node(true, true, false, false, new HostId("node1"), THREE_LIVE, 3, VMS);
        NodeSnapshot disarmed = new NodeSnapshot(n.leader(), n.epoch(), n.leaderHost(), n.ready(), n.frozen(),
                n.selfFenced(), n.hosts(), n.hostsLive(), n.vms(), n.peers(),
                io.havn.common.model.ClusterRecord.Disarm.KEEP_WATCHDOGS, 0);
        assertEquals("DISARMED: leader epoch 7 · 3/3 hosts live · 6 VMs running, 2 recovering, 2 error",
                StatusLine.of(disarmed));
        assertEquals("DISARMED: leader epoch 7 · 3/3 hosts live · 6 VMs running, 2 recovering, 2 error · 1 record "
                + "refused (see log)", StatusLine.of(disarmed, 1));
        NodeSnapshot joining = new NodeSnapshot(false, 7, null, false, false, false, THREE_LIVE, 3, VMS, List.of(),
                io.havn.common.model.ClusterRecord.Disarm.RELEASE_WATCHDOGS, 0);
        assertEquals("DISARMED: joining", StatusLine.of(joining));
    }

    @Test
    void refusedRecordsShowOnceThereAreAny() {
        NodeSnapshot leader = node(true, true, false, false, new HostId("node1"), THREE_LIVE, 3, VMS);
        assertEquals(StatusLine.of(leader), StatusLine.of(leader, 0));
        assertEquals("leader epoch 7 · 3/3 hosts live · 6 VMs running, 2 recovering, 2 error · 1 record refused "
                + "(see log)", StatusLine.of(leader, 1));
        assertEquals("joining · 3 records refused (see log)", StatusLine.of(NodeSnapshot.none(), 3));
    }

    @Test
    void whatKeepsTheDaemonOutComesFirst() {
        assertEquals("joining", StatusLine.of(node(false, false, false, false, new HostId("node1"), THREE_LIVE, 3, VMS)));
        assertEquals("joining", StatusLine.of(NodeSnapshot.none()));
        assertEquals("frozen: lost coordination, as did the majority; keeping VMs",
                StatusLine.of(node(false, true, true, false, new HostId("node1"), THREE_LIVE, 3, VMS)));
        assertEquals("self-fenced: lost coordination, runs no HA VM",
                StatusLine.of(node(true, true, false, true, new HostId("node1"), THREE_LIVE, 3, VMS)));
    }
}
