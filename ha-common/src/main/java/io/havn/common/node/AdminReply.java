package io.havn.common.node;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.place.Admission;
import io.havn.common.place.WhatIf;
import java.util.List;

/**
 * The answer to an admin request: {@code ok}, or an error with a stable {@code code} and a message
 * naming what is wrong. A refused request changed nothing. A status answer carries the answering
 * host's view of the cluster state and of its peers' heartbeats, and how many host failures that
 * state can absorb ({@code admission}); a what-if answer carries its report ({@code whatIf}). A
 * status answer from a host that keeps only its own VM records says so in {@code partialView}: its
 * state holds every host but only that host's VMs.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AdminReply(boolean ok, String code, String message, ClusterState state, HostId from,
                         List<PeerStat> peers, WhatIf.Report whatIf, Admission.Report admission, String partialView) {
    public AdminReply {
        peers = peers == null ? null : List.copyOf(peers);
    }

    /** An answer from a host that keeps every VM record. */
    public AdminReply(boolean ok, String code, String message, ClusterState state, HostId from,
                      List<PeerStat> peers, WhatIf.Report whatIf, Admission.Report admission) {
        this(ok, code, message, state, from, peers, whatIf, admission, null);
    }

    /** An answer without a what-if report or an admission assessment. */
    public AdminReply(boolean ok, String code, String message, ClusterState state, HostId from, List<PeerStat> peers) {
        this(ok, code, message, state, from, peers, null, null);
    }

    public static AdminReply ok(String message) {
        return new AdminReply(true, null, message, null, null, null);
    }

    public static AdminReply state(ClusterState state, HostId from, List<PeerStat> peers) {
        return new AdminReply(true, null, null, state, from, peers);
    }

    /**
     * A status answer from a host that keeps only its own VM records ({@link io.havn.common.port.ViewScope#OWN}):
     * {@code state} holds every host but only this host's VMs, and {@code note} says so.
     */
    public static AdminReply ownState(ClusterState state, HostId from, List<PeerStat> peers, String note) {
        return new AdminReply(true, null, null, state, from, peers, null, null,
                java.util.Objects.requireNonNull(note, "note"));
    }

    /** Whether this is a status answer that holds only the answering host's VMs (see {@link #ownState}). */
    @com.fasterxml.jackson.annotation.JsonIgnore
    public boolean partial() {
        return partialView != null;
    }

    /** A status answer with how many host failures {@code state} can absorb. */
    public static AdminReply state(ClusterState state, HostId from, List<PeerStat> peers, Admission.Report admission) {
        return new AdminReply(true, null, null, state, from, peers, null, admission);
    }

    /** A what-if answer, worked out by {@code from} from its view. */
    public static AdminReply whatIf(WhatIf.Report report, HostId from) {
        return new AdminReply(true, null, null, null, from, null, report, null);
    }

    public static AdminReply error(String code, String message) {
        return new AdminReply(false, code, message, null, null, null);
    }
}
