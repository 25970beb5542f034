package io.havn.common.port;

import io.havn.common.node.AdminReply;

/** Where the node sends the answer to an admin request, by the request's id. */
@FunctionalInterface
public interface AdminReplies {
    void reply(long requestId, AdminReply reply);
}
