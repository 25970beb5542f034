package io.havn.common.port;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;

/**
 * The local hypervisor (libvirt). Calls return at once; each operation's result comes back as a
 * {@code HypervisorDone} event, the domain list as {@code DomainsListed}, and changes the node did
 * not ask for (a guest crashed, an incoming migration completed, a domain appeared or paused behind
 * havn's back) as {@code DomainChanged}. A call that hangs (dead storage) must end in a failure
 * result marked {@code timedOut} after the adapter's timeout; if the call returns after all, its
 * outcome comes as {@code HypervisorLate}.
 */
public interface Hypervisor {
    /**
     * Lists every domain the hypervisor has, whatever its state and whoever started it (havn, an
     * operator's {@code virsh start}, libvirt autostart); reported by {@code DomainsListed}.
     */
    void list();

    /**
     * Turns libvirt autostart off for the domain, so that the host's next boot starts nothing
     * unclaimed. No result event: the next {@link #list} shows the flag.
     */
    void disableAutostart(VmId vm);

    /** Defines (from the spec's XML, with autostart off) and starts the domain. */
    void start(VmSpec spec);

    /** Resumes a paused domain (the destination copy of a migration). */
    void resume(VmId vm);

    /** Asks the guest to shut down; destroys it if it has not within {@code timeoutMs}. */
    void shutdown(VmId vm, long timeoutMs);

    /** Pulls the plug at once. */
    void destroy(VmId vm);

    /**
     * Live-migrates the domain to {@code target}'s hypervisor and leaves it paused there; the
     * source copy is gone when this succeeds and still running when it fails.
     */
    void migrate(VmId vm, HostId target);

    /**
     * Pings the guest's QEMU agent ({@code guest-ping} over libvirt's agent channel, bounded by the
     * adapter's agent timeout); the answer comes back as {@code AgentPinged}. Changes nothing.
     */
    void pingAgent(VmId vm);

    /** Resets the guest (a hardware reset: the guest boots again in the same domain, on this host). */
    void reset(VmId vm);

    /** The operations whose results come back in {@code HypervisorDone}. */
    enum Op { START, RESUME, SHUTDOWN, DESTROY, MIGRATE, RESET }
}
