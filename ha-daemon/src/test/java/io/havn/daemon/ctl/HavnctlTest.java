package io.havn.daemon.ctl;

import static io.havn.daemon.ctl.FakeDaemon.BATCH;
import static io.havn.daemon.ctl.FakeDaemon.DB1;
import static io.havn.daemon.ctl.FakeDaemon.MAIL;
import static io.havn.daemon.ctl.FakeDaemon.NODE2;
import static io.havn.daemon.ctl.FakeDaemon.NODE3;
import static io.havn.daemon.ctl.FakeDaemon.WEB1;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.model.ClusterRecord;
import io.havn.common.model.ClusterState;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Json;
import io.havn.common.model.Priority;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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

/** havnctl against a real admin socket fed by a stand-in node. */
class HavnctlTest {
    @TempDir
    Path dir;

    private FakeDaemon daemon;

    record Result(int code, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }

        /** The one output line that starts with {@code prefix} (after indentation). */
        String line(String prefix) {
            List<String> l = lines().stream().filter(s -> s.stripLeading().startsWith(prefix)).toList();
            assertEquals(1, l.size(), "one line starting with '" + prefix + "' in:\n" + out);
            return l.get(0);
        }

        @Override
        public String toString() {
            return "exit " + code + "\n--- out\n" + out + "--- err\n" + err;
        }
    }

    @BeforeEach
    void startDaemon() throws Exception {
        daemon = new FakeDaemon(dir);
    }

    @AfterEach
    void stopDaemon() {
        daemon.close();
    }

    static Result run(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Havnctl.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), env);
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Result havnctl(String... args) {
        String[] all = Arrays.copyOf(new String[] {"--socket", daemon.socket.toString()}, args.length + 2);
        System.arraycopy(args, 0, all, 2, args.length);
        return run(Map.of(), all);
    }

    /** The column of {@code header}'s table at which {@code cell} starts in {@code row}: where the header starts. */
    private static void assertColumn(String headerLine, String header, String row, String cell) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?<=^|\\s)" + header + "(?=\\s|$)")
                .matcher(headerLine);
        assertTrue(m.find(), header + " in " + headerLine);
        int at = m.start();
        assertTrue(row.startsWith(cell, at), "'" + cell + "' under " + header + ":\n" + headerLine + "\n" + row);
    }

    @Test
    void statusShowsTheLeaderHostsVmsAndWhatNeedsAttention() {
        Result r = havnctl("status");
        assertEquals(0, r.code(), r.toString());
        assertEquals("Leader node1, epoch 7", r.lines().get(0));
        String hosts = r.line("HOST");
        String node1 = r.line("node1 ");
        assertColumn(hosts, "STATE", node1, "live (leader)");
        assertColumn(hosts, "ADMIN", node1, "active");
        assertColumn(hosts, "FREE CPUS", node1, "2 of 8");          // 8 - web1 2 - db1 4
        assertColumn(hosts, "FREE MEMORY", node1, "6 of 16 GiB");   // 16 GiB - 2 GiB - 8 GiB
        assertColumn(hosts, "VMS", node1, "db1, web1");
        String node2 = r.line("node2 ");
        assertColumn(hosts, "STATE", node2, "live ");
        assertColumn(hosts, "FREE CPUS", node2, "4 of 8");          // db1 holds capacity on its target too
        assertColumn(hosts, "VMS", node2, "db1 (incoming)");
        String node3 = r.line("node3 ");
        assertColumn(hosts, "STATE", node3, "down, off confirmed");
        assertColumn(hosts, "ADMIN", node3, "maintenance");
        assertColumn(hosts, "FREE CPUS", node3, "16 of 16");
        assertFalse(hosts.contains("HEARTBEAT"), "no heartbeat column when the daemon sends no peers: " + hosts);

        String vms = r.line("NAME");
        String db1 = r.line("db1 ");
        assertColumn(vms, "UUID", db1, DB1.value());
        assertColumn(vms, "PHASE", db1, "migrating");
        assertColumn(vms, "DESIRED", db1, "running");
        assertColumn(vms, "OWNER", db1, "node1 -> node2");
        String old = r.line("old ");
        assertColumn(vms, "PHASE", old, "stopped");
        assertColumn(vms, "DESIRED", old, "stopped");
        assertColumn(vms, "HA", old, "no");
        assertColumn(vms, "OWNER", old, "-");
        assertColumn(vms, "PRIORITY", r.line("web1 "), "high");

        List<String> lines = r.lines();
        List<String> attention = lines.subList(lines.indexOf("Needs attention:") + 1, lines.size());
        assertEquals(List.of(
                "  host node3: down (confirmed powered off)",
                "  VM batch (" + BATCH + "): recovering: no host has room for 16 CPUs",
                "  VM mail (" + MAIL + "): error: start failed on node2, node1: disk not found"), attention);
        assertEquals("", r.err());
    }

    @Test
    void statusAsJsonIsTheDaemonsAnswerAsItCame() throws Exception {
        Result r = havnctl("status", "--json");
        assertEquals(0, r.code(), r.toString());
        assertEquals(1, r.lines().size(), "one JSON line: " + r.out());
        JsonNode printed = Json.mapper().readTree(r.out());
        ObjectNode expected = Json.mapper().createObjectNode().put("id", 1).put("ok", true);
        expected.set("state", Json.mapper().valueToTree(FakeDaemon.cluster()));
        assertEquals(Json.mapper().readTree(expected.toString()), printed);
        assertEquals(FakeDaemon.cluster(), Json.fromJson(printed.get("state").toString(), ClusterState.class));
    }

    @Test
    void hostsAndVmsPrintJustTheirTables() {
        Result hosts = havnctl("hosts");
        assertEquals(0, hosts.code(), hosts.toString());
        assertTrue(hosts.lines().get(0).startsWith("HOST "), hosts.out());
        assertEquals(4, hosts.lines().size(), hosts.out());
        Result vms = havnctl("vms");
        assertEquals(0, vms.code(), vms.toString());
        assertTrue(vms.lines().get(0).startsWith("NAME "), vms.out());
        assertEquals(List.of("NAME", "batch", "db1", "mail", "old", "web1"),
                vms.lines().stream().map(l -> l.split(" ")[0]).toList(), "sorted by name");
    }

    @Test
    void peersHealthIsShownWhenTheDaemonSendsIt() throws Exception {
        Result json = havnctl("status", "--json");
        ObjectNode answer = (ObjectNode) Json.mapper().readTree(json.out());
        answer.put("from", "node1");
        ObjectNode peers = answer.putObject("peers");
        peers.putObject("node2").put("health", "HEALTHY").put("suspected", false).put("phi", 0.4)
                .put("rttMs", 1.3).put("sinceLastMs", 120);
        peers.putObject("node3").put("health", "LOST").put("suspected", true).put("phi", 12.5)
                .put("sinceLastMs", 45_000);
        StatusView v = StatusView.of(answer);
        List<String> lines = v.render().lines().toList();
        assertEquals("Leader node1, epoch 7; answered by node1", lines.get(0));
        String header = lines.stream().filter(l -> l.contains("HOST")).findFirst().orElseThrow();
        assertColumn(header, "HEARTBEAT", line(lines, "node1 "), "self");
        assertColumn(header, "HEARTBEAT", line(lines, "node2 "), "healthy phi 0.4 rtt 1.3 ms");
        assertColumn(header, "HEARTBEAT", line(lines, "node3 "), "lost phi 12.5, last 45.0 s ago");

        peers.putObject("node2").put("health", "LOST").put("suspected", true).put("phi", 9.1).put("sinceLastMs", 800);
        List<String> attention = StatusView.of(answer).attention();
        assertTrue(attention.contains("host node2: live in the cluster, but its heartbeats no longer reach node1"),
                attention.toString());
    }

    @Test
    void aDrainThatCannotMoveAVmYetNeedsAttentionWithTheReason() {
        ClusterState c = node1InMaintenance();
        SortedMap<VmId, VmRecord> vms = new TreeMap<>(c.vms());
        vms.put(WEB1, vms.get(WEB1).migrationAborted("migration failed: unable to connect to node2"));
        daemon.state = new ClusterState(c.epoch(), c.leader(), c.hosts(), c.live(), vms);
        Result r = havnctl("status");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("  VM web1 (" + WEB1 + "): still on node1, which is in maintenance: migration "
                + "failed: unable to connect to node2; retried with a growing wait\n"), r.out());
    }

    @Test
    void aVmBetweenStartAttemptsNeedsAttentionWithTheReason() {
        ClusterState c = FakeDaemon.cluster();
        SortedMap<VmId, VmRecord> vms = new TreeMap<>(c.vms());
        vms.put(WEB1, vms.get(WEB1).startFailed("START failed: disk not found"));
        daemon.state = new ClusterState(c.epoch(), c.leader(), c.hosts(), c.live(), vms);
        Result r = havnctl("status");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("  VM web1 (" + WEB1 + "): start failed on node1: START failed: disk not found; "
                + "started again after a growing wait, in error after too many failures\n"), r.out());
    }

    /** Runs havnctl with --wait on a fake clock: each pause moves the cluster to the next of {@code states}. */
    private Result waiting(List<java.util.function.UnaryOperator<VmRecord>> states, String... args) {
        long[] clock = {0};
        int[] next = {0};
        String[] all = Arrays.copyOf(new String[] {"--socket", daemon.socket.toString()}, args.length + 2);
        System.arraycopy(args, 0, all, 2, args.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Havnctl.run(all, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), Map.of(), () -> clock[0], d -> {
                    clock[0] += d.toNanos();
                    if (next[0] < states.size()) {
                        ClusterState c = daemon.state;
                        SortedMap<VmId, VmRecord> vms = new TreeMap<>(c.vms());
                        vms.put(WEB1, states.get(next[0]++).apply(vms.get(WEB1)));
                        daemon.state = new ClusterState(c.epoch(), c.leader(), c.hosts(), c.live(), vms);
                    }
                });
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void migrateWaitsUntilTheVmRunsOnTheDestination() {
        Result r = waiting(List.of(
                v -> v.withMove(new io.havn.common.model.MoveRequest(NODE2, true)),
                v -> v.withMove(null).migratingTo(NODE2, 102),
                v -> VmRecord.running(v.spec(), NODE2, 102)), "migrate", "web1", "node2", "--wait");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().endsWith("web1 runs on node2\n"), r.out());
        assertEquals(List.of(new AdminCommand.Status(), new AdminCommand.Status(), new AdminCommand.Migrate(WEB1, NODE2),
                new AdminCommand.Status(), new AdminCommand.Status(), new AdminCommand.Status(), new AdminCommand.Status()),
                daemon.seen, "the change once, then a look at the cluster per pause");
    }

    @Test
    void migrateWaitExitsFourNamingWhyTheMigrationFailed() {
        Result r = waiting(List.of(
                v -> v.withMove(null).migratingTo(NODE2, 102),
                v -> v.migrationAborted("migration failed: unable to connect to node2")), "migrate", "web1", "node2",
                "--wait", "30");
        assertEquals(4, r.code(), r.toString());
        assertEquals("havnctl: failed: web1 was not migrated to node2; it runs on node1: migration failed: unable to "
                + "connect to node2\n", r.err());
    }

    @Test
    void aStaleViewRightAfterTheRequestIsNotTakenForAFailure() {
        // the answering host has not seen the leader's verdict yet: the record is as before, then moves
        Result r = waiting(List.of(v -> v, v -> v, v -> VmRecord.running(v.spec(), NODE2, 102)),
                "migrate", "web1", "node2", "--wait");
        assertEquals(0, r.code(), r.toString());
    }

    @Test
    void maintenanceWaitGivesUpAfterItsTimeNamingWhatIsLeftAndWhy() {
        daemon.state = node1InMaintenance();
        Result r = waiting(List.of(v -> v.migrationAborted("migration failed: no route to node2")),
                "maintenance", "node1", "on", "--wait", "3");
        assertEquals(4, r.code(), r.toString());
        assertTrue(r.err().startsWith("havnctl: not done after 3 s: still on node1: db1 (migrating), web1 (running: "
                + "migration failed: no route to node2)"), r.err());
    }

    @Test
    void aWaitOfNoTimeIsBadInputAndNothingIsSent() {
        Result r = havnctl("migrate", "web1", "node2", "--wait", "0");
        assertEquals(2, r.code(), r.toString());
        assertTrue(daemon.seen.isEmpty(), "nothing sent: " + daemon.seen);
    }

    @Test
    void whatTheDaemonAddsToItsAnswerNeedsAttention() throws Exception {
        ObjectNode answer = (ObjectNode) Json.mapper().readTree(havnctl("status", "--json").out());
        answer.put("from", "node2");
        answer.put("message", "1 record in the coordination service refused");
        assertTrue(StatusView.of(answer).attention().contains("node2: 1 record in the coordination service refused"),
                StatusView.of(answer).attention().toString());
        assertTrue(StatusView.of(answer).render().contains("  node2: 1 record in the coordination service refused\n"),
                StatusView.of(answer).render());
        assertFalse(StatusView.of(answer).render().contains("PARTIAL"), "a note of refusals says nothing of a partial "
                + "view: " + StatusView.of(answer).render());
    }

    @Test
    void aPartialAnswerSaysSoOnOneLineAboveTheVmTable() {
        daemon.partialNote = "host node2 keeps only the VM records it needs (the cluster has 3 hosts; "
                + "ownViewFromHosts is 2); the VMs listed are only those of node2; the leader, node1, keeps every "
                + "VM record";
        String line = "PARTIAL: node2: " + daemon.partialNote;
        Result vms = havnctl("vms");
        assertEquals(0, vms.code(), vms.toString());
        assertEquals(line, vms.lines().get(0), vms.out());
        assertTrue(vms.lines().get(1).startsWith("NAME "), vms.out());

        Result status = havnctl("status");
        assertEquals(0, status.code(), status.toString());
        List<String> lines = status.lines();
        int table = lines.indexOf("VMs:");
        assertTrue(table > 0, status.out());
        assertEquals("  " + line, lines.get(table + 1), "right under the title, above the table: " + status.out());
        assertTrue(lines.get(table + 2).trim().startsWith("NAME "), status.out());
        // another host's free capacity and VMs are not known to a host that keeps only its own records
        String node1 = lines.stream().filter(l -> l.trim().startsWith("node1 ")).findFirst().orElseThrow();
        assertTrue(node1.matches(".*\\s\\?\\s+\\?\\s+\\?(\\s.*|$)"), "unknown, not free: " + status.out());
        String node2 = lines.stream().filter(l -> l.trim().startsWith("node2 ")).findFirst().orElseThrow();
        assertFalse(node2.contains("?"), "the answering host's own figures stand: " + status.out());

        daemon.partialNote = "one\nline";
        assertEquals("PARTIAL: node2: one\\u000aline", havnctl("vms").lines().get(0), "never more than one line");
    }

    /** The fake cluster with node1 in maintenance. */
    private static ClusterState node1InMaintenance() {
        ClusterState c = FakeDaemon.cluster();
        java.util.SortedMap<io.havn.common.model.HostId, io.havn.common.model.HostRecord> hosts =
                new java.util.TreeMap<>(c.hosts());
        hosts.put(FakeDaemon.NODE1, hosts.get(FakeDaemon.NODE1).withAdmin(io.havn.common.model.HostAdminState.MAINTENANCE));
        return new ClusterState(c.epoch(), c.leader(), hosts, c.live(), c.vms());
    }

    private static String line(List<String> lines, String prefix) {
        return lines.stream().filter(l -> l.stripLeading().startsWith(prefix)).findFirst().orElseThrow();
    }

    @Test
    void aVmIsNamedByNameOrUuidAndTheChangeCarriesItsUuid() {
        Result r = havnctl("migrate", "web1", "node2");
        assertEquals(0, r.code(), r.toString());
        assertEquals("accepted\n", r.out());
        Result u = havnctl("relocate", DB1.value().toUpperCase(), "node2");
        assertEquals(0, u.code(), u.toString());
        assertEquals(List.of(new AdminCommand.Status(), new AdminCommand.Migrate(WEB1, NODE2),
                new AdminCommand.Status(), new AdminCommand.Relocate(DB1, NODE2)), daemon.seen);
    }

    @Test
    void everyChangeBecomesItsCommand() {
        String[][] lines = {
            {"maintenance", "node3", "on"}, {"maintenance", "node3", "off"}, {"fence", "confirm", "node3"},
            {"vm", "start", "mail"}, {"vm", "stop", "mail"}, {"vm", "enable", "mail"}, {"vm", "disable", "mail"},
        };
        for (String[] l : lines) {
            Result r = havnctl(l);
            assertEquals(0, r.code(), String.join(" ", l) + ": " + r);
        }
        assertEquals(List.of(new AdminCommand.Maintenance(NODE3, true), new AdminCommand.Maintenance(NODE3, false),
                new AdminCommand.FenceConfirm(NODE3),
                new AdminCommand.Status(), new AdminCommand.VmStart(MAIL),
                new AdminCommand.Status(), new AdminCommand.VmStop(MAIL),
                new AdminCommand.Status(), new AdminCommand.VmEnable(MAIL),
                new AdminCommand.Status(), new AdminCommand.VmDisable(MAIL)), daemon.seen);
    }

    @Test
    void disarmArmAndShutdownPolicyBecomeTheirCommands() {
        String[][] lines = {
            {"disarm"}, {"disarm", "--watchdogs", "release"}, {"arm"},
            {"shutdown-policy", "freeze"}, {"shutdown-policy", "failover", "--host", "node2"},
            {"shutdown-policy", "--host", "node2", "--inherit"},
        };
        for (String[] l : lines) {
            Result r = havnctl(l);
            assertEquals(0, r.code(), String.join(" ", l) + ": " + r);
            assertEquals("accepted\n", r.out());
        }
        assertEquals(List.of(new AdminCommand.Disarm(ClusterRecord.Disarm.KEEP_WATCHDOGS),
                new AdminCommand.Disarm(ClusterRecord.Disarm.RELEASE_WATCHDOGS), new AdminCommand.Arm(),
                new AdminCommand.SetShutdownPolicy(null, ShutdownPolicy.FREEZE),
                new AdminCommand.SetShutdownPolicy(NODE2, ShutdownPolicy.FAILOVER),
                new AdminCommand.SetShutdownPolicy(NODE2, null)), daemon.seen);
    }

    @Test
    void aShutdownPolicyNeedsEitherAPolicyOrAHostToInheritAndBadOnesSendNothing() {
        String[][] lines = {
            {"shutdown-policy"}, {"shutdown-policy", "--inherit"}, {"shutdown-policy", "freeze", "--inherit"},
            {"shutdown-policy", "freeze", "--host", "node2", "--inherit"}, {"shutdown-policy", "hibernate"},
            {"shutdown-policy", "--host", "node2"}, {"disarm", "--watchdogs", "maybe"},
        };
        for (String[] l : lines) {
            Result r = havnctl(l);
            assertEquals(2, r.code(), String.join(" ", l) + ": " + r);
            assertFalse(r.err().isEmpty(), String.join(" ", l) + ": " + r);
        }
        assertTrue(havnctl("shutdown-policy", "--inherit").err().contains("--inherit needs --host"));
        assertTrue(havnctl("shutdown-policy", "hibernate").err().contains("expected migrate, freeze or failover"));
        assertTrue(havnctl("disarm", "--watchdogs", "maybe").err().contains("expected keep or release"));
        assertEquals(List.of(), daemon.seen);
    }

    @Test
    void aDisarmedClusterIsSaidFirstAndNeedsAttention() {
        ClusterState c = FakeDaemon.cluster();
        daemon.state = new ClusterState(c.epoch(), c.leader(), c.hosts(), c.live(), c.vms(),
                ClusterRecord.DEFAULT.disarm(ClusterRecord.Disarm.KEEP_WATCHDOGS));
        Result r = havnctl("status");
        assertEquals(0, r.code(), r.toString());
        assertEquals("CLUSTER DISARMED (keep watchdogs): nothing is fenced, self-fenced or restarted elsewhere. "
                + "`havnctl arm` to end", r.lines().get(0));
        assertEquals("Leader node1, epoch 7", r.lines().get(2));
        assertTrue(r.out().contains("  the cluster is disarmed (keep watchdogs): a host that fails is not fenced and "
                + "its VMs are not restarted elsewhere; `havnctl arm` to end\n"), r.out());
        assertFalse(r.out().contains("acknowledged the arm"), "nothing to acknowledge while disarmed: " + r.out());

        daemon.state = FakeDaemon.cluster();
        assertEquals("Leader node1, epoch 7", havnctl("status").lines().get(0), "armed: as before");
    }

    @Test
    void hostsThatMissedTheArmFrozenVmsAndHostsShuttingDownNeedAttention() {
        ClusterState c = FakeDaemon.cluster();
        ClusterRecord armed = ClusterRecord.DEFAULT.disarm(ClusterRecord.Disarm.RELEASE_WATCHDOGS).arm()
                .withShutdownPolicy(ShutdownPolicy.FAILOVER);
        SortedMap<io.havn.common.model.HostId, HostRecord> hosts = new TreeMap<>(c.hosts());
        // node1 acknowledged this arm in its live session 101; node2 only in an earlier session
        hosts.put(FakeDaemon.NODE1, hosts.get(FakeDaemon.NODE1).withArmed(armed.generation(), 101)
                .withShutdownPolicy(ShutdownPolicy.FREEZE));
        hosts.put(NODE2, hosts.get(NODE2).withArmed(armed.generation(), 99).withShutdown(102, ShutdownPolicy.MIGRATE));
        SortedMap<VmId, VmRecord> vms = new TreeMap<>(c.vms());
        VmRecord w = vms.get(WEB1);
        vms.put(WEB1, new VmRecord(w.spec(), w.desired(), VmPhase.FROZEN, NODE3, 77, w.generation() + 1, null, 0,
                null, 0, List.of(), null));
        daemon.state = new ClusterState(c.epoch(), c.leader(), hosts, c.live(), vms, armed);

        Result r = havnctl("status");
        assertEquals(0, r.code(), r.toString());
        assertEquals("Leader node1, epoch 7", r.lines().get(0));
        assertEquals("Shutdown policy failover (node1: freeze)", r.lines().get(1));
        assertColumn(r.line("NAME"), "PHASE", r.line("web1 "), "frozen");
        List<String> lines = r.lines();
        List<String> attention = lines.subList(lines.indexOf("Needs attention:") + 1, lines.size());
        assertEquals(List.of(
                "  host node2: has not acknowledged the arm: if it fails, its VMs wait for a fence or fence confirm",
                "  host node2: shutting down (migrate): its HA VMs move away live; what has not moved in time fails "
                        + "over",
                "  host node3: down (confirmed powered off)",
                "  VM batch (" + BATCH + "): recovering: no host has room for 16 CPUs",
                "  VM mail (" + MAIL + "): error: start failed on node2, node1: disk not found",
                "  VM web1 (" + WEB1 + "): frozen on node3 until it returns, or fence confirm node3"), attention);
    }

    @Test
    void aRefusalExitsOneWithTheDaemonsCodeAndMessage() throws Exception {
        daemon.reply = AdminReply.error("host-maintenance", "host node3 is in maintenance");
        Result r = havnctl("migrate", "web1", "node3");
        assertEquals(1, r.code(), r.toString());
        assertEquals("", r.out());
        assertEquals("havnctl: refused (host-maintenance): host node3 is in maintenance\n", r.err());
        Result j = havnctl("--json", "migrate", "web1", "node3");
        assertEquals(1, j.code(), j.toString());
        JsonNode printed = Json.mapper().readTree(j.out());
        assertFalse(printed.get("ok").asBoolean());
        assertEquals("host-maintenance", printed.get("code").asText());
        assertTrue(j.err().contains("host node3 is in maintenance"), j.err());
    }

    @Test
    void anUnknownOrAmbiguousVmNameExitsTwoAndSendsNothingBeyondStatus() {
        Result r = havnctl("vm", "stop", "nope");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("no HA VM named 'nope'"), r.err());

        SortedMap<VmId, VmRecord> vms = new TreeMap<>(FakeDaemon.cluster().vms());
        VmId other = new VmId("a3c1e5f7-0000-4000-8000-0000000000ff");
        vms.put(other, VmRecord.running(FakeDaemon.spec(other, "web1", 1, 512, Priority.LOW, true),
                FakeDaemon.NODE2, 102));
        ClusterState c = FakeDaemon.cluster();
        daemon.state = new ClusterState(c.epoch(), c.leader(), c.hosts(), c.live(), vms);
        Result a = havnctl("migrate", "web1", "node2");
        assertEquals(2, a.code(), a.toString());
        assertTrue(a.err().contains("the name 'web1' is ambiguous: VMs [" + WEB1 + ", " + other + "]"), a.err());
        assertEquals(List.of(new AdminCommand.Status(), new AdminCommand.Status()), daemon.seen,
                "only the status requests that looked the names up");
    }

    @Test
    void namesAndReasonsFromTheClusterStateCannotForgeLinesOfTheOutput() {
        SortedMap<VmId, VmRecord> vms = new TreeMap<>(FakeDaemon.cluster().vms());
        VmId forged = new VmId("a3c1e5f7-0000-4000-8000-0000000000fe");
        VmRecord r = VmRecord.running(FakeDaemon.spec(forged, "x\nfake1  running  node3", 1, 512, Priority.LOW, true),
                FakeDaemon.NODE2, 102);
        vms.put(forged, r.startFailed("boom\nVM fake2: fine\u001b[2J"));
        ClusterState c = FakeDaemon.cluster();
        daemon.state = new ClusterState(c.epoch(), c.leader(), c.hosts(), c.live(), vms);
        for (String cmd : List.of("vms", "status")) {
            Result out = havnctl(cmd);
            assertEquals(0, out.code(), out.toString());
            assertTrue(out.out().contains("x\\u000afake1  running  node3"), "shown escaped: " + out.out());
            assertTrue(out.out().lines().noneMatch(l -> l.startsWith("fake1") || l.contains("VM fake2")
                    && !l.contains("\\u000a")), "no forged line: " + out.out());
            assertTrue(!out.out().contains("\u001b"), "no escape sequence reaches the terminal");
        }
    }

    @Test
    void badArgumentsExitTwoAndSendNothing() {
        String[][] lines = {
            {}, {"reboot"}, {"migrate", "web1"}, {"migrate", "web1", "bad host!"}, {"maintenance", "node2", "maybe"},
            {"fence"}, {"fence", "confirm"}, {"--timeout", "-1", "status"}, {"status", "--timeout", "soon"},
            {"vm", "add", "web1", "--priority", "urgent"},
        };
        for (String[] l : lines) {
            Result r = havnctl(l);
            assertEquals(2, r.code(), String.join(" ", l) + ": " + r);
            assertFalse(r.err().isEmpty(), String.join(" ", l) + ": " + r);
        }
        assertTrue(havnctl("migrate", "web1", "bad host!").err().contains("invalid host name 'bad host!'"));
        assertTrue(havnctl("maintenance", "node2", "maybe").err().contains("expected on or off, got 'maybe'"));
        assertEquals(List.of(), daemon.seen);
    }

    @Test
    void noDaemonExitsThreeSayingWhy() {
        Result r = run(Map.of(), "--socket", dir.resolve("missing.sock").toString(), "status");
        assertEquals(3, r.code(), r.toString());
        assertTrue(r.err().contains("no admin socket at " + dir.resolve("missing.sock")), r.err());
        Result v = run(Map.of(), "--socket", dir.resolve("missing.sock").toString(), "vm", "stop", "web1");
        assertEquals(3, v.code(), v.toString());
    }

    @Test
    void aSilentDaemonExitsThreeAfterTheTimeout() {
        daemon.silent = true;
        long start = System.nanoTime();
        Result r = havnctl("--timeout", "0.5", "maintenance", "node2", "on");
        long tookMs = (System.nanoTime() - start) / 1_000_000;
        assertEquals(3, r.code(), r.toString());
        assertTrue(r.err().contains("did not answer within 0.5 s"), r.err());
        assertTrue(tookMs >= 500 && tookMs < 5_000, "gave up after its timeout, not the server's: " + tookMs + " ms");
    }

    /** Serves one connection on {@code path}: reads the request line, answers {@code answer} (raw) and closes. */
    static Thread rawServer(Path path, String answer) throws Exception {
        java.nio.channels.ServerSocketChannel server = java.nio.channels.ServerSocketChannel.open(
                java.net.StandardProtocolFamily.UNIX);
        server.bind(java.net.UnixDomainSocketAddress.of(path));
        Thread t = new Thread(() -> {
            try (server; java.nio.channels.SocketChannel c = server.accept()) {
                java.io.InputStream in = java.nio.channels.Channels.newInputStream(c);
                while (in.read() != '\n') {
                    // the request, unread
                }
                c.write(java.nio.ByteBuffer.wrap(answer.getBytes(StandardCharsets.UTF_8)));
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        t.start();
        return t;
    }

    @Test
    void anAnswerThatIsNoAnswerExitsThree() throws Exception {
        String[][] cases = {
            {"hello\n", "answered something that is not JSON: hello"},
            {"[1]\n", "answered something that is not an answer: [1]"},
            {"", "closed the connection without answering"},
            {"{\"id\":1,\"ok\":false,\"code\":\"forbidden\",\"message\":\"user bob may not\"}\n",
                "does not admit this request: user bob may not"},
            {"{\"id\":1,\"ok\":true,\"state\":{\"epoch\":\"soon\"}}\n", "status answer is not understood"},
        };
        for (int i = 0; i < cases.length; i++) {
            Path sock = dir.resolve("raw" + i + ".sock");
            Thread server = rawServer(sock, cases[i][0]);
            Result r = run(Map.of(), "--socket", sock.toString(), "--timeout", "10", "status");
            server.join(10_000);
            assertEquals(3, r.code(), cases[i][0] + ": " + r);
            assertTrue(r.err().contains(cases[i][1]), cases[i][0] + ": " + r);
        }
    }

    @Test
    void theSocketComesFromHavnSocketUnlessGiven() {
        Result r = run(Map.of("HAVN_SOCKET", daemon.socket.toString()), "vms");
        assertEquals(0, r.code(), r.toString());
        Result given = run(Map.of("HAVN_SOCKET", daemon.socket.toString()), "vms", "--socket",
                dir.resolve("other.sock").toString());
        assertEquals(3, given.code(), given.toString());
        assertTrue(given.err().contains(dir.resolve("other.sock").toString()), given.err());
    }

    @Test
    void everyCommandHasHelp() {
        for (String[] l : new String[][] {{"--help"}, {"status", "--help"}, {"vm", "add", "--help"},
            {"fence", "confirm", "--help"}, {"maintenance", "--help"}}) {
            Result r = run(Map.of(), l);
            assertEquals(0, r.code(), r.toString());
            assertTrue(r.out().startsWith("Usage: havnctl"), r.out());
            assertTrue(r.out().contains("Exit status:"), r.out());
        }
        assertTrue(run(Map.of(), "vm", "add", "--help").out().contains("--libvirt-uri"));
    }

    @Test
    void theCompletionScriptCompletesCommandsAndValuesInBash() throws Exception {
        Result r = run(Map.of(), "completion");
        assertEquals(0, r.code(), r.toString());
        Path script = dir.resolve("havnctl.bash");
        java.nio.file.Files.writeString(script, r.out());
        String probe = """
                source "$1"
                ask() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMPREPLY=();
                        _complete_havnctl 2>/dev/null; echo "${COMPREPLY[*]}"; }
                ask havnctl mi
                ask havnctl vm ''
                ask havnctl maintenance node1 o
                ask havnctl vm add app1 --priority ''
                ask havnctl shutdown-policy f
                ask havnctl disarm --watchdogs ''
                """;
        Process p = new ProcessBuilder("bash", "-c", probe, "probe", script.toString()).redirectErrorStream(true)
                .start();
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "bash finished");
        String got = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(List.of("migrate", "add disable enable start stop", "on off", "high medium low",
                "freeze failover", "keep release"),
                got.lines().toList(), got);
    }
}
