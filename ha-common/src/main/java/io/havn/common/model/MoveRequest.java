package io.havn.common.model;

import java.util.Objects;

/** An operator's request to move a VM to a host: live (migration) or cold (stop, then start there). */
public record MoveRequest(HostId host, boolean live) {
    public MoveRequest {
        Objects.requireNonNull(host, "host");
    }
}
