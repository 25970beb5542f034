package io.havn.common.node;

import java.util.Locale;

/**
 * What an operator may ask, each role including the ones before it: {@code READ_ONLY} looks,
 * {@code OPERATOR} moves and stops VMs and drains hosts, {@code ADMIN} may also lose data or run
 * arbitrary things (put a VM under HA, confirm a host powered off). {@link AdminCommand#role()}
 * names the role each command needs.
 */
public enum Role {
    READ_ONLY, OPERATOR, ADMIN;

    /** Whether this role may do what {@code needed} may. */
    public boolean covers(Role needed) {
        return compareTo(needed) >= 0;
    }

    /** The config and message spelling: read-only, operator, admin. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The role spelled {@code label}; an IllegalArgumentException names the known ones. */
    public static Role parse(String label) {
        for (Role r : values()) {
            if (r.label().equals(label)) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown role '" + label + "' (known: read-only, operator, admin)");
    }

    @Override
    public String toString() {
        return label();
    }
}
