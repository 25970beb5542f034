package io.havn.sim.report;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/** Colours: a stable colour per VM derived from its name, and the fixed style of each mark kind. */
final class Palette {

    private Palette() { }

    /**
     * The colours of one VM's bars.
     *
     * @param fill   bar fill (running copy)
     * @param stroke bar outline, a darker shade of fill
     * @param light  a pale tint of fill, background of paused copies
     * @param text   "#ffffff" or "#111111", whichever reads better on fill
     */
    record VmColor(String fill, String stroke, String light, String text) { }

    private static final double[] SATURATION = {0.55, 0.65, 0.75};
    private static final double[] LIGHTNESS = {0.38, 0.46, 0.54};

    /** Two colours closer than this (redmean RGB distance, 0..~765) are too alike to tell apart. */
    static final double MIN_DISTANCE = 110;
    private static final double GOLDEN_ANGLE = 137.508;

    /** Same name, same colour, on every page and every run: hue and shade come from a hash of the name. */
    static VmColor vmColor(String vm) {
        return of(baseHsl(vm));
    }

    /**
     * Colours for all VMs of one page. Each VM gets its {@link #vmColor hash colour} unless that is
     * too close to the colour of a VM earlier in name order; then its hue is turned by the golden
     * angle until it stands apart. Deterministic: the same set of names always gives the same map.
     */
    static Map<String, VmColor> assign(Collection<String> vms) {
        List<String> names = new ArrayList<>(new TreeSet<>(vms));
        Map<String, VmColor> out = new LinkedHashMap<>();
        List<double[]> taken = new ArrayList<>();
        for (String vm : names) {
            double[] hsl = baseHsl(vm);
            double[] best = hsl;
            double bestDist = -1;
            for (int attempt = 0; attempt < 12; attempt++) {
                double[] cand = {(hsl[0] + attempt * GOLDEN_ANGLE) % 360, hsl[1], hsl[2]};
                double[] rgb = hsl(cand[0], cand[1], cand[2]);
                double d = taken.stream().mapToDouble(t -> distance(t, rgb)).min().orElse(Double.MAX_VALUE);
                if (d > bestDist) {
                    bestDist = d;
                    best = cand;
                }
                if (d >= MIN_DISTANCE) {
                    break;
                }
            }
            taken.add(hsl(best[0], best[1], best[2]));
            out.put(vm, of(best));
        }
        return out;
    }

    /** "Redmean" approximation of perceived distance between two RGB colours (components 0..1). */
    static double distance(double[] a, double[] b) {
        double rm = (a[0] + b[0]) / 2 * 255;
        double dr = (a[0] - b[0]) * 255;
        double dg = (a[1] - b[1]) * 255;
        double db = (a[2] - b[2]) * 255;
        return Math.sqrt((2 + rm / 256) * dr * dr + 4 * dg * dg + (2 + (255 - rm) / 256) * db * db);
    }

    /** Distance between two "#rrggbb" colours. */
    static double distance(String a, String b) {
        return distance(rgb(a), rgb(b));
    }

    private static double[] rgb(String hex) {
        int v = Integer.parseInt(hex.substring(1), 16);
        return new double[] {(v >> 16 & 255) / 255.0, (v >> 8 & 255) / 255.0, (v & 255) / 255.0};
    }

    private static double[] baseHsl(String vm) {
        int h = fnv1a(vm == null ? "" : vm);
        double hue = Integer.remainderUnsigned(h, 360);
        double sat = SATURATION[Integer.remainderUnsigned(h >>> 12, 3)];
        double light = LIGHTNESS[Integer.remainderUnsigned(h >>> 20, 3)];
        return new double[] {hue, sat, light};
    }

    private static VmColor of(double[] c) {
        double hue = c[0];
        double sat = c[1];
        double light = c[2];
        double[] rgb = hsl(hue, sat, light);
        double[] dark = hsl(hue, sat, light * 0.65);
        double[] pale = mix(rgb, 0.72);
        String text = luminance(rgb) > 0.36 ? "#111111" : "#ffffff";
        return new VmColor(hex(rgb), hex(dark), hex(pale), text);
    }

    /** 32-bit FNV-1a over the UTF-8 bytes, with a final avalanche so similar names spread out. */
    static int fnv1a(String s) {
        int h = 0x811c9dc5;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= (b & 0xff);
            h *= 0x01000193;
        }
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }

    private static double[] hsl(double h, double s, double l) {
        double c = (1 - Math.abs(2 * l - 1)) * s;
        double hp = h / 60.0;
        double x = c * (1 - Math.abs(hp % 2 - 1));
        double r;
        double g;
        double b;
        if (hp < 1) {
            r = c; g = x; b = 0;
        } else if (hp < 2) {
            r = x; g = c; b = 0;
        } else if (hp < 3) {
            r = 0; g = c; b = x;
        } else if (hp < 4) {
            r = 0; g = x; b = c;
        } else if (hp < 5) {
            r = x; g = 0; b = c;
        } else {
            r = c; g = 0; b = x;
        }
        double m = l - c / 2;
        return new double[] {r + m, g + m, b + m};
    }

    /** Mixes a colour with white; amount 0 = unchanged, 1 = white. */
    private static double[] mix(double[] rgb, double amount) {
        return new double[] {
            rgb[0] + (1 - rgb[0]) * amount, rgb[1] + (1 - rgb[1]) * amount, rgb[2] + (1 - rgb[2]) * amount};
    }

    /** WCAG relative luminance. */
    private static double luminance(double[] rgb) {
        double[] lin = new double[3];
        for (int i = 0; i < 3; i++) {
            double c = rgb[i];
            lin[i] = c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
        }
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    }

    private static String hex(double[] rgb) {
        StringBuilder sb = new StringBuilder("#");
        for (double c : rgb) {
            int v = (int) Math.round(Math.max(0, Math.min(1, c)) * 255);
            sb.append(Character.forDigit(v >> 4, 16)).append(Character.forDigit(v & 15, 16));
        }
        return sb.toString();
    }

    /**
     * How a mark kind is drawn.
     *
     * @param css    CSS class suffix and legend name
     * @param name   human name
     * @param color  stroke/fill colour
     * @param dash   stroke-dasharray of the vertical line, or null for solid
     * @param width  stroke width of the vertical line
     * @param glyph  a text character resembling the symbol (used in HTML tables)
     */
    record KindStyle(String css, String name, String color, String dash, double width, String glyph) { }

    static KindStyle style(Mark.Kind kind) {
        if (kind == null) {
            return new KindStyle("event", "event", "#555555", "2 2", 1.2, "\u2022");
        }
        return switch (kind) {
            case FAULT -> new KindStyle("fault", "fault", "#d62728", null, 1.6, "\u2715");
            case FENCE -> new KindStyle("fence", "fence", "#8b0000", null, 2.2, "\u25A0");
            case SELF_FENCE -> new KindStyle("self-fence", "self-fence", "#f07800", "5 2", 2.0, "\u25BC");
            case LEADER -> new KindStyle("leader", "leader", "#1f5fbf", "2 2", 1.6, "\u25CF");
            case ADMIN -> new KindStyle("admin", "admin", "#7b3fa0", "6 3", 1.6, "\u25C6");
            case ALARM -> new KindStyle("alarm", "alarm", "#111111", "1 3", 1.6, "\u25B2");
        };
    }
}
