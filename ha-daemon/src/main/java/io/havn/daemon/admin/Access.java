package io.havn.daemon.admin;

import io.havn.common.node.Caller;
import io.havn.common.node.Role;
import java.util.Map;
import java.util.Optional;

/**
 * Who may use the admin socket and with what role: root is always admin; anyone else has the
 * highest of the roles the config gives the user (admin.users) and its groups (admin.groups), and
 * no access without one. Groups are looked up on every connection, so a change in the user
 * database counts from the next request on.
 */
public final class Access {
    private final Map<String, Role> users;
    private final Map<String, Role> groups;
    private final Accounts accounts;

    /** Roles from the config, groups from the host's user database. */
    public Access(Map<String, Role> users, Map<String, Role> groups) {
        this(users, groups, new NssAccounts());
    }

    Access(Map<String, Role> users, Map<String, Role> groups, Accounts accounts) {
        this.users = Map.copyOf(users);
        this.groups = Map.copyOf(groups);
        this.accounts = accounts;
    }

    /** The uid of {@code user}, or -1 when the host knows no such user. */
    public long uid(String user) {
        return accounts.uid(user);
    }

    /** The caller {@code user} is, with its role; empty when it has none. */
    public Optional<Caller> caller(String user) {
        long uid = accounts.uid(user);
        if ("root".equals(user) || uid == 0) {
            return Optional.of(new Caller(user, 0, Role.ADMIN));
        }
        Role best = users.get(user);
        if (!groups.isEmpty()) {
            for (String g : accounts.groups(user)) {
                Role r = groups.get(g);
                if (r != null && (best == null || r.covers(best))) {
                    best = r;
                }
            }
        }
        return best == null ? Optional.empty() : Optional.of(new Caller(user, uid, best));
    }
}
