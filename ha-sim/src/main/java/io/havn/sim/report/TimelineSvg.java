package io.havn.sim.report;

import static io.havn.sim.report.Text.esc;
import static io.havn.sim.report.Text.num;
import static io.havn.sim.report.Text.sec;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The timeline picture: a standalone SVG element (well-formed XML, SVG namespace, all styling in
 * attributes) with a time axis, one lane per host with the VMs' bars stacked in sub-rows where
 * they overlap, vertical marks, and a legend.
 */
final class TimelineSvg {

    static final double WIDTH = 1200;
    static final double LABEL_W = 150;
    static final double RIGHT_PAD = 30;
    static final double AXIS_H = 34;
    static final double BAND_H = 26;
    static final double GUTTER = 14;
    static final double ROW_H = 20;
    static final double ROW_GAP = 3;
    static final double LANE_BOTTOM = 6;
    static final double LEGEND_H = 44;
    static final String FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
    /** Rough width of one character at font-size 11, used to decide whether a name fits in a bar. */
    static final double CHAR_W = 6.4;
    /** Lane name used for spans that carry no host. */
    static final String NO_HOST = "(no host)";

    /** A span with its normalised times and the sub-row it was given in its lane. */
    record Placed(VmSpan span, long from, long to, int row) { }

    /** One host lane: its spans (with rows), number of sub-rows, vertical position and height. */
    record Lane(String host, List<Placed> spans, int rows, double top, double height) { }

    private final RunTrace trace;
    private final long tMin;
    private final long tMax;
    private final double plotLeft = LABEL_W;
    private final double plotRight = WIDTH - RIGHT_PAD;
    private final double bandTop = AXIS_H;
    private final double lanesTop = AXIS_H + BAND_H;
    private final List<Lane> lanes;
    private final double lanesBottom;
    private final double height;
    /** VM name → index of its hatch pattern, for VMs that have paused spans. */
    private final Map<String, Integer> pausedPatterns = new LinkedHashMap<>();
    /** Colour of every VM on this page. */
    private final Map<String, Palette.VmColor> colors;

    private TimelineSvg(RunTrace trace) {
        this.trace = trace;
        long lo = 0;
        long hi = trace.endMs();
        for (VmSpan s : trace.spans()) {
            if (s != null) {
                lo = Math.min(lo, Math.min(s.fromMs(), s.toMs()));
                hi = Math.max(hi, Math.max(s.fromMs(), s.toMs()));
            }
        }
        for (Mark m : trace.marks()) {
            if (m != null) {
                lo = Math.min(lo, m.atMs());
                hi = Math.max(hi, m.atMs());
            }
        }
        if (hi <= lo) {
            hi = lo + 1000;
        }
        this.tMin = lo;
        this.tMax = hi;
        this.lanes = layoutLanes(trace, lanesTop);
        this.lanesBottom = lanes.isEmpty() ? lanesTop : lanes.get(lanes.size() - 1).top() + lanes.get(lanes.size() - 1).height();
        this.height = lanesBottom + LEGEND_H;
        this.colors = Palette.assign(vmNames(trace));
        for (Lane lane : lanes) {
            for (Placed p : lane.spans()) {
                if (p.span().paused()) {
                    pausedPatterns.putIfAbsent(vmName(p.span()), pausedPatterns.size());
                }
            }
        }
    }

    static String render(RunTrace trace) {
        return new TimelineSvg(trace).svg();
    }

    /** Names of all VMs with spans, in first-seen order ("?" for a span without a name). */
    static List<String> vmNames(RunTrace trace) {
        Map<String, Boolean> seen = new LinkedHashMap<>();
        for (VmSpan s : trace.spans()) {
            if (s != null) {
                seen.putIfAbsent(vmName(s), Boolean.TRUE);
            }
        }
        return new ArrayList<>(seen.keySet());
    }

    // ---------------------------------------------------------------- layout

