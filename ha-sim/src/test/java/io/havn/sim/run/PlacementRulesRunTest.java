package io.havn.sim.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.sim.scenario.ScenarioParser;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** A scenario's placement policy reaches the cluster record, and its rule commands go through the admin path. */
class PlacementRulesRunTest {
    private static final String SCENARIO = """
            name: rules-run
            fencing: device
            hosts: {node1: {}, node2: {}, node3: {}, node4: {cpus: 4, memoryMiB: 8192}}
            vms:
              web1: {host: node1, memoryMiB: 4096}
              web2: {host: node2, memoryMiB: 4096}
              web3: {host: node3, memoryMiB: 4096}
            groups: {front: [node1, node2, node3, node4]}
            rules:
              - {id: web-apart, kind: apart, vms: [web1, web2, web3]}
            timeline:
              - {at: 5s, do: what-if node1}
              - {at: 8s, do: 'rule-add hosts web1-front web1 front strict'}
              - {at: 9s, do: 'rule-add together web2-web3 web2,web3'}
              - {at: 10s, do: crash node1}
              - {at: 30s, do: rule-remove web-apart}
              - {at: 31s, do: 'group-set back node4'}
            expect: ["by 25s: web1 running on node4", "end: web1 on-group front", "end: web1 apart web2"]
            runFor: 40s
            """;

    @Test
    void thePolicyIsInForceFromTheStartAndChangesThroughTheAdminPath() {
        ScenarioRunner runner = new ScenarioRunner(ScenarioParser.parse(SCENARIO, "rules-run.yaml"));
        RunResult r = runner.run();
        String timeline = r.timeline().stream().map(ScenarioRunner.Line::toString).collect(Collectors.joining("\n"));
        assertNull(r.violation(), timeline);
        assertTrue(r.passed(), timeline);
        // what-if saw the rule: node4 is the only host without a sibling of web1
        assertTrue(timeline.contains("what-if node1 (answered by node1): 1 VMs to restart"), timeline);
        assertTrue(timeline.contains("what-if: web1 from node1 -> node4"), timeline);
        // the leader refused the rule that contradicts another, with its reason, and took the others
        assertTrue(timeline.contains("admin request 'rule-add together web2-web3 web2,web3' refused: rule-conflict: "
                + "rule web-apart keeps web2 and web3 apart, but rule web2-web3 keeps them together"), timeline);
        PlacementPolicy p = runner.world().coordination.cluster().placement();
        assertEquals(List.of("web1-front"), p.rules().stream().map(Rule::id).toList());
        assertEquals(new Rule.OnHosts("web1-front", List.of(new VmId("web1")), List.of("front"), true, false),
                p.rule("web1-front"));
        assertEquals(List.of("back", "front"), List.copyOf(p.groups().keySet()));
    }
}
