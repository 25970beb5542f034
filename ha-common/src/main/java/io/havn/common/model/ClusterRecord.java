package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * The settings that hold for the whole cluster (znode {@code cluster}), written by the leader under
 * its epoch like every operator's change, so they survive a change of leader.
 *
 * @param generation      counts every disarm and every arm; 0 while the cluster was never disarmed.
 *                        A host acknowledges each arm in its own record ({@link HostRecord#armed()}):
 *                        until it has, in a session, that session's expiry proves nothing
 * @param disarmed        how the cluster is disarmed, or null while it is armed
 * @param shutdownPolicy  what a host does with its HA VMs when it is shut down cleanly (null: migrate)
 * @param placement       the operators' placement rules, host groups and admission control (never
 *                        null: empty while none is set)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ClusterRecord(long generation, Disarm disarmed, ShutdownPolicy shutdownPolicy,
                            @JsonInclude(JsonInclude.Include.NON_DEFAULT) PlacementPolicy placement) {
    /** What a disarmed host does with its watchdog. Either way it self-fences on nothing. */
    public enum Disarm {
        /**
         * The watchdog stays armed, a lease length ahead, for as long as the daemon runs: a host
         * whose daemon hangs or dies is still reset; a lost coordination service resets nobody.
         */
        @JsonProperty("keep-watchdogs") KEEP_WATCHDOGS,
        /** The watchdog is released: nothing resets the host, whatever happens to its daemon. */
        @JsonProperty("release-watchdogs") RELEASE_WATCHDOGS;

        public String word() {
            return this == KEEP_WATCHDOGS ? "keep" : "release";
        }
    }

    /** The record of a cluster that was never disarmed and has no setting. */
    public static final ClusterRecord DEFAULT = new ClusterRecord(0, null, null, null);

    public ClusterRecord {
        placement = placement == null ? PlacementPolicy.EMPTY : placement;
        if (generation < 0) {
            throw new IllegalArgumentException("generation must be >= 0, got " + generation);
        }
        if (disarmed != null && generation == 0) {
            throw new IllegalArgumentException("a disarmed cluster has a generation above 0");
        }
    }

    public boolean armed() {
        return disarmed == null;
    }

    /** The shutdown policy in force (migrate unless set). */
    public ShutdownPolicy shutdownPolicyOrDefault() {
        return shutdownPolicy == null ? ShutdownPolicy.MIGRATE : shutdownPolicy;
    }

    /** Disarmed in {@code mode}: the next generation. */
    public ClusterRecord disarm(Disarm mode) {
        return new ClusterRecord(generation + 1, java.util.Objects.requireNonNull(mode, "mode"), shutdownPolicy, placement);
    }

    /** Armed again: the next generation. */
    public ClusterRecord arm() {
        return new ClusterRecord(generation + 1, null, shutdownPolicy, placement);
    }

    public ClusterRecord withShutdownPolicy(ShutdownPolicy p) {
        return new ClusterRecord(generation, disarmed, p, placement);
    }

    public ClusterRecord withPlacement(PlacementPolicy p) {
        return new ClusterRecord(generation, disarmed, shutdownPolicy, p);
    }

    /** A cluster record as earlier versions wrote it, without a placement policy. */
    public ClusterRecord(long generation, Disarm disarmed, ShutdownPolicy shutdownPolicy) {
        this(generation, disarmed, shutdownPolicy, null);
    }
}
