package io.havn.sim.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class ScenarioParserTest {
    private static final HostId N1 = HostId.of("node1");
    private static final HostId N2 = HostId.of("node2");

    static final String EXAMPLE = """
            name: host-crash-restarts-its-vms       # required
            description: free text                  # optional
            seed: 7                                 # optional, default 1
            leader: node1                           # optional: this host wins the first election
            fencing: none                           # none (default) | device
            hosts:                                  # name -> capacity; {} or null takes the defaults
              node1: {cpus: 32, memoryMiB: 131072}  # defaults: cpus 32, memoryMiB 131072
              node2: {}
            vms:                                    # name -> spec; host is required
              web1: {host: node1, cpus: 2, memoryMiB: 4096, priority: high}   # defaults: cpus 1, memoryMiB 1024, priority medium, ha true
              db1: {host: node1}
            settings: {}                            # optional overrides of daemon settings, by their config names
            timeline:                               # times count from the moment the cluster has settled
              - at: 30s
                do: crash node1                     # a command, or a list of commands
            expect:
              - "by 50s: web1 running not on node1"
              - "never: node2 fenced"
            runFor: 200s                            # optional, default: last timeline time + 120s (120s with no timeline)
            """;

    /** A valid base to break: two hosts, one VM, one timeline entry. */
    private static final String BASE_HOSTS = "name: t\nhosts: {node1: {}, node2: {}}\nvms: {web1: {host: node1}}\n";

    @Test
    void parsesTheExample() {
        Scenario s = ScenarioParser.parse(EXAMPLE, "example.yaml");
        assertEquals("host-crash-restarts-its-vms", s.name());
        assertEquals("free text", s.description());
        assertEquals(7, s.seed());
        assertEquals(N1, s.leader());
        assertEquals(Fencing.NONE, s.fencing());
        assertEquals(List.of(N1, N2), List.copyOf(s.hosts().keySet()));
        assertEquals(new HostCapacity(32, 131_072), s.hosts().get(N1));
        assertEquals(new HostCapacity(32, 131_072), s.hosts().get(N2));
        assertEquals(List.of("web1", "db1"), List.copyOf(s.vms().keySet()));
        assertEquals(new VmDecl("web1", N1, 2, 4096, Priority.HIGH, true), s.vms().get("web1"));
        assertEquals(new VmDecl("db1", N1, 1, 1024, Priority.MEDIUM, true), s.vms().get("db1"));
        assertEquals(Map.of(), s.settings());
        assertEquals(List.of(new TimelineEntry(30_000, List.of(new Command.Crash(N1)))), s.timeline());
        assertEquals(List.of(
                new Expectation(When.BY, 50_000, new Fact.RunningNotOn("web1", new LinkedHashSet<>(List.of(N1))),
                        "by 50s: web1 running not on node1"),
                new Expectation(When.NEVER, 0, new Fact.Fenced(N2), "never: node2 fenced")), s.expectations());
        assertEquals(200_000, s.runForMs());
        assertThrows(UnsupportedOperationException.class, () -> s.hosts().clear());
        assertThrows(UnsupportedOperationException.class, () -> s.vms().clear());
        assertThrows(UnsupportedOperationException.class, () -> s.timeline().clear());
    }

    @Test
    void appliesDefaults() {
        Scenario s = ScenarioParser.parse("name: minimal\nhosts: {node1: , node2: {cpus: 8}}\n", "min.yaml");
        assertNull(s.description());
        assertEquals(1, s.seed());
        assertNull(s.leader());
        assertEquals(Fencing.NONE, s.fencing());
        assertEquals(new HostCapacity(32, 131_072), s.hosts().get(N1));
        assertEquals(new HostCapacity(8, 131_072), s.hosts().get(N2));
        assertTrue(s.vms().isEmpty());
        assertEquals(Map.of(), s.settings());
        assertTrue(s.timeline().isEmpty());
        assertTrue(s.expectations().isEmpty());
        assertEquals(120_000, s.runForMs());

        Scenario t = ScenarioParser.parse(BASE_HOSTS + "timeline: [{at: 1m, do: crash node1}, {at: 30s, do: heal}]\n", "t.yaml");
        assertEquals(180_000, t.runForMs());
        VmDecl vm = t.vms().get("web1");
        assertEquals(new VmDecl("web1", N1, 1, 1024, Priority.MEDIUM, true), vm);
    }

    @Test
    void sortsTheTimelineStablyAndAcceptsCommandLists() {
        Scenario s = ScenarioParser.parse(BASE_HOSTS + """
                timeline:
                  - {at: 20s, do: heal}
                  - {at: 10s, do: [crash node1, vm-crash web1]}
                  - {at: 20s, do: zk-down}
                """, "t.yaml");
        assertEquals(List.of(
                new TimelineEntry(10_000, List.of(new Command.Crash(N1), new Command.VmCrash("web1"))),
                new TimelineEntry(20_000, List.of(new Command.Heal())),
                new TimelineEntry(20_000, List.of(new Command.ZkDown()))), s.timeline());
    }

    @Test
    void keepsSettingsAndFencingDevice() {
        Scenario s = ScenarioParser.parse(BASE_HOSTS + "fencing: device\nsettings: {maxRestart: 3, phiThreshold: 9.5}\n", "t.yaml");
        assertEquals(Fencing.DEVICE, s.fencing());
        assertEquals(Map.of("maxRestart", 3L, "phiThreshold", 9.5), s.settings());
        assertEquals(List.of("maxRestart", "phiThreshold"), List.copyOf(s.settings().keySet()));
    }

    @Test
    void parsesEveryFileInTheScenariosDirectory() throws IOException {
        Path dir = Path.of("scenarios");
        List<Path> files;
        try (Stream<Path> list = Files.list(dir)) {
            files = list.filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml")).sorted().toList();
        }
        assertFalse(files.isEmpty(), "no scenarios in " + dir.toAbsolutePath());
        for (Path f : files) {
            Scenario s = ScenarioParser.parse(f);
            assertFalse(s.name().isBlank(), f.toString());
            assertEquals(s, ScenarioParser.parse(ScenarioWriter.toYaml(s), f.toString()), f.toString());
        }
    }

    @Test
    void parsesTheGivenScenarioFiles() {
        Scenario crash = ScenarioParser.parse(Path.of("scenarios", "crash-with-fence-device.yaml"));
        assertEquals("crash-with-fence-device", crash.name());
        assertEquals(Fencing.DEVICE, crash.fencing());
        assertEquals(Priority.HIGH, crash.vms().get("b").priority());
        assertEquals(140_000, crash.runForMs());
        assertEquals(new Fact.Fenced(N1), crash.expectations().get(3).fact());

        Scenario isolated = ScenarioParser.parse(Path.of("scenarios", "isolated-host-self-fences.yaml"));
        assertEquals(List.of(new Command.Isolate(HostId.of("node3"))), isolated.timeline().get(0).commands());
        assertEquals(240_000, isolated.runForMs());

        Scenario maintenance = ScenarioParser.parse(Path.of("scenarios", "maintenance-drains-by-live-migration.yaml"));
        assertEquals(List.of(new Command.Maintenance(N2, true)), maintenance.timeline().get(0).commands());
        assertEquals(new Fact.Downtime("a", 1_000), maintenance.expectations().get(3).fact());
    }

    @Test
    void aMissingFileIsAScenarioException() {
        ScenarioException e = assertThrows(ScenarioException.class,
                () -> ScenarioParser.parse(Path.of("scenarios", "no-such-file.yaml")));
        assertTrue(e.getMessage().contains("no-such-file.yaml: file: cannot read"), e.getMessage());
    }

    // ---- validation: one test per error ----

    @Test
    void missingName() {
        assertError("hosts: {node1: {}}\n", "name", "missing or blank");
    }

    @Test
    void blankName() {
        assertError("name: '  '\nhosts: {node1: {}}\n", "name", "missing or blank");
    }

    @Test
    void unknownTopLevelKey() {
        assertError(BASE_HOSTS + "expectations: []\n", "expectations",
                "unknown key 'expectations'; known keys: name, description, seed, leader, fencing, hosts, vms, groups, rules,"
                        + " admission, settings,"
                        + " zkMaxSessionTimeout, timeline, expect, runFor");
    }

    @Test
    void hostsMissing() {
        assertError("name: t\n", "hosts", "missing");
    }

    @Test
    void hostsEmpty() {
        assertError("name: t\nhosts: {}\n", "hosts", "empty");
    }

    @Test
    void invalidHostName() {
        assertError("name: t\nhosts: {'node 1': {}}\n", "hosts.node 1", "invalid host name 'node 1'");
    }

    @Test
    void hostNamedLikeACoordinationServer() {
        assertError("name: t\nhosts: {zk1: {}}\n", "hosts.zk1", "reserved for a coordination server");
    }

    @Test
    void unknownKeyInHost() {
        assertError("name: t\nhosts: {node1: {cpu: 4}}\n", "hosts.node1.cpu", "unknown key 'cpu'; known keys: cpus, memoryMiB");
    }

    @Test
    void unknownKeyInVm() {
        assertError("name: t\nhosts: {node1: {}}\nvms: {web1: {host: node1, memory: 5}}\n", "vms.web1.memory",
                "unknown key 'memory'; known keys: host, cpus, memoryMiB, priority, ha");
    }

    @Test
    void zeroHostCpus() {
        assertError("name: t\nhosts: {node1: {cpus: 0}}\n", "hosts.node1.cpus", "must be > 0, got 0");
    }

    @Test
    void negativeHostMemory() {
        assertError("name: t\nhosts: {node1: {memoryMiB: -5}}\n", "hosts.node1.memoryMiB", "must be > 0, got -5");
    }

    @Test
    void negativeVmCpus() {
        assertError("name: t\nhosts: {node1: {}}\nvms: {web1: {host: node1, cpus: -1}}\n", "vms.web1.cpus", "must be > 0");
    }

    @Test
    void zeroVmMemory() {
        assertError("name: t\nhosts: {node1: {}}\nvms: {web1: {host: node1, memoryMiB: 0}}\n", "vms.web1.memoryMiB",
                "must be > 0");
    }

    @Test
    void nonIntegerCpus() {
        assertError("name: t\nhosts: {node1: {cpus: lots}}\n", "hosts.node1.cpus", "expected an integer, got 'lots'");
    }

    @Test
    void vmWithoutHost() {
        assertError("name: t\nhosts: {node1: {}}\nvms: {web1: {cpus: 2}}\n", "vms.web1.host", "missing");
    }

    @Test
    void vmWithNullSpec() {
        assertError("name: t\nhosts: {node1: {}}\nvms: {web1: }\n", "vms.web1.host", "missing");
    }

    @Test
    void vmOnUndeclaredHost() {
        assertError("name: t\nhosts: {node1: {}}\nvms: {web1: {host: node9}}\n", "vms.web1.host",
                "undeclared host 'node9'; declared: node1");
    }

    @Test
    void invalidVmName() {
        assertError("name: t\nhosts: {node1: {}}\nvms: {'web 1': {host: node1}}\n", "vms.web 1", "invalid VM name 'web 1'");
    }

    @Test
    void badPriority() {
        assertError("name: t\nhosts: {node1: {}}\nvms: {web1: {host: node1, priority: urgent}}\n", "vms.web1.priority",
                "invalid priority 'urgent'");
    }

    @Test
    void badHa() {
        assertError("name: t\nhosts: {node1: {}}\nvms: {web1: {host: node1, ha: maybe}}\n", "vms.web1.ha",
                "expected true or false");
    }

    @Test
    void duplicateYamlKey() {
        assertError("name: t\nhosts:\n  node1: {}\n  node1: {}\n", "hosts.node1", "duplicate key 'node1'");
    }

    @Test
    void duplicateTopLevelKey() {
        assertError("name: t\nname: u\nhosts: {node1: {}}\n", "name", "duplicate key 'name'");
    }

    @Test
    void invalidYaml() {
        assertError("name: t\nhosts: {node1: {}\n", "hosts.node1", "invalid YAML: while parsing a flow mapping");
    }

    @Test
    void notAMapping() {
        assertError("- name: t\n", "top level", "expected a mapping");
    }

    @Test
    void emptyFile() {
        assertError("", "file", "empty scenario");
    }

    @Test
    void leaderUndeclared() {
        assertError(BASE_HOSTS + "leader: node3\n", "leader", "undeclared host 'node3'; declared: node1, node2");
    }

    @Test
    void badFencing() {
        assertError(BASE_HOSTS + "fencing: stonith\n", "fencing", "invalid fencing 'stonith': expected none or device");
    }

    @Test
    void badSeed() {
        assertError(BASE_HOSTS + "seed: abc\n", "seed", "expected an integer");
    }

    @Test
    void badTimelineDuration() {
        assertError(BASE_HOSTS + "timeline: [{at: 30, do: heal}]\n", "timeline[0].at",
                "invalid duration '30': expected an integer with ms, s or m");
    }

    @Test
    void badRunForDuration() {
        assertError(BASE_HOSTS + "runFor: 2h\n", "runFor", "invalid duration '2h'");
    }

    @Test
    void timelineEntryWithoutAt() {
        assertError(BASE_HOSTS + "timeline: [{do: heal}]\n", "timeline[0].at", "missing");
    }

    @Test
    void timelineEntryWithoutDo() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s}, {at: 10s}]\n", "timeline[0].do", "missing");
    }

    @Test
    void timelineEntryWithUnknownKey() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s, do: heal, then: heal}]\n", "timeline[0].then",
                "unknown key 'then'; known keys: at, do");
    }

    @Test
    void timelineEntryWithEmptyCommandList() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s, do: []}]\n", "timeline[0].do", "empty list");
    }

    @Test
    void commandNamingUndeclaredHost() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s, do: heal}, {at: 6s, do: [heal, crash node7]}]\n",
                "timeline[1].do[1]", "'crash node7' names undeclared host 'node7'; declared: node1, node2");
    }

    @Test
    void commandNamingUndeclaredVm() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s, do: migrate db1 node2}]\n", "timeline[0].do",
                "'migrate db1 node2' names undeclared VM 'db1'; declared: web1");
    }

    @Test
    void unknownCommand() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s, do: reset node1}]\n", "timeline[0].do", "unknown command 'reset'");
    }

    @Test
    void commandWithWrongArity() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s, do: crash}]\n", "timeline[0].do", "'crash' takes 1 argument");
    }

    @Test
    void zkServerOutOfRange() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s, do: zk-crash zk4}]\n", "timeline[0].do", "expected zk1, zk2 or zk3");
    }

    @Test
    void partitionWithEndpointInTwoGroups() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s, do: 'partition node1,zk1 | node2,zk1'}]\n", "timeline[0].do",
                "endpoint 'zk1' is in two partition groups");
    }

    @Test
    void partitionWithUnknownEndpoint() {
        assertError(BASE_HOSTS + "timeline: [{at: 5s, do: 'partition node1 | zk4'}]\n", "timeline[0].do",
                "unknown endpoint 'zk4'; known: node1, node2, zk1, zk2, zk3");
    }

    @Test
    void expectationWithBadSyntax() {
        assertError(BASE_HOSTS + "expect: ['end: web1 running', 'soon: web1 running']\n", "expect[1]", "unknown WHEN 'soon'");
    }

    @Test
    void expectationNamingUndeclaredHost() {
        assertError(BASE_HOSTS + "expect: ['by 30s: web1 running on node1|node5']\n", "expect[0]",
                "names undeclared host 'node5'");
    }

    @Test
    void expectationNamingUndeclaredVm() {
        assertError(BASE_HOSTS + "expect: ['end: db1 stopped']\n", "expect[0]", "names undeclared VM 'db1'; declared: web1");
    }

    @Test
    void expectationAfterTheEndOfTheRun() {
        assertError(BASE_HOSTS + "expect: ['by 3m: web1 running']\nrunFor: 2m\n", "expect[0]",
                "time 3m is after the end of the run (runFor 2m)");
    }

    @Test
    void settingsRejectedBySettings() {
        assertError(BASE_HOSTS + "settings: {tickMs: 5000}\n", "settings", "tickMs (5000) must not exceed heartbeatIntervalMs");
    }

    @Test
    void unknownSetting() {
        assertError(BASE_HOSTS + "settings: {tickMillis: 50}\n", "settings", "unknown setting 'tickMillis'");
    }

    @Test
    void runForShorterThanTheTimeline() {
        assertError(BASE_HOSTS + "timeline: [{at: 90s, do: heal}]\nrunFor: 1m\n", "runFor",
                "1m is shorter than the last timeline time 90s");
    }

    @Test
    void messagesStartWithTheSourceName() {
        ScenarioException e = assertThrows(ScenarioException.class,
                () -> ScenarioParser.parse("hosts: {node1: {}}\n", "dir/some.yaml"));
        assertEquals("dir/some.yaml: name: missing or blank: every scenario needs a name", e.getMessage());
        assertEquals("dir/some.yaml", e.source());
        assertEquals("name", e.where());
    }

    private static void assertError(String yaml, String where, String problem) {
        ScenarioException e = assertThrows(ScenarioException.class, () -> ScenarioParser.parse(yaml, "t.yaml"));
        assertTrue(e.getMessage().startsWith("t.yaml: " + where + ": "),
                "'" + e.getMessage() + "' should start with 't.yaml: " + where + ": '");
        assertTrue(e.getMessage().contains(problem), "'" + e.getMessage() + "' should contain '" + problem + "'");
        assertEquals(where, e.where());
    }
}
