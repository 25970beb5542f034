/**
 * The hardware watchdog (rule 3 of DESIGN.md): the daemon's {@link io.havn.daemon.watchdog.WatchdogPublisher},
 * behind the {@link io.havn.common.port.Watchdog} port, publishes until when this host may keep its
 * HA VMs to a state file (default {@code /run/havn/watchdog.state}); the separate process
 * {@link io.havn.daemon.watchdog.WatchdogPetter} pets {@code /dev/watchdog} while that state allows,
 * so a hung daemon or kernel resets the machine, and a daemon restart shorter than the lease does not.
 *
 * <p>Both sides compare CLOCK_MONOTONIC nanoseconds, which is {@link java.lang.System#nanoTime()} on
 * Linux and one clock for every process of a boot; the files carry the boot id so that a deadline is
 * never compared with another boot's clock. The safety relation assumes the hardware resets a hung
 * machine within W ({@code settings.watchdogMs}): the petter sets the device's timeout to W at start
 * and reads it back, refuses a device that does not hold it, and reports what it verified in a
 * status file beside the state file ({@code watchdog.status}); the daemon runs no HA VM unless that
 * file says a live petter verified a timeout of at most W. Deployment: the state directory must
 * outlive a daemon restart (with systemd, {@code RuntimeDirectoryPreserve=yes}); the petter's unit
 * restarts it at once ({@code Restart=always}) and its interval stays at most half of W.
 *
 * <p>{@link io.havn.daemon.watchdog.WatchdogGuard} reads the same two files, judged as the petter
 * judges them, for the host signal that {@code havn-signal} ({@link io.havn.daemon.signal.SignalSender})
 * sends the peers: armed, released or lapsed.
 */
package io.havn.daemon.watchdog;
