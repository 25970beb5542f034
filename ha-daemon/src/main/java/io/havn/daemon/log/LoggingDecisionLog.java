package io.havn.daemon.log;

import io.havn.common.node.Decision;
import io.havn.common.port.DecisionLog;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one log line per decision of the node: host, kind, VM, other host, epoch and reason, as
 * key=value pairs so that journald and log shippers can pick them apart. Alarms and failures are
 * warnings; everything else is information.
 */
public final class LoggingDecisionLog implements DecisionLog {
    private static final Logger LOG = LoggerFactory.getLogger("havn.decision");

    @Override
    public void record(Decision d) {
        String line = format(d);
        switch (d.kind()) {
            case ALARM, FENCE_FAILED, SELF_FENCE, LEASE_LAPSED, ERROR, START_FAILED, MIGRATE_FAILED,
                 REBIND_FAILED, CLAIM_FAILED, DRAIN_BLOCKED -> LOG.warn(line);
            default -> LOG.info(line);
        }
    }

    /** The line for {@code d}: {@code kind=... host=... vm=... subject=... epoch=... reason="..."}. */
    public static String format(Decision d) {
        StringBuilder b = new StringBuilder("decision=").append(d.kind().name().toLowerCase().replace('_', '-'))
                .append(" host=").append(d.host());
        if (d.vm() != null) {
            b.append(" vm=").append(d.vm());
        }
        if (d.subject() != null) {
            b.append(" subject=").append(d.subject());
        }
        b.append(" epoch=").append(d.epoch());
        if (d.timings() != null) {
            Decision.Timings t = d.timings();
            b.append(" detect_ms=").append(ms(t.detectNanos())).append(" fence_ms=").append(ms(t.fenceNanos()))
                    .append(" restart_ms=").append(ms(t.restartNanos())).append(" total_ms=").append(ms(t.totalNanos()))
                    .append(" proof=").append(t.proof().name().toLowerCase().replace('_', '-'));
        }
        if (d.detail() != null && !d.detail().isEmpty()) {
            b.append(" reason=\"").append(d.detail().replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return b.toString();
    }

    /** Milliseconds, or -1 for a phase the leader did not see. */
    private static long ms(long nanos) {
        return nanos < 0 ? -1 : nanos / 1_000_000L;
    }
}
