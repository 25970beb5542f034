package io.havn.daemon.watchdog;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
 * <p>Stop: a clean stop (SIGTERM, SIGINT) writes the magic close character 'V' and closes the
 * device, which disarms the watchdog, but only if a tick at that moment would pet: when the
 * deadline has passed or the file is untrusted, the reset that is due must still happen, so it
 * closes without 'V'. A crash or SIGKILL also closes without 'V': the machine resets W later unless
 * the petter is restarted in time (systemd Restart=always). The pet byte is never 'V'.
 *
 * <p>The interval must be well below the hardware timeout W (default 1 s against W of about 3 s);
 * W itself is set on the device (driver parameter, or the watchdog's systemd/kernel settings).
 */
public final class WatchdogPetter {
    private static final Logger LOG = LoggerFactory.getLogger(WatchdogPetter.class);
    public static final Path DEFAULT_DEVICE = Path.of("/dev/watchdog");
    public static final long DEFAULT_INTERVAL_MS = 1_000;
    public static final long DEFAULT_MAX_AHEAD_MS = 300_000;
    static final byte PET = '.';
    static final byte MAGIC_CLOSE = 'V';
    private static final long STOP_WAIT_MS = 5_000;

    /** Why a tick pets or not. */
    enum Reason {
        RELEASED(true),
        ARMED(true),
        NOTHING_PUBLISHED(true),
        DEADLINE_PASSED(false),
        IMPLAUSIBLE(false),
        UNTRUSTED(false);

        final boolean pets;

        Reason(boolean pets) {
            this.pets = pets;
        }
    }

    /** What one tick decided, and in words why. */
    record Verdict(Reason reason, String detail) {
        boolean pets() {
            return reason.pets;
        }
    }

    /** Waits between ticks: true to tick again, false to stop cleanly. */
    @FunctionalInterface
    interface Pause {
        boolean await(long nanos) throws InterruptedException;
    }

    private final StateFile file;
    private final FileChannel device;
    private final Path devicePath;
    private final long maxAheadNanos;
    private WatchdogState lastRead;
    private boolean untrusted;
    private Reason lastReason;
    private boolean writeFailing;
    private boolean closed;

    /** Opens the device, which on a real watchdog starts the hardware timer. */
    WatchdogPetter(StateFile file, Path device, long maxAheadNanos) throws IOException {
        this.file = Objects.requireNonNull(file, "state file");
        this.devicePath = Objects.requireNonNull(device, "device");
        this.maxAheadNanos = maxAheadNanos;
        // No CREATE: a missing /dev/watchdog must fail, not become a plain file that guards nothing.
        this.device = FileChannel.open(device, StandardOpenOption.WRITE);
    }

    /** One tick at {@code nowNanos} (CLOCK_MONOTONIC): reads the state, pets if it allows. */
    synchronized Verdict tick(long nowNanos) {
        if (closed) {
            throw new IllegalStateException("the petter is closed");
        }
        Verdict v = judge(nowNanos);
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
     * Closes the device: with the magic close character when {@code clean} and a tick now would
     * pet, else without it, leaving the watchdog running. A second call does nothing.
     */
    synchronized void close(long nowNanos, boolean clean) {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Verdict v = judge(nowNanos);
            if (clean && v.pets()) {
                if (write(MAGIC_CLOSE)) {
                    LOG.info("stopped: watchdog disarmed by magic close ({})", v.detail());
                }
                if (v.reason() == Reason.ARMED) {
                    LOG.warn("the petter stopped while the daemon guards HA VMs: the hardware watchdog no longer does");
                }
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

    private Verdict judge(long now) {
        StateFile.Reading r = file.read();
        WatchdogState s;
        String note = "";
        if (r instanceof StateFile.Reading.Published p) {
            s = p.state();
            lastRead = s;
            untrusted = false;
        } else if (r instanceof StateFile.Reading.Unusable u) {
            untrusted = true;
            return new Verdict(Reason.UNTRUSTED, u.why());
        } else {
            String why = ((StateFile.Reading.Absent) r).why();
            if (untrusted) {
                return new Verdict(Reason.UNTRUSTED, why + ", after an unusable one");
            }
            if (lastRead == null) {
                return new Verdict(Reason.NOTHING_PUBLISHED, why + ": nothing published in this boot");
            }
            s = lastRead;
            note = " (" + why + "; the last state read holds)";
        }
        if (s instanceof WatchdogState.Armed a) {
            long ms = TimeUnit.NANOSECONDS.toMillis(a.deadlineNanos() - now);
            if (!a.ahead(now)) {
                return new Verdict(Reason.DEADLINE_PASSED, "the published deadline passed " + -ms + " ms ago" + note);
            }
            if (a.implausible(now, maxAheadNanos)) {
                return new Verdict(Reason.IMPLAUSIBLE, "the published deadline is " + ms + " ms ahead, more than "
                        + TimeUnit.NANOSECONDS.toMillis(maxAheadNanos) + " ms: not a lease" + note);
            }
            return new Verdict(Reason.ARMED, "armed, deadline in " + ms + " ms" + note);
        }
        return new Verdict(Reason.RELEASED, "released, no HA VM to guard" + note);
    }

    private boolean write(byte b) {
        try {
            ByteBuffer buf = ByteBuffer.wrap(new byte[] {b});
            while (buf.hasRemaining()) {
                device.write(buf);
            }
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
    record Options(Path stateFile, Path device, long intervalMs, long maxAheadMs) {
        static final String USAGE = "usage: havn-watchdog [--state FILE] [--device FILE] [--interval-ms N] [--max-ahead-ms N]\n"
                + "  --state FILE       the state the daemon publishes (default " + WatchdogPublisher.DEFAULT_STATE_FILE + ")\n"
                + "  --device FILE      the watchdog device (default " + DEFAULT_DEVICE + ")\n"
                + "  --interval-ms N    time between pets, well below the hardware timeout (default " + DEFAULT_INTERVAL_MS + ")\n"
                + "  --max-ahead-ms N   a deadline further ahead than this is refused (default " + DEFAULT_MAX_AHEAD_MS + ")";

        /** Parses {@code args}; null for --help; a message naming the option for anything wrong. */
        static Options parse(String[] args) {
            Path state = WatchdogPublisher.DEFAULT_STATE_FILE;
            Path device = DEFAULT_DEVICE;
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
                    case "--interval-ms" -> interval = positive(a, v);
                    case "--max-ahead-ms" -> maxAhead = positive(a, v);
                    default -> throw new IllegalArgumentException("unknown option '" + a + "'");
                }
            }
            return new Options(state, device, interval, maxAhead);
        }

        private static long positive(String option, String v) {
            try {
                long n = Long.parseLong(v);
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new IllegalArgumentException(option + " must be a positive number of milliseconds, got '" + v + "'");
        }
    }

    /**
     * The petter process. SIGTERM or SIGINT stops it cleanly (see the class comment); it exits 2 on
     * bad arguments and 1 if the device cannot be opened.
     */
    public static void main(String[] args) {
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
        int rc;
        try {
            rc = run(args, System::nanoTime, nanos -> !stop.await(nanos, TimeUnit.NANOSECONDS));
        } finally {
            stopped.countDown();
        }
        if (rc != 0) {
            System.exit(rc);
        }
    }

    /** {@link #main} with its clock and pause given: ticks until {@code pause} says stop. */
    static int run(String[] args, LongSupplier monotonicNanos, Pause pause) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("havn-watchdog: " + e.getMessage());
            System.err.println(Options.USAGE);
            return 2;
        }
        if (o == null) {
            System.out.println(Options.USAGE);
            return 0;
        }
        WatchdogPetter petter;
        try {
            petter = new WatchdogPetter(new StateFile(o.stateFile(), StateFile.currentBootId()), o.device(),
                    TimeUnit.MILLISECONDS.toNanos(o.maxAheadMs()));
        } catch (IOException | RuntimeException e) {
            LOG.error("cannot open the watchdog device {}: {}", o.device(), e.toString());
            return 1;
        }
        LOG.info("started: petting {} every {} ms while {} allows", o.device(), o.intervalMs(), o.stateFile());
        try {
            petter.run(monotonicNanos, TimeUnit.MILLISECONDS.toNanos(o.intervalMs()), pause);
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return 1;
        } catch (RuntimeException e) {
            LOG.error("the petter failed", e);
            return 1;
        }
    }
}
