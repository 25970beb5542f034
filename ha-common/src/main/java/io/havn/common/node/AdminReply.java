package io.havn.common.node;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.havn.common.model.ClusterState;

/**
 * The answer to an admin request: {@code ok}, or an error with a stable {@code code} and a message
 * naming what is wrong. A refused request changed nothing.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record AdminReply(boolean ok, String code, String message, ClusterState state) {
    public static AdminReply ok(String message) {
        return new AdminReply(true, null, message, null);
    }

    public static AdminReply state(ClusterState state) {
        return new AdminReply(true, null, null, state);
    }

    public static AdminReply error(String code, String message) {
        return new AdminReply(false, code, message, null);
    }
}
