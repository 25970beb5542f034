package io.havn.sim.report;

import static io.havn.sim.report.Text.esc;
import static io.havn.sim.report.Text.sec;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Renders a {@link RunTrace} as one self-contained HTML page: header with verdict, an inline SVG
 * timeline, the expectation results, invariant violations and a list of events. No scripts and no
 * external resources; the output depends only on the trace (no clock, no locale), so the same run
 * always gives the same bytes.
 */
public final class HtmlReport {

    private HtmlReport() { }

    /** The whole page as a string. */
    public static String render(RunTrace trace) {
        Objects.requireNonNull(trace, "trace");
        String name = trace.scenario() == null || trace.scenario().isBlank() ? "(unnamed scenario)" : trace.scenario();
        StringBuilder sb = new StringBuilder(32768);
        sb.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
                .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
                .append("<title>").append(trace.passed() ? "PASS" : "FAIL").append(" \u2014 ").append(esc(name))
                .append("</title>\n<style>\n").append(CSS).append("</style>\n</head>\n<body>\n");
        header(sb, trace, name);
        timeline(sb, trace);
        expectations(sb, trace);
        violations(sb, trace);
        events(sb, trace);
        sb.append("<footer>havn simulator report \u00b7 scenario ").append(esc(name)).append(" \u00b7 seed ")
                .append(trace.seed()).append("</footer>\n</body>\n</html>\n");
        return sb.toString();
    }

    /** Writes render(trace) to dir/&lt;scenario&gt;.html (scenario name made file-safe), creating dir; returns the path. */
    public static Path write(RunTrace trace, Path dir) throws IOException {
        Objects.requireNonNull(trace, "trace");
        Files.createDirectories(dir);
        Path file = dir.resolve(fileName(trace.scenario()));
        Files.writeString(file, render(trace), StandardCharsets.UTF_8);
        return file;
    }

