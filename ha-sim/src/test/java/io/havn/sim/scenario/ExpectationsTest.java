package io.havn.sim.scenario;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExpectationsTest {
    private static final HostId N1 = HostId.of("node1");
    private static final HostId N2 = HostId.of("node2");

    @Test
    void parsesEveryWhen() {
        assertWhen("at 30s: web1 running", When.AT, 30_000);
        assertWhen("by 2m: web1 running", When.BY, 120_000);
        assertWhen("end: web1 running", When.END, 0);
        assertWhen("always: web1 running", When.ALWAYS, 0);
        assertWhen("never: web1 running", When.NEVER, 0);
    }

    @Test
    void parsesEveryFact() {
        Map<String, Fact> facts = new java.util.LinkedHashMap<>();
        facts.put("web1 running", new Fact.Running("web1"));
        facts.put("web1 running on node1", new Fact.RunningOn("web1", new LinkedHashSet<>(List.of(N1))));
        facts.put("web1 running on node1|node2", new Fact.RunningOn("web1", new LinkedHashSet<>(List.of(N1, N2))));
        facts.put("web1 running not on node1|node2", new Fact.RunningNotOn("web1", new LinkedHashSet<>(List.of(N1, N2))));
        facts.put("web1 stopped", new Fact.Stopped("web1"));
        facts.put("web1 error", new Fact.InError("web1"));
        facts.put("web1 recovering", new Fact.Recovering("web1"));
        facts.put("web1 frozen", new Fact.Frozen("web1"));
        facts.put("web1 downtime <= 1500ms", new Fact.Downtime("web1", 1_500));
        facts.put("web1 apart db1", new Fact.Apart("web1", "db1"));
        facts.put("web1 with db1", new Fact.With("web1", "db1"));
        facts.put("web1 on-group rack-a", new Fact.OnGroup("web1", "rack-a"));
        facts.put("node1 fenced", new Fact.Fenced(N1));
        facts.put("node1 live", new Fact.Live(N1));
        facts.put("node1 maintenance", new Fact.InMaintenance(N1));
        facts.put("leader node1", new Fact.Leader(N1));
        facts.put("leader not node1", new Fact.LeaderNot(N1));
        facts.put("web1 paused", new Fact.Paused("web1"));
        facts.put("web1 boots 2", new Fact.Boots("web1", 2));
        assertEquals(Fact.class.getPermittedSubclasses().length,
                facts.values().stream().map(Object::getClass).distinct().count());
        for (Map.Entry<String, Fact> e : facts.entrySet()) {
            Expectation x = Expectations.parse("end: " + e.getKey());
            assertEquals(e.getValue(), x.fact(), e.getKey());
            assertEquals(e.getKey(), x.fact().text());
            assertEquals(e.getValue(), Expectations.parse("end: " + x.fact().text()).fact());
        }
    }

    @Test
    void keepsTheTextAsWrittenTrimmed() {
        Expectation e = Expectations.parse("  by 50s:   web1 running not on node1 | node2  ");
        assertEquals("by 50s:   web1 running not on node1 | node2", e.text());
        assertEquals(new Fact.RunningNotOn("web1", new LinkedHashSet<>(List.of(N1, N2))), e.fact());
        assertEquals(new Expectation(When.BY, 50_000, e.fact(), e.text()), e);
    }

    @Test
    void rejectsBadSyntax() {
        assertProblem("web1 running", "no ':'");
        assertProblem("soon: web1 running", "unknown WHEN 'soon'");
        assertProblem("by: web1 running", "'by' needs one time");
        assertProblem("at 30: web1 running", "invalid duration '30'");
        assertProblem("end 30s: web1 running", "'end' takes no time");
        assertProblem("end: web1 flying", "unknown fact 'web1 flying'");
        assertProblem("end: web1", "unknown fact 'web1'");
        assertProblem("end:", "unknown fact ''");
        assertProblem("end: web1 running on", "unknown fact");
        assertProblem("end: web1 running on node1|", "empty host name");
        assertProblem("end: web1 running on node1|node1", "'node1' listed twice");
        assertProblem("end: web1 downtime < 1s", "unknown fact");
        assertProblem("end: web1 downtime <= 1", "invalid duration '1'");
        assertProblem("end: leader", "unknown fact");
        assertProblem("end: leader is node1", "unknown fact");
        assertProblem("end: web/1 running", "invalid VM name");
        assertProblem("end: no/de fenced", "invalid host name");
        assertProblem("", "empty expectation");
    }

    private static void assertWhen(String text, When when, long atMs) {
        Expectation e = Expectations.parse(text);
        assertEquals(new Expectation(when, atMs, new Fact.Running("web1"), text), e);
    }

    private static void assertProblem(String text, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Expectations.parse(text), text);
        assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should contain '" + fragment + "'");
    }
}
