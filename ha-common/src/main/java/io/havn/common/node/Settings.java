package io.havn.common.node;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.havn.common.model.Json;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The timing and policy settings of a node, by their config names. The defaults are DESIGN.md's
 * time budget. {@link #validate()} enforces the safety relation F + W &lt; T with a drift margin.
 *
 * <p>The storage settings: {@code storageIntervalMs}, how often each host writes its storage
 * heartbeat slot on every configured datastore and reads the others'; {@code storageTimeoutMs}, how
 * long a datastore may go without a successful round before this host counts it lost, and how long
 * a peer's storage heartbeat counts after it last advanced; {@code storageResumeRetryMs}, how often a
 * guest paused by a storage error is resumed again while nothing tells whether its storage is back.
 *
 * <p>{@code ownViewFromHosts}: from this many registered hosts on, a host that does not lead keeps
 * only the VM records it needs (those that name it and those of the domains it holds,
 * {@link io.havn.common.port.ViewScope#OWN}); below it, every host keeps them all. 0: never all.
 *
 * <p>{@code monitors}: how many peers each host exchanges heartbeats with (its monitors, chosen by
 * {@link Monitors}); a cluster of at most {@code monitors + 1} hosts heartbeats all to all, as does
 * 0. {@code gossipTimeoutMs}: in a larger cluster, how old (counted conservatively) what a host said
 * of itself may be, passed on from peer to peer, and still count for rule 5; a host nothing newer
 * was heard of is suspected (SAFETY.md, "Monitors and gossiped health"). {@code digestHosts}: the
 * most hosts one heartbeat's digest speaks of; in a larger cluster a round sends every monitor one
 * heartbeat per run of them, so that a heartbeat fits one Ethernet frame (576 by default: at most 1,437 bytes
 * with the longest cluster id and host names; 2,048 sends every digest whole).
 */
public record Settings(
        long tickMs,
        long heartbeatIntervalMs,
        long heartbeatTimeoutMs,
        long confirmIntervalMs,
        long sessionTimeoutMs,
        long leaseMs,
        long watchdogMs,
        long graceMs,
        long suspectAfterMs,
        double phiThreshold,
        int phiWindow,
        long phiMinStdDevMs,
        long phiAcceptablePauseMs,
        int maxRestart,
        int maxRelocate,
        int localRestartLimit,
        long localRestartWindowMs,
        long shutdownTimeoutMs,
        int maxConcurrentMigrations,
        long fenceRetryMs,
        long adminTimeoutMs,
        long relistMs,
        long restartWindowMs,
        long shutdownMigrateMs,
        long storageIntervalMs,
        long storageTimeoutMs,
        long storageResumeRetryMs,
        int ownViewFromHosts,
        int monitors,
        long gossipTimeoutMs,
        int digestHosts) {
    /** The furthest ahead a restart window may keep the watchdog armed: the petter refuses deadlines beyond it. */
    public static final long MAX_RESTART_WINDOW_MS = 300_000;


    /** DESIGN.md's defaults. */
    public static Settings defaults() {
        return new Settings(100, 200, 1000, 500, 10_000, 6_000, 3_000, 1_000, 1_500, 8.0, 100, 100, 1_000,
                1, 2, 2, 600_000, 60_000, 4, 5_000, 10_000, 5_000, 60_000, 600_000, 1_000, 5_000, 5_000, 100,
                8, 2_500, 576);
    }

    /** The clock-rate drift F + W must leave below T: 5% of T, at least 500 ms. */
    @JsonIgnore
    public long driftMarginMs() {
        return Math.max(500, sessionTimeoutMs / 20);
    }

    /** The drift margin for a span of {@code timeoutMs} (a session timeout, a restart window): 5% of it, at least 500 ms. */
    public static long driftMarginMs(long timeoutMs) {
        return Math.max(500, timeoutMs / 20);
    }

    /**
     * The lease a session whose negotiated timeout is {@code negotiatedMs} allows: {@code leaseMs},
     * shortened so that lease + watchdogMs + the drift margin stays below the negotiated timeout; 0
     * when what is left is too short to hold (not above {@code suspectAfterMs}, or less than two
     * confirmation intervals), so the host must run no HA VM.
     */
    public long leaseForSessionMs(long negotiatedMs) {
        long room = negotiatedMs - watchdogMs - driftMarginMs(negotiatedMs);
        long lease = Math.min(leaseMs, room);
        if (lease <= suspectAfterMs || lease < 2 * confirmIntervalMs) {
            return 0;
        }
        return lease;
    }

    /**
     * How long a strict majority must have been healthy before the cluster fences or restarts, while
     * every host heartbeats every other: two heartbeat timeouts plus W. With monitors, see
     * {@link #settleMs(boolean)}.
     */
    @JsonIgnore
    public long settleMs() {
        return 2 * heartbeatTimeoutMs + watchdogMs;
    }

    /**
     * The settle time when health is {@code gossiped} (each host heartbeats only its monitors): two
     * gossip timeouts plus W, since what counts may be that old; otherwise {@link #settleMs()}.
     */
    public long settleMs(boolean gossiped) {
        return gossiped ? 2 * gossipTimeoutMs + watchdogMs : settleMs();
    }

    /** How long what a host said of itself counts for rule 5: a heartbeat timeout, or the gossip timeout when gossiped. */
    public long healthWindowMs(boolean gossiped) {
        return gossiped ? gossipTimeoutMs : heartbeatTimeoutMs;
    }

    /** Returns these settings, or throws IllegalArgumentException naming every bad key. */
    public Settings validate() {
        List<String> errors = new ArrayList<>();
        positive(errors, "tickMs", tickMs);
        positive(errors, "heartbeatIntervalMs", heartbeatIntervalMs);
        positive(errors, "confirmIntervalMs", confirmIntervalMs);
        positive(errors, "sessionTimeoutMs", sessionTimeoutMs);
        positive(errors, "leaseMs", leaseMs);
        positive(errors, "watchdogMs", watchdogMs);
        positive(errors, "suspectAfterMs", suspectAfterMs);
        positive(errors, "phiMinStdDevMs", phiMinStdDevMs);
        positive(errors, "shutdownTimeoutMs", shutdownTimeoutMs);
        positive(errors, "fenceRetryMs", fenceRetryMs);
        positive(errors, "adminTimeoutMs", adminTimeoutMs);
        positive(errors, "localRestartWindowMs", localRestartWindowMs);
        positive(errors, "relistMs", relistMs);
        positive(errors, "maxConcurrentMigrations", maxConcurrentMigrations);
        positive(errors, "phiWindow", phiWindow);
        notNegative(errors, "graceMs", graceMs);
        notNegative(errors, "phiAcceptablePauseMs", phiAcceptablePauseMs);
        notNegative(errors, "maxRestart", maxRestart);
        notNegative(errors, "maxRelocate", maxRelocate);
        notNegative(errors, "localRestartLimit", localRestartLimit);
        notNegative(errors, "restartWindowMs", restartWindowMs);
        notNegative(errors, "shutdownMigrateMs", shutdownMigrateMs);
        notNegative(errors, "ownViewFromHosts", ownViewFromHosts);
        positive(errors, "storageIntervalMs", storageIntervalMs);
        positive(errors, "storageResumeRetryMs", storageResumeRetryMs);
        if (storageTimeoutMs < 2 * storageIntervalMs) {
            errors.add("storageTimeoutMs (" + storageTimeoutMs + ") must be at least twice storageIntervalMs ("
                    + storageIntervalMs + ")");
        }
        if (restartWindowMs > MAX_RESTART_WINDOW_MS) {
            errors.add("restartWindowMs must be at most " + MAX_RESTART_WINDOW_MS + " (the watchdog petter refuses "
                    + "deadlines further ahead), got " + restartWindowMs);
        }
        if (!(phiThreshold > 0)) {
            errors.add("phiThreshold must be > 0, got " + phiThreshold);
        }
        if (heartbeatTimeoutMs <= heartbeatIntervalMs) {
            errors.add("heartbeatTimeoutMs (" + heartbeatTimeoutMs + ") must exceed heartbeatIntervalMs ("
                    + heartbeatIntervalMs + ")");
        }
        if (confirmIntervalMs * 2 > leaseMs) {
            errors.add("confirmIntervalMs (" + confirmIntervalMs + ") must be at most half of leaseMs (" + leaseMs + ")");
        }
        if (suspectAfterMs >= leaseMs) {
            errors.add("suspectAfterMs (" + suspectAfterMs + ") must be below leaseMs (" + leaseMs + ")");
        }
        if (leaseMs + watchdogMs + driftMarginMs() > sessionTimeoutMs) {
            errors.add("leaseMs + watchdogMs (" + (leaseMs + watchdogMs) + ") must stay below sessionTimeoutMs ("
                    + sessionTimeoutMs + ") by the drift margin of " + driftMarginMs()
                    + " ms, or a host could still run a VM after its session expired");
        }
        notNegative(errors, "monitors", monitors);
        if (monitors == 1) {
            errors.add("monitors must be 0 (all to all) or at least 2, got 1");
        }
        if (gossipTimeoutMs < heartbeatTimeoutMs || gossipTimeoutMs > HealthDigest.MAX_AGE_MS) {
            errors.add("gossipTimeoutMs must be between heartbeatTimeoutMs (" + heartbeatTimeoutMs + ") and "
                    + HealthDigest.MAX_AGE_MS + ", got " + gossipTimeoutMs);
        }
        if (digestHosts < 2 || digestHosts > HealthDigest.MAX_HOSTS) {
            errors.add("digestHosts must be between 2 and " + HealthDigest.MAX_HOSTS + ", got " + digestHosts);
        }
        if (tickMs > heartbeatIntervalMs) {
            errors.add("tickMs (" + tickMs + ") must not exceed heartbeatIntervalMs (" + heartbeatIntervalMs + ")");
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException("invalid settings: " + String.join("; ", errors));
        }
        return this;
    }

    /**
     * These settings with {@code overrides} (config name to value) applied and validated. An unknown
     * name or a value of the wrong type is an error naming the key.
     */
    public Settings with(Map<String, ?> overrides) {
        if (overrides == null || overrides.isEmpty()) {
            return validate();
        }
        Map<String, Object> merged = Json.mapper().convertValue(this,
                Json.mapper().getTypeFactory().constructMapType(Map.class, String.class, Object.class));
        for (Map.Entry<String, ?> e : overrides.entrySet()) {
            if (!merged.containsKey(e.getKey())) {
                throw new IllegalArgumentException("unknown setting '" + e.getKey() + "'; known: " + merged.keySet());
            }
            merged.put(e.getKey(), e.getValue());
        }
        try {
            return Json.mapper().convertValue(merged, Settings.class).validate();
        } catch (IllegalArgumentException e) {
            Throwable cause = e.getCause();
            if (cause instanceof UnrecognizedPropertyException u) {
                throw new IllegalArgumentException("unknown setting '" + u.getPropertyName() + "'", e);
            }
            if (cause instanceof JsonMappingException m && !m.getPath().isEmpty()) {
                throw new IllegalArgumentException("invalid value for setting '"
                        + m.getPath().get(0).getFieldName() + "': " + m.getOriginalMessage(), e);
            }
            throw e;
        }
    }

    private static void positive(List<String> errors, String name, long v) {
        if (v <= 0) {
            errors.add(name + " must be > 0, got " + v);
        }
    }

    private static void notNegative(List<String> errors, String name, long v) {
        if (v < 0) {
            errors.add(name + " must be >= 0, got " + v);
        }
    }
}
