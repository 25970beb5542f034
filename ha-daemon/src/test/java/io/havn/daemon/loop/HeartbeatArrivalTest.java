package io.havn.daemon.loop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.transport.HeartbeatCodec;
import io.havn.daemon.transport.NettyTransport;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The real transport in front of the real event loop, on loopback: a heartbeat read while the
 * node's thread is busy reaches the node stamped with when it was read, not when the node got to
 * it. Nothing sleeps: the node is held busy by a latch, and each step waits on a queue with a bound.
 */
class HeartbeatArrivalTest {
    private static final HostId ME = HostId.of("kvm-a");
    private static final HostId PEER = HostId.of("kvm-b");
    private static final byte[] KEY = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    /** What the node saw, and when on its clock it handled it. */
    private record Handled(NodeEvent.HeartbeatReceived event, long handledNanos) { }

    @Test
    void aHeartbeatReadWhileTheNodeIsBusyKeepsTheTimeItWasReadOnTheSocket() throws Exception {
        HeartbeatCodec codec = new HeartbeatCodec("prod-1", KEY);
        BlockingQueue<Long> posted = new LinkedBlockingQueue<>();
        BlockingQueue<Handled> handled = new LinkedBlockingQueue<>();
        try (EventLoop loop = new EventLoop("test-node");
             NettyTransport transport = new NettyTransport(ME, new InetSocketAddress("127.0.0.1", 0), codec,
                     h -> null, e -> {
                         loop.post(e);
                         posted.add(loop.nanos());
                     }, NettyTransport.DEFAULT_SOCKET_RECEIVE_BUFFER_BYTES, loop);
             DatagramSocket peer = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0))) {
            loop.start(() -> { }, e -> {
                if (e instanceof NodeEvent.HeartbeatReceived h) {
                    handled.add(new Handled(h, loop.nanos()));
                }
            }, () -> { });
            transport.start();

            // the node is in the middle of a long event (a slow step, a burst of work)
            CountDownLatch in = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            loop.run(() -> {
                in.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(in.await(5, TimeUnit.SECONDS));

            long beforeSend = loop.nanos();
            byte[] datagram = codec.encode(ME, new Heartbeat(PEER, 1, 1, 1, Heartbeat.NO_ECHO, 0, false));
            peer.send(new DatagramPacket(datagram, datagram.length, transport.localAddress()));
            Long postedAt = posted.poll(5, TimeUnit.SECONDS);
            assertNotNull(postedAt, "the transport read the heartbeat while the node was busy");
            assertTrue(handled.isEmpty(), "the node was still busy");
            long stillBusyAt = loop.nanos();
            release.countDown();

            Handled h = handled.poll(5, TimeUnit.SECONDS);
            assertNotNull(h, "the node got the heartbeat once free");
            assertEquals(PEER, h.event().heartbeat().from());
            long arrived = h.event().arrivedNanos();
            assertTrue(beforeSend <= arrived && arrived <= postedAt,
                    "stamped when read: sent at " + beforeSend + ", read at " + arrived + ", posted at " + postedAt);
            assertTrue(h.handledNanos() > stillBusyAt && stillBusyAt > arrived,
                    "handled only after the busy step, and the stamp is not that time: read at " + arrived
                            + ", handled at " + h.handledNanos());
        }
    }
}
