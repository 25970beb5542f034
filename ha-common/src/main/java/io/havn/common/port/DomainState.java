package io.havn.common.port;

/** A libvirt domain's state as the node needs it. */
public enum DomainState {
    RUNNING,
    /** Paused; after an incoming migration this is the copy waiting for the destination's claim. */
    PAUSED,
    /**
     * Paused by libvirt on a disk I/O error (the storage stopped answering, {@code error_policy='stop'}):
     * the guest waits, untouched, for its storage; what havn does is the VM's
     * {@code StorageErrorPolicy}.
     */
    PAUSED_STORAGE,
    SHUTOFF,
    CRASHED
}
