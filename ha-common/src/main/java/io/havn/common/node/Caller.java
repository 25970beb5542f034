package io.havn.common.node;

import java.util.Objects;

/**
 * Who sent an admin request, as the daemon found out from the socket's peer credentials, and the
 * role the daemon's config gives them. The node refuses what the role does not cover.
 *
 * @param user  the peer's user name (its uid in digits when the host knows no name for it)
 * @param uid   the peer's uid, or -1 when unknown
 * @param role  the role the config maps the user or one of its groups to
 */
public record Caller(String user, long uid, Role role) {
    /** root, and whoever the simulator and the tests act as. */
    public static final Caller ROOT = new Caller("root", 0, Role.ADMIN);

    public Caller {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(role, "role");
    }
}
