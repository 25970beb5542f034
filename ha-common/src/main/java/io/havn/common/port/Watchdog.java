package io.havn.common.port;

import java.util.Optional;
import java.util.OptionalLong;

/**
 * The hardware watchdog, through the small process that pets it. The node publishes until when
 * the host may keep running its HA VMs; past that deadline the process stops petting and the
 * machine resets. {@link #release} says the host holds no HA VM, so no reset is needed.
 */
public interface Watchdog {
    /** Keep the machine alive until {@code deadlineNanos} (monotonic, the node's clock). */
    void armUntil(long deadlineNanos);

    /** This host runs no HA VM: nothing to guard. */
    void release();

    /**
     * The deadline a previous incarnation of the daemon published and that is still in force, if
     * any: a restarted daemon may keep its VMs until then while it re-binds them.
     */
    OptionalLong inheritedDeadline();

    /**
     * Why the watchdog cannot guard this host now (no device, a device timeout longer than the
     * {@code watchdogMs} the safety relation assumes, the petter not running), or empty when it can.
     * While it says a problem, the host holds no lease: it runs no HA VM. Cheap: the node asks on
     * every tick.
     */
    Optional<String> problem();
}
