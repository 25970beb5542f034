package io.havn.daemon.ctl;

import static io.havn.daemon.ctl.FakeDaemon.BATCH;
import static io.havn.daemon.ctl.FakeDaemon.DB1;
import static io.havn.daemon.ctl.FakeDaemon.MAIL;
import static io.havn.daemon.ctl.FakeDaemon.NODE1;
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
import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.daemon.ctl.HavnctlTest.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** havnctl's placement commands (rule, group, admission, what-if) and what status shows of them. */
class HavnctlPlacementTest {
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

    private Result havnctl(String... args) {
        String[] all = Arrays.copyOf(new String[] {"--socket", daemon.socket.toString()}, args.length + 2);
        System.arraycopy(args, 0, all, 2, args.length);
        return HavnctlTest.run(Map.of(), all);
    }

    private static final HostId NODE4 = new HostId("node4");

    /**
     * FakeDaemon's cluster with groups rack-a (node1) and rack-b (node2, node3), tolerate 1 strict,
     * node3 reserved, and six rules: web1 runs on node1 with db1 (migrating to node2); mail is in
     * error and batch recovering.
     */
    static ClusterState withPolicy() {
        ClusterState c = FakeDaemon.cluster();
        PlacementPolicy p = new PlacementPolicy(new TreeMap<>(Map.of(
                "rack-a", new TreeSet<>(Set.of(NODE1)), "rack-b", new TreeSet<>(Set.of(NODE2, NODE3)))),
                List.of(new Rule.Together("web-db", List.of(WEB1, DB1), false, 20),
                        new Rule.Apart("mail-batch", List.of(MAIL, BATCH), true, null),
                        new Rule.OnHosts("web-rack", List.of(WEB1), List.of("rack-b", "rack-a"), false, true),
                        new Rule.After("mail-after-db", List.of(MAIL), List.of(DB1, BATCH), Rule.Ready.RUNNING, 90_000,
                                Rule.OnTimeout.STAY_DOWN),
                        new Rule.StartDelay("batch-delay", List.of(BATCH), 30_000),
                        new Rule.OnHosts("db-only-b", List.of(DB1), List.of("rack-b"), true, false)),
                1, true, new TreeSet<>(Set.of(NODE3)));
        return new ClusterState(c.epoch(), c.leader(), c.hosts(), c.live(), c.vms(),
                ClusterRecord.DEFAULT.withPlacement(p));
    }

    @Test
    void everyRuleKindBecomesItsRuleAddWithTheVmsUuids() {
        String[][] lines = {
            {"rule", "add", "apart", "db-pair", "db1", "mail"},
            {"rule", "add", "together", "app-cache", "web1", DB1.value(), "--soft", "--weight", "50"},
            {"rule", "add", "together", "app-cache2", "web1", "db1", "--soft"},
            {"rule", "add", "hosts", "licensed", "--vms", "web1,db1", "--groups", "rack-a,rack-b", "--strict",
                "--failback"},
            {"rule", "add", "hosts", "prefer-b", "--vms", "web1", "--groups", "rack-b"},
            {"rule", "add", "after", "mail-after-db", "--vms", "mail", "--after", "db1,batch", "--ready-timeout", "90s",
                "--on-timeout", "stay-down", "--ready", "running"},
            {"rule", "add", "after", "mail-after-web", "--vms", "mail", "--after", "web1"},
            {"rule", "add", "delay", "batch-late", "--vms", "batch", "--delay", "1.5m"},
        };
        for (String[] l : lines) {
            Result r = havnctl(l);
            assertEquals(0, r.code(), String.join(" ", l) + ": " + r);
            assertEquals("accepted\n", r.out());
        }
        AdminCommand status = new AdminCommand.Status();
        assertEquals(List.of(
                status, new AdminCommand.RuleAdd(new Rule.Apart("db-pair", List.of(DB1, MAIL), true, null)),
                status, new AdminCommand.RuleAdd(new Rule.Together("app-cache", List.of(WEB1, DB1), false, 50)),
                status, new AdminCommand.RuleAdd(new Rule.Together("app-cache2", List.of(WEB1, DB1), false, 10)),
                status, new AdminCommand.RuleAdd(new Rule.OnHosts("licensed", List.of(WEB1, DB1),
                        List.of("rack-a", "rack-b"), true, true)),
                status, new AdminCommand.RuleAdd(new Rule.OnHosts("prefer-b", List.of(WEB1), List.of("rack-b"), false,
                        false)),
                status, new AdminCommand.RuleAdd(new Rule.After("mail-after-db", List.of(MAIL), List.of(DB1, BATCH),
                        Rule.Ready.RUNNING, 90_000, Rule.OnTimeout.STAY_DOWN)),
                status, new AdminCommand.RuleAdd(new Rule.After("mail-after-web", List.of(MAIL), List.of(WEB1),
                        Rule.Ready.RUNNING, 300_000, Rule.OnTimeout.START)),
                status, new AdminCommand.RuleAdd(new Rule.StartDelay("batch-late", List.of(BATCH), 90_000))),
                daemon.seen);
    }

