package io.havn.daemon.watchdog;

import io.havn.common.node.Settings;
import io.havn.daemon.systemd.SystemdNotifier;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The small separate process (its own systemd unit) that pets the hardware watchdog while the state
 * the daemon publishes ({@link WatchdogPublisher}) lets the machine live, so a hung daemon or
 * kernel resets the machine, and a daemon restart or pause shorter than the lease does not.
 *
 * <p>Every interval, {@link #tick} reads the state file and writes one byte to the device when:
 * <ul>
 * <li>the state is <b>released</b> (no HA VM, nothing to guard), or</li>
 * <li>it is <b>armed</b> and the deadline is still ahead on CLOCK_MONOTONIC (and not implausibly
 * far: more than {@code --max-ahead-ms}, which no lease is; a wall-clock time by mistake would be);</li>
 * <li>there is <b>no file</b> and none was read yet: nothing was published in this boot (the petter
 * starts before the daemon), so nothing is guarded.</li>
 * </ul>
 * It does not pet when the deadline has passed (the hardware then resets the machine W after the
 * last pet, which was before the deadline), nor when the file <b>cannot be trusted</b>: unreadable,
 * malformed, unknown version. A corrupt file must not keep a dead daemon's VMs alive forever. A
 * file that <b>disappears</b> after a valid read changes nothing: the last state read still holds
 * (an armed deadline still lapses); after an untrusted read it does not pet either. Each tick
 * decides afresh, so a good state published later resumes petting if the machine is still up.
 *
 * <p>Start: the device's timeout is set to W ({@code --timeout-ms}, havnd's {@code settings.watchdogMs})
 * and read back; a device that refuses, or whose timeout is longer than W, is disarmed at once and
 * the petter exits ({@link Arming}). Once verified, the petter writes the device, the verified
 * timeout and its pid to the status file beside the state file ({@link StatusFile}), which havnd
 * checks before it runs HA VMs, and tells systemd it is ready.
 *
 * <p>Stop: a clean stop (SIGTERM, SIGINT) writes the magic close character 'V' and closes the
 * device, which disarms the watchdog, only when nothing is guarded: released, or nothing published
 * in this boot. While armed (a deadline ahead: the daemon holds HA VMs under a lease) it closes
 * without 'V' and says loudly that the hardware resets the machine within W unless a petter is
 * back by then ({@code systemctl stop havn-watchdog} must not leave HA VMs unguarded); when the
 * deadline has passed or the file is untrusted, the reset that is due must still happen, so it
 * closes without 'V' too. A crash or SIGKILL also closes without 'V': the machine resets W later
 * unless the petter is restarted in time (systemd Restart=always). Every stop deletes the status
 * file. The pet byte is never 'V'.
 *
 * <p>The interval must be well below W: at most half of it (default 1 s against W of 3 s).
 *
 * <p>Threading: {@link #tick} and {@link #close} are serialised; {@link #run} ticks on the calling
 * thread.
 */
public final class WatchdogPetter {
    private static final Logger LOG = LoggerFactory.getLogger(WatchdogPetter.class);
    public static final Path DEFAULT_DEVICE = Path.of("/dev/watchdog");
    public static final long DEFAULT_INTERVAL_MS = 1_000;
    public static final long DEFAULT_MAX_AHEAD_MS = 300_000;
    /** W by default: havnd's default {@code settings.watchdogMs}. */
    public static final long DEFAULT_TIMEOUT_MS = Settings.defaults().watchdogMs();
    static final byte PET = '.';
    static final byte MAGIC_CLOSE = 'V';
    private static final long STOP_WAIT_MS = 5_000;

    /** Why a tick pets or not, and whether a clean stop may then disarm. */
    enum Reason {
        RELEASED(true, true),
        ARMED(true, false),
        NOTHING_PUBLISHED(true, true),
        DEADLINE_PASSED(false, false),
        IMPLAUSIBLE(false, false),
        UNTRUSTED(false, false);

        final boolean pets;
        /** Nothing is guarded: a clean stop disarms with the magic close. */
        final boolean disarms;

        Reason(boolean pets, boolean disarms) {
            this.pets = pets;
            this.disarms = disarms;
        }
    }

    /** What one tick decided, and in words why; with {@link Reason#ARMED}, the deadline petted toward. */
    record Verdict(Reason reason, String detail, long deadlineNanos) {
        Verdict(Reason reason, String detail) {
            this(reason, detail, 0);
        }

        boolean pets() {
            return reason.pets;
        }
    }

    /** Waits between ticks: true to tick again, false to stop cleanly. */
    @FunctionalInterface
    interface Pause {
        boolean await(long nanos) throws InterruptedException;
    }

    private final StateJudge judge;
    private final StatusFile status;
    private final WatchdogDevice device;
    private final Path devicePath;
    private final long timeoutMs;
    private Reason lastReason;
    private boolean writeFailing;
    private boolean closed;

    /**
     * Pets {@code armed}, the device at {@code devicePath} whose timeout was verified, while
     * {@code file} allows; {@code status} is deleted when it stops.
     */
    WatchdogPetter(StateFile file, StatusFile status, Path devicePath, Arming.Armed armed, long maxAheadNanos) {
        this.judge = new StateJudge(file, maxAheadNanos);
        this.status = Objects.requireNonNull(status, "status file");
        this.devicePath = Objects.requireNonNull(devicePath, "device");
        this.device = armed.device();
        this.timeoutMs = armed.timeoutMs();
    }

    /** One tick at {@code nowNanos} (CLOCK_MONOTONIC): reads the state, pets if it allows. */
    synchronized Verdict tick(long nowNanos) {
        if (closed) {
            throw new IllegalStateException("the petter is closed");
        }
        Verdict v = judge.judge(nowNanos);
        if (v.pets()) {
            write(PET);
        }
        if (v.reason() != lastReason) {
            if (v.pets()) {
                LOG.info("petting {}: {}", devicePath, v.detail());
            } else {
                LOG.error("NOT petting {}: {}; the hardware will reset this machine", devicePath, v.detail());
            }
            lastReason = v.reason();
        }
        return v;
    }

    /**
     * Deletes the status file and closes the device: with the magic close character when
     * {@code clean} and nothing is guarded now (released, nothing published), else without it,
     * leaving the watchdog running. A second call does nothing.
     */
    synchronized void close(long nowNanos, boolean clean) {
        if (closed) {
            return;
        }
        closed = true;
        try {
            status.delete();
        } catch (IOException | RuntimeException e) {
            LOG.error("cannot delete {}: {}; havnd sees its petter gone by its pid", status.path(), e.toString());
        }
        try {
            Verdict v = judge.judge(nowNanos);
            if (clean && v.reason().disarms) {
                if (write(MAGIC_CLOSE)) {
                    LOG.info("stopped: watchdog disarmed by magic close ({})", v.detail());
                }
            } else if (clean && v.reason() == Reason.ARMED) {
                LOG.error("STOPPED WHILE ARMED ({}): this host runs HA VMs under a lease, so {} stays armed without "
                        + "the magic close; the hardware WILL RESET THIS MACHINE within {} ms unless a petter is back by "
                        + "then (systemctl start havn-watchdog havnd)", v.detail(), devicePath, timeoutMs);
            } else {
                LOG.error("stopped without the magic close ({}): the hardware resets this machine unless a petter takes over",
                        clean ? v.detail() : "not a clean stop");
            }
        } finally {
            try {
                device.close();
            } catch (IOException e) {
                LOG.error("closing {}: {}", devicePath, e.toString());
            }
        }
    }

    /** Ticks every {@code intervalNanos} until {@code pause} says stop, then closes cleanly. */
    void run(LongSupplier monotonicNanos, long intervalNanos, Pause pause) throws InterruptedException {
        boolean clean = false;
        try {
            do {
                tick(monotonicNanos.getAsLong());
            } while (pause.await(intervalNanos));
            clean = true;
        } finally {
            close(monotonicNanos.getAsLong(), clean);
        }
    }

    private boolean write(byte b) {
        try {
            device.write(b);
            if (writeFailing) {
                LOG.info("writing to {} works again", devicePath);
                writeFailing = false;
            }
            return true;
        } catch (IOException e) {
            if (!writeFailing) {
                LOG.error("cannot write to {}: {}", devicePath, e.toString());
                writeFailing = true;
            }
            return false;
        }
    }

    // ---------------------------------------------------------------- the process

    /** Command-line options; every one has a default. */
    record Options(Path stateFile, Path device, long timeoutMs, long intervalMs, long maxAheadMs) {
        static final String USAGE = "usage: havn-watchdog [--state FILE] [--device FILE] [--timeout-ms N] [--interval-ms N] "
                + "[--max-ahead-ms N]\n"
                + "  --state FILE       the state the daemon publishes (default " + WatchdogPublisher.DEFAULT_STATE_FILE + ")\n"
                + "  --device FILE      the watchdog device (default " + DEFAULT_DEVICE + ")\n"
                + "  --timeout-ms N     W, havnd's settings.watchdogMs: set on the device in whole seconds and read back;\n"
                + "                     a device that resets later is refused (default " + DEFAULT_TIMEOUT_MS + ", at least 1000)\n"
                + "  --interval-ms N    time between pets, at most half the timeout (default " + DEFAULT_INTERVAL_MS + ")\n"
                + "  --max-ahead-ms N   a deadline further ahead than this is refused (default " + DEFAULT_MAX_AHEAD_MS + ")";

        /** Parses {@code args}; null for --help; a message naming the option for anything wrong. */
        static Options parse(String[] args) {
            Path state = WatchdogPublisher.DEFAULT_STATE_FILE;
            Path device = DEFAULT_DEVICE;
            long timeout = DEFAULT_TIMEOUT_MS;
            long interval = DEFAULT_INTERVAL_MS;
            long maxAhead = DEFAULT_MAX_AHEAD_MS;
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("--help") || a.equals("-h")) {
                    return null;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(a.startsWith("--") ? a + " needs a value" : "unknown argument '" + a + "'");
                }
                String v = args[++i];
                switch (a) {
                    case "--state" -> state = Path.of(v);
                    case "--device" -> device = Path.of(v);
                    case "--timeout-ms" -> timeout = positive(a, v);
                    case "--interval-ms" -> interval = positive(a, v);
                    case "--max-ahead-ms" -> maxAhead = positive(a, v);
                    default -> throw new IllegalArgumentException("unknown option '" + a + "'");
                }
            }
            if (timeout < 1_000) {
                throw new IllegalArgumentException("--timeout-ms must be at least 1000: a watchdog's timeout is set in "
                        + "whole seconds, got " + timeout);
            }
            if (2 * interval > timeout) {
                throw new IllegalArgumentException("--interval-ms " + interval + " must be at most half of --timeout-ms "
                        + timeout + ", or a pet may come too late");
            }
            return new Options(state, device, timeout, interval, maxAhead);
        }

        private static long positive(String option, String v) {
            try {
                long n = Long.parseLong(v);
                if (n > 0 && n <= Integer.MAX_VALUE) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(option + " must be a positive number of milliseconds, got '" + v + "'");
        }
    }

    /** Exit status: stopped cleanly, or --help. */
    static final int EXIT_OK = 0;
    /** Exit status: the device cannot be opened, or the petter failed. */
    static final int EXIT_FAILED = 1;
    /** Exit status: a bad command line. */
    static final int EXIT_USAGE = 2;
    /** Exit status: the device's timeout could not be set to at most W and verified; it was disarmed. */
    static final int EXIT_REFUSED = 3;

    /**
     * The petter process on {@code /dev/watchdog} through libc. SIGTERM or SIGINT stops it cleanly
     * (see the class comment); it exits 2 on bad arguments, 1 if the device cannot be opened, 3 if
     * the device's timeout cannot be verified. Once verified, it sends systemd READY=1.
     */
    public static void main(String[] args) {
        int rc = runProcess(args, LinuxWatchdogDevice::open);
        if (rc != EXIT_OK) {
            System.exit(rc);
        }
    }

    /**
     * The process around {@link #run}: real time, and a shutdown hook that stops the loop and waits
     * for it to close the device. {@code opener} gives the device (tests: one that is not a watchdog).
     */
    static int runProcess(String[] args, WatchdogDevice.Opener opener) {
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            try {
                stopped.await(STOP_WAIT_MS, TimeUnit.MILLISECONDS); // the loop closes the device
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "havn-watchdog-stop"));
        try {
            SystemdNotifier systemd = SystemdNotifier.fromEnvironment();
            return run(args, opener, System::nanoTime, nanos -> !stop.await(nanos, TimeUnit.NANOSECONDS),
                    () -> systemd.notify("READY=1"));
        } finally {
            stopped.countDown();
        }
    }

    /**
     * {@link #main} with its device, clock and pause given: arms and verifies the device, writes the
     * status file, runs {@code ready}, then ticks until {@code pause} says stop.
     */
    static int run(String[] args, WatchdogDevice.Opener opener, LongSupplier monotonicNanos, Pause pause,
                   Runnable ready) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("havn-watchdog: " + e.getMessage());
            System.err.println(Options.USAGE);
            return EXIT_USAGE;
        }
        if (o == null) {
            System.out.println(Options.USAGE);
            return EXIT_OK;
        }
        String boot = StateFile.currentBootId();
        StatusFile status = new StatusFile(StatusFile.beside(o.stateFile()), boot);
        Arming.Armed armed;
        try {
            deleteQuietly(status); // a status left by a petter that died says nothing about this one
            armed = Arming.arm(opener, o.device(), o.timeoutMs(), o.intervalMs());
        } catch (Arming.Refused e) {
            LOG.error("{}", e.getMessage());
            return EXIT_REFUSED;
        } catch (IOException | RuntimeException e) {
            LOG.error("cannot open the watchdog device {}: {}", o.device(), e.toString());
            return EXIT_FAILED;
        }
        WatchdogPetter petter = new WatchdogPetter(new StateFile(o.stateFile(), boot), status, o.device(), armed,
                TimeUnit.MILLISECONDS.toNanos(o.maxAheadMs()));
        try {
            status.write(ProcessHandle.current().pid(), armed.timeoutMs(), o.device());
        } catch (IOException | RuntimeException e) {
            // havnd then runs no HA VM (watchdog.required): safe, and said on both sides
            LOG.error("cannot write {}: {}; havnd will not run HA VMs without it", status.path(), e.toString());
        }
        LOG.info("started: {} verified with a timeout of {} ms (at most {} ms, --timeout-ms); petting every {} ms "
                + "while {} allows", o.device(), armed.timeoutMs(), o.timeoutMs(), o.intervalMs(), o.stateFile());
        ready.run();
        try {
            petter.run(monotonicNanos, TimeUnit.MILLISECONDS.toNanos(o.intervalMs()), pause);
            return EXIT_OK;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return EXIT_FAILED;
        } catch (RuntimeException e) {
            LOG.error("the petter failed", e);
            return EXIT_FAILED;
        }
    }

    private static void deleteQuietly(StatusFile status) {
        try {
            status.delete();
        } catch (IOException e) {
            LOG.warn("cannot delete the old {}: {}", status.path(), e.toString());
        }
    }
}
