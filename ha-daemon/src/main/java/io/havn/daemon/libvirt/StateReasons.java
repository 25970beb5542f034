package io.havn.daemon.libvirt;

import com.sun.jna.Native;
import com.sun.jna.ptr.IntByReference;
import io.havn.common.model.VmId;
import org.libvirt.jna.ConnectionPointer;
import org.libvirt.jna.DomainPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Why a domain is in its state ({@code virDomainGetState}'s reason), which libvirt-java 0.5.2 does
 * not expose: it tells an incoming migration still in progress from one completed, and a crash from
 * a shutdown. Best effort: {@link #UNKNOWN} when the domain is gone, the connection is closed or
 * the binding could not load; callers treat that as "no reason known".
 */
final class StateReasons {
    private static final Logger LOG = LoggerFactory.getLogger(StateReasons.class);

    /** No reason is known. */
    static final int UNKNOWN = -1;

    // virDomainState (libvirt-domain.h)
    static final int STATE_PAUSED = 3;
    static final int STATE_SHUTOFF = 5;

    // virDomainPausedReason
    static final int PAUSED_USER = 1;
    static final int PAUSED_MIGRATION = 2;
    static final int PAUSED_SAVE = 3;
    static final int PAUSED_DUMP = 4;
    static final int PAUSED_IOERROR = 5;
    static final int PAUSED_WATCHDOG = 6;
    static final int PAUSED_SNAPSHOT = 9;
    static final int PAUSED_STARTING_UP = 11;
    static final int PAUSED_POSTCOPY = 12;
    static final int PAUSED_POSTCOPY_FAILED = 13;

    // virDomainShutoffReason
    static final int SHUTOFF_UNKNOWN = 0;
    static final int SHUTOFF_SHUTDOWN = 1;
    static final int SHUTOFF_DESTROYED = 2;
    static final int SHUTOFF_CRASHED = 3;
    static final int SHUTOFF_MIGRATED = 4;
    static final int SHUTOFF_SAVED = 5;
    static final int SHUTOFF_FAILED = 6;
    static final int SHUTOFF_FROM_SNAPSHOT = 7;
    static final int SHUTOFF_DAEMON = 8;

    /** The three libvirt functions this needs, bound straight to libvirt.so. */
    private interface Lib extends com.sun.jna.Library {
        DomainPointer virDomainLookupByUUIDString(ConnectionPointer conn, String uuid);

        int virDomainGetState(DomainPointer dom, IntByReference state, IntByReference reason, int flags);

        int virDomainFree(DomainPointer dom);
    }

    private static final Lib LIB = load();

    private StateReasons() {
    }

    private static Lib load() {
        try {
            return Native.load("virt", Lib.class);
        } catch (LinkageError e) {
            LOG.warn("cannot bind virDomainGetState ({}); state reasons stay unknown: an incoming migration "
                    + "is reported once its domain is paused, whatever the reason", e.toString());
            return null;
        }
    }

    /**
     * The reason of {@code vm}'s state, if its state is {@code expectedState} (a virDomainState);
     * {@link #UNKNOWN} otherwise or on any failure.
     */
    static int reason(NativeConnect conn, VmId vm, int expectedState) {
        ConnectionPointer cp = conn.pointer();
        if (LIB == null || cp == null) {
            return UNKNOWN;
        }
        DomainPointer dom = LIB.virDomainLookupByUUIDString(cp, vm.value());
        if (dom == null) {
            return UNKNOWN;
        }
        try {
            IntByReference state = new IntByReference();
            IntByReference reason = new IntByReference();
            if (LIB.virDomainGetState(dom, state, reason, 0) < 0 || state.getValue() != expectedState) {
                return UNKNOWN;
            }
            return reason.getValue();
        } finally {
            LIB.virDomainFree(dom);
        }
    }
}
