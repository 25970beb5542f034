package io.havn.sim.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ScenarioWriterTest {

    /** A scenario that uses every feature of the format. */
    private static String everything() {
        StringBuilder y = new StringBuilder("""
                name: every-feature
                description: "quotes \\" and: colons # hash, ünïcödé,\\nnew line"
                seed: -42
                leader: node2
                fencing: device
                hosts:
                  node1: {cpus: 16, memoryMiB: 65536}
                  node2: {}
                  node3: {cpus: 8}
                  "on": {memoryMiB: 2048}
                  7seas:
                datastores: [vmstore, "on"]
                vms:
                  web1: {host: node1, cpus: 2, memoryMiB: 4096, priority: high, ha: false}
                  db1: {host: node2, priority: low, datastores: [vmstore, "on"], onStorageError: restart-elsewhere}
                  "yes": {host: "on", guestMonitor: true, agentChannel: false}
                  db2: {host: node1, onStorageError: leave-paused, guestMonitor: {interval: 5s, misses: 2, grace: 1m, maxResets: 1, window: 120m}}
                groups:
                  rack-a: [node1, node2]
                  "on": ["on"]
                rules:
                  - {id: apart1, kind: apart, vms: [db1, db2]}
                  - {id: soft1, kind: together, vms: [db1, "yes"], weight: 30}
                  - {id: hosts1, kind: hosts, vms: [db2], groups: [rack-a, "on"], strict: true, failback: true}
                  - {id: after1, kind: after, vms: [db2], after: [db1], timeout: 90s, onTimeout: stay-down}
                  - "delay delay1 yes 5s"
                admission: {tolerate: 1, strict: true, reserved: [7seas]}
                settings: {maxRestart: 3, phiThreshold: 9.5, graceMs: 0}
                timeline:
                  - at: 90s
                    do: heal
                  - at: 30s
                    do:
                """);
        for (String command : CommandsTest.EXAMPLES.keySet()) {
            y.append("      - '").append(command).append("'\n");
        }
        y.append("""
                  - {at: 30s, do: [crash on, 'partition on,7seas | node1']}
                  - {at: 1500ms, do: 'loss 12.25%'}
                expect:
                  - "at 31s: web1 running"
                  - "by 2m: web1 running on node1|node2"
                  - "by 2m: db1 running not on node1"
                  - "end:   yes stopped"
                  - "always: web1 error"
                  - "never: db1 recovering"
                  - "never: db1 frozen"
                  - "end: web1 downtime <= 1500ms"
                  - "never: on fenced"
                  - "end: 7seas live"
                  - "end: node3 maintenance"
                  - "always: db1 apart db2"
                  - "end: db1 with yes"
                  - "by 2m: db2 on-group rack-a"
                  - "at 0s: leader node2"
                  - "end: leader not on"
                  - "by 2m: db1 paused"
                  - "end: db2 boots 0"
                runFor: 4m
                """);
        return y.toString();
    }

    @Test
    void roundTripsAScenarioUsingEveryFeature() {
        Scenario s = ScenarioParser.parse(everything(), "every.yaml");
        // the parse itself saw everything
        assertEquals(5, s.hosts().size());
        assertEquals(new HostCapacity(32, 2048), s.hosts().get(HostId.of("on")));
        assertEquals(new VmDecl("web1", HostId.of("node1"), 2, 4096, Priority.HIGH, false), s.vms().get("web1"));
        assertEquals(CommandsTest.EXAMPLES.size(), s.timeline().get(1).commands().size());
        assertEquals(List.of(1_500L, 30_000L, 30_000L, 90_000L), s.timeline().stream().map(TimelineEntry::atMs).toList());
        assertEquals(Fact.class.getPermittedSubclasses().length, s.expectations().size());
        assertTrue(s.description().contains("\n"));
        assertEquals(5, s.placement().rules().size());
        assertEquals(2, s.placement().groups().size());
        assertEquals(1, s.placement().tolerate());

        String yaml = ScenarioWriter.toYaml(s);
        Scenario again = ScenarioParser.parse(yaml, "written.yaml");
        assertEquals(s, again, yaml);
        assertEquals(yaml, ScenarioWriter.toYaml(again));
    }

    @Test
    void writesCanonicalYaml() {
        Map<HostId, HostCapacity> hosts = new LinkedHashMap<>();
        hosts.put(HostId.of("node1"), new HostCapacity(32, 131_072));
        hosts.put(HostId.of("node2"), new HostCapacity(4, 8192));
        Scenario s = new Scenario("small", null, 1, null, Fencing.NONE, hosts,
                Map.of("a", new VmDecl("a", HostId.of("node1"), 1, 1024, Priority.MEDIUM, true)), null,
                List.of(new TimelineEntry(20_000, List.of(new Command.Crash(HostId.of("node1"))))),
                List.of(Expectations.parse("by 26s: a running not on node1")), 140_000);
        String yaml = ScenarioWriter.toYaml(s);
        assertEquals("""
                name: small
                seed: 1
                fencing: none
                hosts:
                  node1: {}
                  node2: {cpus: 4, memoryMiB: 8192}
                vms:
                  a: {host: node1}
                timeline:
                  - at: 20s
                    do: crash node1
                expect:
                  - "by 26s: a running not on node1"
                runFor: 140s
                """, yaml);
        assertEquals(s, ScenarioParser.parse(yaml, "small.yaml"));
    }

    @Test
    void roundTripsAnEmptyScenario() {
        Scenario s = ScenarioParser.parse("name: empty\nhosts: {node1: {}}\n", "empty.yaml");
        assertEquals(s, ScenarioParser.parse(ScenarioWriter.toYaml(s), "again.yaml"));
    }
}