    @Test
    void groupsRemovalsAndWhatIfBecomeTheirCommandsWithoutAStatusRequest() {
        String[][] lines = {
            {"rule", "remove", "db-pair"}, {"group", "set", "rack-a", "node1", "node2"}, {"group", "remove", "rack-a"},
        };
        for (String[] l : lines) {
            Result r = havnctl(l);
            assertEquals(0, r.code(), String.join(" ", l) + ": " + r);
            assertEquals("accepted\n", r.out());
        }
        Result w = havnctl("what-if", "node1", "node2");
        assertEquals(3, w.code(), "an answer without a report: " + w);
        assertTrue(w.err().contains("carries no what-if report"), w.err());
        assertEquals(List.of(new AdminCommand.RuleRemove("db-pair"),
                new AdminCommand.GroupSet("rack-a", List.of(NODE1, NODE2)), new AdminCommand.GroupRemove("rack-a"),
                new AdminCommand.WhatIf(List.of(NODE1, NODE2))), daemon.seen);
    }

    @Test
    void admissionKeepsWhatIsNotGivenAndAnEmptyReservedListClearsIt() {
        daemon.state = withPolicy(); // tolerate 1, strict, node3 reserved
        String[][] lines = {
            {"admission", "--tolerate", "2"}, {"admission", "--no-strict"}, {"admission", "--reserved", ""},
            {"admission", "--tolerate", "0", "--strict", "--reserved", "node1,node2"},
        };
        for (String[] l : lines) {
            Result r = havnctl(l);
            assertEquals(0, r.code(), String.join(" ", l) + ": " + r);
        }
        AdminCommand status = new AdminCommand.Status();
        assertEquals(List.of(status, new AdminCommand.SetAdmission(2, true, List.of(NODE3)),
                status, new AdminCommand.SetAdmission(1, false, List.of(NODE3)),
                status, new AdminCommand.SetAdmission(1, true, List.of()),
                status, new AdminCommand.SetAdmission(0, true, List.of(NODE1, NODE2))), daemon.seen);

        Result shown = havnctl("admission");
        assertEquals(0, shown.code(), shown.toString());
        assertEquals("Admission control: 1 host failure wanted (this daemon does not say how many the cluster "
                + "tolerates), strict: changes that would leave fewer are refused; reserved failover hosts: node3\n",
                shown.out());
    }

