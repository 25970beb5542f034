package io.havn.sim.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CommandsTest {
    private static final HostId N1 = HostId.of("node1");

    /** One example of every command, with its canonical text. */
    static final Map<String, Command> EXAMPLES = examples();

    private static Map<String, Command> examples() {
        Map<String, Command> m = new java.util.LinkedHashMap<>();
        m.put("crash node1", new Command.Crash(N1));
        m.put("power-on node1", new Command.PowerOn(N1));
        m.put("isolate node1", new Command.Isolate(N1));
        m.put("reconnect node1", new Command.Reconnect(N1));
        m.put("partition node1,zk1 | node2 | node3,zk3",
                new Command.Partition(List.of(set("node1", "zk1"), set("node2"), set("node3", "zk3"))));
        m.put("heal", new Command.Heal());
        m.put("zk-down", new Command.ZkDown());
        m.put("zk-up", new Command.ZkUp());
        m.put("zk-crash zk2", new Command.ZkCrash(2));
        m.put("zk-start zk3", new Command.ZkStart(3));
        m.put("daemon-crash node1", new Command.DaemonCrash(N1));
        m.put("daemon-start node1", new Command.DaemonStart(N1));
        m.put("daemon-stop node1", new Command.DaemonStop(N1));
        m.put("daemon-restart node1 30s", new Command.DaemonRestart(N1, 30_000));
        m.put("pause node1 1500ms", new Command.Pause(N1, 1_500));
        m.put("loss 0.5%", new Command.Loss(0.5));
        m.put("delay 2m", new Command.Delay(120_000));
        m.put("vm-crash web1", new Command.VmCrash("web1"));
        m.put("vm-fail-start web1 2", new Command.VmFailStart("web1", 2));
        m.put("vm-fail-migrate web1 1", new Command.VmFailMigrate("web1", 1));
        m.put("vm-start-late web1 30s 45s", new Command.VmStartLate("web1", 30_000, 45_000));
        m.put("vm-start-error-runs web1", new Command.VmStartErrorRuns("web1"));
        m.put("vm-outside-start web1 node1", new Command.VmOutsideStart("web1", N1));
        m.put("autostart web1 node1", new Command.Autostart("web1", N1));
        m.put("cut node1 zk2", new Command.Cut("node1", "zk2", false));
        m.put("cut-oneway node1 node2", new Command.Cut("node1", "node2", true));
        m.put("clock-step node1 -30s", new Command.ClockStep(N1, -30_000));
        m.put("fence-fail node1", new Command.FenceFail(N1));
        m.put("signal node1 off", new Command.Signal(N1, false));
        m.put("migrate web1 node1", new Command.Migrate("web1", N1));
        m.put("relocate web1 node1", new Command.Relocate("web1", N1));
        m.put("maintenance node1 on", new Command.Maintenance(N1, true));
        m.put("fence-confirm node1", new Command.FenceConfirm(N1));
        m.put("vm-stop web1", new Command.VmStop("web1"));
        m.put("vm-start web1", new Command.VmStart("web1"));
        m.put("vm-disable web1", new Command.VmDisable("web1"));
        m.put("vm-enable web1", new Command.VmEnable("web1"));
        m.put("shutdown node1", new Command.Shutdown(N1, -1));
        m.put("reboot node1 45s", new Command.Shutdown(N1, 45_000));
        m.put("disarm keep", new Command.Disarm(io.havn.common.model.ClusterRecord.Disarm.KEEP_WATCHDOGS));
        m.put("arm", new Command.Arm());
        m.put("shutdown-policy freeze", new Command.SetShutdownPolicy(null, io.havn.common.model.ShutdownPolicy.FREEZE));
        m.put("host-shutdown-policy node1 inherit", new Command.SetShutdownPolicy(N1, null));
        m.put("rule-add apart web-apart web1,db1", new Command.RuleAdd(
                new Rule.Apart("web-apart", List.of(new VmId("web1"), new VmId("db1")), true, null)));
        m.put("rule-remove web-apart", new Command.RuleRemove("web-apart"));
        m.put("group-set rack-a node1,node2", new Command.GroupSet("rack-a", List.of(N1, HostId.of("node2"))));
        m.put("group-remove rack-a", new Command.GroupRemove("rack-a"));
        m.put("admission 1 strict reserved node1", new Command.SetAdmission(1, true, List.of(N1)));
        m.put("what-if node1 node2", new Command.WhatIf(List.of(N1, HostId.of("node2"))));
        m.put("storage-lost node1 vmstore", new Command.StoragePath(N1, "vmstore", true));
        m.put("storage-back node1 vmstore", new Command.StoragePath(N1, "vmstore", false));
        m.put("datastore-down vmstore", new Command.Datastore("vmstore", true));
        m.put("datastore-up vmstore", new Command.Datastore("vmstore", false));
        m.put("guest-hang web1 forever", new Command.GuestHang("web1", true));
        m.put("guest-unhang web1", new Command.GuestUnhang("web1"));
        return m;
    }

    static Set<String> set(String... names) {
        return new LinkedHashSet<>(List.of(names));
    }

    @Test
    void everyCommandHasAnExample() {
        Set<Class<?>> exampled = new java.util.HashSet<>();
        EXAMPLES.values().forEach(c -> exampled.add(c.getClass()));
        assertEquals(Set.of(Command.class.getPermittedSubclasses()), exampled, "every command record has an example");
        assertEquals(Commands.verbs().size(), EXAMPLES.size(),
                "every verb has one example (cut and cut-oneway, shutdown and reboot, and the two policies share a record)");
    }

    @Test
    void everyCommandRoundTrips() {
        for (Map.Entry<String, Command> e : EXAMPLES.entrySet()) {
            assertEquals(e.getValue(), Commands.parse(e.getKey()), e.getKey());
            assertEquals(e.getKey(), e.getValue().text());
            assertEquals(e.getValue(), Commands.parse(e.getValue().text()));
        }
    }

    @Test
    void variantsParseToCanonicalCommands() {
        assertEquals("loss 2%", Commands.parse("loss 2%").text());
        assertEquals(new Command.Loss(2), Commands.parse("loss 2.0%"));
        assertEquals(new Command.Loss(100), Commands.parse("loss 100%"));
        assertEquals(new Command.Loss(0), Commands.parse("loss 0%"));
        assertEquals(new Command.Maintenance(N1, false), Commands.parse("maintenance node1 off"));
        assertEquals("maintenance node1 off", Commands.parse("  maintenance   node1  off ").text());
        assertEquals("partition node1 | node2,zk1", Commands.parse("partition node1|node2, zk1").text());
    }

    @Test
    void rejectsUnknownCommands() {
        assertProblem("reset node1", "unknown command 'reset'", "crash, power-on");
        assertProblem("", "empty command");
    }

    @Test
    void rejectsWrongArity() {
        assertProblem("crash", "'crash' takes 1 argument (crash HOST), got 0");
        assertProblem("crash node1 node2", "'crash' takes 1 argument", "got 2");
        assertProblem("heal now", "'heal' takes 0 arguments");
        assertProblem("migrate web1", "'migrate' takes 2 arguments (migrate VM HOST)");
        assertProblem("partition", "no groups given");
    }

    @Test
    void rejectsBadArguments() {
        assertProblem("zk-crash zk4", "zk4", "expected zk1, zk2 or zk3");
        assertProblem("zk-start zk0", "zk0", "expected zk1, zk2 or zk3");
        assertProblem("zk-crash node1", "expected zk1, zk2 or zk3");
        assertProblem("loss 101%", "between 0% and 100%");
        assertProblem("loss 2", "invalid percentage '2'");
        assertProblem("loss -1%", "invalid percentage");
        assertProblem("pause node1 5", "invalid duration '5'");
        assertProblem("pause node1 0s", "pause duration must be > 0");
        assertProblem("delay soon", "invalid duration 'soon'");
        assertProblem("vm-fail-start web1 0", "count must be >= 1");
        assertProblem("vm-fail-migrate web1 x", "invalid count 'x'");
        assertProblem("maintenance node1 maybe", "expected on or off");
        assertProblem("crash no/de", "invalid host name 'no/de'");
        assertProblem("vm-crash web/1", "invalid VM name 'web/1'");
    }

    @Test
    void rejectsBadPartitions() {
        assertProblem("partition node1,node2", "at least two groups");
        assertProblem("partition node1 | node2,node1", "'node1' is in two partition groups");
        assertProblem("partition node1 | ", "empty partition group");
        assertProblem("partition node1,,node3 | node2", "empty endpoint name");
        assertProblem("partition node1,node1 | node2", "'node1' is listed twice");
    }

    @Test
    void everyRuleKindHasAOneLineForm() {
        VmId a = new VmId("a");
        VmId b = new VmId("b");
        VmId c = new VmId("c");
        Map<String, Rule> rules = new java.util.LinkedHashMap<>();
        rules.put("apart r a,b,c", new Rule.Apart("r", List.of(a, b, c), true, null));
        rules.put("apart r a,b soft 25", new Rule.Apart("r", List.of(a, b), false, 25));
        rules.put("together r a,b", new Rule.Together("r", List.of(a, b), true, null));
        rules.put("together r a,b soft 10", new Rule.Together("r", List.of(a, b), false, 10));
        rules.put("hosts r a rack-a,rack-b", new Rule.OnHosts("r", List.of(a), List.of("rack-a", "rack-b"), false, false));
        rules.put("hosts r a,b rack-a strict failback", new Rule.OnHosts("r", List.of(a, b), List.of("rack-a"), true, true));
        rules.put("after r a b,c 1m start", new Rule.After("r", List.of(a), List.of(b, c), Rule.Ready.RUNNING, 60_000,
                Rule.OnTimeout.START));
        rules.put("after r a b 30s stay-down", new Rule.After("r", List.of(a), List.of(b), Rule.Ready.RUNNING, 30_000,
                Rule.OnTimeout.STAY_DOWN));
        rules.put("delay r a,b 10s", new Rule.StartDelay("r", List.of(a, b), 10_000));
        for (Map.Entry<String, Rule> e : rules.entrySet()) {
            Command.RuleAdd add = new Command.RuleAdd(e.getValue());
            assertEquals(add, Commands.parse("rule-add " + e.getKey()), e.getKey());
            assertEquals("rule-add " + e.getKey(), add.text());
        }
        // variants: hard said, soft without a weight (10), flags in any order, no onTimeout (start)
        assertEquals("rule-add apart r a,b", Commands.parse("rule-add apart r a,b hard").text());
        assertEquals("rule-add together r a,b soft 10", Commands.parse("rule-add together r a,b soft").text());
        assertEquals("rule-add hosts r a g strict failback", Commands.parse("rule-add hosts r a g failback strict").text());
        assertEquals("rule-add after r a b 1m start", Commands.parse("rule-add after r a b 60s").text());
        assertEquals("admission 0", Commands.parse("admission 0").text());
        assertEquals("admission 2 reserved node1,node2", Commands.parse("admission 2 reserved node1,node2").text());
    }

    @Test
    void rejectsBadRules() {
        assertProblem("rule-add apart r", "a rule needs at least a kind, an id and its VMs");
        assertProblem("rule-add near r a,b", "unknown rule kind 'near'; known: apart, together, hosts, after, delay");
        assertProblem("rule-add apart r a", "rule r: needs at least 2 VMs");
        assertProblem("rule-add apart r a,a", "VM 'a' listed twice");
        assertProblem("rule-add apart r a,b soft 5000", "weight must be between 1 and 1000");
        assertProblem("rule-add apart r a,b firm", "expected hard or soft [WEIGHT], got 'firm'");
        assertProblem("rule-add hosts r a", "a hosts rule names its groups after its VMs");
        assertProblem("rule-add hosts r a g sticky", "expected strict or failback, got 'sticky'");
        assertProblem("rule-add after r a a 1m", "VM a cannot wait for itself");
        assertProblem("rule-add after r a b 2h", "invalid duration '2h'");
        assertProblem("rule-add after r a b 1m later", "expected start or stay-down, got 'later'");
        assertProblem("rule-add delay r a", "a delay rule takes one duration after its VMs");
        assertProblem("rule-add apart 'r' a,b", "invalid rule id ''r''");
        assertProblem("group-set rack node1,,node2", "empty host name");
        assertProblem("group-set rack", "'group-set' takes 2 arguments");
        assertProblem("admission", "names no number of host failures");
        assertProblem("admission -1", "invalid number of host failures to tolerate '-1'");
        assertProblem("admission 1 lenient", "unexpected 'lenient'");
        assertProblem("admission 1 reserved", "'reserved' needs its hosts");
        assertProblem("what-if", "names no host");
        assertProblem("what-if node1 node1", "host 'node1' listed twice");
    }

    private static void assertProblem(String text, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Commands.parse(text), text);
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' should contain '" + f + "'");
        }
    }
}
