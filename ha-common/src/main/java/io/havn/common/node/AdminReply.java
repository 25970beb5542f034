package io.havn.common.node;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import java.util.List;

/**
 * The answer to an admin request: {@code ok}, or an error with a stable {@code code} and a message
 * naming what is wrong. A refused request changed nothing. A status answer carries the answering
 * host's view of the cluster state and of its peers' heartbeats.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AdminReply(boolean ok, String code, String message, ClusterState state, HostId from,
                         List<PeerStat> peers) {
    public AdminReply {
        peers = peers == null ? null : List.copyOf(peers);
    }

    public static AdminReply ok(String message) {
        return new AdminReply(true, null, message, null, null, null);
    }

    public static AdminReply state(ClusterState state, HostId from, List<PeerStat> peers) {
        return new AdminReply(true, null, null, state, from, peers);
    }

    public static AdminReply error(String code, String message) {
        return new AdminReply(false, code, message, null, null, null);
    }
}
