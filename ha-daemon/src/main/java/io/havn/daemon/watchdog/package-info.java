/**
 * The hardware watchdog (rule 3 of DESIGN.md): the daemon's {@link io.havn.daemon.watchdog.WatchdogPublisher},
 * behind the {@link io.havn.common.port.Watchdog} port, publishes until when this host may keep its
 * HA VMs to a state file (default {@code /run/havn/watchdog.state}); the separate process
 * {@link io.havn.daemon.watchdog.WatchdogPetter} pets {@code /dev/watchdog} while that state allows,
 * so a hung daemon or kernel resets the machine, and a daemon restart shorter than the lease does not.
 *
 * <p>Both sides compare CLOCK_MONOTONIC nanoseconds, which is {@link java.lang.System#nanoTime()} on
 * Linux and one clock for every process of a boot; the file carries the boot id so that a deadline is
 * never compared with another boot's clock. Deployment: the state directory must outlive a daemon
 * restart (with systemd, {@code RuntimeDirectoryPreserve=yes} or a directory owned by the petter's
 * unit); the petter's unit restarts it at once ({@code Restart=always}); the hardware timeout W is
 * set on the device (the petter does not set it) and the petter's interval stays well below it.
 */
package io.havn.daemon.watchdog;
