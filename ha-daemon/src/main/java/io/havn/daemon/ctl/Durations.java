package io.havn.daemon.ctl;

import io.havn.common.model.Rule;
import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The waits of placement rules on the command line: a number and a unit, {@code ms}, {@code s},
 * {@code m} or {@code h} ({@code 500ms}, {@code 30s}, {@code 1.5m}, {@code 1h}); a bare number is
 * seconds, as for {@code --timeout} and {@code --wait}. A rule's wait is a whole number of
 * milliseconds from 1 ms up to an hour ({@link Rule#MAX_WAIT_MS}). Shown back the same way.
 */
final class Durations {
    private static final Pattern TEXT = Pattern.compile("(\\d+(?:\\.\\d+)?)(ms|s|m|h)?");

    private Durations() {
    }

    /** The milliseconds {@code text} says; an IllegalArgumentException names what is wrong. */
    static long parseMs(String text) {
        Matcher m = TEXT.matcher(text == null ? "" : text.strip());
        if (!m.matches()) {
            throw new IllegalArgumentException("expected a duration such as 500ms, 30s, 5m or 1h, got '" + text + "'");
        }
        long unit = switch (m.group(2) == null ? "s" : m.group(2)) {
            case "ms" -> 1;
            case "s" -> 1_000;
            case "m" -> 60_000;
            default -> 3_600_000;
        };
        BigDecimal ms = new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unit));
        if (ms.signum() == 0 || ms.compareTo(BigDecimal.valueOf(Rule.MAX_WAIT_MS)) > 0) {
            throw new IllegalArgumentException("a wait is above 0 and at most 1h, got '" + text + "'");
        }
        if (ms.stripTrailingZeros().scale() > 0) {
            throw new IllegalArgumentException("a wait is a whole number of milliseconds, got '" + text + "'");
        }
        return ms.longValueExact();
    }

    /** {@code ms} in the largest unit that shows it whole: 1h, 5m, 30s, 1500ms; 0s for none. */
    static String format(long ms) {
        if (ms == 0) {
            return "0s";
        }
        if (ms > 0 && ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms > 0 && ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms > 0 && ms % 1_000 == 0) {
            return ms / 1_000 + "s";
        }
        return ms + "ms";
    }

    /** A rule's wait option: milliseconds, as {@link #parseMs}. */
    static final class Wait implements ITypeConverter<Long> {
        @Override
        public Long convert(String text) {
            try {
                return parseMs(text);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }
}
