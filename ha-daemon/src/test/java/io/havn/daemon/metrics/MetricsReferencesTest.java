package io.havn.daemon.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.havn.common.model.HostId;
import io.havn.common.node.PeerStat;
import io.havn.daemon.coord.RecordRefusals;
import io.havn.daemon.transport.HeartbeatCodec;
import io.havn.daemon.transport.NettyTransport;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard, the Prometheus alert rules and {@code METRICS.md} are checked against a
 * real scrape of the daemon's registry, so that none of them can drift from the metrics: every
 * {@code havn_} metric they name exists, with the labels and label values they match on, and the
 * document names every metric there is.
 */
class MetricsReferencesTest {
    private static final Path DASHBOARD = Path.of("../packaging/grafana/havn-dashboard.json");
    private static final Path ALERTS = Path.of("../packaging/prometheus/havn-alerts.yaml");
    private static final Path DOC = Path.of("METRICS.md");
    private static final Pattern METRIC = Pattern.compile("\\bhavn_[a-z0-9_]+");
    private static final Pattern SELECTOR = Pattern.compile("\\b(havn_[a-z0-9_]+)\\{([^}]*)}");
    private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"([^\"]*)\"");

    private static Exposition scrape;

    /**
     * A registry with every series it can have: a transport, refusals and a datastore bound, a peer
     * known, an admin request answered, a placement blocked by a rule.
     */
    @BeforeAll
    static void scrapeEverything() {
        HeartbeatCodec codec = new HeartbeatCodec("prod", "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.UTF_8));
        try (HavnMetrics m = new HavnMetrics("prod", new HostId("node1"));
             NettyTransport t = new NettyTransport(new HostId("node1"), new InetSocketAddress("127.0.0.1", 0), codec,
                     h -> null, e -> { })) {
            m.bindHeartbeatDrops(t);
            m.bindRecordRefusals(new RecordRefusals());
            m.bindDatastores(List.of("vmstore"));
            m.storageRound("vmstore", false);
            m.update(new NodeSnapshot(true, 1, new HostId("node1"), true, false, false, Map.of(), 0, Map.of(), 0,
                    List.of(new PeerStat(new HostId("node2"), "HEALTHY", false, 0.3, 1.0, 100))));
            m.adminAnswered("{\"command\":\"status\"}", "{\"ok\":true}");
            m.record(new io.havn.common.node.Decision(0, new HostId("node1"),
                    io.havn.common.node.Decision.Kind.RULE_BLOCKED, null, null, 1, "db-apart: no host"));
            scrape = Exposition.parse(m.scrape());
        }
    }

    private static List<String> dashboardExprs() throws Exception {
        JsonNode d = new ObjectMapper().readTree(Files.readString(DASHBOARD));
        List<String> exprs = new ArrayList<>();
        d.path("panels").forEach(p -> p.path("targets").forEach(t -> exprs.add(t.path("expr").asText())));
        d.path("templating").path("list").forEach(v -> {
            if (v.path("query").isObject()) {
                exprs.add(v.path("query").path("query").asText());
            }
        });
        return exprs;
    }

    private static JsonNode alertRules() throws Exception {
        return new ObjectMapper(new YAMLFactory()).readTree(Files.readString(ALERTS));
    }

    @Test
    void theDashboardIsAGrafanaModelWhosePanelsAllQuery() throws Exception {
        JsonNode d = new ObjectMapper().readTree(Files.readString(DASHBOARD));
        assertEquals("havn-overview", d.path("uid").asText());
        assertTrue(d.path("schemaVersion").asInt() >= 36, "a current schema");
        Set<Integer> ids = new HashSet<>();
        int queried = 0;
        for (JsonNode p : d.path("panels")) {
            String title = p.path("title").asText();
            assertFalse(title.isBlank(), "every panel has a title: " + p);
            assertTrue(ids.add(p.path("id").asInt()), "panel ids are unique: " + title);
            JsonNode g = p.path("gridPos");
            assertTrue(g.path("w").asInt() > 0 && g.path("h").asInt() > 0
                    && g.path("x").asInt() + g.path("w").asInt() <= 24, "on the 24-column grid: " + title);
            if (p.path("type").asText().equals("row")) {
                continue;
            }
            JsonNode targets = p.path("targets");
            assertTrue(targets.size() > 0, "a panel queries something: " + title);
            Set<String> refs = new HashSet<>();
            for (JsonNode t : targets) {
                assertFalse(t.path("expr").asText().isBlank(), "every target has a query: " + title);
                assertTrue(refs.add(t.path("refId").asText()), "refIds are unique in a panel: " + title);
            }
            assertEquals("${datasource}", p.path("datasource").path("uid").asText(), "the chosen data source: " + title);
            queried++;
        }
        assertTrue(queried >= 20, "leader, epoch, hosts, VMs, failovers, fencing, peers, admin, JVM: " + queried);
    }

    @Test
    void theAlertRulesAreAValidRulesFileWithTheAlertsOperatorsNeed() throws Exception {
        JsonNode rules = alertRules();
        Map<String, String> exprByAlert = new java.util.LinkedHashMap<>();
        for (JsonNode group : rules.path("groups")) {
            assertFalse(group.path("name").asText().isBlank(), "a group has a name");
            for (JsonNode r : group.path("rules")) {
                String name = r.path("alert").asText();
                assertTrue(name.matches("[A-Z][A-Za-z0-9]*"), "an alert name: " + name);
                assertFalse(r.path("expr").asText().isBlank(), name + " has an expression");
                if (r.has("for")) {
                    assertTrue(r.path("for").asText().matches("\\d+[smhd]"), name + ": a duration, " + r.path("for"));
                }
                assertTrue(Set.of("critical", "warning").contains(r.path("labels").path("severity").asText()),
                        name + " has a severity");
                assertFalse(r.path("annotations").path("summary").asText().isBlank(), name + " has a summary");
                assertNull(exprByAlert.put(name, r.path("expr").asText()), "one rule per alert: " + name);
            }
        }
        assertTrue(exprByAlert.get("HavnNoLeader").contains("havn_leader"), exprByAlert.toString());
        assertTrue(exprByAlert.get("HavnHostDown").contains("havn_hosts{state=\"down\"}"), exprByAlert.toString());
        assertTrue(exprByAlert.get("HavnVmError").contains("havn_vms{phase=\"error\"}"), exprByAlert.toString());
        assertTrue(exprByAlert.get("HavnVmsRecovering").contains("havn_vms{phase=\"recovering\"}"), exprByAlert.toString());
        assertTrue(exprByAlert.get("HavnFenceFailed").contains("havn_fence_attempts_total"), exprByAlert.toString());
        assertTrue(exprByAlert.get("HavnSelfFenced").contains("havn_self_fences_total"), exprByAlert.toString());
        assertTrue(exprByAlert.get("HavnDaemonDown").contains("up{job=\"havn\"} == 0"), exprByAlert.toString());
        assertTrue(exprByAlert.get("HavnPeerPhiHigh").contains("havn_peer_phi"), exprByAlert.toString());
        assertTrue(exprByAlert.get("HavnFailoverReserveShort").contains("havn_host_failures_tolerated < "
                + "havn_host_failures_wanted"), exprByAlert.toString());
        assertTrue(exprByAlert.get("HavnDatastoreUnreachable").contains("havn_datastore_reachable == 0"),
                exprByAlert.toString());
    }

    @Test
    void everyMetricTheDashboardAndAlertsNameExistsWithTheLabelsTheyMatch() throws Exception {
        List<String> exprs = new ArrayList<>(dashboardExprs());
        for (JsonNode group : alertRules().path("groups")) {
            group.path("rules").forEach(r -> exprs.add(r.path("expr").asText()));
        }
        Set<String> problems = new TreeSet<>();
        int named = 0;
        for (String expr : exprs) {
            Matcher m = METRIC.matcher(expr);
            while (m.find()) {
                named++;
                if (!scrape.has(m.group())) {
                    problems.add("no metric " + m.group() + " (in " + expr + ")");
                }
            }
            Matcher s = SELECTOR.matcher(expr);
            while (s.find()) {
                Matcher l = MATCHER.matcher(s.group(2));
                while (l.find()) {
                    String metric = s.group(1);
                    String label = l.group(1);
                    String value = l.group(3);
                    List<Exposition.Sample> samples = scrape.find(metric);
                    if (samples.stream().noneMatch(x -> x.labels().containsKey(label))) {
                        problems.add(metric + " has no label " + label + " (in " + expr + ")");
                    } else if (l.group(2).equals("=") && !value.contains("$") && scrape.find(metric, label, value).isEmpty()) {
                        problems.add(metric + " never has " + label + "=\"" + value + "\" (in " + expr + ")");
                    }
                }
            }
        }
        assertTrue(named > 30, "the files name metrics: " + named);
        assertTrue(problems.isEmpty(), String.join("\n", problems));
    }

    @Test
    void metricsMdNamesEveryHavnMetricAndNoOther() throws Exception {
        String doc = Files.readString(DOC);
        Set<String> families = new TreeSet<>();
        for (String f : scrape.help().keySet()) {
            if (f.startsWith("havn_")) {
                families.add(f);
            }
        }
        assertTrue(families.size() >= 20, families.toString());
        for (String f : families) {
            assertTrue(doc.contains("`" + f), "METRICS.md lists " + f);
        }
        Matcher m = METRIC.matcher(doc);
        while (m.find()) {
            String name = m.group().replaceAll("_(bucket|count|sum)$", "");
            assertTrue(scrape.has(m.group()) || families.contains(name), "METRICS.md names a metric that exists: "
                    + m.group());
        }
    }
}