    /** Lanes in the order of trace.hosts(), then any host only mentioned by spans or marks. */
    static List<Lane> layoutLanes(RunTrace trace, double top) {
        Map<String, List<VmSpan>> byHost = new LinkedHashMap<>();
        for (String h : trace.hosts()) {
            if (h != null) {
                byHost.putIfAbsent(h, new ArrayList<>());
            }
        }
        for (VmSpan s : trace.spans()) {
            if (s != null) {
                byHost.computeIfAbsent(s.host() == null ? NO_HOST : s.host(), k -> new ArrayList<>()).add(s);
            }
        }
        for (Mark m : trace.marks()) {
            if (m != null && m.host() != null) {
                byHost.putIfAbsent(m.host(), new ArrayList<>());
            }
        }
        List<Lane> lanes = new ArrayList<>();
        double y = top;
        for (Map.Entry<String, List<VmSpan>> e : byHost.entrySet()) {
            List<Placed> placed = stack(e.getValue());
            int rows = Math.max(1, placed.stream().mapToInt(p -> p.row() + 1).max().orElse(1));
            double h = GUTTER + rows * ROW_H + (rows - 1) * ROW_GAP + LANE_BOTTOM;
            lanes.add(new Lane(e.getKey(), placed, rows, y, h));
            y += h;
        }
        return lanes;
    }

    /**
     * Assigns sub-rows so that spans overlapping in time never share a row (greedy interval
     * partitioning: the fewest rows possible). Spans that merely touch may share a row; a VM that
     * carries on on the same host keeps its row when that row is free.
     */
    static List<Placed> stack(List<VmSpan> spans) {
        List<VmSpan> sorted = new ArrayList<>(spans);
        sorted.sort(Comparator.<VmSpan>comparingLong(s -> Math.min(s.fromMs(), s.toMs()))
                .thenComparingLong(s -> Math.max(s.fromMs(), s.toMs()))
                .thenComparing(s -> s.vm() == null ? "" : s.vm()));
        List<Long> rowEnds = new ArrayList<>();
        List<String> rowLastVm = new ArrayList<>();
        List<Placed> out = new ArrayList<>();
        for (VmSpan s : sorted) {
            long from = Math.min(s.fromMs(), s.toMs());
            long to = Math.max(s.fromMs(), s.toMs());
            long busyUntil = Math.max(to, from + 1); // a zero-length span still occupies its spot
            String vm = vmName(s);
            int row = -1;
            for (int i = 0; i < rowEnds.size(); i++) {
                if (rowEnds.get(i) <= from) {
                    if (row < 0) {
                        row = i; // first free row
                    }
                    if (rowLastVm.get(i).equals(vm)) {
                        row = i; // the same VM carrying on: keep it on its row
                        break;
                    }
                }
            }
            if (row < 0) {
                row = rowEnds.size();
                rowEnds.add(busyUntil);
                rowLastVm.add(vm);
            } else {
                rowEnds.set(row, busyUntil);
                rowLastVm.set(row, vm);
            }
            out.add(new Placed(s, from, to, row));
        }
        return out;
    }

    /** Tick spacing in ms: 1, 2 or 5 times a power of ten, giving closest to ten ticks. */
    static long tickStep(long rangeMs) {
        long range = Math.max(1, rangeMs);
        long best = 1;
        double bestScore = Double.MAX_VALUE;
        for (long p = 1; p > 0 && p <= range; p *= 10) {
            for (long m : new long[] {1, 2, 5}) {
                long c = m * p;
                double score = Math.abs(range / (double) c - 10);
                if (score < bestScore) {
                    bestScore = score;
                    best = c;
                }
            }
            if (p > Long.MAX_VALUE / 10) {
                break;
            }
        }
        return best;
    }

    private double x(long t) {
        return plotLeft + (t - tMin) * (plotRight - plotLeft) / (double) (tMax - tMin);
    }

