package io.havn.sim.scenario;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Scenario durations: a non-negative integer with {@code ms}, {@code s} or {@code m} ({@code 500ms}, {@code 26s}, {@code 2m}). */
public final class Durations {
    private static final Pattern DURATION = Pattern.compile("([0-9]+)(ms|s|m)");

    private Durations() { }

    /** Parses a duration to milliseconds; anything but an integer with ms, s or m is an IllegalArgumentException. */
    public static long parseMs(String text) {
        if (text == null) {
            throw new IllegalArgumentException("missing duration: expected an integer with ms, s or m, e.g. 500ms, 26s, 2m");
        }
        Matcher m = DURATION.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("invalid duration '" + text
                    + "': expected an integer with ms, s or m, e.g. 500ms, 26s, 2m");
        }
        long unit = switch (m.group(2)) {
            case "ms" -> 1;
            case "s" -> 1_000;
            default -> 60_000;
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), unit);
        } catch (ArithmeticException | NumberFormatException e) {
            throw new IllegalArgumentException("invalid duration '" + text + "': too large");
        }
    }

    /** Formats milliseconds with the largest exact unit: 120000 → "2m", 26000 → "26s", 1500 → "1500ms", 0 → "0s". */
    public static String format(long ms) {
        if (ms < 0) {
            throw new IllegalArgumentException("negative duration " + ms + " ms");
        }
        if (ms == 0) {
            return "0s";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1_000 == 0) {
            return ms / 1_000 + "s";
        }
        return ms + "ms";
    }
}
