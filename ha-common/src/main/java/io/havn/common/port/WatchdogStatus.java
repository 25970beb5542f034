package io.havn.common.port;

import java.util.Optional;
import java.util.OptionalLong;

/**
 * What the node may ask the {@link Watchdog} (its inputs); what it tells the watchdog travels as
 * {@link io.havn.common.node.Effect}s.
 */
public interface WatchdogStatus {
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
