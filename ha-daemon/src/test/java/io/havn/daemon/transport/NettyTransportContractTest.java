package io.havn.daemon.transport;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.Transport;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The transport contract on real UDP sockets on 127.0.0.1: one {@link NettyTransport} per host, on
 * the I/O mode the machine offers, and a plain datagram socket as the raw wire.
 */
class NettyTransportContractTest extends TransportContract {
    private static final String CLUSTER = "contract-1";
    private static final byte[] KEY = "contract-key-0123456789abcdefghij".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OTHER_KEY = "not-the-cluster-key-0123456789ab".getBytes(StandardCharsets.US_ASCII);

    @Override
    protected Subject newSubject() throws IOException {
        return new UdpSubject();
    }

    private static final class UdpSubject implements Subject {
        private final HeartbeatCodec codec = new HeartbeatCodec(CLUSTER, KEY);
        private final Map<HostId, InetSocketAddress> addresses = new ConcurrentHashMap<>();
        private final Map<HostId, NettyTransport> transports = new ConcurrentHashMap<>();
        private final Map<HostId, BlockingQueue<Heartbeat>> received = new ConcurrentHashMap<>();
        private final DatagramSocket raw;

        UdpSubject() throws IOException {
            for (HostId h : HOSTS) {
                BlockingQueue<Heartbeat> inbox = new LinkedBlockingQueue<>();
                received.put(h, inbox);
                NettyTransport t = new NettyTransport(h, new InetSocketAddress("127.0.0.1", 0), codec, addresses::get,
                        e -> inbox.add(((NodeEvent.HeartbeatReceived) e).heartbeat()));
                transports.put(h, t);
                t.start();
                addresses.put(h, t.localAddress());
            }
            raw = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
        }

        @Override
        public Transport transport(HostId host) {
            return transports.get(host);
        }

        @Override
        public Heartbeat next(HostId host, Duration within) throws InterruptedException {
            return received.get(host).poll(within.toNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public void stop(HostId host) {
            transports.get(host).close();
        }

        @Override
        public Wire wire() {
            return new Wire() {
                private final Map<HostId, byte[]> last = new ConcurrentHashMap<>();

                @Override
                public void genuine(HostId to, Heartbeat heartbeat) throws IOException {
                    byte[] bytes = codec.encode(to, heartbeat);
                    last.put(to, bytes);
                    send(to, bytes);
                }

                @Override
                public void replayLast(HostId to) throws IOException {
                    send(to, last.get(to));
                }

                @Override
                public void forged(HostId to, Heartbeat heartbeat) throws IOException {
                    send(to, new HeartbeatCodec(CLUSTER, OTHER_KEY).encode(to, heartbeat));
                }

                @Override
                public void misaddressed(HostId deliveredTo, HostId addressedTo, Heartbeat heartbeat) throws IOException {
                    send(deliveredTo, codec.encode(addressedTo, heartbeat));
                }

                @Override
                public void garbage(HostId to) throws IOException {
                    send(to, "havn? no: just some bytes".getBytes(StandardCharsets.US_ASCII));
                }
            };
        }

        private void send(HostId to, byte[] bytes) throws IOException {
            raw.send(new DatagramPacket(bytes, bytes.length, addresses.get(to)));
        }

        @Override
        public void close() {
            transports.values().forEach(NettyTransport::close);
            raw.close();
        }
    }
}
