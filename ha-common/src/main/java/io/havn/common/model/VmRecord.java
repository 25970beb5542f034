package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.List;
import java.util.Objects;

/**
 * The cluster's one record of an HA VM (znode {@code vms/<uuid>}). A host may run the VM only
 * while this record names it and its current session as owner (or as migration target, for the
 * hand-over), and its lease is valid.
 *
 * @param owner          the host that runs it (or was placed to run it); null when nobody does
 * @param ownerSession   the owner's coordination session the ownership is bound to
 * @param generation     grows each time the leader places the VM afresh
 * @param target         the destination of a live migration in flight, or null
 * @param targetSession  the target's session the migration is bound to
 * @param move           an operator's pending move request, or null
 * @param startFailures  failed starts on the current owner since it was placed there
 * @param failedHosts    hosts where starting it failed for good, oldest first
 * @param reason         why it is in its phase (error, recovering, failures), or null
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record VmRecord(VmSpec spec, DesiredState desired, VmPhase phase, HostId owner, long ownerSession,
                       long generation, HostId target, long targetSession, MoveRequest move,
                       int startFailures, List<HostId> failedHosts, String reason) {
    public VmRecord {
        Objects.requireNonNull(spec, "spec");
        Objects.requireNonNull(desired, "desired");
        Objects.requireNonNull(phase, "phase");
        failedHosts = failedHosts == null ? List.of() : List.copyOf(failedHosts);
        if (phase.holdsCapacity() && owner == null) {
            throw new IllegalArgumentException("VM " + spec.id() + " in phase " + phase + " needs an owner");
        }
        if (phase == VmPhase.MIGRATING && target == null) {
            throw new IllegalArgumentException("VM " + spec.id() + " migrating needs a target");
        }
    }

    /** A new record for a VM that runs now on {@code host} in {@code session}. */
    public static VmRecord running(VmSpec spec, HostId host, long session) {
        return new VmRecord(spec, DesiredState.RUNNING, VmPhase.RUNNING, host, session, 1, null, 0, null, 0,
                List.of(), null);
    }

    @JsonIgnore
    public VmId id() {
        return spec.id();
    }

    /** Whether this record names {@code host} in {@code session} as owner or migration target. */
    public boolean names(HostId host, long session) {
        return (host.equals(owner) && ownerSession == session) || (host.equals(target) && targetSession == session);
    }

    public boolean namesHost(HostId host) {
        return host.equals(owner) || host.equals(target);
    }

    public VmRecord withPhase(VmPhase p, String why) {
        return new VmRecord(spec, desired, p, owner, ownerSession, generation, target, targetSession, move,
                startFailures, failedHosts, why);
    }

    public VmRecord withOwnerSession(long session) {
        return new VmRecord(spec, desired, phase, owner, session, generation, target, targetSession, move,
                startFailures, failedHosts, reason);
    }

    public VmRecord withTargetSession(long session) {
        return new VmRecord(spec, desired, phase, owner, ownerSession, generation, target, session, move,
                startFailures, failedHosts, reason);
    }

    /** The leader's placement: a new generation on {@code host}, no migration, no reason. */
    public VmRecord placedOn(HostId host, long session, int failures, List<HostId> failed) {
        return new VmRecord(spec, desired, VmPhase.PLACED, host, session, generation + 1, null, 0, move,
                failures, failed, null);
    }

    /** Nobody owns it; {@code p} says why (recovering, error, stopped). */
    public VmRecord unowned(VmPhase p, String why) {
        return new VmRecord(spec, desired, p, null, 0, generation, null, 0, move, startFailures, failedHosts, why);
    }

    public VmRecord migratingTo(HostId host, long session) {
        return new VmRecord(spec, desired, VmPhase.MIGRATING, owner, ownerSession, generation, host, session, move,
                startFailures, failedHosts, null);
    }

    /** The target's claim at the end of a live migration: it becomes the owner. */
    public VmRecord handedOverTo(HostId host, long session) {
        return new VmRecord(spec, desired, VmPhase.RUNNING, host, session, generation, null, 0, move, 0,
                List.of(), null);
    }

    /** Back to running on the owner, with no migration in flight. */
    public VmRecord migrationAborted(String why) {
        return new VmRecord(spec, desired, VmPhase.RUNNING, owner, ownerSession, generation, null, 0, move,
                startFailures, failedHosts, why);
    }

    /** The owner's report that starting it failed; counts the failure on this owner. */
    public VmRecord startFailed(String why) {
        return new VmRecord(spec, desired, VmPhase.START_FAILED, owner, ownerSession, generation, null, 0, move,
                startFailures + 1, failedHosts, why);
    }

    public VmRecord withMove(MoveRequest m) {
        return new VmRecord(spec, desired, phase, owner, ownerSession, generation, target, targetSession, m,
                startFailures, failedHosts, reason);
    }

    public VmRecord withDesired(DesiredState d) {
        return new VmRecord(spec, d, phase, owner, ownerSession, generation, target, targetSession, move,
                startFailures, failedHosts, reason);
    }

    public VmRecord withSpec(VmSpec s) {
        return new VmRecord(s, desired, phase, owner, ownerSession, generation, target, targetSession, move,
                startFailures, failedHosts, reason);
    }
}
