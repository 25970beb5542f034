package io.havn.sim.report;

import java.math.BigDecimal;
import java.util.Locale;

/** Escaping and number formatting shared by the report classes. Output is locale-independent. */
final class Text {

    private Text() { }

    /**
     * Escapes text for use in HTML/XML character data and quoted attribute values. Characters that
     * are not allowed in XML 1.0 (control characters, lone surrogates) become U+FFFD, so the SVG
     * part stays parseable as XML. Null becomes the empty string.
     */
    static String esc(String s) {
        if (s == null) {
            return "";
        }
        StringBuilder sb = new StringBuilder(s.length() + 16);
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '&' -> sb.append("&amp;");
                case '<' -> sb.append("&lt;");
                case '>' -> sb.append("&gt;");
                case '"' -> sb.append("&quot;");
                case '\'' -> sb.append("&#39;");
                default -> {
                    if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                        sb.append(c).append(s.charAt(++i));
                    } else if (Character.isSurrogate(c)
                            || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
                            || c == 0xFFFE || c == 0xFFFF) {
                        sb.append('\uFFFD');
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }

    /** Milliseconds as seconds, without trailing zeros: 0 → "0s", 12500 → "12.5s", -2000 → "-2s". */
    static String sec(long ms) {
        return BigDecimal.valueOf(ms, 3).stripTrailingZeros().toPlainString() + "s";
    }

    /** A coordinate with at most one decimal, locale-independent: 12.0 → "12", 3.25 → "3.3". */
    static String num(double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            return "0";
        }
        long tenths = Math.round(v * 10);
        if (tenths % 10 == 0) {
            return Long.toString(tenths / 10);
        }
        return String.format(Locale.ROOT, "%.1f", tenths / 10.0);
    }

    /** Shortens s to at most max characters, ending with an ellipsis if cut. */
    static String shorten(String s, int max) {
        if (s == null) {
            return "";
        }
        if (s.codePointCount(0, s.length()) <= max) {
            return s;
        }
        if (max <= 1) {
            return "\u2026";
        }
        return s.substring(0, s.offsetByCodePoints(0, max - 1)) + "\u2026";
    }
}
