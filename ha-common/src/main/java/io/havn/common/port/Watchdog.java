package io.havn.common.port;


/**
 * The hardware watchdog, through the small process that pets it. The node publishes until when
 * the host may keep running its HA VMs; past that deadline the process stops petting and the
 * machine resets. {@link #release} says the host holds no HA VM, so no reset is needed.
 */
public interface Watchdog extends WatchdogStatus {
    /** Keep the machine alive until {@code deadlineNanos} (monotonic, the node's clock). */
    void armUntil(long deadlineNanos);

    /** This host runs no HA VM: nothing to guard. */
    void release();
}
