package io.havn.daemon.systemd;

import io.havn.common.port.Scheduler;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * systemd's notification protocol ({@code sd_notify}): datagrams of {@code KEY=value} lines to
 * {@code $NOTIFY_SOCKET}. Under {@code WatchdogSec=} systemd sets {@code $WATCHDOG_USEC}; the
 * daemon then sends {@code WATCHDOG=1} every half of it from the node's own thread, so a hung
 * node is restarted by systemd. {@link #status} keeps {@code STATUS=} up to date. Without
 * {@code $NOTIFY_SOCKET} every call does nothing.
 */
public final class SystemdNotifier {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdNotifier.class);

    private final String socket;
    private final long watchdogUsec;
    private String lastStatus;

    SystemdNotifier(String socket, long watchdogUsec) {
        this.socket = socket == null || socket.isEmpty() ? null : socket;
        this.watchdogUsec = watchdogUsec;
    }

    /** From the process environment. */
    public static SystemdNotifier fromEnvironment() {
        return fromEnvironment(System.getenv());
    }

    static SystemdNotifier fromEnvironment(Map<String, String> env) {
        long usec = 0;
        try {
            String w = env.get("WATCHDOG_USEC");
            usec = w == null ? 0 : Long.parseLong(w.trim());
        } catch (NumberFormatException e) {
            LOG.warn("ignoring WATCHDOG_USEC '{}': not a number", env.get("WATCHDOG_USEC"));
        }
        return new SystemdNotifier(env.get("NOTIFY_SOCKET"), usec);
    }

    public boolean enabled() {
        return socket != null;
    }

    /** Sends {@code state} (e.g. "READY=1", "STATUS=...", "STOPPING=1"); failures are logged, never thrown. */
    public void notify(String state) {
        if (socket == null) {
            return;
        }
        try {
            UnixDatagram.send(socket, state.getBytes(StandardCharsets.UTF_8));
        } catch (RuntimeException | Error e) {
            LOG.warn("sd_notify '{}' to {} failed: {}", state, socket, e.toString());
        }
    }

    /**
     * Sets the one-line status {@code systemctl status} shows ({@code STATUS=}), if it differs from
     * the last one sent: call it as often as convenient. Call from one thread (the node's).
     */
    public void status(String line) {
        String oneLine = line.replace('\n', ' ');
        if (socket == null || oneLine.equals(lastStatus)) {
            return;
        }
        lastStatus = oneLine;
        notify("STATUS=" + oneLine);
    }

    /**
     * Under {@code WatchdogSec=}, sends {@code WATCHDOG=1} every half watchdog period on
     * {@code scheduler} (the node's event loop): if the loop hangs, the pets stop.
     */
    public void petFrom(Scheduler scheduler) {
        if (socket == null || watchdogUsec <= 0) {
            return;
        }
        long every = TimeUnit.MICROSECONDS.toNanos(watchdogUsec) / 2;
        scheduler.schedule(0, () -> pet(scheduler, every));
    }

    private void pet(Scheduler scheduler, long every) {
        notify("WATCHDOG=1");
        scheduler.schedule(every, () -> pet(scheduler, every));
    }
}
