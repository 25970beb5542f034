package io.havn.sim.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.sim.scenario.ScenarioParser;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * What-if answers with the leader's own placement code: asked before two hosts fail, it names the
 * host each of their VMs then restarts on in the simulator, and the VMs it says stay down stay down.
 */
class WhatIfMatchesTheSimulatorTest {
    private static final String SCENARIO = """
            name: what-if-matches
            fencing: device
            hosts:
              node1: {memoryMiB: 24576}
              node2: {}
              node3: {}
              node4: {memoryMiB: 20480}
              node5: {cpus: 4, memoryMiB: 12288}
            vms:
              db1: {host: node3, memoryMiB: 8192, priority: high}
              db2: {host: node1, memoryMiB: 8192, priority: high}
              dns: {host: node2, memoryMiB: 1024, priority: high}
              app: {host: node3, memoryMiB: 4096}
              cache: {host: node3, memoryMiB: 2048}
              web1: {host: node2, memoryMiB: 2048}
              web2: {host: node4, memoryMiB: 2048}
              lic: {host: node2, memoryMiB: 4096}
              batch: {host: node2, memoryMiB: 6144, priority: low}
              big: {host: node3, memoryMiB: 16384, priority: low}
            groups: {licensed: [node2, node5], rack-b: [node4, node5]}
            rules:
              - {id: db-apart, kind: apart, vms: [db1, db2]}
              - {id: app-cache, kind: together, vms: [app, cache]}
              - {id: web-spread, kind: apart, vms: [web1, web2], weight: 40}
              - {id: lic-only, kind: hosts, vms: [lic], groups: [licensed], strict: true}
              - {id: web-rack, kind: hosts, vms: [web1], groups: [rack-b]}
              - {id: app-after-dns, kind: after, vms: [app], after: [dns], timeout: 2m}
              - {id: batch-late, kind: delay, vms: [batch], delay: 5s}
            timeline:
              - {at: 5s, do: what-if node2 node3}
              - {at: 10s, do: crash node2}
              - {at: 10s, do: crash node3}
            expect: ["always: db1 apart db2"]
            runFor: 60s
            """;

    private static final Pattern PREDICTION = Pattern.compile("what-if: (\\S+) from (\\S+)(?: -> (\\S+) \\(|: not restarted)");

    @Test
    void eachVmOfTheFailedHostsRestartsWhereWhatIfSaidAndNoneItSaidStaysDownRuns() {
        ScenarioRunner runner = new ScenarioRunner(ScenarioParser.parse(SCENARIO, "what-if-matches.yaml"));
        RunResult r = runner.run();
        String timeline = r.timeline().stream().map(ScenarioRunner.Line::toString).collect(Collectors.joining("\n"));
        assertNull(r.violation(), timeline);
        Map<String, String> predicted = new TreeMap<>();
        Matcher m = PREDICTION.matcher(timeline);
        while (m.find()) {
            predicted.put(m.group(1), m.group(3) == null ? "-" : m.group(3));
        }
        assertEquals(8, predicted.size(), "every VM of node2 and node3 is answered for\n" + timeline);
        assertTrue(predicted.containsValue("-"), "the case has a VM that stays down (lic)\n" + timeline);
        Map<String, String> happened = new TreeMap<>();
        for (String vm : predicted.keySet()) {
            Versioned<VmRecord> v = runner.world().coordination.vm(new VmId(vm));
            VmRecord rec = v.value();
            happened.put(vm, rec.phase() == VmPhase.RUNNING ? rec.owner().value() : "-");
        }
        assertEquals(predicted, happened, timeline.lines().filter(l -> l.contains("PLACE") || l.contains("FENCE") || l.contains("RECOVER") || l.contains("fence") || l.contains("place")).collect(Collectors.joining("\n")));
        assertFalse(timeline.contains("FAIL"), timeline);
    }
}