    /**
     * The exact request lines. rule-remove names its rule in "rule" ("id" is the request's number), and
     * group-set and group-remove their group in "group"; the admin socket reads each back into its
     * command (the end-to-end tests above).
     */
    @Test
    void theRequestsAreTheCommandsJsonAsTheSocketReadsIt() throws Exception {
        String[][] cases = {
            {"{\"command\":\"rule-add\",\"rule\":{\"kind\":\"apart\",\"id\":\"db\",\"vms\":[\"a\",\"b\"],\"hard\":true}}"},
            {"{\"command\":\"rule-add\",\"rule\":{\"kind\":\"together\",\"id\":\"t\",\"vms\":[\"a\",\"b\"],"
                + "\"hard\":false,\"weight\":50}}"},
            {"{\"command\":\"rule-add\",\"rule\":{\"kind\":\"hosts\",\"id\":\"h\",\"vms\":[\"a\"],"
                + "\"groups\":[\"g1\",\"g2\"],\"strict\":true,\"failback\":false}}"},
            {"{\"command\":\"rule-add\",\"rule\":{\"kind\":\"after\",\"id\":\"o\",\"vms\":[\"b\"],\"after\":[\"a\"],"
                + "\"ready\":\"running\",\"timeoutMs\":300000,\"onTimeout\":\"stay-down\"}}"},
            {"{\"command\":\"rule-add\",\"rule\":{\"kind\":\"delay\",\"id\":\"d\",\"vms\":[\"a\"],\"delayMs\":30000}}"},
            {"{\"command\":\"rule-remove\",\"rule\":\"db\"}"},
            {"{\"command\":\"group-set\",\"group\":\"rack-a\",\"hosts\":[\"node1\",\"node2\"]}"},
            {"{\"command\":\"group-remove\",\"group\":\"rack-a\"}"},
            {"{\"command\":\"admission\",\"tolerate\":1,\"strict\":true,\"reserved\":[\"node3\"]}"},
            {"{\"command\":\"what-if\",\"hosts\":[\"node1\"]}"},
        };
        VmId a = new VmId("a");
        VmId b = new VmId("b");
        List<AdminCommand> commands = List.of(
                new AdminCommand.RuleAdd(new Rule.Apart("db", List.of(a, b), true, null)),
                new AdminCommand.RuleAdd(new Rule.Together("t", List.of(a, b), false, 50)),
                new AdminCommand.RuleAdd(new Rule.OnHosts("h", List.of(a), List.of("g1", "g2"), true, false)),
                new AdminCommand.RuleAdd(new Rule.After("o", List.of(b), List.of(a), null, 300_000,
                        Rule.OnTimeout.STAY_DOWN)),
                new AdminCommand.RuleAdd(new Rule.StartDelay("d", List.of(a), 30_000)),
                new AdminCommand.RuleRemove("db"), new AdminCommand.GroupSet("rack-a", List.of(NODE1, NODE2)),
                new AdminCommand.GroupRemove("rack-a"), new AdminCommand.SetAdmission(1, true, List.of(NODE3)),
                new AdminCommand.WhatIf(List.of(NODE1)));
        for (int i = 0; i < cases.length; i++) {
            ObjectNode req = Havnctl.command(commands.get(i));
            assertEquals(cases[i][0], req.toString());
            if (cases[i][0].contains("\"rule\":{") || i >= 8) {
                // rule-add, admission and what-if are the commands' own JSON
                assertEquals(commands.get(i), Json.fromJson(req.toString(), AdminCommand.class), "it reads back");
            }
        }
    }

