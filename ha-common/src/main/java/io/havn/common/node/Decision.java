package io.havn.common.node;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;

/**
 * One decision of a node, for the log, the simulator's timeline and metrics.
 *
 * @param atNanos  the node's clock
 * @param host     the host that decided
 * @param kind     what was decided
 * @param vm       the VM concerned, or null
 * @param subject  the other host concerned (fenced, target, placed on), or null
 * @param epoch    the epoch the deciding node knew
 * @param detail   why, in words
 */
public record Decision(long atNanos, HostId host, Kind kind, VmId vm, HostId subject, long epoch, String detail) {

    public enum Kind {
        LEADER_ELECTED, LEADER_LOST, SESSION_STARTED, SESSION_ENDED, READY,
        SUSPECT, UNSUSPECT, FENCE_START, FENCE_OFF, FENCE_FAILED, ALARM,
        LEASE_LAPSED, FREEZE, SELF_FENCE, SELF_FENCE_DONE,
        ADOPT, REBIND, REBIND_FAILED, DESTROY_UNOWNED,
        PLACE, RECOVERING, ERROR, CLAIM, CLAIM_FAILED, START, START_FAILED, RESUME, RESTART_LOCAL, NOT_RUNNING,
        MIGRATE, MIGRATED, MIGRATE_FAILED, HANDOVER, RELOCATE, RELEASE, STOP, STOPPED,
        MAINTENANCE, DRAIN_BLOCKED, ADMIN
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder().append(host).append(' ').append(kind);
        if (vm != null) {
            b.append(" vm=").append(vm);
        }
        if (subject != null) {
            b.append(" host=").append(subject);
        }
        b.append(" epoch=").append(epoch);
        if (detail != null && !detail.isEmpty()) {
            b.append(": ").append(detail);
        }
        return b.toString();
    }
}
