package io.havn.sim.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** The groups, rules and admission sections of a scenario, and the rule commands and facts. */
class PlacementSectionsTest {
    private static final HostId N1 = HostId.of("node1");
    private static final HostId N2 = HostId.of("node2");
    private static final HostId N3 = HostId.of("node3");
    private static final VmId A = new VmId("a");
    private static final VmId B = new VmId("b");
    private static final VmId C = new VmId("c");

    /** Three hosts; a on node1, b on node2, c on node1. */
    private static final String BASE = """
            name: t
            hosts: {node1: {}, node2: {}, node3: {cpus: 2, memoryMiB: 2048}}
            vms: {a: {host: node1}, b: {host: node2}, c: {host: node1}}
            """;

    @Test
    void parsesEveryKindOfRuleGroupsAndAdmission() {
        Scenario s = ScenarioParser.parse(BASE + """
                groups:
                  rack-a: [node1, node2]
                  rack-b: [node3]
                rules:
                  - {id: ab-apart, kind: apart, vms: [a, b]}
                  - {id: ab-soft, kind: apart, vms: [a, b], hard: false}
                  - {id: ac-with, kind: together, vms: [a, c]}
                  - {id: bc-soft, kind: together, vms: [b, c], weight: 40}
                  - {id: a-rack, kind: hosts, vms: [a], groups: [rack-a], strict: true}
                  - {id: b-pref, kind: hosts, vms: [b], groups: [rack-b, rack-a], failback: true}
                  - {id: b-after, kind: after, vms: [b], after: [a, c], timeout: 1m, onTimeout: stay-down}
                  - {id: c-slow, kind: delay, vms: [c], delay: 15s}
                  - after c-after c a 30s
                admission: {tolerate: 1, strict: true, reserved: [node3]}
                """, "t.yaml");
        PlacementPolicy p = s.placement();
        assertEquals(Set.of("rack-a", "rack-b"), p.groups().keySet());
        assertEquals(new TreeSet<>(List.of(N1, N2)), p.groups().get("rack-a"));
        assertEquals(List.of(
                new Rule.Apart("ab-apart", List.of(A, B), true, null),
                new Rule.Apart("ab-soft", List.of(A, B), false, 10),
                new Rule.Together("ac-with", List.of(A, C), true, null),
                new Rule.Together("bc-soft", List.of(B, C), false, 40),
                new Rule.OnHosts("a-rack", List.of(A), List.of("rack-a"), true, false),
                new Rule.OnHosts("b-pref", List.of(B), List.of("rack-b", "rack-a"), false, true),
                new Rule.After("b-after", List.of(B), List.of(A, C), Rule.Ready.RUNNING, 60_000, Rule.OnTimeout.STAY_DOWN),
                new Rule.StartDelay("c-slow", List.of(C), 15_000),
                new Rule.After("c-after", List.of(C), List.of(A), Rule.Ready.RUNNING, 30_000, Rule.OnTimeout.START)),
                p.rules());
        assertEquals(1, p.tolerate());
        assertTrue(p.strict());
        assertEquals(Set.of(N3), p.reserved());
        assertEquals(s, ScenarioParser.parse(ScenarioWriter.toYaml(s), "again.yaml"));
    }

    @Test
    void withoutTheSectionsThePolicyIsEmpty() {
        assertEquals(PlacementPolicy.EMPTY, ScenarioParser.parse(BASE, "t.yaml").placement());
        assertEquals(PlacementPolicy.EMPTY, ScenarioParser.parse(BASE + "rules: []\ngroups: {}\n", "t.yaml").placement());
    }

    @Test
    void groupErrors() {
        assertError(BASE + "groups: [node1]\n", "groups", "expected a mapping of group name to a list of hosts");
        assertError(BASE + "groups: {rack-a: [node1, node9]}\n", "groups.rack-a", "undeclared host 'node9'");
        assertError(BASE + "groups: {rack-a: []}\n", "groups.rack-a", "empty: a group needs at least one host");
        assertError(BASE + "groups: {rack-a: [node1, node1]}\n", "groups.rack-a", "host 'node1' listed twice");
        assertError(BASE + "groups: {'rack a': [node1]}\n", "groups.rack a", "invalid group name 'rack a'");
    }

    @Test
    void ruleErrors() {
        assertError(BASE + "rules: {id: x}\n", "rules", "expected a list of rules");
        assertError(BASE + "rules: [{id: x, vms: [a, b]}]\n", "rules[0].kind", "missing: expected one of apart, together");
        assertError(BASE + "rules: [{id: x, kind: near, vms: [a, b]}]\n", "rules[0].kind",
                "unknown rule kind 'near'; known: apart, together, hosts, after, delay");
        assertError(BASE + "rules: [{kind: apart, vms: [a, b]}]\n", "rules[0].id", "missing: every rule needs an id");
        assertError(BASE + "rules: [{id: x, kind: apart, vms: [a, z]}]\n", "rules[0].vms",
                "undeclared VM 'z'; declared: a, b, c");
        assertError(BASE + "rules: [{id: x, kind: apart}]\n", "rules[0].vms", "missing: a list of VMs");
        assertError(BASE + "rules: [{id: x, kind: apart, vms: [a, b], groups: [g]}]\n", "rules[0].groups",
                "unknown key 'groups'; known keys: id, kind, vms, hard, weight");
        assertError(BASE + "rules: [{id: x, kind: apart, vms: [a, b], hard: true, weight: 5}]\n", "rules[0]",
                "rule x: a hard rule has no weight");
        assertError(BASE + "rules: [{id: x, kind: apart, vms: [a]}]\n", "rules[0]", "rule x: needs at least 2 VMs");
        assertError(BASE + "rules: [{id: x, kind: hosts, vms: [a], groups: [rack-z]}]\n", "rules[0].groups",
                "no group 'rack-z' in the groups section; declared: none");
        assertError(BASE + "rules: [{id: x, kind: after, vms: [a], after: [b]}]\n", "rules[0].timeout", "missing");
        assertError(BASE + "rules: [{id: x, kind: after, vms: [a], after: [b], timeout: 1m, onTimeout: wait}]\n",
                "rules[0].onTimeout", "expected start or stay-down, got 'wait'");
        assertError(BASE + "rules: [{id: x, kind: delay, vms: [a]}]\n", "rules[0].delay", "missing");
        assertError(BASE + "rules: [{id: x, kind: delay, vms: [a], delay: 2h}]\n", "rules[0].delay",
                "invalid duration '2h'");
        assertError(BASE + "rules: ['apart x a,z']\n", "rules[0]", "rule x names undeclared VM 'z'");
        assertError(BASE + "rules: [{id: x, kind: apart, vms: [a, b]}, {id: x, kind: apart, vms: [a, b]}]\n",
                "rules[1].id", "rule id 'x' is used twice");
    }

