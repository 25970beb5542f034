package io.havn.common.port;

/**
 * Which VM records a host's coordinator passes on to its node ({@link Coordinator#scope}).
 *
 * <p>A host that neither leads nor is about to needs only the records of the VMs it may run: those
 * that name it, and those of the domains it holds (which it follows, {@link Coordinator#follow}).
 * Keeping every record everywhere costs each host the whole state in memory, and the coordination
 * service one notification per host for every VM write: the fan-out that limits a large cluster.
 */
public enum ViewScope {
    /**
     * Every VM record, as each changes; after each switch to it and at each new session the coordinator
     * says when all of them have been passed on ({@code ViewLoaded}).
     */
    WHOLE,
    /**
     * The VM records that name this host, as owner or as migration target, before or after a change
     * (so a record that stops naming it is passed on once more), and those it follows. Where the
     * coordinator starts.
     */
    OWN
}
