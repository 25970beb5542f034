package io.havn.daemon.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.port.DomainState;
import org.junit.jupiter.api.Test;
import org.libvirt.DomainInfo;

class DomainStatesTest {
    @Test
    void activeStatesReadAsThePortsStates() {
        assertEquals(DomainState.RUNNING, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_RUNNING));
        assertEquals(DomainState.RUNNING, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_BLOCKED));
        assertEquals(DomainState.PAUSED, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_PAUSED));
        assertEquals(DomainState.CRASHED, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_CRASHED));
        assertEquals(DomainState.SHUTOFF, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_SHUTOFF));
    }

    @Test
    void anActiveDomainThatStillHoldsItsDisksIsNeverReadAsShutOff() {
        assertEquals(DomainState.RUNNING, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_SHUTDOWN),
                "shutting down");
        assertEquals(DomainState.RUNNING, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_NOSTATE),
                "no state");
        assertEquals(DomainState.RUNNING, DomainStates.ofActive(null), "a state libvirt-java cannot name");
    }

    @Test
    void aPauseOnADiskErrorIsAPauseOnTheStorageAndNoOtherIs() {
        assertEquals(DomainState.PAUSED_STORAGE, DomainStates.ofPaused(StateReasons.PAUSED_IOERROR));
        for (int reason : new int[] {StateReasons.PAUSED_USER, StateReasons.PAUSED_MIGRATION, StateReasons.PAUSED_SAVE,
                StateReasons.PAUSED_WATCHDOG, StateReasons.PAUSED_SNAPSHOT, StateReasons.PAUSED_STARTING_UP,
                StateReasons.PAUSED_POSTCOPY, StateReasons.UNKNOWN, 0, 14}) {
            assertEquals(DomainState.PAUSED, DomainStates.ofPaused(reason), "paused reason " + reason);
        }
    }

    @Test
    void anActiveDomainIsPausedOnItsStorageOnlyWhenPausedForADiskError() {
        assertEquals(DomainState.PAUSED_STORAGE, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_PAUSED,
                StateReasons.PAUSED_IOERROR));
        assertEquals(DomainState.PAUSED, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_PAUSED,
                StateReasons.PAUSED_USER));
        assertEquals(DomainState.RUNNING, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_RUNNING,
                StateReasons.PAUSED_IOERROR), "a reason of another state means nothing");
        assertEquals(DomainState.CRASHED, DomainStates.ofActive(DomainInfo.DomainState.VIR_DOMAIN_CRASHED,
                StateReasons.UNKNOWN));
    }

    @Test
    void anIncomingMigrationIsUnderWayUntilLibvirtPausesItForTheUser() {
        assertTrue(DomainStates.migrationInProgress(StateReasons.PAUSED_MIGRATION));
        assertTrue(DomainStates.migrationInProgress(StateReasons.PAUSED_STARTING_UP));
        assertTrue(DomainStates.migrationInProgress(StateReasons.PAUSED_POSTCOPY));
        assertFalse(DomainStates.migrationInProgress(StateReasons.PAUSED_USER), "finished with VIR_MIGRATE_PAUSED");
        assertFalse(DomainStates.migrationInProgress(StateReasons.UNKNOWN), "no reason known");
    }

    @Test
    void aPauseSaysLibvirtsReason() {
        assertEquals("paused outside havn", DomainStates.pauseCause(StateReasons.PAUSED_USER));
        assertEquals("paused on a disk I/O error", DomainStates.pauseCause(StateReasons.PAUSED_IOERROR));
        assertEquals("paused (libvirt gives no reason)", DomainStates.pauseCause(StateReasons.UNKNOWN));
        assertEquals("paused (libvirt's reason 14)", DomainStates.pauseCause(14), "one this adapter has no words for");
    }

    @Test
    void aStopReadsAsACrashOnlyWhenLibvirtSaysCrashed() {
        assertEquals(DomainState.CRASHED, DomainStates.ofStopped(StateReasons.SHUTOFF_CRASHED));
        assertEquals(DomainState.SHUTOFF, DomainStates.ofStopped(StateReasons.SHUTOFF_SHUTDOWN));
        assertEquals(DomainState.SHUTOFF, DomainStates.ofStopped(StateReasons.UNKNOWN));
        assertEquals("destroyed outside havn", DomainStates.stopCause(StateReasons.SHUTOFF_DESTROYED));
        assertEquals("stopped (libvirt gives no reason)", DomainStates.stopCause(StateReasons.UNKNOWN));
    }
}
