package io.havn.daemon.signal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.HostSignal;
import io.havn.common.node.HostSignal.Guard;
import io.havn.daemon.IncarnationFile;
import io.havn.daemon.transport.SignalCodec;
import io.havn.daemon.watchdog.WatchdogGuard;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.channels.DatagramChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The sender's rounds on real loopback sockets, its time given: each peer's socket receives with a
 * bounded timeout, and what it receives is decoded with the codec.
 */
class SignalSenderTest {
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);
    private static final String CLUSTER = "prod-1";
    private static final HostId SELF = new HostId("kvm-a");
    private static final HostId B = new HostId("kvm-b");
    private static final HostId C = new HostId("kvm-c");
    private static final long MS = 1_000_000L;
    private static final long NOW = 9_000_000 * MS;
    private static final int WAIT_MS = 5_000;

    @TempDir
    Path dir;

    private final SignalCodec codec = new SignalCodec(CLUSTER, KEY);
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private DatagramSocket peer() throws IOException {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        s.setSoTimeout(WAIT_MS);
        toClose.add(s);
        return s;
    }

    private SignalCodec.Ok received(DatagramSocket s) throws IOException {
        DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
        s.receive(p); // bounded by the socket's timeout
        return assertInstanceOf(SignalCodec.Ok.class, codec.decode(Arrays.copyOf(p.getData(), p.getLength())));
    }

    private Path stateFile() {
        return dir.resolve("watchdog.state");
    }

    private void peers(String text) throws IOException {
        Files.writeString(PeersFile.beside(stateFile()), text);
    }

    private SignalSender sender(long incarnation) throws IOException {
        SignalSender s = new SignalSender(SELF, incarnation, codec, new WatchdogGuard(stateFile()),
                new PeersFile.Reader(PeersFile.beside(stateFile())), DatagramChannel.open());
        toClose.add(s);
        return s;
    }

    /** This boot's id as the watchdog files carry it. */
    private static String bootId() {
        try {
            String id = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
            return id.matches("[A-Za-z0-9-]{1,64}") ? id : "unknown";
        } catch (IOException e) {
            return "unknown";
        }
    }

    @Test
    void eachRoundSendsOneSealedSignalToEveryListedPeerAddressedToIt() throws IOException {
        DatagramSocket b = peer();
        DatagramSocket c = peer();
        peers("kvm-b 127.0.0.1:" + b.getLocalPort() + "\nkvm-a 127.0.0.1:" + b.getLocalPort() + "\n");
        SignalSender s = sender(1_700_000_000_000L);

        SignalSender.Round first = s.tick(NOW);
        assertEquals(new SignalSender.Round(new HostSignal(SELF, 1_700_000_000_000L, 1, Guard.RELEASED, 0), 1, 0), first);
        assertEquals(new SignalCodec.Ok(B, first.signal()), received(b));

        // the list changes: the next round reaches the new peer too
        peers("kvm-b 127.0.0.1:" + b.getLocalPort() + "\nkvm-c 127.0.0.1:" + c.getLocalPort() + "\n");
        SignalSender.Round second = s.tick(NOW + 200 * MS);
        assertEquals(2, second.signal().sequence());
        assertEquals(2, second.sent());
        assertEquals(new SignalCodec.Ok(B, second.signal()), received(b));
        assertEquals(new SignalCodec.Ok(C, second.signal()), received(c));
    }

    @Test
    void aLeaseAheadWithALivePetterIsSentAsArmedWithTheTimeLeft() throws IOException {
        DatagramSocket b = peer();
        peers("kvm-b 127.0.0.1:" + b.getLocalPort() + "\n");
        String boot = bootId();
        Files.writeString(stateFile(), "havn-watchdog 1 " + boot + " armed " + (NOW + 2_500 * MS) + "\n");
        Files.writeString(dir.resolve("watchdog.status"), "havn-watchdog-status 1 " + boot + " "
                + ProcessHandle.current().pid() + " 3000 /dev/watchdog\n");
        SignalSender s = sender(5);
        assertEquals(new HostSignal(SELF, 5, 1, Guard.ARMED, 2_500), s.tick(NOW).signal());
        assertEquals(new HostSignal(SELF, 5, 1, Guard.ARMED, 2_500), received(b).signal());
        s.tick(NOW + 3_000 * MS);
        assertEquals(new HostSignal(SELF, 5, 2, Guard.LAPSED, 0), received(b).signal(), "the deadline passed");
    }

    @Test
    void noPeersFileMeansNothingToSendAndAClosedSenderRefusesToTick() throws IOException {
        SignalSender s = sender(5);
        SignalSender.Round r = s.tick(NOW);
        assertEquals(0, r.sent() + r.failed());
        s.close();
        s.close();
        assertThrows(IllegalStateException.class, () -> s.tick(NOW));
    }

    @Test
    void theLoopSendsARoundPerIntervalOnItsClockAndStops() throws Exception {
        DatagramSocket b = peer();
        peers("kvm-b 127.0.0.1:" + b.getLocalPort() + "\n");
        SignalSender s = sender(5);
        AtomicLong clock = new AtomicLong(NOW);
        List<Long> waits = new ArrayList<>();
        s.run(clock::get, 200 * MS, nanos -> {
            waits.add(nanos);
            clock.addAndGet(nanos);
            return waits.size() < 3;
        });
        assertEquals(List.of(200 * MS, 200 * MS, 200 * MS), waits);
        for (long seq = 1; seq <= 3; seq++) {
            assertEquals(seq, received(b).signal().sequence());
        }
        assertThrows(IllegalStateException.class, () -> s.tick(NOW), "closed when the loop stops");
    }

    @Test
    void theProcessTakesEverythingFromHavndsConfigAndAnIncarnationAboveTheLast() throws Exception {
        DatagramSocket b = peer();
        Path key = dir.resolve("cluster.key");
        Files.writeString(key, java.util.HexFormat.of().formatHex(KEY) + "\n");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Path stateDir = dir.resolve("state");
        Files.createDirectories(stateDir);
        Files.writeString(stateDir.resolve(IncarnationFile.SIGNAL_NAME), "2000000000000\n");
        Path config = dir.resolve("havn.yaml");
        Files.writeString(config, """
                cluster: %s
                host: {name: kvm-a, cpus: 4, memoryMiB: 4096, address: "127.0.0.1:7405", stateDir: "%s"}
                zookeeper: {connect: "127.0.0.1:2181", allowInsecure: true}
                heartbeat: {bind: "127.0.0.1:7405", keyFile: "%s"}
                libvirt: {uri: "test:///default"}
                watchdog: {stateFile: "%s", required: false}
                settings: {heartbeatIntervalMs: 150}
                """.formatted(CLUSTER, stateDir, key, stateFile()));
        peers("kvm-b 127.0.0.1:" + b.getLocalPort() + "\n");
        List<Long> waits = new ArrayList<>();
        int rc = new CommandLine(new SignalSender.Cli(() -> 1_000_000_000_000L, () -> NOW, nanos -> {
            waits.add(nanos);
            return false;
        })).execute("--config", config.toString());
        assertEquals(0, rc);
        assertEquals(List.of(150 * MS), waits, "the interval is settings.heartbeatIntervalMs");
        HostSignal got = received(b).signal();
        assertEquals(new HostSignal(SELF, 2_000_000_000_001L, 1, Guard.RELEASED, 0), got,
                "above the last incarnation, though the wall clock is behind it");
        assertEquals("2000000000001\n", Files.readString(stateDir.resolve(IncarnationFile.SIGNAL_NAME)));
    }

    @Test
    void aConfigThatCannotBeUsedExitsTwoNamingTheProblem() throws Exception {
        Path config = dir.resolve("havn.yaml");
        Files.writeString(config, "cluster: prod\n");
        AtomicInteger rounds = new AtomicInteger();
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = new CommandLine(new SignalSender.Cli(() -> 1L, () -> NOW, nanos -> rounds.incrementAndGet() < 0))
                    .execute("--config", config.toString());
        } finally {
            System.setErr(err);
        }
        assertEquals(2, rc);
        assertEquals(0, rounds.get());
        String said = captured.toString(StandardCharsets.UTF_8);
        assertTrue(said.startsWith("havn-signal: "), said);
        assertTrue(said.contains("host"), said);
    }
}