    @Test
    void badInputExitsTwoAndSendsNothing() {
        Object[][] cases = {
            {new String[] {"rule", "add", "near", "x", "web1", "db1"}, "unknown rule kind 'near': expected apart, "
                + "together, hosts, after or delay"},
            {new String[] {"rule", "add"}, "Missing required subcommand"},
            {new String[] {"rule", "add", "apart", "x"}, "Missing required parameter"},
            {new String[] {"rule", "add", "apart", "x", "web1"}, "rule x: needs at least 2 VMs"},
            {new String[] {"rule", "add", "together", "x", "web1", "web1"}, "rule x: VM web1 is named twice"},
            {new String[] {"rule", "add", "apart", "bad id!", "web1", "db1"}, "invalid rule id 'bad id!'"},
            {new String[] {"rule", "add", "apart", "x", "web1", "db1", "--weight", "5"}, "--weight needs --soft"},
            {new String[] {"rule", "add", "apart", "x", "web1", "db1", "--soft", "--weight", "0"},
                "rule x: weight must be between 1 and 1000, got 0"},
            {new String[] {"rule", "add", "apart", "x", "web1", "db1", "--soft", "--weight", "1001"},
                "weight must be between 1 and 1000, got 1001"},
            {new String[] {"rule", "add", "apart", "x", "web1", "db1", "--soft", "--weight", "ten"}, "'ten' is not an int"},
            {new String[] {"rule", "add", "hosts", "x", "--groups", "rack-a"}, "Missing required option: '--vms=VM'"},
            {new String[] {"rule", "add", "hosts", "x", "--vms", "web1"}, "Missing required option: '--groups=GROUP'"},
            {new String[] {"rule", "add", "hosts", "x", "--vms", "web1", "--groups", "rack-a,rack-a"},
                "group rack-a is named twice"},
            {new String[] {"rule", "add", "hosts", "x", "--vms", ",web1", "--groups", "rack-a"}, "an empty VM name"},
            {new String[] {"rule", "add", "after", "x", "--vms", "web1", "--after", "web1"},
                "VM web1 cannot wait for itself"},
            {new String[] {"rule", "add", "after", "x", "--vms", "web1", "--after", "db1", "--ready-timeout", "soon"},
                "expected a duration such as 500ms, 30s, 5m or 1h, got 'soon'"},
            {new String[] {"rule", "add", "after", "x", "--vms", "web1", "--after", "db1", "--on-timeout", "later"},
                "expected start or stay-down, got 'later'"},
            {new String[] {"rule", "add", "after", "x", "--vms", "web1", "--after", "db1", "--ready", "pinged"},
                "expected running or agent, got 'pinged'"},
            {new String[] {"rule", "add", "delay", "x", "--vms", "batch", "--delay", "2h"}, "at most 1h, got '2h'"},
            {new String[] {"rule", "add", "delay", "x", "--vms", "batch", "--delay", "0s"}, "above 0"},
            {new String[] {"rule", "add", "delay", "x", "--vms", "batch", "--delay", "0.5ms"}, "whole number of milliseconds"},
            {new String[] {"rule", "add", "delay", "x", "--vms", "batch"}, "Missing required option: '--delay"},
            {new String[] {"rule", "remove"}, "Missing required parameter: 'ID'"},
            {new String[] {"group", "set", "rack-a"}, "Missing required parameter: 'HOST'"},
            {new String[] {"group", "set", "bad group!", "node1"}, "invalid group name 'bad group!'"},
            {new String[] {"group", "set", "rack-a", "bad host!"}, "invalid host name 'bad host!'"},
            {new String[] {"admission", "--tolerate", "-1"}, "--tolerate must be between 0 and 100, got -1"},
            {new String[] {"admission", "--reserved", "node1,bad host!"}, "--reserved: invalid host name"},
            {new String[] {"admission", "--reserved", "node1,node1"}, "--reserved: host node1 is named twice"},
            {new String[] {"what-if"}, "Missing required parameter: 'HOST'"},
        };
        for (Object[] c : cases) {
            String[] line = (String[]) c[0];
            Result r = havnctl(line);
            assertEquals(2, r.code(), String.join(" ", line) + ": " + r);
            assertTrue(r.err().contains((String) c[1]), String.join(" ", line) + ": " + r);
        }
        assertEquals(List.of(), daemon.seen, "nothing was sent, not even a status request");
    }

