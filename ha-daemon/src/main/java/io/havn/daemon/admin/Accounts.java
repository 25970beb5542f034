package io.havn.daemon.admin;

import java.util.Set;

/** What the host's user database says of a user: its uid and the names of its groups. */
interface Accounts {
    /** The uid of {@code user}, or -1 when the host knows no such user. */
    long uid(String user);

    /** The names of every group of {@code user}, its primary group included; empty when unknown. */
    Set<String> groups(String user);
}
