package io.havn.common.port;

/** A libvirt domain's state as the node needs it. */
public enum DomainState {
    RUNNING,
    /** Paused; after an incoming migration this is the copy waiting for the destination's claim. */
    PAUSED,
    SHUTOFF,
    CRASHED
}