    @Test
    void anUnknownVmSendsOnlyTheStatusRequestThatLookedItUp() {
        Result r = havnctl("rule", "add", "apart", "x", "web1", "nope");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("no HA VM named 'nope'"), r.err());
        Result twice = havnctl("rule", "add", "apart", "x", "web1", WEB1.value());
        assertEquals(2, twice.code(), twice.toString());
        assertTrue(twice.err().contains("rule x: VM " + WEB1 + " is named twice"), twice.err());
        assertEquals(List.of(new AdminCommand.Status(), new AdminCommand.Status()), daemon.seen);
    }

    @Test
    void aRefusedRuleExitsOneWithTheLeadersReason() {
        daemon.reply = AdminReply.error("rule-conflict", "rule db-pair keeps db1 and mail apart, but rule x keeps "
                + "them together");
        Result r = havnctl("rule", "add", "together", "x", "db1", "mail");
        assertEquals(1, r.code(), r.toString());
        assertEquals("havnctl: refused (rule-conflict): rule db-pair keeps db1 and mail apart, but rule x keeps them "
                + "together\n", r.err());
    }

    @Test
    void ruleListShowsEveryRuleInOrder() {
        daemon.state = withPolicy();
        Result r = havnctl("rule", "list");
        assertEquals(0, r.code(), r.toString());
        assertEquals("""
                ID             KIND      HARD/SOFT  VMS          DETAILS
                web-db         together  soft (20)  web1, db1    -
                mail-batch     apart     hard       mail, batch  -
                web-rack       hosts     soft       web1         on rack-b, then rack-a; failback
                mail-after-db  after     -          mail         after db1, batch; ready running; timeout 90s, then stay-down
                batch-delay    delay     -          batch        delay 30s
                db-only-b      hosts     hard       db1          only on rack-b
                """, r.out());

        Result json = havnctl("rule", "list", "--json");
        assertEquals(0, json.code(), json.toString());
        assertEquals(Json.toJson(withPolicy().cluster().placement().rules()) + "\n", json.out());

        daemon.state = FakeDaemon.cluster();
        assertEquals("No placement rules ('havnctl rule add' adds one)\n", havnctl("rule", "list").out());
    }

    @Test
    void groupListShowsTheHostsAndTheRulesThatNameEachGroup() {
        daemon.state = withPolicy();
        Result r = havnctl("group", "list");
        assertEquals(0, r.code(), r.toString());
        assertEquals("""
                GROUP   HOSTS         RULES
                rack-a  node1         web-rack
                rack-b  node2, node3  web-rack, db-only-b
                """, r.out());
        assertEquals("{\"rack-a\":[\"node1\"],\"rack-b\":[\"node2\",\"node3\"]}\n", havnctl("group", "list", "--json")
                .out());
    }

    @Test
    void ruleExplainSaysWhatTheRuleMeansWhereItsVmsRunAndWhetherItHolds() {
        daemon.state = withPolicy();
        Result hosts = havnctl("rule", "explain", "web-rack");
        assertEquals(0, hosts.code(), hosts.toString());
        assertEquals("""
                Rule web-rack: hosts, soft
                  web1 run on the hosts of group rack-b (preferred), then group rack-a.
                  Elsewhere only when no host of these groups has room.
                  Failback: a VM on a less preferred host is migrated back once a host of a more preferred group has room.

                VMs:
                  NAME  UUID                                  ROLE    NOW
                  web1  6f1c5c2e-2f6b-4a55-9c39-3d1d2d6f0a01  placed  running on node1

                Hosts:
                  group rack-b (first choice): node2, node3
                  group rack-a (choice 2): node1
                  any other host when those have no room

                Now: holds, not on the first choice: web1 on node1 (rack-a); failback moves them once a host of a \
                preferred group has room
                """, hosts.out());

        Result strict = havnctl("rule", "explain", "db-only-b");
        assertEquals("Now: BROKEN: db1 on node1, outside the groups", strict.lines().get(strict.lines().size() - 1));
        assertTrue(strict.out().contains("  db1   " + DB1 + "  placed  migrating on node1 -> node2\n"), strict.out());

        Result soft = havnctl("rule", "explain", "web-db");
        assertTrue(soft.out().startsWith("""
                Rule web-db: together, soft (20)
                  web1 and db1 should run on one host.
                """), soft.out());
        assertTrue(soft.out().endsWith("Now: holds: all run on node1\n"), soft.out());

        Result apart = havnctl("rule", "explain", "mail-batch");
        assertTrue(apart.out().contains("  No two of mail and batch run on one host.\n"), apart.out());
        assertTrue(apart.out().contains("  mail   " + MAIL + "  placed  error: start failed on node2, node1: disk not "
                + "found\n"), apart.out());
        assertTrue(apart.out().endsWith("Now: holds: no two of its VMs run on one host\n"), apart.out());

        Result after = havnctl("rule", "explain", "mail-after-db");
        assertTrue(after.out().contains("  mail start only once db1 and batch are running.\n"
                + "  After waiting 90s they keep waiting (stay-down).\n"), after.out());
        assertTrue(after.out().contains("  batch  " + BATCH + "  waited for  recovering: no host has room for 16 CPUs\n"),
                after.out());
        assertTrue(after.out().endsWith("Now: an order rule, checked when a VM of it starts; batch does not run: mail "
                + "would wait for it (up to 90s, then stay-down)\n"), after.out());

        Result delay = havnctl("rule", "explain", "batch-delay");
        assertTrue(delay.out().startsWith("Rule batch-delay: delay, start delay\n  batch start no sooner than 30s "
                + "after they need a host.\n"), delay.out());

        Result unknown = havnctl("rule", "explain", "nope");
        assertEquals(2, unknown.code(), unknown.toString());
        assertTrue(unknown.err().contains("no placement rule 'nope'"), unknown.err());
    }

    @Test
    void aBrokenHardRuleAndASoftOneNotMetAreSaidSo() {
        ClusterState c = withPolicy();
        PlacementPolicy p = c.cluster().placement()
                .withRule(new Rule.Apart("web-db-apart", List.of(WEB1, DB1), true, null))
                .withRule(new Rule.Apart("web-db-soft", List.of(WEB1, DB1), false, 7));
        daemon.state = new ClusterState(c.epoch(), c.leader(), c.hosts(), c.live(), c.vms(),
                c.cluster().withPlacement(p));
        assertTrue(havnctl("rule", "explain", "web-db-apart").out().endsWith("Now: BROKEN: web1, db1 on node1\n"));
        assertTrue(havnctl("rule", "explain", "web-db-soft").out()
                .endsWith("Now: not met (soft, weight 7): web1, db1 on node1\n"));
    }

    @Test
    void statusCountsRulesAndGroupsAndShowsAdmissionControl() throws Exception {
        Result plain = havnctl("status");
        assertEquals("Admission control: off", plain.lines().get(2));
        assertEquals("Placement: no rules, no host groups", plain.lines().get(3));

        daemon.state = withPolicy();
        Result r = havnctl("status");
        assertEquals(0, r.code(), r.toString());
        assertEquals("Admission control: 1 host failure wanted (this daemon does not say how many the cluster "
                + "tolerates), strict: changes that would leave fewer are refused; reserved failover hosts: node3",
                r.lines().get(2));
        assertEquals("Placement: 6 rules, 2 host groups ('havnctl rule list', 'havnctl group list')", r.lines().get(3));
        assertFalse(r.out().contains("RESERVE"), r.out());

        // a daemon that reports the cluster's reserve
        ObjectNode answer = (ObjectNode) Json.mapper().readTree(havnctl("status", "--json").out());
        answer.putObject("admission").put("tolerated", 0).put("wanted", 1).put("strict", true)
                .put("shortfall", "if node1 fails, web1 and db1 (6 CPUs, 10 GiB) fit on no other host");
        StatusView v = StatusView.of(answer);
        List<String> lines = v.render().lines().toList();
        assertEquals("Admission control: tolerates 0 host failures, 1 wanted, strict: changes that would leave fewer "
                + "are refused; reserved failover hosts: node3", lines.get(2));
        assertTrue(v.attention().contains("NOT ENOUGH RESERVE: the cluster tolerates 0 host failures, 1 wanted: if "
                + "node1 fails, web1 and db1 (6 CPUs, 10 GiB) fit on no other host"), v.attention().toString());

        answer.putObject("admission").put("tolerated", 2).put("wanted", 1).put("strict", true);
        StatusView enough = StatusView.of(answer);
        assertTrue(enough.render().contains("Admission control: tolerates 2 host failures, 1 wanted, strict"));
        assertTrue(enough.attention().stream().noneMatch(a -> a.contains("RESERVE")), enough.attention().toString());
    }

    /** A what-if report as the daemon sends it: db1 and web1 restart in two waves, mail stays down. */
    static final String REPORT = """
            {"entries":[
              {"vm":"%s","name":"db1","from":"node1","to":"node2","wave":1,"startOffsetMs":0,"rules":["db-only-b"]},
              {"vm":"%s","name":"web1","from":"node1","to":"node2","wave":2,"startOffsetMs":30000,
               "rules":["web-db","web-rack"]},
              {"vm":"%s","from":"node1","to":null,"rules":["mail-batch"],
               "why":"hard apart rule mail-batch: batch runs on node2"}],
             "expectedRecoveryMs":47250,
             "basis":"detection 1.5 s and fencing 5 s as measured, starts 10 s each, waves 30 s apart"}
            """.formatted(DB1, WEB1, MAIL);

    @Test
    void whatIfIsAReadableTableWithTheExpectedRecoveryTime() throws Exception {
        JsonNode report = Json.mapper().readTree(REPORT);
        assertTrue(WhatIfView.needsNames(report), "mail's entry has no name");
        String text = WhatIfView.render(List.of(NODE1, NODE4), report, id -> id.equals(MAIL.value()) ? "mail" : "?");
        assertEquals("""
                If node1 and node4 fail now:
                  VM    FROM   TO     WAVE  STARTS AFTER  RULES / WHY NOT
                  db1   node1  node2  1     0 s           db-only-b
                  web1  node1  node2  2     30 s          web-db, web-rack
                  mail  node1  -      -     -             stays down: hard apart rule mail-batch: batch runs on node2 (rules mail-batch)
                  2 of 3 VMs restart elsewhere; 1 stays down
                Expected recovery: 47.3 s (detection 1.5 s and fencing 5 s as measured, starts 10 s each, waves 30 s apart)
                """, text);

        ObjectNode byId = Json.mapper().createObjectNode();
        byId.putObject("entries").putObject(DB1.value()).put("from", "node1").put("to", "node2").put("wave", 1)
                .put("startOffsetMs", 250);
        assertEquals("""
                If node1 fails now:
                  VM   FROM   TO     WAVE  STARTS AFTER  RULES / WHY NOT
                  db1  node1  node2  1     250 ms        -
                  1 of 1 VM restarts elsewhere
                Expected recovery: not given
                """, WhatIfView.render(List.of(NODE1), byId, id -> id.equals(DB1.value()) ? "db1" : "?"),
                "entries keyed by VM id, fields left out");
        assertEquals("If node1 fails now:\n  no HA VM runs there: nothing to recover\nExpected recovery: 0 s\n",
                WhatIfView.render(List.of(NODE1), Json.mapper().readTree("{\"vms\":[],\"expectedRecoveryMs\":0}"),
                        id -> id));
    }

    @Test
    void whatIfAsksTheDaemonAndPrintsItsReportOrTheReportAsJson() throws Exception {
        String answer = "{\"id\":1,\"ok\":true,\"whatIf\":" + Json.mapper().readTree(REPORT.replace(
                "{\"vm\":\"" + MAIL + "\",", "{\"vm\":\"" + MAIL + "\",\"name\":\"mail\",")) + "}\n";
        Path sock = dir.resolve("what-if.sock");
        Thread server = HavnctlTest.rawServer(sock, answer);
        Result r = HavnctlTest.run(Map.of(), "--socket", sock.toString(), "what-if", "node1");
        server.join(10_000);
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("If node1 fails now:\n  VM    FROM"), r.out());
        assertTrue(r.out().contains("  mail  node1  -      -     -             stays down: hard apart rule mail-batch"),
                r.out());

        Path sock2 = dir.resolve("what-if-json.sock");
        Thread server2 = HavnctlTest.rawServer(sock2, answer);
        Result j = HavnctlTest.run(Map.of(), "--socket", sock2.toString(), "what-if", "node1", "--json");
        server2.join(10_000);
        assertEquals(0, j.code(), j.toString());
        assertEquals(Json.mapper().readTree(answer).get("whatIf"), Json.mapper().readTree(j.out()));

        daemon.reply = AdminReply.error("unknown-host", "no host node9");
        Result refused = havnctl("what-if", "node9");
        assertEquals(1, refused.code(), refused.toString());
        assertEquals("havnctl: refused (unknown-host): no host node9\n", refused.err());
    }

    @Test
    void waitsTakeMillisecondsSecondsMinutesOrHoursAndShowTheSameWay() {
        assertEquals(500, Durations.parseMs("500ms"));
        assertEquals(30_000, Durations.parseMs("30s"));
        assertEquals(30_000, Durations.parseMs("30"), "a bare number is seconds, as --timeout");
        assertEquals(90_000, Durations.parseMs("1.5m"));
        assertEquals(3_600_000, Durations.parseMs("1h"));
        for (String bad : List.of("", "m", "-5s", "5 minutes", "1h1m", "61m", "0", "0.0001s")) {
            try {
                Durations.parseMs(bad);
                throw new AssertionError("accepted '" + bad + "'");
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().contains("'" + bad + "'"), e.getMessage());
            }
        }
        assertEquals("1h", Durations.format(3_600_000));
        assertEquals("5m", Durations.format(300_000));
        assertEquals("90s", Durations.format(90_000));
        assertEquals("1500ms", Durations.format(1_500));
        for (long ms : new long[] {1, 999, 1_000, 61_000, 3_599_999, 3_600_000}) {
            assertEquals(ms, Durations.parseMs(Durations.format(ms)), "shown as it is read: " + ms);
        }
    }

    @Test
    void theNewCommandsHaveHelpAndCompletion() throws Exception {
        for (String[] l : new String[][] {{"rule", "add", "after", "--help"}, {"group", "set", "--help"},
            {"admission", "--help"}, {"what-if", "--help"}, {"rule", "explain", "--help"}}) {
            Result r = HavnctlTest.run(Map.of(), l);
            assertEquals(0, r.code(), r.toString());
            assertTrue(r.out().startsWith("Usage: havnctl"), r.out());
        }
        assertTrue(HavnctlTest.run(Map.of(), "rule", "add", "after", "--help").out().contains("--ready-timeout"));
        Result c = HavnctlTest.run(Map.of(), "completion");
        Path script = dir.resolve("havnctl.bash");
        java.nio.file.Files.writeString(script, c.out());
        String probe = """
                source "$1"
                ask() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMPREPLY=();
                        _complete_havnctl 2>/dev/null; echo "${COMPREPLY[*]}"; }
                ask havnctl rule ''
                ask havnctl rule add a
                ask havnctl rule add after x --on-timeout ''
                ask havnctl group ''
                """;
        Process p = new ProcessBuilder("bash", "-c", probe, "probe", script.toString()).redirectErrorStream(true)
                .start();
        assertTrue(p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS), "bash finished");
        String got = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(List.of("add explain list remove", "after apart", "start stay-down", "list remove set"),
                got.lines().toList(), got);
    }

    @Test
    void aReportAsTheDaemonWritesItRendersUnderItsOwnFieldNames() {
        java.util.SortedMap<HostId, io.havn.common.model.HostRecord> hosts = new TreeMap<>();
        java.util.SortedMap<HostId, java.util.SortedSet<Long>> live = new TreeMap<>();
        long s = 1;
        for (HostId h : List.of(NODE1, NODE2)) {
            hosts.put(h, new io.havn.common.model.HostRecord(h, new io.havn.common.model.HostCapacity(8, 8192), null,
                    null, io.havn.common.model.HostAdminState.ACTIVE, false));
            live.put(h, new TreeSet<>(List.of(s++)));
        }
        io.havn.common.model.VmSpec spec = new io.havn.common.model.VmSpec(new VmId("db1"), "db1", 1, 512,
                io.havn.common.model.Priority.HIGH, true, "<domain/>");
        java.util.SortedMap<VmId, io.havn.common.model.VmRecord> vms = new TreeMap<>();
        vms.put(spec.id(), io.havn.common.model.VmRecord.running(spec, NODE1, 1));
        ClusterState state = new ClusterState(1, NODE2, hosts, live, vms);
        io.havn.common.place.WhatIf.Report report = io.havn.common.place.WhatIf.of(state, List.of(NODE1), 2_000,
                6_000, 200);
        String text = WhatIfView.render(List.of(NODE1), Json.mapper().valueToTree(report), id -> id);
        assertTrue(text.contains("db1") && text.contains("node2") && text.contains("1 of 1 VM restarts elsewhere"),
                text);
        assertTrue(text.contains("Expected recovery: 8.2 s"), text);
    }
}
