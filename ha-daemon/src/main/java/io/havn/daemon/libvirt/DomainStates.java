package io.havn.daemon.libvirt;

import io.havn.common.port.DomainState;
import org.libvirt.DomainInfo;

/** How libvirt's domain states and reasons read in the port's terms. Pure functions. */
final class DomainStates {
    private DomainStates() {
    }

    /**
     * The state of an <em>active</em> domain (one {@code listDomains} returns). {@code null} is a
     * state libvirt-java 0.5.2 cannot name (pmsuspended makes its {@code getInfo} throw).
     * An active domain is never SHUTOFF here unless libvirt says so: while it shuts down
     * (SHUTDOWN), has no state (NOSTATE) or sleeps (pmsuspended) it still holds its disks, so it
     * reads RUNNING; the node must not think it gone before it is.
     */
    static DomainState ofActive(DomainInfo.DomainState s) {
        if (s == null) {
            return DomainState.RUNNING;
        }
        return switch (s) {
            case VIR_DOMAIN_PAUSED -> DomainState.PAUSED;
            case VIR_DOMAIN_CRASHED -> DomainState.CRASHED;
            case VIR_DOMAIN_SHUTOFF -> DomainState.SHUTOFF;
            case VIR_DOMAIN_RUNNING, VIR_DOMAIN_BLOCKED, VIR_DOMAIN_SHUTDOWN, VIR_DOMAIN_NOSTATE -> DomainState.RUNNING;
        };
    }

    /**
     * The state of an active domain whose libvirt state is {@code s} and, when it is paused, whose
     * paused reason is {@code pausedReason}: a pause on a disk I/O error is {@code PAUSED_STORAGE},
     * any other pause (the user's, a migration's, no reason known) {@code PAUSED}.
     */
    static DomainState ofActive(DomainInfo.DomainState s, int pausedReason) {
        DomainState state = ofActive(s);
        return state == DomainState.PAUSED ? ofPaused(pausedReason) : state;
    }

    /** A paused domain's state by its paused reason: {@code PAUSED_STORAGE} on a disk I/O error. */
    static DomainState ofPaused(int pausedReason) {
        return pausedReason == StateReasons.PAUSED_IOERROR ? DomainState.PAUSED_STORAGE : DomainState.PAUSED;
    }

    /**
     * Whether a paused domain's reason says an incoming migration has not finished yet: libvirt
     * starts the destination paused for MIGRATION (or STARTING_UP) and, with VIR_MIGRATE_PAUSED,
     * leaves it paused for USER once the migration has finished.
     */
    static boolean migrationInProgress(int pausedReason) {
        return pausedReason == StateReasons.PAUSED_MIGRATION
                || pausedReason == StateReasons.PAUSED_STARTING_UP
                || pausedReason == StateReasons.PAUSED_POSTCOPY
                || pausedReason == StateReasons.PAUSED_POSTCOPY_FAILED;
    }

    /** Why an active domain havn did not pause is paused, for {@code DomainChanged.cause}. */
    static String pauseCause(int pausedReason) {
        return switch (pausedReason) {
            case StateReasons.PAUSED_USER -> "paused outside havn";
            case StateReasons.PAUSED_IOERROR -> "paused on a disk I/O error";
            case StateReasons.PAUSED_WATCHDOG -> "paused by the guest's watchdog device";
            case StateReasons.PAUSED_MIGRATION -> "paused for a migration";
            case StateReasons.PAUSED_SAVE, StateReasons.PAUSED_DUMP, StateReasons.PAUSED_SNAPSHOT ->
                    "paused while libvirt saves, dumps or snapshots it";
            case StateReasons.UNKNOWN -> "paused (libvirt gives no reason)";
            default -> "paused (libvirt's reason " + pausedReason + ")";
        };
    }

    /** The state of a domain that is no longer active, from its shutoff reason. */
    static DomainState ofStopped(int shutoffReason) {
        return shutoffReason == StateReasons.SHUTOFF_CRASHED ? DomainState.CRASHED : DomainState.SHUTOFF;
    }

    /** Why a domain the node did not stop is no longer active, for {@code DomainChanged.cause}. */
    static String stopCause(int shutoffReason) {
        return switch (shutoffReason) {
            case StateReasons.SHUTOFF_SHUTDOWN -> "shut down from inside the guest";
            case StateReasons.SHUTOFF_DESTROYED -> "destroyed outside havn";
            case StateReasons.SHUTOFF_CRASHED -> "guest crashed";
            case StateReasons.SHUTOFF_MIGRATED -> "migrated away outside havn";
            case StateReasons.SHUTOFF_SAVED -> "saved to a file outside havn";
            case StateReasons.SHUTOFF_FAILED -> "failed";
            case StateReasons.SHUTOFF_FROM_SNAPSHOT -> "reverted to a snapshot";
            case StateReasons.SHUTOFF_DAEMON -> "stopped by libvirtd";
            default -> "stopped (libvirt gives no reason)";
        };
    }
}