    private static String vmName(VmSpan s) {
        return s.vm() == null ? "?" : s.vm();
    }

    // ---------------------------------------------------------------- drawing

    private String svg() {
        StringBuilder sb = new StringBuilder(8192);
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"").append(num(WIDTH))
                .append("\" height=\"").append(num(height)).append("\" viewBox=\"0 0 ").append(num(WIDTH)).append(' ')
                .append(num(height)).append("\" font-family=\"").append(esc(FONT)).append("\" font-size=\"11\">\n");
        sb.append("<title>Timeline of ").append(esc(trace.scenario())).append("</title>\n");
        defs(sb);
        sb.append("<rect x=\"0\" y=\"0\" width=\"").append(num(WIDTH)).append("\" height=\"").append(num(height))
                .append("\" fill=\"#ffffff\"/>\n");
        lanes(sb);
        axis(sb);
        spans(sb);
        marks(sb);
        legend(sb);
        sb.append("</svg>");
        return sb.toString();
    }

    private void defs(StringBuilder sb) {
        sb.append("<defs>\n");
        for (Map.Entry<String, Integer> e : pausedPatterns.entrySet()) {
            hatch(sb, "paused-" + e.getValue(), colors.get(e.getKey()));
        }
        hatch(sb, "paused-legend", new Palette.VmColor("#888888", "#555555", "#e4e4e4", "#111111"));
        sb.append("</defs>\n");
    }

    private static void hatch(StringBuilder sb, String id, Palette.VmColor c) {
        sb.append("<pattern id=\"").append(id).append("\" patternUnits=\"userSpaceOnUse\" width=\"6\" height=\"6\"")
                .append(" patternTransform=\"rotate(45)\"><rect x=\"0\" y=\"0\" width=\"6\" height=\"6\" fill=\"")
                .append(c.light()).append("\"/><rect x=\"0\" y=\"0\" width=\"2\" height=\"6\" fill=\"").append(c.fill())
                .append("\" fill-opacity=\"0.45\"/></pattern>\n");
    }

    private void lanes(StringBuilder sb) {
        // cluster-wide band
        sb.append("<g class=\"band\"><rect x=\"0\" y=\"").append(num(bandTop)).append("\" width=\"").append(num(WIDTH))
                .append("\" height=\"").append(num(BAND_H)).append("\" fill=\"#eef0f6\"/>");
        sb.append("<text class=\"band-label\" x=\"").append(num(LABEL_W - 10)).append("\" y=\"")
                .append(num(bandTop + BAND_H / 2 + 4)).append("\" text-anchor=\"end\" fill=\"#555555\" font-style=\"italic\">")
                .append("cluster-wide</text></g>\n");
        int i = 0;
        for (Lane lane : lanes) {
            String bg = (i++ % 2 == 0) ? "#fafbfc" : "#f1f3f6";
            sb.append("<g class=\"lane\"><rect x=\"0\" y=\"").append(num(lane.top())).append("\" width=\"").append(num(WIDTH))
                    .append("\" height=\"").append(num(lane.height())).append("\" fill=\"").append(bg).append("\"/>");
            sb.append("<line x1=\"0\" y1=\"").append(num(lane.top())).append("\" x2=\"").append(num(WIDTH)).append("\" y2=\"")
                    .append(num(lane.top())).append("\" stroke=\"#d5d9e0\" stroke-width=\"1\"/>");
            String shown = Text.shorten(lane.host(), (int) ((LABEL_W - 18) / 7.2));
            sb.append("<text class=\"lane-label\" x=\"").append(num(LABEL_W - 10)).append("\" y=\"")
                    .append(num(lane.top() + lane.height() / 2 + 4.5)).append("\" text-anchor=\"end\" font-size=\"12\"")
                    .append(" font-weight=\"600\" fill=\"#222222\">");
            if (!shown.equals(lane.host())) {
                sb.append("<title>").append(esc(lane.host())).append("</title>");
            }
            sb.append(esc(shown)).append("</text></g>\n");
        }
        sb.append("<line x1=\"0\" y1=\"").append(num(lanesBottom)).append("\" x2=\"").append(num(WIDTH)).append("\" y2=\"")
                .append(num(lanesBottom)).append("\" stroke=\"#d5d9e0\" stroke-width=\"1\"/>\n");
        sb.append("<line x1=\"").append(num(LABEL_W)).append("\" y1=\"").append(num(bandTop)).append("\" x2=\"")
                .append(num(LABEL_W)).append("\" y2=\"").append(num(lanesBottom)).append("\" stroke=\"#b8bec8\"/>\n");
    }

    private void axis(StringBuilder sb) {
        long step = tickStep(tMax - tMin);
        long first = -Math.floorDiv(-tMin, step) * step; // ceil(tMin / step) * step
        sb.append("<g class=\"axis\">");
        sb.append("<text x=\"").append(num(LABEL_W - 10)).append("\" y=\"").append(num(AXIS_H - 12))
                .append("\" text-anchor=\"end\" fill=\"#777777\">time</text>");
        for (long t = first; t <= tMax; t += step) {
            double x = x(t);
            boolean zero = t == 0;
            sb.append("<line class=\"tick\" x1=\"").append(num(x)).append("\" y1=\"").append(num(AXIS_H - 6))
                    .append("\" x2=\"").append(num(x)).append("\" y2=\"").append(num(lanesBottom)).append("\" stroke=\"")
                    .append(zero ? "#8a919c" : "#dfe3e8").append("\" stroke-width=\"").append(zero ? "1.2" : "1").append("\"/>");
            sb.append("<text class=\"tick-label\" x=\"").append(num(x)).append("\" y=\"").append(num(AXIS_H - 12))
                    .append("\" text-anchor=\"middle\" fill=\"#444444\">").append(esc(sec(t))).append("</text>");
            if (t > Long.MAX_VALUE - step) {
                break;
            }
        }
        sb.append("</g>\n");
    }

    private void spans(StringBuilder sb) {
        sb.append("<g class=\"spans\">\n");
        for (Lane lane : lanes) {
            for (Placed p : lane.spans()) {
                VmSpan s = p.span();
                String vm = vmName(s);
                Palette.VmColor c = colors.get(vm);
                double x1 = x(p.from());
                double x2 = x(p.to());
                double w = x2 - x1;
                if (w > 4) { // a hair of space between back-to-back bars
                    x1 += 0.5;
                    w -= 1;
                }
                w = Math.max(w, 2);
                double y = lane.top() + GUTTER + p.row() * (ROW_H + ROW_GAP);
                String fill = s.paused() ? "url(#paused-" + pausedPatterns.get(vm) + ")" : c.fill();
                String tip = vm + " on " + lane.host() + " from " + sec(p.from()) + " to " + sec(p.to())
                        + (s.paused() ? " (paused)" : "");
                sb.append("<rect class=\"span").append(s.paused() ? " paused" : "").append("\" x=\"").append(num(x1))
                        .append("\" y=\"").append(num(y)).append("\" width=\"").append(num(w)).append("\" height=\"")
                        .append(num(ROW_H)).append("\" rx=\"3\" fill=\"").append(fill).append("\" stroke=\"").append(c.stroke())
                        .append("\" stroke-width=\"1\"");
                if (s.paused()) {
                    sb.append(" stroke-dasharray=\"3 2\"");
                }
                sb.append("><title>").append(esc(tip)).append("</title></rect>");
                int fits = (int) ((w - 8) / CHAR_W);
                if (fits >= 3) {
                    String label = Text.shorten(vm, fits);
                    sb.append("<text class=\"span-label\" x=\"").append(num(x1 + 5)).append("\" y=\"").append(num(y + 14))
                            .append("\" fill=\"").append(s.paused() ? "#222222" : c.text()).append("\" pointer-events=\"none\"")
                            .append(s.paused() ? " font-style=\"italic\"" : "").append('>').append(esc(label)).append("</text>");
                }
                sb.append('\n');
            }
        }
        sb.append("</g>\n");
    }

    private void marks(StringBuilder sb) {
        Map<String, Lane> laneOf = new LinkedHashMap<>();
        for (Lane l : lanes) {
            laneOf.put(l.host(), l);
        }
        List<Mark> sorted = new ArrayList<>();
        for (Mark m : trace.marks()) {
            if (m != null) {
                sorted.add(m);
            }
        }
        // cluster-wide marks first so that host-specific symbols are drawn on top of their lines
        sorted.sort(Comparator.comparing((Mark m) -> m.host() != null).thenComparingLong(Mark::atMs));
        sb.append("<g class=\"marks\">\n");
        for (Mark m : sorted) {
            Palette.KindStyle st = Palette.style(m.kind());
            double x = x(m.atMs());
            double y1;
            double y2;
            double cy;
            String where;
            if (m.host() == null) {
                y1 = bandTop + 4;
                y2 = lanesBottom;
                cy = bandTop + BAND_H / 2;
                where = "cluster-wide";
            } else {
                Lane lane = laneOf.get(m.host());
                y1 = lane.top() + 2;
                y2 = lane.top() + lane.height();
                cy = lane.top() + GUTTER / 2 + 0.5;
                where = "on " + m.host();
            }
            String tip = sec(m.atMs()) + " " + st.name() + " " + where + ": " + (m.label() == null ? "" : m.label());
            sb.append("<g class=\"mark mark-").append(st.css()).append(m.host() == null ? " cluster" : "")
                    .append("\"><title>").append(esc(tip)).append("</title>");
            sb.append("<line x1=\"").append(num(x)).append("\" y1=\"").append(num(y1)).append("\" x2=\"").append(num(x))
                    .append("\" y2=\"").append(num(y2)).append("\" stroke=\"").append(st.color()).append("\" stroke-width=\"")
                    .append(num(st.width())).append("\" stroke-opacity=\"").append(m.host() == null ? "0.55" : "0.85").append('"');
            if (st.dash() != null) {
                sb.append(" stroke-dasharray=\"").append(st.dash()).append('"');
            }
            sb.append("/>");
            glyph(sb, m.kind(), x, cy, m.host() == null ? 6 : 5);
            sb.append("</g>\n");
        }
        sb.append("</g>\n");
    }

    /** The symbol of a mark kind centred on (cx, cy). */
    static void glyph(StringBuilder sb, Mark.Kind kind, double cx, double cy, double r) {
        Palette.KindStyle st = Palette.style(kind);
        String c = st.color();
        String halo = " stroke=\"#ffffff\" stroke-width=\"1\"";
        if (kind == null) {
            sb.append("<circle cx=\"").append(num(cx)).append("\" cy=\"").append(num(cy)).append("\" r=\"").append(num(r * 0.6))
                    .append("\" fill=\"").append(c).append("\"/>");
            return;
        }
        switch (kind) {
            case FAULT -> {
                for (int sgn : new int[] {1, -1}) {
                    sb.append("<line x1=\"").append(num(cx - r)).append("\" y1=\"").append(num(cy - sgn * r)).append("\" x2=\"")
                            .append(num(cx + r)).append("\" y2=\"").append(num(cy + sgn * r)).append("\" stroke=\"").append(c)
                            .append("\" stroke-width=\"2.6\" stroke-linecap=\"round\"/>");
                }
            }
            case FENCE -> sb.append("<rect x=\"").append(num(cx - r * 0.9)).append("\" y=\"").append(num(cy - r * 0.9))
                    .append("\" width=\"").append(num(r * 1.8)).append("\" height=\"").append(num(r * 1.8)).append("\" fill=\"")
                    .append(c).append('"').append(halo).append("/>");
            case SELF_FENCE -> polygon(sb, c, halo, cx - r, cy - r * 0.85, cx + r, cy - r * 0.85, cx, cy + r);
            case LEADER -> sb.append("<circle cx=\"").append(num(cx)).append("\" cy=\"").append(num(cy)).append("\" r=\"")
                    .append(num(r)).append("\" fill=\"").append(c).append('"').append(halo).append("/>");
            case ADMIN -> polygon(sb, c, halo, cx, cy - r * 1.15, cx + r, cy, cx, cy + r * 1.15, cx - r, cy);
            case ALARM -> polygon(sb, c, halo, cx - r, cy + r * 0.85, cx + r, cy + r * 0.85, cx, cy - r);
            default -> { }
        }
    }

    private static void polygon(StringBuilder sb, String fill, String extra, double... xy) {
        sb.append("<polygon points=\"");
        for (int i = 0; i < xy.length; i += 2) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(num(xy[i])).append(',').append(num(xy[i + 1]));
        }
        sb.append("\" fill=\"").append(fill).append('"').append(extra).append("/>");
    }

    private void legend(StringBuilder sb) {
        double y = lanesBottom + LEGEND_H / 2 + 2;
        double x = plotLeft;
        sb.append("<g class=\"legend\">");
        sb.append("<text x=\"").append(num(LABEL_W - 10)).append("\" y=\"").append(num(y + 4))
                .append("\" text-anchor=\"end\" fill=\"#777777\">legend</text>");
        for (Mark.Kind k : Mark.Kind.values()) {
            Palette.KindStyle st = Palette.style(k);
            sb.append("<g class=\"legend-item\">");
            sb.append("<line x1=\"").append(num(x + 7)).append("\" y1=\"").append(num(y - 10)).append("\" x2=\"").append(num(x + 7))
                    .append("\" y2=\"").append(num(y + 10)).append("\" stroke=\"").append(st.color()).append("\" stroke-width=\"")
                    .append(num(st.width())).append('"');
            if (st.dash() != null) {
                sb.append(" stroke-dasharray=\"").append(st.dash()).append('"');
            }
            sb.append("/>");
            glyph(sb, k, x + 7, y, 5);
            sb.append("<text x=\"").append(num(x + 18)).append("\" y=\"").append(num(y + 4)).append("\" fill=\"#333333\">")
                    .append(st.name()).append("</text></g>");
            x += 18 + st.name().length() * CHAR_W + 22;
        }
        x += 10;
        sb.append("<g class=\"legend-item\"><rect x=\"").append(num(x)).append("\" y=\"").append(num(y - 8))
                .append("\" width=\"34\" height=\"16\" rx=\"3\" fill=\"#7a8aa6\" stroke=\"#4f5d75\"/><text x=\"").append(num(x + 40))
                .append("\" y=\"").append(num(y + 4)).append("\" fill=\"#333333\">VM running</text></g>");
        x += 40 + 10 * CHAR_W + 22;
        sb.append("<g class=\"legend-item\"><rect x=\"").append(num(x)).append("\" y=\"").append(num(y - 8))
                .append("\" width=\"34\" height=\"16\" rx=\"3\" fill=\"url(#paused-legend)\" stroke=\"#555555\"")
                .append(" stroke-dasharray=\"3 2\"/><text x=\"").append(num(x + 40)).append("\" y=\"").append(num(y + 4))
                .append("\" fill=\"#333333\">VM paused</text></g>");
        x += 40 + 9 * CHAR_W + 22;
        sb.append("<text x=\"").append(num(x)).append("\" y=\"").append(num(y + 4)).append("\" fill=\"#777777\"")
                .append(" font-style=\"italic\">marks in the cluster-wide row span all hosts</text>");
        sb.append("</g>\n");
    }
}
