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
        NodeEvent e = inbox.poll(WAIT_SECONDS, TimeUnit.SECONDS);
        assertNotNull(e, "no heartbeat delivered within " + WAIT_SECONDS + " s");
        return assertInstanceOf(NodeEvent.HeartbeatReceived.class, e).heartbeat();
    }

    /** Every drop counter zero except {@code expected}. */
    private static void assertDrops(Map<Drop, Long> expected, NettyTransport t) {
        Map<Drop, Long> all = new EnumMap<>(Drop.class);
        for (Drop d : Drop.values()) {
            all.put(d, expected.getOrDefault(d, 0L));
        }
        assertEquals(all, t.dropped());
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
}
