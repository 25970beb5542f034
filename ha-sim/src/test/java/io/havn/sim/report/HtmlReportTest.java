package io.havn.sim.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.sim.report.Mark.Kind;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;

class HtmlReportTest {

    static final String NASTY_VM = "app<&\"'>";
    static final String SCRIPT_LABEL = "<script>alert('x')</script> & more";

    /** 3 hosts; web-1 live-migrates a→b, app is restarted c→b after a fault; three VMs overlap on host-a. */
    static RunTrace sample(boolean passed) {
        List<VmSpan> spans = List.of(
                new VmSpan("web-1", "host-a", 0, 20_000, false),
                new VmSpan("web-1", "host-b", 18_000, 20_000, true),   // paused copy arriving by live migration
                new VmSpan("web-1", "host-b", 20_000, 60_000, false),
                new VmSpan("db-1", "host-a", 0, 60_000, false),
                new VmSpan("cache", "host-a", 5_000, 30_000, false),
                new VmSpan("cache", "host-a", 30_000, 60_000, false),  // back-to-back: may share a row
                new VmSpan(NASTY_VM, "host-c", 0, 30_000, false),
                new VmSpan(NASTY_VM, "host-b", 36_500, 60_000, false));
        List<Mark> marks = List.of(
                new Mark(-4_000, "host-a", Kind.LEADER, "host-a became leader"),
                new Mark(10_000, "host-b", Kind.ADMIN, "operator: migrate web-1 to host-b"),
                new Mark(30_000, "host-c", Kind.FAULT, "power loss"),
                new Mark(31_000, "host-c", Kind.SELF_FENCE, "watchdog fired"),
                new Mark(33_000, "host-c", Kind.FENCE, "fenced by host-a via IPMI"),
                new Mark(32_000, null, Kind.ALARM, SCRIPT_LABEL));
        List<ExpectationResult> results = List.of(
                new ExpectationResult("app restarted within 10s", true, "restarted after 6.5s on host-b"),
                new ExpectationResult("no VM runs twice", passed, passed ? "" : "app<&> ran on host-b & host-c at 36.5s"));
        List<String> violations = passed ? List.of() : List.of("VM " + NASTY_VM + " running on 2 hosts at 36.5s",
                "fence of host-c not confirmed <before> restart");
        return new RunTrace("fault/host-c power <loss>", "Power loss on host-c while web-1 is migrating.\nSecond line.",
                42L, 60_000, List.of("host-a", "host-b", "host-c"), spans, marks, results, violations, passed);
    }

    static String svgOf(String html) {
        int start = html.indexOf("<svg");
        int end = html.indexOf("</svg>", start);
        assertTrue(start >= 0 && end > start, "page has an <svg> element");
        return html.substring(start, end + "</svg>".length());
    }

