package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * What a host does with its HA VMs when the host itself is shut down or rebooted cleanly (its
 * daemon is stopped while the system is stopping). A cluster setting ({@link ClusterRecord}),
 * overridable per host ({@link HostRecord#shutdownPolicy()}).
 */
public enum ShutdownPolicy {
    /** Live-migrate them away first (the default); what cannot move in time fails over. */
    @JsonProperty("migrate") MIGRATE,
    /** Stop them and keep them on this host: they start again here when it returns. */
    @JsonProperty("freeze") FREEZE,
    /** Stop them and restart them elsewhere at once. */
    @JsonProperty("failover") FAILOVER;

    /** The name operators type and read: {@code migrate}, {@code freeze}, {@code failover}. */
    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The policy named {@code word}, or an exception naming the choices. */
    public static ShutdownPolicy of(String word) {
        for (ShutdownPolicy p : values()) {
            if (p.word().equals(word)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown shutdown policy '" + word + "': expected migrate, freeze or failover");
    }
}
