package io.havn.daemon.transport;

import static io.havn.daemon.transport.HeartbeatCodecTest.CLUSTER;
import static io.havn.daemon.transport.HeartbeatCodecTest.KEY;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.HostSignal;
import io.havn.common.node.HostSignal.Guard;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.transport.NettyTransport.Drop;
import io.havn.daemon.transport.NettyTransport.IoMode;
import io.havn.daemon.transport.NettyTransport.State;
import io.netty.channel.epoll.Epoll;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Real sockets on 127.0.0.1, both I/O modes. Nothing sleeps: a test waits for a heartbeat with a
 * bounded poll. To know that the datagrams which must NOT be delivered were processed, a test
 * sends them first and a valid marker last, from the same socket: loopback keeps their order and
 * the transport reads them on one thread, so once the marker is delivered the others are counted.
 * Host signals ({@link SignalCodec}) share the socket: the tests at the end.
 */
class NettyTransportTest {
    private static final long WAIT_SECONDS = 5;
    private static final HostId A = new HostId("kvm-a");
    private static final HostId B = new HostId("kvm-b");
    private static final HostId C = new HostId("kvm-c");

    private final HeartbeatCodec codec = new HeartbeatCodec(CLUSTER, KEY);
    private final Map<HostId, InetSocketAddress> addresses = new ConcurrentHashMap<>();
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : toClose) {
            c.close();
        }
    }

    private NettyTransport started(HostId self, IoMode mode, Consumer<NodeEvent> sink) {
        assumeTrue(mode != IoMode.EPOLL || Epoll.isAvailable(), "native epoll is not available here");
        NettyTransport t = new NettyTransport(self, new InetSocketAddress("127.0.0.1", 0), codec, addresses::get, sink, mode);
        toClose.add(t);
        t.start();
        addresses.put(self, t.localAddress());
        return t;
    }

    private DatagramSocket socket() throws IOException {
        DatagramSocket s = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        toClose.add(s);
        return s;
    }

    private static void sendRaw(DatagramSocket s, byte[] bytes, InetSocketAddress to) throws IOException {
        s.send(new DatagramPacket(bytes, bytes.length, to));
    }

    private static Heartbeat hb(HostId from, long sequence) {
        return new Heartbeat(from, sequence, 4, 1_000_000L * sequence, Heartbeat.NO_ECHO, 0, false);
    }

    private static Heartbeat next(BlockingQueue<NodeEvent> inbox) throws InterruptedException {
        return assertInstanceOf(NodeEvent.HeartbeatReceived.class, nextEvent(inbox)).heartbeat();
    }

    private static NodeEvent nextEvent(BlockingQueue<NodeEvent> inbox) throws InterruptedException {
        NodeEvent e = inbox.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(e, "nothing delivered within " + WAIT_SECONDS + " s");
        return e;
    }

    /** Every drop counter zero except {@code expected}. */
    private static void assertDrops(Map<Drop, Long> expected, NettyTransport t) {
        assertCounts(expected, t::dropped);
    }

    /** Every counter of {@code counts} zero except {@code expected}. */
    private static void assertCounts(Map<Drop, Long> expected, java.util.function.ToLongFunction<Drop> counts) {
        Map<Drop, Long> all = new EnumMap<>(Drop.class);
        Map<Drop, Long> seen = new EnumMap<>(Drop.class);
        for (Drop d : Drop.values()) {
            all.put(d, expected.getOrDefault(d, 0L));
            seen.put(d, counts.applyAsLong(d));
        }
        assertEquals(all, seen);
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void heartbeatsGoBothWays(IoMode mode) throws Exception {
        BlockingQueue<NodeEvent> inboxA = new LinkedBlockingQueue<>();
        BlockingQueue<NodeEvent> inboxB = new LinkedBlockingQueue<>();
        NettyTransport a = started(A, mode, inboxA::add);
        NettyTransport b = started(B, mode, inboxB::add);
        assertEquals(mode, a.ioMode());
        assertNotEquals(0, a.localAddress().getPort());

        Heartbeat fromA = new Heartbeat(A, 1, 4, 1_000, Heartbeat.NO_ECHO, Heartbeat.NEVER, false);
        a.send(B, fromA);
        assertEquals(fromA, next(inboxB));
        Heartbeat fromB = new Heartbeat(B, 1, 4, 2_000, fromA.sentNanos(), 300, true);
        b.send(A, fromB);
        assertEquals(fromB, next(inboxA));
        Heartbeat again = new Heartbeat(A, 2, 4, 1_200, fromB.sentNanos(), 0, false);
        a.send(B, again);
        assertEquals(again, next(inboxB));

        assertEquals(2, b.accepted());
        assertEquals(1, a.accepted());
        assertDrops(Map.of(), a);
        assertDrops(Map.of(), b);
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void aReplayedDatagramIsDeliveredOnceAndCountedOnce(IoMode mode) throws Exception {
        BlockingQueue<NodeEvent> inboxB = new LinkedBlockingQueue<>();
        NettyTransport b = started(B, mode, inboxB::add);
        DatagramSocket attacker = socket();

        byte[] captured = codec.encode(B, hb(A, 1));
        sendRaw(attacker, captured, b.localAddress());
        sendRaw(attacker, captured, b.localAddress());
        sendRaw(attacker, codec.encode(B, hb(A, 2)), b.localAddress()); // the marker

        assertEquals(hb(A, 1), next(inboxB));
        assertEquals(hb(A, 2), next(inboxB));
        assertNull(inboxB.poll(), "nothing else delivered");
        assertDrops(Map.of(Drop.REPLAYED, 1L), b);
        assertEquals(2, b.accepted());
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void rejectedDatagramsAreCountedByReasonAndNeverDelivered(IoMode mode) throws Exception {
        BlockingQueue<NodeEvent> inboxB = new LinkedBlockingQueue<>();
        NettyTransport b = started(B, mode, inboxB::add);
        InetSocketAddress to = b.localAddress();
        DatagramSocket s = socket();

        sendRaw(s, "hello".getBytes(StandardCharsets.US_ASCII), to);
        sendRaw(s, new byte[200], to);
        sendRaw(s, new byte[0], to);
        sendRaw(s, new byte[3000], to); // larger than the receive buffer
        sendRaw(s, codec.encode(C, hb(A, 1)), to); // authentic, for another host
        sendRaw(s, new HeartbeatCodec(CLUSTER, "a different cluster key".getBytes(StandardCharsets.UTF_8))
                .encode(B, hb(A, 1)), to);
        sendRaw(s, new HeartbeatCodec("staging", KEY).encode(B, hb(A, 1)), to);
        sendRaw(s, codec.encode(B, hb(A, 9)), to); // the marker

        assertEquals(hb(A, 9), next(inboxB));
        assertNull(inboxB.poll(), "nothing else delivered");
        assertDrops(Map.of(Drop.TOO_SHORT, 2L, Drop.BAD_MAGIC, 2L, Drop.NOT_FOR_ME, 1L, Drop.BAD_MAC, 1L,
                Drop.FOREIGN_CLUSTER, 1L), b);
    }

    /** A stale address book sends B's heartbeats for C to B; B must not take them as its own. */
    @ParameterizedTest
    @EnumSource(IoMode.class)
    void aHeartbeatSentToTheWrongAddressIsNotForMe(IoMode mode) throws Exception {
        BlockingQueue<NodeEvent> inboxB = new LinkedBlockingQueue<>();
        NettyTransport a = started(A, mode, e -> { });
        NettyTransport b = started(B, mode, inboxB::add);
        addresses.put(C, b.localAddress());

        a.send(C, hb(A, 1));
        a.send(B, hb(A, 2)); // the marker, same socket

        assertEquals(hb(A, 2), next(inboxB));
        assertNull(inboxB.poll());
        assertDrops(Map.of(Drop.NOT_FOR_ME, 1L), b);
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void sendingToAnUnknownHostCountsAndDoesNotThrow(IoMode mode) {
        NettyTransport a = started(A, mode, e -> { });
        assertDoesNotThrow(() -> a.send(C, hb(A, 1)));
        addresses.put(new HostId("unresolved"), InetSocketAddress.createUnresolved("no.such.host.invalid", 7000));
        assertDoesNotThrow(() -> a.send(new HostId("unresolved"), hb(A, 2)));
        assertDrops(Map.of(Drop.UNKNOWN_PEER, 2L), a);
    }

    @Test
    void aFailingAddressLookupCountsAndDoesNotThrow() {
        NettyTransport a = new NettyTransport(A, new InetSocketAddress("127.0.0.1", 0), codec,
                host -> { throw new IllegalStateException("address book broken"); }, e -> { });
        toClose.add(a);
        a.start();
        assertDoesNotThrow(() -> a.send(B, hb(A, 1)));
        assertDrops(Map.of(Drop.UNKNOWN_PEER, 1L), a);
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void aThrowingSinkIsCountedAndLaterHeartbeatsStillArrive(IoMode mode) throws Exception {
        BlockingQueue<NodeEvent> inbox = new LinkedBlockingQueue<>();
        NettyTransport b = started(B, mode, e -> {
            if (((NodeEvent.HeartbeatReceived) e).heartbeat().sequence() == 1) {
                throw new IllegalStateException("queue full");
            }
            inbox.add(e);
        });
        DatagramSocket s = socket();
        sendRaw(s, codec.encode(B, hb(A, 1)), b.localAddress());
        sendRaw(s, codec.encode(B, hb(A, 2)), b.localAddress());

        assertEquals(hb(A, 2), next(inbox));
        assertDrops(Map.of(Drop.SINK_FAILED, 1L), b);
    }

    @Test
    void picksEpollWhenAvailableAndSaysSo() {
        NettyTransport t = new NettyTransport(A, new InetSocketAddress("127.0.0.1", 0), codec, addresses::get, e -> { });
        toClose.add(t);
        IoMode expected = Epoll.isAvailable() ? IoMode.EPOLL : IoMode.NIO;
        assertEquals(expected, t.ioMode());
        assertTrue(t.toString().contains(expected.name()), t.toString());
    }

    @Test
    void startsOnceAndClosesIdempotently() {
        NettyTransport t = new NettyTransport(A, new InetSocketAddress("127.0.0.1", 0), codec, addresses::get, e -> { });
        toClose.add(t);
        assertEquals(State.LATENT, t.state());
        assertDoesNotThrow(() -> t.send(B, hb(A, 1)), "before start");
        t.start();
        assertEquals(State.STARTED, t.state());
        assertThrows(IllegalStateException.class, t::start);
        t.close();
        t.close();
        assertEquals(State.CLOSED, t.state());
        assertThrows(IllegalStateException.class, t::start);
        assertDoesNotThrow(() -> t.send(B, hb(A, 2)), "after close");
        assertDrops(Map.of(Drop.NOT_RUNNING, 2L), t);
    }

    @Test
    void aPortInUseFailsStartNamingTheAddressAndClosesTheTransport() {
        NettyTransport first = started(A, IoMode.NIO, e -> { });
        InetSocketAddress taken = first.localAddress();
        NettyTransport second = new NettyTransport(B, taken, codec, addresses::get, e -> { });
        toClose.add(second);
        IllegalStateException e = assertThrows(IllegalStateException.class, second::start);
        assertTrue(e.getMessage().contains(String.valueOf(taken.getPort())), e.getMessage());
        assertEquals(State.CLOSED, second.state());
    }

    @Test
    void closingANeverStartedTransportIsFine() {
        NettyTransport t = new NettyTransport(A, new InetSocketAddress("127.0.0.1", 0), codec, addresses::get, e -> { });
        t.close();
        assertEquals(State.CLOSED, t.state());
        assertThrows(IllegalStateException.class, t::localAddress);
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void theSocketGetsTheReceiveBufferAskedAndItsKernelDropsAreRead(IoMode mode) {
        assumeTrue(mode != IoMode.EPOLL || Epoll.isAvailable(), "native epoll is not available here");
        // 64 KiB: below every kernel's default maximum (net.core.rmem_max), so it is granted as asked
        NettyTransport t = new NettyTransport(A, new InetSocketAddress("127.0.0.1", 0), codec, addresses::get,
                e -> { }, mode, 65_536);
        toClose.add(t);
        assertEquals(0, t.receiveBufferBytes(), "nothing granted before it is bound");
        assertEquals(-1, t.kernelDrops(), "no socket, no count");
        t.start();
        int granted = t.receiveBufferBytes();
        // Linux grants twice what it is asked (the kernel's bookkeeping takes half)
        assertTrue(granted == 65_536 || granted == 131_072, "asked 65536, granted " + granted);
        assertEquals(0, t.kernelDrops(), "the kernel has dropped nothing for this fresh socket");
    }

    // ---------------------------------------------------------------- host signals on the same socket

    private final SignalCodec signals = new SignalCodec(CLUSTER, KEY);

    private static HostSignal signal(HostId from, long incarnation, long sequence) {
        return new HostSignal(from, incarnation, sequence, Guard.ARMED, 1_500);
    }

    /** Every signal drop counter zero except {@code expected}; no heartbeat drop at all. */
    private static void assertSignalDrops(Map<Drop, Long> expected, NettyTransport t) {
        assertCounts(expected, t::signalsDropped);
        assertDrops(Map.of(), t);
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void anAuthenticSignalAddressedHereReachesTheSinkAsSignalReceived(IoMode mode) throws Exception {
        BlockingQueue<NodeEvent> inbox = new LinkedBlockingQueue<>();
        NettyTransport b = started(B, mode, inbox::add);
        DatagramSocket s = socket();
        HostSignal first = signal(A, 100, 1);
        sendRaw(s, signals.encode(B, first), b.localAddress());
        assertEquals(new NodeEvent.SignalReceived(first), nextEvent(inbox));
        HostSignal released = new HostSignal(A, 100, 2, Guard.RELEASED, 0);
        sendRaw(s, signals.encode(B, released), b.localAddress());
        assertEquals(new NodeEvent.SignalReceived(released), nextEvent(inbox));
        // heartbeats still arrive on the same socket, as heartbeats
        Heartbeat hb = new Heartbeat(A, 1, 1, 1, 1_000, Heartbeat.NO_ECHO, 0, false);
        sendRaw(s, codec.encode(B, hb), b.localAddress());
        assertEquals(hb, assertInstanceOf(NodeEvent.HeartbeatReceived.class, nextEvent(inbox)).heartbeat());
        assertEquals(2, b.signalsAccepted());
        assertEquals(1, b.accepted());
        assertSignalDrops(Map.of(), b);
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void replaysOtherHostsSignalsAndForgeriesAreCountedNotDelivered(IoMode mode) throws Exception {
        BlockingQueue<NodeEvent> inbox = new LinkedBlockingQueue<>();
        NettyTransport b = started(B, mode, inbox::add);
        DatagramSocket s = socket();
        byte[] first = signals.encode(B, signal(A, 100, 5));
        sendRaw(s, first, b.localAddress());
        assertEquals(new NodeEvent.SignalReceived(signal(A, 100, 5)), nextEvent(inbox));

        sendRaw(s, first, b.localAddress()); // the same datagram again
        sendRaw(s, signals.encode(B, signal(A, 100, 4)), b.localAddress()); // older sequence
        sendRaw(s, signals.encode(B, signal(A, 99, 9)), b.localAddress()); // older incarnation
        sendRaw(s, signals.encode(C, signal(A, 100, 6)), b.localAddress()); // addressed to another host
        byte[] otherKey = KEY.clone();
        otherKey[3] ^= 1;
        sendRaw(s, new SignalCodec(CLUSTER, otherKey).encode(B, signal(A, 100, 7)), b.localAddress()); // forged
        sendRaw(s, new SignalCodec("prod-2", KEY).encode(B, signal(A, 100, 8)), b.localAddress()); // another cluster
        sendRaw(s, new byte[] {'H', 'S', 1}, b.localAddress()); // too short
        // the marker: a later incarnation passes whatever its sequence (a restarted sender)
        HostSignal restarted = signal(A, 101, 1);
        sendRaw(s, signals.encode(B, restarted), b.localAddress());
        assertEquals(new NodeEvent.SignalReceived(restarted), nextEvent(inbox));

        assertEquals(2, b.signalsAccepted());
        assertSignalDrops(Map.of(Drop.REPLAYED, 3L, Drop.NOT_FOR_ME, 1L, Drop.BAD_MAC, 1L,
                Drop.FOREIGN_CLUSTER, 1L, Drop.TOO_SHORT, 1L), b);
        assertEquals(0, b.accepted(), "no heartbeat was taken");
        assertTrue(inbox.isEmpty(), "delivered besides: " + inbox);
    }

    @ParameterizedTest
    @EnumSource(IoMode.class)
    void eachSendersSignalsAreOrderedApartAndASinkThatThrowsIsCounted(IoMode mode) throws Exception {
        BlockingQueue<NodeEvent> inbox = new LinkedBlockingQueue<>();
        NettyTransport b = started(B, mode, e -> {
            if (e instanceof NodeEvent.SignalReceived r && r.signal().sequence() == 13) {
                throw new IllegalStateException("the queue is full");
            }
            inbox.add(e);
        });
        DatagramSocket s = socket();
        sendRaw(s, signals.encode(B, signal(A, 100, 50)), b.localAddress());
        sendRaw(s, signals.encode(B, signal(C, 7, 13)), b.localAddress()); // another sender, lower numbers: its own order; the sink throws
        sendRaw(s, signals.encode(B, signal(C, 7, 14)), b.localAddress());
        assertEquals(new NodeEvent.SignalReceived(signal(A, 100, 50)), nextEvent(inbox));
        assertEquals(new NodeEvent.SignalReceived(signal(C, 7, 14)), nextEvent(inbox));
        assertEquals(3, b.signalsAccepted());
        assertSignalDrops(Map.of(Drop.SINK_FAILED, 1L), b);

        b.forgetSender(C); // e.g. the host was removed and added again
        sendRaw(s, signals.encode(B, signal(C, 1, 1)), b.localAddress());
        assertEquals(new NodeEvent.SignalReceived(signal(C, 1, 1)), nextEvent(inbox));
    }
}
