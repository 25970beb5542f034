package io.havn.daemon.demo;

import io.havn.common.node.Settings;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The timings of a demo run and how long each step may take. The daemons get a short ZooKeeper
 * session and a lease and watchdog that fit in it (the node checks F + W &lt; T), so that a failover
 * takes seconds; the bounds are generous, for a busy machine.
 *
 * @param sessionTimeoutMs  the daemons' ZooKeeper session timeout
 * @param overrides         the daemons' {@code settings:} section
 * @param startBound        from the start of the daemons to every one of them ready
 * @param failoverBound     from the kill to every VM of the killed host running again
 */
record Profile(String name, int sessionTimeoutMs, Map<String, Long> overrides, Duration startBound,
               Duration failoverBound) {

    /** What a person watching sees: a 6 s session, failure detection in about a second. */
    static final Profile NORMAL = new Profile("normal", 6_000,
            ordered("leaseMs", 3_000, "watchdogMs", 1_500, "suspectAfterMs", 1_000, "graceMs", 500),
            Duration.ofSeconds(90), Duration.ofSeconds(60));

    /** The smallest timings that stay safe on a busy CI machine (those of the three-daemon test). */
    static final Profile QUICK = new Profile("quick", 4_000,
            ordered("leaseMs", 2_000, "watchdogMs", 1_000, "suspectAfterMs", 1_000, "graceMs", 500),
            Duration.ofSeconds(45), Duration.ofSeconds(30));

    private static Map<String, Long> ordered(Object... kv) {
        Map<String, Long> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], ((Integer) kv[i + 1]).longValue());
        }
        return m;
    }

    /** The node's settings these give, checked by the node's own rules. */
    Settings settings() {
        Map<String, Object> all = new LinkedHashMap<>(overrides);
        all.put("sessionTimeoutMs", sessionTimeoutMs);
        return Settings.defaults().with(all);
    }

    /** How long a strict majority must have been healthy before the leader fences or restarts anything. */
    Duration settle() {
        return Duration.ofMillis(settings().settleMs());
    }

    /** The {@code settings:} line of a daemon's config. */
    String settingsYaml() {
        return "settings: {" + overrides.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue())
                .collect(Collectors.joining(", ")) + "}";
    }
}