    @Test
    void aRuleTheClusterWouldRefuseIsAnErrorNamingIt() {
        // a and c start on one host: keeping them apart breaks the present placement
        assertError(BASE + "rules: [{id: ok, kind: apart, vms: [a, b]}, {id: ac, kind: apart, vms: [a, c]}]\n",
                "rules[1]", "the cluster would refuse rule ac: VM a runs on node1, which breaks hard apart rule ac");
        // together and apart at once
        assertError(BASE + "rules: [{id: t, kind: together, vms: [a, c]}, {id: ap, kind: apart, vms: [c, a]}]\n",
                "rules[1]", "rule ap keeps c and a apart, but rule t keeps them together");
        // a VM outside HA
        assertError("name: t\nhosts: {node1: {}, node2: {}}\nvms: {a: {host: node1}, b: {host: node2, ha: false}}\n"
                + "rules: [{id: ap, kind: apart, vms: [a, b]}]\n", "rules[0]", "rule ap: no HA VM b");
        // strict to a group that does not hold its host
        assertError(BASE + "groups: {g: [node2]}\nrules: [{id: h, kind: hosts, vms: [a], groups: [g], strict: true}]\n",
                "rules[0]", "VM a runs on node1, which breaks hard host rule h");
        assertError(BASE + "admission: {reserved: [node1, node2, node3]}\n", "admission.reserved",
                "every host is reserved for failover");
    }

    @Test
    void admissionErrors() {
        assertError(BASE + "admission: {tolerate: -1}\n", "admission.tolerate", "must be between 0 and 100");
        assertError(BASE + "admission: {strict: sometimes}\n", "admission.strict", "expected true or false");
        assertError(BASE + "admission: {reserved: [node7]}\n", "admission.reserved", "undeclared host 'node7'");
        assertError(BASE + "admission: {spare: 1}\n", "admission.spare", "unknown key 'spare'; known keys: tolerate, strict,"
                + " reserved");
    }

    @Test
    void ruleCommandsAndFactsNameDeclaredThings() {
        Scenario s = ScenarioParser.parse(BASE + """
                timeline:
                  - {at: 5s, do: group-set rack-z node3}
                  - {at: 6s, do: rule-add hosts z a rack-z}
                  - {at: 7s, do: rule-remove z}
                expect: ["end: a on-group rack-z", "end: a apart b", "end: a with c"]
                """, "t.yaml");
        assertEquals(3, s.timeline().size());
        assertError(BASE + "timeline: [{at: 5s, do: 'rule-add apart x a,z'}]\n", "timeline[0].do",
                "'rule-add apart x a,z' names undeclared VM 'z'; declared: a, b, c");
        assertError(BASE + "timeline: [{at: 5s, do: rule-add hosts x a rack-q}]\n", "timeline[0].do",
                "names group 'rack-q', which neither the groups section nor a group-set of the timeline declares");
        assertError(BASE + "timeline: [{at: 5s, do: rule-remove x}]\n", "timeline[0].do",
                "names rule 'x', which neither the rules section nor a rule-add of the timeline declares");
        assertError(BASE + "timeline: [{at: 5s, do: 'group-set g node1,node8'}]\n", "timeline[0].do",
                "names undeclared host 'node8'");
        assertError(BASE + "timeline: [{at: 5s, do: admission 1 reserved node8}]\n", "timeline[0].do",
                "names undeclared host 'node8'");
        assertError(BASE + "timeline: [{at: 5s, do: what-if node1 node8}]\n", "timeline[0].do",
                "names undeclared host 'node8'");
        assertError(BASE + "expect: ['end: a apart z']\n", "expect[0]", "names undeclared VM 'z'");
        assertError(BASE + "expect: ['end: a on-group rack-q']\n", "expect[0]", "names group 'rack-q'");
        assertError(BASE + "expect: ['end: a with a']\n", "expect[0]", "names one VM twice");
    }

    private static void assertError(String yaml, String where, String problem) {
        ScenarioException e = assertThrows(ScenarioException.class, () -> ScenarioParser.parse(yaml, "t.yaml"));
        assertTrue(e.getMessage().startsWith("t.yaml: " + where + ": "),
                "'" + e.getMessage() + "' should start with 't.yaml: " + where + ": '");
        assertTrue(e.getMessage().contains(problem), "'" + e.getMessage() + "' should contain '" + problem + "'");
        assertEquals(where, e.where());
    }
}
