package io.havn.daemon.ctl;

import io.havn.common.model.ClusterState;
import io.havn.common.model.DesiredState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.admin.AdminSocketServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A real admin socket in front of a stand-in node: status is answered with {@link #state} (as node2's
 * partial answer with {@link #partialNote} when that is set), every
 * other command with {@link #reply} (or not at all while {@link #silent}), and every command that
 * reached the node is kept in {@link #seen}.
 */
final class FakeDaemon implements AutoCloseable {
    static final HostId NODE1 = new HostId("node1");
    static final HostId NODE2 = new HostId("node2");
    static final HostId NODE3 = new HostId("node3");
    static final VmId WEB1 = new VmId("6f1c5c2e-2f6b-4a55-9c39-3d1d2d6f0a01");
    static final VmId DB1 = new VmId("0b9e6a4c-1d2e-4f3a-8b5c-6d7e8f9a0b1c");
    static final VmId MAIL = new VmId("a3c1e5f7-0000-4000-8000-000000000001");
    static final VmId BATCH = new VmId("a3c1e5f7-0000-4000-8000-000000000002");
    static final VmId OLD = new VmId("a3c1e5f7-0000-4000-8000-000000000003");

    final List<AdminCommand> seen = new CopyOnWriteArrayList<>();
    final Path socket;
    volatile ClusterState state = cluster();
    /** The note of a partial status answer, or null for a whole one. */
    volatile String partialNote;
    volatile AdminReply reply = AdminReply.ok("accepted");
    volatile boolean silent;
    private final AdminSocketServer server;

    FakeDaemon(Path dir) throws Exception {
        socket = dir.resolve("admin.sock");
        AdminSocketServer[] s = new AdminSocketServer[1];
        s[0] = new AdminSocketServer(socket, "root",
                new io.havn.daemon.admin.Access(java.util.Map.of(), java.util.Map.of()), e -> {
            NodeEvent.AdminRequest r = (NodeEvent.AdminRequest) e;
            seen.add(r.command());
            if (r.command() instanceof AdminCommand.Status) {
                ClusterState now = state;
                String note = partialNote;
                AdminReply answer = note == null ? AdminReply.state(now, null, null)
                        : AdminReply.ownState(now, NODE2, null, note);
                CompletableFuture.runAsync(() -> s[0].reply(r.requestId(), answer));
            } else if (!silent) {
                AdminReply answer = reply;
                CompletableFuture.runAsync(() -> s[0].reply(r.requestId(), answer));
            }
        }, Duration.ofSeconds(10), Duration.ofSeconds(30));
        server = s[0];
        server.start();
    }

    static VmSpec spec(VmId id, String name, int cpus, long memoryMiB, Priority p, boolean ha) {
        return new VmSpec(id, name, cpus, memoryMiB, p, ha, "<domain><name>" + name + "</name><uuid>" + id
                + "</uuid></domain>");
    }

    /**
     * Three hosts and five VMs: node1 leads and runs web1, and db1 migrates from it to node2; node3
     * is down, in maintenance and confirmed off; mail is in error, batch recovering, old stopped
     * with HA off.
     */
    static ClusterState cluster() {
        SortedMap<HostId, HostRecord> hosts = new TreeMap<>();
        hosts.put(NODE1, new HostRecord(NODE1, new HostCapacity(8, 16384), "10.0.0.1:7405", "ipmi1",
                HostAdminState.ACTIVE, false));
        hosts.put(NODE2, new HostRecord(NODE2, new HostCapacity(8, 16384), "10.0.0.2:7405", null,
                HostAdminState.ACTIVE, false));
        hosts.put(NODE3, new HostRecord(NODE3, new HostCapacity(16, 32768), "10.0.0.3:7405", null,
                HostAdminState.MAINTENANCE, true));
        SortedMap<HostId, SortedSet<Long>> live = new TreeMap<>();
        live.put(NODE1, new TreeSet<>(Set.of(101L)));
        live.put(NODE2, new TreeSet<>(Set.of(102L)));
        SortedMap<VmId, VmRecord> vms = new TreeMap<>();
        vms.put(WEB1, VmRecord.running(spec(WEB1, "web1", 2, 2048, Priority.HIGH, true), NODE1, 101));
        vms.put(DB1, VmRecord.running(spec(DB1, "db1", 4, 8192, Priority.MEDIUM, true), NODE1, 101)
                .migratingTo(NODE2, 102));
        vms.put(MAIL, new VmRecord(spec(MAIL, "mail", 1, 1024, Priority.LOW, true), DesiredState.RUNNING,
                VmPhase.ERROR, null, 0, 3, null, 0, null, 0, List.of(NODE2, NODE1),
                "start failed on node2, node1: disk not found"));
        vms.put(BATCH, new VmRecord(spec(BATCH, "batch", 16, 4096, Priority.LOW, true), DesiredState.RUNNING,
                VmPhase.RECOVERING, null, 0, 2, null, 0, null, 0, List.of(), "no host has room for 16 CPUs"));
        vms.put(OLD, new VmRecord(spec(OLD, "old", 1, 512, Priority.MEDIUM, false), DesiredState.STOPPED,
                VmPhase.STOPPED, null, 0, 1, null, 0, null, 0, List.of(), null));
        return new ClusterState(7, NODE1, hosts, live, vms);
    }

    @Override
    public void close() {
        server.close();
    }
}
