package io.havn.daemon.signal;

import io.havn.common.model.HostId;
import io.havn.common.node.HostSignal;
import io.havn.daemon.IncarnationFile;
import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.transport.HeartbeatCodec;
import io.havn.daemon.transport.SignalCodec;
import io.havn.daemon.watchdog.WatchdogGuard;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code havn-signal}: the host's second liveness signal, a small process apart from havnd. Every
 * heartbeat interval ({@code settings.heartbeatIntervalMs}) it sends every peer one authenticated
 * datagram ({@link SignalCodec}) to its heartbeat port saying that this host's kernel runs and what
 * its watchdog enforces ({@link HostSignal.Guard}, from the state havnd publishes and the petter's
 * status: {@link WatchdogGuard}). The leader takes it as a reason not to fence a host whose havnd
 * is stalled or restarting; without it such a host is fenced as before.
 *
 * <p>{@link #tick} does one round: it reads the guard, reads the peers file again if it changed
 * ({@link PeersFile.Reader}), and sends one sealed datagram per peer from one unbound, non-blocking
 * UDP socket: a peer whose datagram the kernel cannot take at once, or that cannot be reached, is
 * skipped until the next round; nothing waits. The incarnation is this process's start time in
 * wall-clock milliseconds, above the last one used on this host ({@link IncarnationFile} in
 * {@code host.stateDir}, {@value IncarnationFile#SIGNAL_NAME}); the sequence counts from 1.
 *
 * <p>Threading: {@link #tick} and {@link #close} are serialised; {@link #run} ticks on the calling
 * thread.
 */
public final class SignalSender implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SignalSender.class);
    private static final long STOP_WAIT_MS = 2_000;

    /** What one round did: the signal sent, to how many peers, and how many it could not send to. */
    public record Round(HostSignal signal, int sent, int failed) { }

    /** Waits between rounds: true to send again, false to stop. */
    @FunctionalInterface
    interface Pause {
        boolean await(long nanos) throws InterruptedException;
    }

    private final HostId self;
    private final long incarnation;
    private final SignalCodec codec;
    private final WatchdogGuard guard;
    private final PeersFile.Reader peers;
    private final DatagramChannel channel;
    private long sequence;
    private HostSignal.Guard lastGuard;
    /** Per peer, the last send failure logged, so that each is logged once until it changes. */
    private final Map<HostId, String> failing = new HashMap<>();
    private boolean closed;

    /**
     * Signals for {@code self} in {@code incarnation}, sealed by {@code codec}, what {@code guard}
     * reads, to the peers {@code peers} lists, from {@code channel} (made non-blocking here; closed
     * with this sender).
     */
    SignalSender(HostId self, long incarnation, SignalCodec codec, WatchdogGuard guard, PeersFile.Reader peers,
                 DatagramChannel channel) throws IOException {
        this.self = Objects.requireNonNull(self, "self");
        if (incarnation <= 0) {
            throw new IllegalArgumentException("incarnation must be positive, got " + incarnation);
        }
        this.incarnation = incarnation;
        this.codec = Objects.requireNonNull(codec, "codec");
        this.guard = Objects.requireNonNull(guard, "guard");
        this.peers = Objects.requireNonNull(peers, "peers");
        this.channel = Objects.requireNonNull(channel, "channel");
        channel.configureBlocking(false);
    }

    /** One round at {@code nowNanos} (CLOCK_MONOTONIC): the guard read, one datagram sent per peer. */
    public synchronized Round tick(long nowNanos) {
        if (closed) {
            throw new IllegalStateException("the signal sender is closed");
        }
        WatchdogGuard.Reading g = guard.read(nowNanos);
        if (g.guard() != lastGuard) {
            if (g.guard() == HostSignal.Guard.LAPSED) {
                LOG.warn("signalling {}: {}", g.guard(), g.why());
            } else {
                LOG.info("signalling {}: {}", g.guard(), g.why());
            }
            lastGuard = g.guard();
        }
        HostSignal signal = new HostSignal(self, incarnation, ++sequence, g.guard(), g.remainingMs());
        int sent = 0;
        int failed = 0;
        List<PeersFile.Peer> list = peers.peers();
        for (PeersFile.Peer p : list) {
            if (p.host().equals(self)) {
                continue;
            }
            if (send(p, signal)) {
                sent++;
            } else {
                failed++;
            }
        }
        if (failing.size() > list.size()) {
            failing.keySet().retainAll(list.stream().map(PeersFile.Peer::host).toList());
        }
        return new Round(signal, sent, failed);
    }

    private boolean send(PeersFile.Peer p, HostSignal signal) {
        String problem;
        try {
            if (channel.send(ByteBuffer.wrap(codec.encode(p.host(), signal)), p.address()) > 0) {
                if (failing.remove(p.host()) != null) {
                    LOG.info("signalling {} at {} works again", p.host(), p.address());
                }
                return true;
            }
            problem = "the socket's send buffer is full";
        } catch (IOException | RuntimeException e) {
            problem = e.toString();
        }
        if (!problem.equals(failing.put(p.host(), problem))) {
            LOG.warn("cannot signal {} at {}: {}; trying again next round", p.host(), p.address(), problem);
        }
        return false;
    }

    /** Closes the socket; a second call does nothing. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            channel.close();
        } catch (IOException e) {
            LOG.warn("closing the signal socket: {}", e.toString());
        }
    }

    /** Sends a round every {@code intervalNanos} until {@code pause} says stop, then closes. */
    void run(LongSupplier monotonicNanos, long intervalNanos, Pause pause) throws InterruptedException {
        try {
            long next = monotonicNanos.getAsLong();
            do {
                tick(monotonicNanos.getAsLong());
                next += intervalNanos;
                long now = monotonicNanos.getAsLong();
                if (next - now < 0) {
                    next = now; // late (a pause of the whole machine): no burst of rounds to catch up
                }
            } while (pause.await(Math.max(0, next - monotonicNanos.getAsLong())));
        } finally {
            close();
        }
    }

    // ---------------------------------------------------------------- the process

    /** Exit status: a bad command line, configuration, key or incarnation record; restarting cannot help. */
    static final int EXIT_REFUSED = 2;

    /** The command line: everything comes from havnd's configuration. */
    @Command(name = "havn-signal", mixinStandardHelpOptions = true, version = "havn-signal 0.1",
            description = "Sends every peer, each heartbeat interval, this host's signal: its kernel runs, and what "
                    + "its watchdog enforces. Apart from havnd, so that a stalled or restarting havnd is not taken "
                    + "for a dead host.")
    static final class Cli implements Callable<Integer> {
        @Option(names = "--config", paramLabel = "PATH", defaultValue = "/etc/havn/havn.yaml",
                description = "havnd's configuration file (default ${DEFAULT-VALUE})")
        Path config;

        private final LongSupplier wallMillis;
        private final LongSupplier monotonicNanos;
        private final Pause pause;

        Cli(LongSupplier wallMillis, LongSupplier monotonicNanos, Pause pause) {
            this.wallMillis = wallMillis;
            this.monotonicNanos = monotonicNanos;
            this.pause = pause;
        }

        @Override
        public Integer call() throws InterruptedException {
            SignalSender sender;
            long intervalMs;
            try {
                HavnConfig cfg = HavnConfig.load(config);
                intervalMs = cfg.settings().heartbeatIntervalMs();
                sender = open(cfg, wallMillis.getAsLong());
            } catch (HavnConfig.ConfigException | IncarnationFile.Unusable | IOException | IllegalArgumentException e) {
                System.err.println("havn-signal: " + e.getMessage());
                return EXIT_REFUSED;
            }
            // a failure of the loop propagates: picocli prints it and exits 1, and systemd restarts the sender
            sender.run(monotonicNanos, TimeUnit.MILLISECONDS.toNanos(intervalMs), pause);
            return 0;
        }
    }

    /**
     * The sender {@code cfg} describes: its host, cluster and key, the watchdog state file and the
     * peers file beside it, and an incarnation above the last one recorded.
     *
     * @throws IOException naming the file, if the key or the socket cannot be had
     * @throws IllegalArgumentException naming the key file, if it holds no usable key
     */
    public static SignalSender open(HavnConfig cfg, long wallMillis) throws IOException, IncarnationFile.Unusable {
        byte[] key;
        try {
            key = HeartbeatCodec.readKeyFile(cfg.heartbeat().keyFile());
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalArgumentException("heartbeat.keyFile: " + e.getMessage(), e);
        }
        SignalCodec codec;
        try {
            codec = new SignalCodec(cfg.cluster(), key);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
        IncarnationFile record = IncarnationFile.of(cfg.host().stateDir().resolve(IncarnationFile.SIGNAL_NAME),
                "havn-signal");
        long incarnation = record.advance(wallMillis);
        Path stateFile = cfg.watchdog().stateFile();
        PeersFile.Reader peers = new PeersFile.Reader(PeersFile.beside(stateFile));
        SignalSender sender = new SignalSender(cfg.host().name(), incarnation, codec, new WatchdogGuard(stateFile),
                peers, DatagramChannel.open());
        LOG.info("havn-signal of {} in cluster {}: incarnation {} (recorded in {}), every {} ms to the peers in {}, "
                + "guard from {}", cfg.host().name(), cfg.cluster(), incarnation, record.path(),
                cfg.settings().heartbeatIntervalMs(), peers.file(), stateFile);
        return sender;
    }

    /** The process: real clocks; SIGTERM or SIGINT stops it. Exits 2 on a bad command line or configuration. */
    public static void main(String[] args) {
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            try {
                stopped.await(STOP_WAIT_MS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "havn-signal-stop"));
        int rc;
        try {
            rc = new CommandLine(new Cli(System::currentTimeMillis, System::nanoTime,
                    nanos -> !stop.await(nanos, TimeUnit.NANOSECONDS))).execute(args);
        } finally {
            stopped.countDown();
        }
        if (rc != 0) {
            System.exit(rc);
        }
    }
}
