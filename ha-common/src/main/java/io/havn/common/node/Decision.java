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
 * @param timings  for {@link Kind#RECOVERED}: how long each phase of the failover took; else null
 */
public record Decision(long atNanos, HostId host, Kind kind, VmId vm, HostId subject, long epoch, String detail,
                       Timings timings) {

    public Decision(long atNanos, HostId host, Kind kind, VmId vm, HostId subject, long epoch, String detail) {
        this(atNanos, host, kind, vm, subject, epoch, detail, null);
    }

    /** How the failed host was proven to hold no copy of the VM any more. */
    public enum Proof { FENCE_DEVICE, OPERATOR, SESSION_EXPIRED }

    /**
     * The phases of one VM's failover, as the leader saw them on its own clock. A phase the leader
     * did not see (it was not watching the host then) is -1.
     *
     * @param detectNanos   from the failed host's last heartbeat to the leader's suspicion
     * @param fenceNanos    from the suspicion to the proof that the host holds no copy
     * @param restartNanos  from the proof to the VM claimed by its new host (placement, then the new
     *                      host's claim, after which it starts the guest at once; the guest's own
     *                      start time shows in that host's START decision)
     * @param proof         what the proof was
     */
    public record Timings(long detectNanos, long fenceNanos, long restartNanos, Proof proof) {
        /** The whole failover, from the last heartbeat; -1 if a phase is unknown. */
        public long totalNanos() {
            return detectNanos < 0 || fenceNanos < 0 ? -1 : detectNanos + fenceNanos + restartNanos;
        }
    }

    /**
     * What a node decided. {@link #RULE_BLOCKED}: a VM could not be placed because a hard placement
     * rule excluded every host with room; its detail starts with the rule's id and a colon.
     */
    public enum Kind {
        LEADER_ELECTED, LEADER_LOST, SESSION_STARTED, SESSION_ENDED, READY,
        SUSPECT, UNSUSPECT, HOLD_OFF, FENCE_START, FENCE_OFF, FENCE_FAILED, ALARM,
        LEASE_LAPSED, FREEZE, SELF_FENCE, SELF_FENCE_DONE, RESTART_ANNOUNCED, DISARMED, ARMED, SHUTDOWN, FREEZE_VM,
        ADOPT, REBIND, REBIND_FAILED, DESTROY_UNOWNED,
        PLACE, RECOVERING, ERROR, CLAIM, CLAIM_FAILED, START, START_FAILED, START_RETRY, RESUME, RESTART_LOCAL, NOT_RUNNING,
        MIGRATE, MIGRATED, MIGRATE_FAILED, HANDOVER, RELOCATE, RELEASE, STOP, STOPPED,
        MAINTENANCE, DRAIN_BLOCKED, RULE_BLOCKED, ADMIN, RECOVERED,
        /** A monitored guest's agent missed a ping (detail: misses in a row) or answered again. */
        GUEST_UNHEALTHY, GUEST_HEALTHY,
        /** A monitored guest was reset after its agent missed too many pings. */
        GUEST_RESET,
        /** A guest paused on a disk I/O error, and what its policy does with it. */
        STORAGE_PAUSED,
        /** This host lost a datastore (its storage heartbeat failed for storageTimeoutMs), or reaches it again. */
        STORAGE_LOST, STORAGE_BACK
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
        if (timings != null) {
            b.append(" detect=").append(ms(timings.detectNanos())).append(" fence=").append(ms(timings.fenceNanos()))
                    .append(" restart=").append(ms(timings.restartNanos())).append(" proof=")
                    .append(timings.proof().name().toLowerCase().replace('_', '-'));
        }
        if (detail != null && !detail.isEmpty()) {
            b.append(": ").append(detail);
        }
        return b.toString();
    }

    private static String ms(long nanos) {
        return nanos < 0 ? "?" : (nanos / 1_000_000L) + "ms";
    }
}
