package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * Where a VM stands in its life, as the cluster state records it. Who may write which phase:
 * the leader (epoch-checked) places, migrates, gives up; the owner or target host (checked
 * against its own live session) claims, releases and reports.
 */
public enum VmPhase {
    /** The leader chose the owner; the owner has not claimed it yet. */
    @JsonProperty("placed") PLACED,
    /** The owner claimed it and runs (or is starting) it. */
    @JsonProperty("running") RUNNING,
    /** A live migration from owner to target is in flight. */
    @JsonProperty("migrating") MIGRATING,
    /** The owner shuts it down for a cold relocation to the host its move request names. */
    @JsonProperty("relocating") RELOCATING,
    /** The owner holds no copy any more (after a migration out, a cold relocation or a stop). */
    @JsonProperty("released") RELEASED,
    /** The owner could not start it; the leader retries or relocates. */
    @JsonProperty("start-failed") START_FAILED,
    /** The live owner reports it not running (crashed beyond local restarts, or self-fenced). */
    @JsonProperty("not-running") NOT_RUNNING,
    /** Wanted running, but it fits on no eligible host; placed as soon as capacity appears. */
    @JsonProperty("recovering") RECOVERING,
    /** Stopped on purpose. */
    @JsonProperty("stopped") STOPPED,
    /**
     * The owner stopped it because its host is shutting down with the freeze policy: it starts again
     * on the owner when that returns, and elsewhere only once the owner is recorded off.
     */
    @JsonProperty("frozen") FROZEN,
    /** havn gave up: starts failed on every host it tried. The reason says why. */
    @JsonProperty("error") ERROR;

    /** Whether the VM holds capacity on its owner (and, while migrating, on its target). */
    public boolean holdsCapacity() {
        return this == PLACED || this == RUNNING || this == MIGRATING || this == RELOCATING || this == FROZEN;
    }
}