    static Document parse(String xml) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setNamespaceAware(true);
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        DocumentBuilder b = f.newDocumentBuilder();
        b.setErrorHandler(null);
        return b.parse(new InputSource(new StringReader(xml)));
    }

    static List<Element> elements(Document doc, String tag) {
        NodeList nl = doc.getElementsByTagNameNS("*", tag);
        List<Element> out = new ArrayList<>();
        for (int i = 0; i < nl.getLength(); i++) {
            out.add((Element) nl.item(i));
        }
        return out;
    }

    static boolean hasClass(Element e, String cls) {
        return List.of(e.getAttribute("class").split("\\s+")).contains(cls);
    }

    /** Text of the element's &lt;title&gt; child, or null. */
    static String title(Element e) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element c && c.getLocalName().equals("title")) {
                return c.getTextContent();
            }
        }
        return null;
    }

    static Document svgDoc(RunTrace t) throws Exception {
        return parse(svgOf(HtmlReport.render(t)));
    }

    @Test
    void svgIsWellFormedXmlInSvgNamespace() throws Exception {
        Document doc = svgDoc(sample(true));
        assertEquals("svg", doc.getDocumentElement().getLocalName());
        assertEquals("http://www.w3.org/2000/svg", doc.getDocumentElement().getNamespaceURI());
    }

    @Test
    void oneLaneLabelPerHostInOrder() throws Exception {
        Document doc = svgDoc(sample(true));
        List<String> labels = elements(doc, "text").stream().filter(e -> hasClass(e, "lane-label"))
                .map(Element::getTextContent).toList();
        assertEquals(List.of("host-a", "host-b", "host-c"), labels);
    }

    @Test
    void oneRectPerSpanWithTooltip() throws Exception {
        RunTrace t = sample(true);
        List<Element> rects = elements(svgDoc(t), "rect").stream().filter(e -> hasClass(e, "span")).toList();
        assertEquals(t.spans().size(), rects.size());
        List<String> titles = rects.stream().map(HtmlReportTest::title).sorted().toList();
        List<String> expected = new ArrayList<>(List.of(
                "web-1 on host-a from 0s to 20s",
                "web-1 on host-b from 18s to 20s (paused)",
                "web-1 on host-b from 20s to 60s",
                "db-1 on host-a from 0s to 60s",
                "cache on host-a from 5s to 30s",
                "cache on host-a from 30s to 60s",
                NASTY_VM + " on host-c from 0s to 30s",
                NASTY_VM + " on host-b from 36.5s to 60s"));
        expected.sort(null);
        assertEquals(expected, titles);
        long paused = rects.stream().filter(e -> hasClass(e, "paused")).count();
        assertEquals(1, paused);
        // paused copies use a hatch pattern defined in the same SVG
        Element p = rects.stream().filter(e -> hasClass(e, "paused")).findFirst().orElseThrow();
        String fill = p.getAttribute("fill");
        assertTrue(fill.startsWith("url(#"), fill);
        String id = fill.substring(5, fill.length() - 1);
        assertTrue(elements(p.getOwnerDocument(), "pattern").stream().anyMatch(e -> e.getAttribute("id").equals(id)));
    }

    @Test
    void vmColourIsStablePerVmAndNamesAreWrittenInWideBars() throws Exception {
        RunTrace t = sample(true);
        List<Element> rects = elements(svgDoc(t), "rect").stream()
                .filter(e -> hasClass(e, "span") && !hasClass(e, "paused")).toList();
        Map<String, Set<String>> fills = new HashMap<>();
        for (Element r : rects) {
            String vm = title(r).substring(0, title(r).indexOf(" on "));
            fills.computeIfAbsent(vm, k -> new HashSet<>()).add(r.getAttribute("fill"));
        }
        fills.values().forEach(s -> assertEquals(1, s.size(), "one colour per VM"));
        assertEquals(fills.size(), fills.values().stream().map(s -> s.iterator().next()).distinct().count(),
                "different VMs, different colours");
        List<String> distinct = fills.values().stream().map(s -> s.iterator().next()).toList();
        for (String a : distinct) {
            for (String b : distinct) {
                if (!a.equals(b)) {
                    assertTrue(Palette.distance(a, b) >= Palette.MIN_DISTANCE, a + " too close to " + b);
                }
            }
        }
        assertEquals(Palette.vmColor("web-1"), Palette.vmColor("web-1"));
        assertEquals(Palette.vmColor("web-1"), Palette.assign(List.of("web-1")).get("web-1"), "alone: the hash colour");
        List<String> many = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            many.add("vm-" + i);
        }
        assertEquals(Palette.assign(many), Palette.assign(many));
        assertEquals(12, Palette.assign(many).values().stream().map(Palette.VmColor::fill).distinct().count());
        List<String> spanLabels = elements(svgDoc(t), "text").stream().filter(e -> hasClass(e, "span-label"))
                .map(Element::getTextContent).toList();
        assertTrue(spanLabels.contains("db-1"));
        assertTrue(spanLabels.contains(NASTY_VM), "escaped name round-trips through XML");
    }

    @Test
    void oneElementPerMarkStyledByKind() throws Exception {
        RunTrace t = sample(true);
        List<Element> marks = elements(svgDoc(t), "g").stream().filter(e -> hasClass(e, "mark")).toList();
        assertEquals(t.marks().size(), marks.size());
        Set<Kind> seen = EnumSet.noneOf(Kind.class);
        for (Kind k : Kind.values()) {
            String cls = "mark-" + k.name().toLowerCase().replace('_', '-');
            long n = marks.stream().filter(e -> hasClass(e, cls)).count();
            assertEquals(1, n, cls);
            seen.add(k);
        }
        assertEquals(EnumSet.allOf(Kind.class), seen);
        List<String> titles = marks.stream().map(HtmlReportTest::title).toList();
        assertTrue(titles.contains("30s fault on host-c: power loss"), titles.toString());
        assertTrue(titles.contains("-4s leader on host-a: host-a became leader"), titles.toString());
        assertTrue(titles.contains("32s alarm cluster-wide: " + SCRIPT_LABEL), titles.toString());
        // the cluster-wide mark crosses every lane; a host mark stays within its lane
        Element cluster = marks.stream().filter(e -> hasClass(e, "cluster")).findFirst().orElseThrow();
        Element fault = marks.stream().filter(e -> hasClass(e, "mark-fault")).findFirst().orElseThrow();
        double clusterLen = lineLength(cluster);
        double faultLen = lineLength(fault);
        assertTrue(clusterLen > 2 * faultLen, clusterLen + " vs " + faultLen);
    }

    static double lineLength(Element g) {
        Element line = (Element) g.getElementsByTagNameNS("*", "line").item(0);
        return Double.parseDouble(line.getAttribute("y2")) - Double.parseDouble(line.getAttribute("y1"));
    }

    @Test
    void overlappingSpansGetDifferentRowsAndTheLaneGrows() throws Exception {
        List<Element> rects = elements(svgDoc(sample(true)), "rect").stream().filter(e -> hasClass(e, "span")).toList();
        Map<String, Double> y = new HashMap<>();
        for (Element r : rects) {
            y.put(title(r), Double.parseDouble(r.getAttribute("y")));
        }
        double web = y.get("web-1 on host-a from 0s to 20s");
        double db = y.get("db-1 on host-a from 0s to 60s");
        double cache = y.get("cache on host-a from 5s to 30s");
        assertEquals(3, Set.of(web, db, cache).size(), "three overlapping spans, three rows");
        assertEquals(cache, y.get("cache on host-a from 30s to 60s"), "a VM carrying on keeps its row");
        // the paused arriving copy and the running copy on host-b touch but do not overlap
        assertEquals(y.get("web-1 on host-b from 18s to 20s (paused)"), y.get("web-1 on host-b from 20s to 60s"));

        List<TimelineSvg.Lane> lanes = TimelineSvg.layoutLanes(sample(true), 0);
        assertEquals(3, lanes.get(0).rows());
        assertEquals(1, lanes.get(2).rows());
        assertTrue(lanes.get(0).height() > lanes.get(2).height());
        for (TimelineSvg.Lane lane : lanes) {
            for (TimelineSvg.Placed a : lane.spans()) {
                for (TimelineSvg.Placed b : lane.spans()) {
                    if (a != b && a.from() < b.to() && b.from() < a.to()) {
                        assertNotEquals(a.row(), b.row(), a + " / " + b);
                    }
                }
            }
        }
    }

    @Test
    void axisHasAboutTenTicksAndStartsAtTheEarliestTime() throws Exception {
        assertEquals(5_000, TimelineSvg.tickStep(60_000));
        assertEquals(10_000, TimelineSvg.tickStep(100_000));
        assertEquals(100, TimelineSvg.tickStep(1_000));
        assertEquals(60_000 > 0 ? 50_000 : 0, TimelineSvg.tickStep(500_000));
        Document doc = svgDoc(sample(true));
        List<String> ticks = elements(doc, "text").stream().filter(e -> hasClass(e, "tick-label"))
                .map(Element::getTextContent).toList();
        assertTrue(ticks.containsAll(List.of("0s", "10s", "60s")), ticks.toString());
        assertTrue(ticks.size() >= 6 && ticks.size() <= 16, ticks.toString());
        // the leader mark at -4s is the earliest thing, so it sits on the left edge of the plot
        Element leader = elements(doc, "g").stream().filter(e -> hasClass(e, "mark-leader")).findFirst().orElseThrow();
        Element line = (Element) leader.getElementsByTagNameNS("*", "line").item(0);
        assertEquals(TimelineSvg.LABEL_W, Double.parseDouble(line.getAttribute("x1")), 0.01);
    }

    @Test
    void labelsAreEscaped() {
        String html = HtmlReport.render(sample(false));
        assertFalse(html.contains("<script"), "no script element anywhere");
        assertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more"));
        assertTrue(html.contains("fault/host-c power &lt;loss&gt;"));
        assertFalse(html.contains(NASTY_VM));
        assertFalse(html.contains("http://") && html.replace("http://www.w3.org/2000/svg", "").contains("http://"),
                "no external resources");
        assertFalse(html.contains("https://"));
    }

    @Test
    void failingTraceShowsFailAndListsViolations() throws Exception {
        String html = HtmlReport.render(sample(false));
        assertTrue(html.contains("<span class=\"badge fail\">FAIL</span>"));
        assertFalse(html.contains("<span class=\"badge pass\">PASS</span>"));
        assertTrue(html.contains("class=\"violations\""));
        assertTrue(html.contains("<li>VM app&lt;&amp;&quot;&#39;&gt; running on 2 hosts at 36.5s</li>"));
        assertTrue(html.contains("<li>fence of host-c not confirmed &lt;before&gt; restart</li>"));
        assertTrue(html.contains("<span class=\"badge small fail\">FAIL</span>"), "failed expectation row");
        // the whole page's tables are well-formed too: check the violations block parses
        int s = html.indexOf("<div class=\"violations\">");
        parse(html.substring(s, html.indexOf("</div>", s) + 6));

        String ok = HtmlReport.render(sample(true));
        assertTrue(ok.contains("<span class=\"badge pass\">PASS</span>"));
        assertTrue(ok.contains("No invariant violations."));
        assertFalse(ok.contains("class=\"violations\""));
        assertTrue(ok.contains("seed <code>42</code>"));
        assertTrue(ok.contains("Power loss on host-c while web-1 is migrating."));
    }

    @Test
    void writeCreatesTheFileInANewDirectory(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("reports").resolve("nested");
        RunTrace t = sample(false);
        Path file = HtmlReport.write(t, dir);
        assertTrue(Files.isRegularFile(file));
        assertEquals(dir, file.getParent());
        assertEquals("fault_host-c_power_loss_.html", file.getFileName().toString());
        assertEquals(HtmlReport.render(t), Files.readString(file, StandardCharsets.UTF_8));
        assertEquals("scenario.html", HtmlReport.fileName("../"));
        assertEquals("a_b.html", HtmlReport.fileName("a/\\b"));
        assertEquals("scenario.html", HtmlReport.fileName(null));
    }

    @Test
    void renderingIsDeterministicAndCopesWithSparseTraces() throws Exception {
        assertEquals(HtmlReport.render(sample(true)), HtmlReport.render(sample(true)));
        RunTrace empty = new RunTrace(null, null, 0, 0, null, null, null, null, null, true);
        String html = HtmlReport.render(empty);
        assertNotNull(parse(svgOf(html)));
        // marks/spans on hosts not listed still get a lane; control characters are dropped from the XML
        RunTrace odd = new RunTrace("odd", "", 1, 5_000, List.of("h1"),
                List.of(new VmSpan("v\u0001", "h2", 2_000, 1_000, false)),
                List.of(new Mark(7_000, "h3", Kind.ALARM, "late\u0000")), List.of(), List.of(), true);
        Document doc = parse(svgOf(HtmlReport.render(odd)));
        List<String> labels = elements(doc, "text").stream().filter(e -> hasClass(e, "lane-label"))
                .map(Element::getTextContent).toList();
        assertEquals(List.of("h1", "h2", "h3"), labels);
    }

    /** Renders the sample page for a human to look at: /tmp/havn-report-sample.html. */
    @Test
    void writesSamplePage() throws Exception {
        Path file = Path.of(System.getProperty("java.io.tmpdir"), "havn-report-sample.html");
        Files.writeString(file, HtmlReport.render(sample(false)), StandardCharsets.UTF_8);
        assertTrue(Files.size(file) > 1000);
    }
}
