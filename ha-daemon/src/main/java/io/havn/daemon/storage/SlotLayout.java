package io.havn.daemon.storage;

import io.havn.common.model.HostId;
import java.util.List;
import java.util.Objects;

/**
 * Where each host's record lies on a datastore: one {@value #SLOT_BYTES}-byte slot per member,
 * from offset 0, in the order of the members' names; this host's slot is its place among them.
 * Every host must list the same members, or two of them write the same slot (the heartbeat says so
 * in its log: a slot holds another host's record than the one it expects).
 *
 * @param members the cluster's members, sorted by name
 * @param self    this host's index in {@code members}
 */
record SlotLayout(List<HostId> members, int self) {
    /** One slot: a whole 4 KiB block, so that no write of one host touches a block of another. */
    static final int SLOT_BYTES = 4096;

    SlotLayout {
        members = List.copyOf(members);
        if (self < 0 || self >= members.size()) {
            throw new IllegalArgumentException("self " + self + " is not one of " + members.size() + " members");
        }
        for (int i = 1; i < members.size(); i++) {
            if (members.get(i - 1).compareTo(members.get(i)) >= 0) {
                throw new IllegalArgumentException("members must be sorted by name, each once: " + members);
            }
        }
    }

    /** The layout of {@code members} (in any order; this host among them or not) as {@code host} sees it. */
    static SlotLayout of(List<HostId> members, HostId host) {
        Objects.requireNonNull(host, "host");
        java.util.TreeSet<HostId> all = new java.util.TreeSet<>(members);
        all.add(host);
        List<HostId> sorted = List.copyOf(all);
        return new SlotLayout(sorted, sorted.indexOf(host));
    }

    int slots() {
        return members.size();
    }

    /** The bytes of the whole slot area. */
    int areaBytes() {
        return members.size() * SLOT_BYTES;
    }

    /** Where slot {@code slot} begins. */
    long offset(int slot) {
        return (long) slot * SLOT_BYTES;
    }

    HostId host() {
        return members.get(self);
    }
}
