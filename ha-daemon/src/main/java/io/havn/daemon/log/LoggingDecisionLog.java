package io.havn.daemon.log;

import io.havn.common.node.Decision;
import io.havn.common.port.DecisionLog;
import java.util.AbstractMap.SimpleImmutableEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * Writes one log line per decision of the node: kind, host, VM, other host, epoch, failover
 * timings and reason. They go out twice over: as the line's {@code key=value} text, which
 * journald and grep read, and as SLF4J key-value pairs, which the JSON format turns into fields
 * (numbers stay numbers). Alarms and failures are warnings; everything else is information.
 */
public final class LoggingDecisionLog implements DecisionLog {
    private final Logger log;

    public LoggingDecisionLog() {
        this(LoggerFactory.getLogger("havn.decision"));
    }

    /** Logging to {@code log} (tests give a logger of their own context). */
    LoggingDecisionLog(Logger log) {
        this.log = log;
    }

    @Override
    public void record(Decision d) {
        List<Map.Entry<String, Object>> fields = fields(d);
        LoggingEventBuilder e = switch (d.kind()) {
            case ALARM, FENCE_FAILED, SELF_FENCE, LEASE_LAPSED, ERROR, START_FAILED, MIGRATE_FAILED,
                 REBIND_FAILED, CLAIM_FAILED, DRAIN_BLOCKED, HOLD_OFF -> log.atWarn();
            default -> log.atInfo();
        };
        for (Map.Entry<String, Object> f : fields) {
            e = e.addKeyValue(f.getKey(), f.getValue());
        }
        e.log(line(fields));
    }

    /** The line for {@code d}: {@code kind=... host=... vm=... subject=... epoch=... reason="..."}. */
    public static String format(Decision d) {
        return line(fields(d));
    }

    /** The decision's fields in line order; absent ones are left out, a phase the leader did not see is -1. */
    static List<Map.Entry<String, Object>> fields(Decision d) {
        List<Map.Entry<String, Object>> f = new ArrayList<>();
        f.add(field("kind", token(d.kind())));
        f.add(field("host", d.host().value()));
        if (d.vm() != null) {
            f.add(field("vm", d.vm().value()));
        }
        if (d.subject() != null) {
            f.add(field("subject", d.subject().value()));
        }
        f.add(field("epoch", d.epoch()));
        if (d.timings() != null) {
            Decision.Timings t = d.timings();
            f.add(field("detect_ms", ms(t.detectNanos())));
            f.add(field("fence_ms", ms(t.fenceNanos())));
            f.add(field("restart_ms", ms(t.restartNanos())));
            f.add(field("total_ms", ms(t.totalNanos())));
            f.add(field("proof", token(t.proof())));
        }
        if (d.detail() != null && !d.detail().isEmpty()) {
            f.add(field("reason", d.detail()));
        }
        return f;
    }

    private static String line(List<Map.Entry<String, Object>> fields) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, Object> f : fields) {
            if (b.length() > 0) {
                b.append(' ');
            }
            b.append(f.getKey()).append('=');
            if (f.getKey().equals("reason")) { // the one free-text field: quoted, so a reader knows where it ends
                b.append('"').append(f.getValue().toString().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            } else {
                b.append(f.getValue());
            }
        }
        return b.toString();
    }

    private static Map.Entry<String, Object> field(String key, Object value) {
        return new SimpleImmutableEntry<>(key, value);
    }

    /** An enum constant as the logs spell it: {@code LEADER_ELECTED} is {@code leader-elected}. */
    private static String token(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** Milliseconds, or -1 for a phase the leader did not see. */
    private static long ms(long nanos) {
        return nanos < 0 ? -1 : nanos / 1_000_000L;
    }
}
