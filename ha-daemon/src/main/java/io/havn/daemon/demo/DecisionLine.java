package io.havn.daemon.demo;

import io.havn.common.node.Decision;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A decision in a demo daemon's log: the line {@code LoggingDecisionLog} writes, behind the UTC
 * time stamp of the demo's daemon log format ({@code havnd-logback.xml}), e.g.
 * {@code 2025-01-02T10:11:12.345Z INFO  havn.decision - kind=fence-off host=host1 subject=host3 epoch=1 reason="..."}.
 *
 * @param vm       the VM's id, or null
 * @param subject  the other host concerned, or null
 */
record DecisionLine(Instant at, Decision.Kind kind, String host, String vm, String subject, long epoch,
                    String reason) {
    private static final Pattern LINE = Pattern.compile("^(\\S+) +\\S+ +havn\\.decision - kind=(\\S+) host=(\\S+)"
            + "(?: vm=(\\S+))?(?: subject=(\\S+))? epoch=(\\d+)(?: [a-z_]+=[^\" ]+)*(?: reason=\"(.*)\")?$");

    /** The decision {@code line} records, or empty for any other line. */
    static Optional<DecisionLine> parse(String line) {
        Matcher m = LINE.matcher(line);
        if (!m.matches()) {
            return Optional.empty();
        }
        try {
            Decision.Kind kind = Decision.Kind.valueOf(m.group(2).toUpperCase(Locale.ROOT).replace('-', '_'));
            String reason = m.group(7) == null ? "" : m.group(7).replace("\\\"", "\"").replace("\\\\", "\\");
            return Optional.of(new DecisionLine(Instant.parse(m.group(1)), kind, m.group(3), m.group(4), m.group(5),
                    Long.parseLong(m.group(6)), reason));
        } catch (IllegalArgumentException | DateTimeParseException e) {
            return Optional.empty(); // a kind or time this demo does not know: not a line for it
        }
    }
}
