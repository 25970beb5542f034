package io.havn.daemon.coord;

import io.havn.daemon.coord.RecordSeal.Refusal;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The records a coordinator refused because their seal was missing or wrong, counted by kind and
 * reason, each also one ERROR line naming the path. Counts are read from any thread (metrics).
 */
public final class RecordRefusals {
    private static final Logger log = LoggerFactory.getLogger(RecordRefusals.class);

    /** What kind of record was refused. */
    public enum Kind {
        HOST, VM, REQUEST, EPOCH;

        /** The kind of the data node at {@code path} (see {@link CoordPaths#isDataPath}). */
        static Kind of(String path) {
            if (CoordPaths.EPOCH.equals(path)) {
                return EPOCH;
            } else if (CoordPaths.isChild(path, CoordPaths.HOSTS)) {
                return HOST;
            } else if (CoordPaths.isChild(path, CoordPaths.REQUESTS)) {
                return REQUEST;
            }
            return VM;
        }
    }

    private final LongAdder[][] counts = new LongAdder[Kind.values().length][Refusal.values().length];

    public RecordRefusals() {
        for (LongAdder[] byReason : counts) {
            for (int i = 0; i < byReason.length; i++) {
                byReason[i] = new LongAdder();
            }
        }
    }

    /** How many records of {@code kind} were refused for {@code reason} since the daemon started. */
    public long count(Kind kind, Refusal reason) {
        return counts[kind.ordinal()][reason.ordinal()].sum();
    }

    /** Counts and logs one refused version of the record at {@code path}; {@code kept} says what the node keeps. */
    void refused(String host, String path, int version, Refusal reason, String kept) {
        counts[Kind.of(path).ordinal()][reason.ordinal()].increment();
        log.error("{}: refusing {} at version {}: {}; {}", host, path, version, why(reason), kept);
    }

    private static String why(Refusal reason) {
        return switch (reason) {
            case UNSIGNED -> "it carries no seal of the cluster key, so no cluster member wrote it (written outside "
                    + "havn, or left unsigned by an upgrade: see 'havnd --sign-records' in SECURITY.md)";
            case BAD_SEAL -> "its seal does not match (forged, moved from another path, an older record written "
                    + "back, or sealed with another cluster key)";
        };
    }
}