    /**
     * The file name for a scenario: ASCII letters, digits, '.', '_' and '-' kept, runs of anything
     * else become one '_', no leading dots, at most 120 characters, never empty; plus ".html".
     */
    static String fileName(String scenario) {
        String s = scenario == null ? "" : scenario;
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '.' || c == '_' || c == '-';
            if (ok) {
                sb.append(c);
            } else if (sb.length() == 0 || sb.charAt(sb.length() - 1) != '_') {
                sb.append('_');
            }
        }
        String out = sb.toString().replaceFirst("^\\.+", "");
        if (out.length() > 120) {
            out = out.substring(0, 120);
        }
        if (out.isEmpty() || out.equals("_")) {
            out = "scenario";
        }
        return out + ".html";
    }

    // ---------------------------------------------------------------- sections

    private static void header(StringBuilder sb, RunTrace t, String name) {
        List<String> vms = TimelineSvg.vmNames(t);
        long failed = t.results().stream().filter(r -> r != null && !r.passed()).count();
        sb.append("<header>\n<h1><span class=\"badge ").append(t.passed() ? "pass\">PASS" : "fail\">FAIL")
                .append("</span> <span class=\"scenario\">").append(esc(name)).append("</span></h1>\n");
        sb.append("<p class=\"meta\">seed <code>").append(t.seed()).append("</code> \u00b7 run ends at ")
                .append(esc(sec(t.endMs()))).append(" \u00b7 ").append(t.hosts().size()).append(plural(t.hosts().size(), " host"))
                .append(" \u00b7 ").append(vms.size()).append(plural(vms.size(), " VM")).append(" \u00b7 ")
                .append(t.marks().size()).append(plural(t.marks().size(), " event")).append(" \u00b7 ")
                .append(t.results().size() - failed).append('/').append(t.results().size()).append(" expectations met \u00b7 ")
                .append(t.violations().size()).append(plural(t.violations().size(), " invariant violation")).append("</p>\n");
        if (t.description() != null && !t.description().isBlank()) {
            sb.append("<p class=\"desc\">").append(esc(t.description().strip())).append("</p>\n");
        }
        sb.append("</header>\n");
    }

    private static String plural(long n, String word) {
        return n == 1 ? word : word + "s";
    }

    private static void timeline(StringBuilder sb, RunTrace t) {
        sb.append("<section>\n<h2>Timeline</h2>\n<p class=\"hint\">Time in seconds since the cluster settled (0s). ")
                .append("One lane per host; each bar is a VM running there (hatched: a paused copy). ")
                .append("Hover a bar or a mark for details.</p>\n<div class=\"timeline\">\n")
                .append(TimelineSvg.render(t)).append("\n</div>\n");
        Map<String, Palette.VmColor> colors = Palette.assign(TimelineSvg.vmNames(t));
        if (!colors.isEmpty()) {
            sb.append("<ul class=\"vms\">");
            for (Map.Entry<String, Palette.VmColor> e : colors.entrySet()) {
                String vm = e.getKey();
                Palette.VmColor c = e.getValue();
                sb.append("<li><span class=\"chip\" style=\"background:").append(c.fill()).append(";border-color:")
                        .append(c.stroke()).append("\"></span>").append(esc(vm)).append("</li>");
            }
            sb.append("</ul>\n");
        }
        sb.append("</section>\n");
    }

    private static void expectations(StringBuilder sb, RunTrace t) {
        sb.append("<section>\n<h2>Expectations</h2>\n");
        if (t.results().isEmpty()) {
            sb.append("<p class=\"none\">This scenario states no expectations.</p>\n</section>\n");
            return;
        }
        sb.append("<table class=\"results\">\n<thead><tr><th>#</th><th>Expectation</th><th>Result</th><th>Detail</th></tr></thead>\n<tbody>\n");
        int i = 0;
        for (ExpectationResult r : t.results()) {
            if (r == null) {
                continue;
            }
            i++;
            sb.append("<tr class=\"").append(r.passed() ? "ok" : "bad").append("\"><td class=\"num\">").append(i)
                    .append("</td><td>").append(esc(r.text())).append("</td><td><span class=\"badge small ")
                    .append(r.passed() ? "pass\">PASS" : "fail\">FAIL").append("</span></td><td class=\"detail\">")
                    .append(esc(r.detail())).append("</td></tr>\n");
        }
        sb.append("</tbody>\n</table>\n</section>\n");
    }

    private static void violations(StringBuilder sb, RunTrace t) {
        sb.append("<section>\n<h2>Invariant violations</h2>\n");
        List<String> v = t.violations().stream().filter(Objects::nonNull).toList();
        if (v.isEmpty()) {
            sb.append("<p class=\"none ok\">No invariant violations.</p>\n");
        } else {
            sb.append("<div class=\"violations\">\n<p><strong>").append(v.size())
                    .append(plural(v.size(), " invariant violation")).append("</strong></p>\n<ol>\n");
            for (String s : v) {
                sb.append("<li>").append(esc(s)).append("</li>\n");
            }
            sb.append("</ol>\n</div>\n");
        }
        sb.append("</section>\n");
    }

    private static void events(StringBuilder sb, RunTrace t) {
        List<Mark> marks = new ArrayList<>();
        for (Mark m : t.marks()) {
            if (m != null) {
                marks.add(m);
            }
        }
        if (marks.isEmpty()) {
            return;
        }
        marks.sort(Comparator.comparingLong(Mark::atMs)); // stable: equal times keep trace order
        sb.append("<section>\n<h2>Events</h2>\n<table class=\"events\">\n<thead><tr><th>Time</th><th>Where</th>")
                .append("<th>Kind</th><th>What</th></tr></thead>\n<tbody>\n");
        for (Mark m : marks) {
            Palette.KindStyle st = Palette.style(m.kind());
            sb.append("<tr><td class=\"num\">").append(esc(sec(m.atMs()))).append("</td><td>")
                    .append(m.host() == null ? "<em>cluster-wide</em>" : esc(m.host())).append("</td><td><span class=\"glyph\" style=\"color:")
                    .append(st.color()).append("\">").append(st.glyph()).append("</span> ").append(st.name())
                    .append("</td><td>").append(esc(m.label())).append("</td></tr>\n");
        }
        sb.append("</tbody>\n</table>\n</section>\n");
    }

    private static final String CSS = """
            body { font-family: system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color: #1d2330;
                   margin: 24px 32px; background: #ffffff; line-height: 1.4; }
            h1 { font-size: 22px; margin: 0 0 6px; display: flex; align-items: center; gap: 12px; }
            h2 { font-size: 16px; margin: 28px 0 8px; border-bottom: 1px solid #e1e4ea; padding-bottom: 4px; }
            .scenario { font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace; word-break: break-all; }
            .badge { display: inline-block; padding: 3px 10px; border-radius: 4px; font-weight: 700; font-size: 14px;
                     letter-spacing: 0.05em; color: #ffffff; }
            .badge.small { font-size: 11px; padding: 1px 7px; }
            .badge.pass { background: #1e8e3e; }
            .badge.fail { background: #c5221f; }
            .meta { margin: 4px 0; color: #4a5262; }
            .meta code { background: #f1f3f6; padding: 1px 5px; border-radius: 3px; }
            .desc { margin: 8px 0 0; white-space: pre-wrap; max-width: 1100px; }
            .hint { color: #6b7280; font-size: 13px; margin: 0 0 8px; }
            .timeline { overflow-x: auto; border: 1px solid #e1e4ea; border-radius: 4px; }
            .timeline svg { display: block; }
            ul.vms { list-style: none; padding: 0; margin: 8px 0 0; display: flex; flex-wrap: wrap; gap: 6px 16px;
                     font-size: 13px; }
            ul.vms li { display: flex; align-items: center; gap: 5px; }
            .chip { display: inline-block; width: 14px; height: 14px; border-radius: 3px; border: 1px solid; }
            table { border-collapse: collapse; font-size: 14px; }
            th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid #e6e8ec; vertical-align: top; }
            th { background: #f4f5f8; font-weight: 600; }
            td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
            td.detail { white-space: pre-wrap; color: #3d4452; }
            tr.bad td { background: #fdf0ef; }
            .violations { border: 2px solid #c5221f; background: #fdecea; border-radius: 4px; padding: 4px 16px;
                          color: #7a1512; }
            .violations li { margin: 4px 0; white-space: pre-wrap; }
            .none { color: #6b7280; }
            .none.ok { color: #1e8e3e; }
            .glyph { font-size: 13px; }
            footer { margin-top: 32px; color: #9aa1ad; font-size: 12px; }
            """;
}
