package io.havn.daemon.ctl;

import static io.havn.daemon.ctl.FakeDaemon.DB1;
import static io.havn.daemon.ctl.FakeDaemon.NODE1;
import static io.havn.daemon.ctl.FakeDaemon.NODE2;
import static io.havn.daemon.ctl.FakeDaemon.WEB1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.ClusterState;
import io.havn.common.model.GuestMonitor;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.StorageErrorPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What havnctl shows of datastores: each host's reach, each VM's datastores, policy and guest monitor. */
class HavnctlStorageStatusTest {
    @TempDir
    Path dir;

    private FakeDaemon daemon;

    @BeforeEach
    void startDaemon() throws Exception {
        daemon = new FakeDaemon(dir);
    }

    @AfterEach
    void stopDaemon() {
        daemon.close();
    }

    private HavnctlTest.Result havnctl(String... args) {
        String[] all = Arrays.copyOf(new String[] {"--socket", daemon.socket.toString()}, args.length + 2);
        System.arraycopy(args, 0, all, 2, args.length);
        return HavnctlTest.run(Map.of(), all);
    }

    /** The fake cluster with these hosts' datastores, and web1 and db1 on the datastores given. */
    private void cluster(Map<String, Boolean> node1, Map<String, Boolean> node2, List<String> web1, List<String> db1) {
        ClusterState c = FakeDaemon.cluster();
        SortedMap<HostId, HostRecord> hosts = new TreeMap<>(c.hosts());
        hosts.put(NODE1, hosts.get(NODE1).withDatastores(node1));
        hosts.put(NODE2, hosts.get(NODE2).withDatastores(node2));
        SortedMap<VmId, VmRecord> vms = new TreeMap<>(c.vms());
        vms.put(WEB1, VmRecord.running(FakeDaemon.spec(WEB1, "web1", 2, 2048, Priority.HIGH, true).withStorage(web1,
                StorageErrorPolicy.RESTART_ELSEWHERE, GuestMonitor.defaults()), NODE1, 101));
        vms.put(DB1, VmRecord.running(FakeDaemon.spec(DB1, "db1", 4, 8192, Priority.MEDIUM, true).withStorage(db1,
                null, null), NODE1, 101));
        daemon.state = new ClusterState(c.epoch(), c.leader(), hosts, c.live(), vms);
    }

    private static List<String> attention(HavnctlTest.Result r) {
        List<String> lines = r.lines();
        return lines.subList(lines.indexOf("Needs attention:") + 1, lines.size());
    }

    private static String cell(String header, String headerLine, String row) {
        int at = headerLine.indexOf(header);
        assertTrue(at >= 0, header + " in " + headerLine);
        String rest = row.substring(at);
        int end = rest.indexOf("  ");
        return end < 0 ? rest : rest.substring(0, end);
    }

    @Test
    void eachHostShowsWhatItsStorageHeartbeatSaysAndALostDatastoreNeedsAttention() {
        cluster(Map.of("vmstore", true, "lun2", true), Map.of("vmstore", true, "lun2", false), List.of("vmstore", "lun2"),
                List.of("vmstore"));
        HavnctlTest.Result r = havnctl("status");
        assertEquals(0, r.code(), r.toString());
        String hosts = r.line("HOST");
        assertEquals("lun2 ok, vmstore ok", cell("DATASTORES", hosts, r.line("node1 ")), "by name");
        assertEquals("lun2 LOST, vmstore ok", cell("DATASTORES", hosts, r.line("node2 ")));
        assertEquals("-", cell("DATASTORES", hosts, r.line("node3 ")), "no storage heartbeat there");
        List<String> attention = attention(r);
        assertTrue(attention.contains("  host node2: lost datastore lun2 (its storage heartbeat fails there): no VM on "
                + "it is placed on node2"), attention.toString());
        assertFalse(attention.stream().anyMatch(a -> a.contains("no host reaches")), "node1 reaches both: " + attention);
    }

    @Test
    void aDatastoreNoLiveHostReachesNeedsAttentionWithTheVmsOnIt() {
        cluster(Map.of("vmstore", true, "lun2", false), Map.of("vmstore", true, "lun2", false), List.of("vmstore", "lun2"),
                List.of("vmstore"));
        List<String> attention = attention(havnctl("status"));
        assertTrue(attention.contains("  host node1: lost datastore lun2 (its storage heartbeat fails there): no VM on "
                + "it is placed on node1"), attention.toString());
        assertTrue(attention.contains("  datastore lun2: no host reaches it; no host can take VM web1"),
                attention.toString());
    }

    @Test
    void aDatastoreAVmNamesThatNoHostsHeartbeatWritesNeedsAttentionOnceEveryLiveHostRunsOne() {
        cluster(Map.of("vmstore", true), Map.of("vmstore", true), List.of("vmstore"), List.of("lun9"));
        assertTrue(attention(havnctl("status")).contains("  datastore lun9: no host reaches it; no host can take VM db1"));
        ClusterState c = daemon.state;
        SortedMap<HostId, HostRecord> hosts = new TreeMap<>(c.hosts());
        hosts.put(NODE2, hosts.get(NODE2).withDatastores(null)); // node2 runs no heartbeat: it may take db1
        daemon.state = new ClusterState(c.epoch(), c.leader(), hosts, c.live(), c.vms());
        assertFalse(attention(havnctl("status")).stream().anyMatch(a -> a.contains("lun9")));
    }

    @Test
    void theVmTableShowsDatastoresPolicyAndGuestMonitorWhenAnyVmHasThem() {
        cluster(Map.of("vmstore", true), Map.of("vmstore", true), List.of("vmstore", "lun2"), List.of());
        HavnctlTest.Result r = havnctl("vms");
        assertEquals(0, r.code(), r.toString());
        String header = r.lines().get(0);
        String web1 = r.line("web1 ");
        assertEquals("vmstore, lun2", cell("DATASTORES", header, web1));
        assertEquals("restart-elsewhere", cell("ON STORAGE ERROR", header, web1));
        assertEquals("ping 10s, 3 misses, grace 2m, 3 resets/1h", cell("GUEST AGENT", header, web1));
        String db1 = r.line("db1 ");
        assertEquals("-", cell("DATASTORES", header, db1));
        assertEquals("resume", cell("ON STORAGE ERROR", header, db1), "the default");
        assertEquals("-", cell("GUEST AGENT", header, db1));
    }

    @Test
    void withoutDatastoresOrMonitorsTheTablesAreAsBefore() {
        HavnctlTest.Result r = havnctl("status");
        assertFalse(r.line("HOST").contains("DATASTORES"), r.out());
        assertFalse(r.line("NAME").contains("DATASTORES") || r.line("NAME").contains("GUEST AGENT"), r.out());
    }

    @Test
    void aGuestMonitorReadsInWholeUnits() {
        assertEquals("ping 1500ms, 1 miss, grace 0s, 1 reset/90s",
                StatusView.guestMonitor(new GuestMonitor(1_500, 1, 0, 1, 90_000)));
        assertEquals("-", StatusView.guestMonitor(null));
    }
}
