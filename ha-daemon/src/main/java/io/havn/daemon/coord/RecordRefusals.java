package io.havn.daemon.coord;

import io.havn.daemon.coord.RecordSeal.Refusal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The records a coordinator refused because their seal was missing or wrong, counted by kind and
 * reason, each also one ERROR line naming the path. Counts are read from any thread (metrics).
 *
 * <p>It also remembers, across the coordinator's sessions, the paths of the last
 * {@value #REMEMBERED_REQUESTS} requests it saw removed: havn never files two requests under one
 * id, so a request that appears again at such a path is a removed one written back.
 */
public final class RecordRefusals {
    private static final Logger log = LoggerFactory.getLogger(RecordRefusals.class);

    /** What kind of record was refused. */
    public enum Kind {
        HOST, VM, REQUEST, EPOCH, CLUSTER;

        /** The kind of the data node at {@code path} (see {@link CoordPaths#isDataPath}). */
        static Kind of(String path) {
            if (CoordPaths.EPOCH.equals(path)) {
                return EPOCH;
            } else if (CoordPaths.CLUSTER.equals(path)) {
                return CLUSTER;
            } else if (CoordPaths.isChild(path, CoordPaths.HOSTS)) {
                return HOST;
            } else if (CoordPaths.isChild(path, CoordPaths.REQUESTS)) {
                return REQUEST;
            }
            return VM;
        }
    }

    static final int REMEMBERED_REQUESTS = 10_000;

    private final LongAdder[][] counts = new LongAdder[Kind.values().length][Refusal.values().length];
    /** Paths of requests seen removed, oldest first; the coordinator's loop thread only. */
    private final Set<String> removedRequests = Collections.newSetFromMap(new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > REMEMBERED_REQUESTS;
        }
    });

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

    /** How many records were refused, of every kind and for every reason. */
    public long total() {
        long n = 0;
        for (LongAdder[] byReason : counts) {
            for (LongAdder c : byReason) {
                n += c.sum();
            }
        }
        return n;
    }

    /** The request at {@code path} was removed. */
    void requestRemoved(String path) {
        removedRequests.add(path);
    }

    /** Whether a request at {@code path} was seen removed. */
    boolean requestRemovedBefore(String path) {
        return removedRequests.contains(path);
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
            case REPLAYED -> "a request was removed from this path before, and havn never files two under one id: "
                    + "a removed request written back";
        };
    }
}
