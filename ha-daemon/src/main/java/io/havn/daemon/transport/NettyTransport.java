package io.havn.daemon.transport;

import io.havn.common.model.HostId;
import io.havn.common.node.Heartbeat;
import io.havn.common.node.HostSignal;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.Clock;
import io.havn.common.port.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Transport} of the daemon: heartbeats as authenticated UDP datagrams over Netty, on
 * native epoll when it is available and NIO otherwise.
 *
 * <p>Outbound, {@link #send} encodes on the caller's thread and hands the datagram to Netty; it
 * never blocks and never throws (null arguments aside). A heartbeat it cannot send is counted in
 * {@link #dropped()} and forgotten: no address for the peer, not started or closed, the socket's
 * outbound buffer full, or the write failed.
 *
 * <p>Inbound, on Netty's single event loop thread: each datagram is decoded and authenticated by
 * the {@link HeartbeatCodec}, must be addressed to this host, and must pass the
 * {@link ReplayGuard}; then {@code sink} receives a {@link NodeEvent.HeartbeatReceived} stamped
 * with when the datagram was read, on the node's clock: the node's failure detector counts from
 * then, however long the event then waits in the node's queue. Anything else is counted by reason
 * and dropped. {@code sink} is called from Netty's thread and must be thread-safe and quick (the
 * node's event queue). Nothing is posted once {@link #close} has begun.
 *
 * <p>The transport only translates: whether a heartbeat matters, and what its absence means,
 * is decided in ha-common. The UDP source address is not checked against the sender's address;
 * the tag authenticates the sender.
 *
 * <p>Host signals ({@link SignalCodec}: what a peer's signal sender, apart from its havnd, says of
 * its host) arrive on the same socket; their magic sends them to the {@link SignalCodec}. One that
 * is authentic, addressed to this host and later ({@link HostSignal#isAfter}) than the last taken
 * from its sender goes to {@code sink} as a {@link NodeEvent.SignalReceived}; the rest are counted
 * apart from heartbeats ({@link #signalsDropped}, {@link #signalsAccepted}).
 */
public final class NettyTransport implements Transport, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NettyTransport.class);

    /** Well above the largest heartbeat; a longer datagram arrives cut short and fails the tag. */
    private static final int RECEIVE_BUFFER_BYTES = HeartbeatCodec.MAX_DATAGRAM_BYTES + 1;
    /** The socket's receive buffer asked of the kernel by default (heartbeat.receiveBufferBytes). */
    public static final int DEFAULT_SOCKET_RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
    /** One heartbeat interval's burst to 1,000 peers fits below the high mark. */
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(512 * 1024, 1024 * 1024);
    private static final long BIND_TIMEOUT_MS = 10_000;
    private static final long CLOSE_TIMEOUT_MS = 5_000;

    public enum State { LATENT, STARTED, CLOSED }

    /** The I/O mechanism under the socket. */
    public enum IoMode { EPOLL, NIO }

    /** Why a heartbeat was dropped: {@code TOO_SHORT} to {@code SINK_FAILED} inbound, the rest outbound. */
    public enum Drop {
        /** Inbound: see {@link HeartbeatCodec.Reason}. */
        TOO_SHORT, BAD_MAGIC, BAD_VERSION, MALFORMED, FOREIGN_CLUSTER, BAD_MAC,
        /** Inbound: authentic, but addressed to another host. */
        NOT_FOR_ME,
        /** Inbound: authentic, but a duplicate or older than one already delivered. */
        REPLAYED,
        /** Inbound: the socket reported an error. */
        RECEIVE_FAILED,
        /** Inbound: the sink threw. */
        SINK_FAILED,
        /** Outbound: no address known for the peer. */
        UNKNOWN_PEER,
        /** Outbound: the transport is not started, or closed. */
        NOT_RUNNING,
        /** Outbound: the socket's outbound buffer is above its high water mark. */
        BACKPRESSURE,
        /** Outbound: Netty or the kernel failed the write. */
        SEND_FAILED
    }

    private final HostId self;
    private final InetSocketAddress bindAddress;
    private final HeartbeatCodec codec;
    private final Function<HostId, InetSocketAddress> peerAddress;
    private final Consumer<NodeEvent> sink;
    /** The node's clock: heartbeats are stamped with it when read. */
    private final Clock clock;
    private final IoMode ioMode;
    private final int socketReceiveBufferBytes;
    private final ReplayGuard guard = new ReplayGuard();
    private final SignalCodec signalCodec;
    /** Per sender, the last signal taken: a later one only passes (as {@link ReplayGuard} for heartbeats). */
    private final ConcurrentHashMap<HostId, HostSignal> lastSignal = new ConcurrentHashMap<>();
    /** What the kernel granted of {@link #socketReceiveBufferBytes}, once bound; 0 before. */
    private volatile int grantedReceiveBufferBytes;
    private volatile KernelDrops kernelDrops;

    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final Object lifecycle = new Object();
    private volatile EventLoopGroup group;
    private volatile Channel channel;

    private final LongAdder[] drops = new LongAdder[Drop.values().length];
    private final LongAdder sent = new LongAdder();
    private final LongAdder accepted = new LongAdder();
    private final LongAdder[] signalDrops = new LongAdder[Drop.values().length];
    private final LongAdder signalsAccepted = new LongAdder();
    private final ChannelFutureListener onWritten = f -> {
        if (f.isSuccess()) {
            sent.increment();
        } else {
            count(Drop.SEND_FAILED);
        }
    };

    /**
     * A transport on native epoll if {@link Epoll#isAvailable()}, else on NIO. Nothing is bound
     * before {@link #start}.
     *
     * @param self        this host; datagrams addressed to any other host are dropped
     * @param bindAddress the local address and port to receive on (port 0: any free port)
     * @param codec       the cluster's wire format and key
     * @param peerAddress a peer's address, or null if unknown; called on the sender's thread, and
     *                    may change over time as peers come and go (e.g. {@code map::get} of a
     *                    {@code ConcurrentHashMap})
     * @param sink        receives each accepted heartbeat, on Netty's thread
     */
    public NettyTransport(HostId self, InetSocketAddress bindAddress, HeartbeatCodec codec,
                          Function<HostId, InetSocketAddress> peerAddress, Consumer<NodeEvent> sink) {
        this(self, bindAddress, codec, peerAddress, sink, DEFAULT_SOCKET_RECEIVE_BUFFER_BYTES);
    }

    /**
     * As above, asking the kernel for a receive buffer of {@code socketReceiveBufferBytes}
     * (SO_RCVBUF): a burst of heartbeats that finds it full is dropped by the kernel.
     */
    public NettyTransport(HostId self, InetSocketAddress bindAddress, HeartbeatCodec codec,
                          Function<HostId, InetSocketAddress> peerAddress, Consumer<NodeEvent> sink,
                          int socketReceiveBufferBytes) {
        this(self, bindAddress, codec, peerAddress, sink, socketReceiveBufferBytes, System::nanoTime);
    }

    /**
     * As above, stamping each heartbeat's arrival with {@code clock}, which must be the node's
     * (the event loop's) clock.
     */
    public NettyTransport(HostId self, InetSocketAddress bindAddress, HeartbeatCodec codec,
                          Function<HostId, InetSocketAddress> peerAddress, Consumer<NodeEvent> sink,
                          int socketReceiveBufferBytes, Clock clock) {
        this(self, bindAddress, codec, peerAddress, sink, Epoll.isAvailable() ? IoMode.EPOLL : IoMode.NIO,
                socketReceiveBufferBytes, clock);
    }

    /** As above, with the I/O mode chosen; tests use it to cover NIO where epoll exists. */
    NettyTransport(HostId self, InetSocketAddress bindAddress, HeartbeatCodec codec,
                   Function<HostId, InetSocketAddress> peerAddress, Consumer<NodeEvent> sink, IoMode ioMode) {
        this(self, bindAddress, codec, peerAddress, sink, ioMode, DEFAULT_SOCKET_RECEIVE_BUFFER_BYTES);
    }

    NettyTransport(HostId self, InetSocketAddress bindAddress, HeartbeatCodec codec,
                   Function<HostId, InetSocketAddress> peerAddress, Consumer<NodeEvent> sink, IoMode ioMode,
                   int socketReceiveBufferBytes) {
        this(self, bindAddress, codec, peerAddress, sink, ioMode, socketReceiveBufferBytes, System::nanoTime);
    }

    NettyTransport(HostId self, InetSocketAddress bindAddress, HeartbeatCodec codec,
                   Function<HostId, InetSocketAddress> peerAddress, Consumer<NodeEvent> sink, IoMode ioMode,
                   int socketReceiveBufferBytes, Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.self = Objects.requireNonNull(self, "self");
        this.bindAddress = Objects.requireNonNull(bindAddress, "bindAddress");
        this.codec = Objects.requireNonNull(codec, "codec");
        this.signalCodec = new SignalCodec(codec);
        this.peerAddress = Objects.requireNonNull(peerAddress, "peerAddress");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.ioMode = Objects.requireNonNull(ioMode, "ioMode");
        if (socketReceiveBufferBytes <= 0) {
            throw new IllegalArgumentException("socket receive buffer must be positive, got " + socketReceiveBufferBytes);
        }
        this.socketReceiveBufferBytes = socketReceiveBufferBytes;
        if (ioMode == IoMode.EPOLL && !Epoll.isAvailable()) {
            throw new IllegalArgumentException("native epoll is not available: " + Epoll.unavailabilityCause());
        }
        for (int i = 0; i < drops.length; i++) {
            drops[i] = new LongAdder();
            signalDrops[i] = new LongAdder();
        }
    }

    /**
     * Binds the socket; returns once it is bound.
     *
     * @throws IllegalStateException if already started or closed, or naming the address if it
     *                               cannot be bound (the transport is then closed)
     */
    public void start() {
        synchronized (lifecycle) {
            if (!state.compareAndSet(State.LATENT, State.STARTED)) {
                throw new IllegalStateException("cannot start a transport that is " + state.get());
            }
            IoHandlerFactory io = ioMode == IoMode.EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
            EventLoopGroup g = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("havn-transport", true), io);
            group = g;
            Class<? extends DatagramChannel> type =
                    ioMode == IoMode.EPOLL ? EpollDatagramChannel.class : NioDatagramChannel.class;
            ChannelFuture bound = new Bootstrap()
                    .group(g)
                    .channel(type)
                    .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_BUFFER_BYTES))
                    .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                    .option(ChannelOption.SO_RCVBUF, socketReceiveBufferBytes)
                    .handler(new Inbound())
                    .bind(bindAddress);
            if (!bound.awaitUninterruptibly(BIND_TIMEOUT_MS, TimeUnit.MILLISECONDS) || !bound.isSuccess()) {
                Throwable cause = bound.cause();
                closeResources(bound.channel(), g);
                state.set(State.CLOSED);
                throw new IllegalStateException("cannot bind the heartbeat transport to " + bindAddress + ": "
                        + (cause == null ? "timed out" : cause.getMessage()), cause);
            }
            channel = bound.channel();
            grantedReceiveBufferBytes = ((DatagramChannel) channel).config().getReceiveBufferSize();
            kernelDrops = new KernelDrops(((InetSocketAddress) channel.localAddress()).getPort());
            LOG.info("heartbeat transport of {} bound to {} ({}); receive buffer {} bytes (asked {})", self,
                    channel.localAddress(), ioMode, grantedReceiveBufferBytes, socketReceiveBufferBytes);
            // Linux grants twice what it is asked, up to twice net.core.rmem_max
            if (grantedReceiveBufferBytes < socketReceiveBufferBytes) {
                LOG.warn("the kernel granted the heartbeat socket a receive buffer of {} bytes, less than the {} asked "
                        + "(heartbeat.receiveBufferBytes): a burst may be dropped (havn_heartbeat_kernel_drops_total); "
                        + "raise its limit with sysctl -w net.core.rmem_max={}", grantedReceiveBufferBytes,
                        socketReceiveBufferBytes, socketReceiveBufferBytes);
            }
        }
    }

    /** Sends one heartbeat; never blocks, never throws. See the class comment for what is dropped. */
    @Override
    public void send(HostId to, Heartbeat heartbeat) {
        Objects.requireNonNull(to, "to");
        Objects.requireNonNull(heartbeat, "heartbeat");
        Channel ch = channel;
        if (ch == null || state.get() != State.STARTED) {
            count(Drop.NOT_RUNNING);
            return;
        }
        InetSocketAddress address;
        try {
            address = peerAddress.apply(to);
        } catch (RuntimeException e) {
            // a failing lookup is the same as no address: the contract is to drop, not to throw
            address = null;
        }
        if (address == null || address.isUnresolved()) {
            count(Drop.UNKNOWN_PEER);
            return;
        }
        // a full buffer means the kernel cannot keep up; queueing more would only grow memory
        if (!ch.isWritable()) {
            count(Drop.BACKPRESSURE);
            return;
        }
        ch.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(codec.encode(to, heartbeat)), address))
                .addListener(onWritten);
    }

    /** Forgets what the replay guards (heartbeats and signals) remember of {@code sender}, e.g. after that host rebooted. */
    public void forgetSender(HostId sender) {
        guard.forget(sender);
        lastSignal.remove(sender);
    }

    /** Dropped heartbeats so far, by reason; every reason is present. */
    public Map<Drop, Long> dropped() {
        Map<Drop, Long> m = new EnumMap<>(Drop.class);
        for (Drop d : Drop.values()) {
            m.put(d, drops[d.ordinal()].sum());
        }
        return m;
    }

    public long dropped(Drop reason) {
        return drops[reason.ordinal()].sum();
    }

    /** Host signals dropped so far for {@code reason}: one of the inbound reasons but {@code RECEIVE_FAILED}. */
    public long signalsDropped(Drop reason) {
        return signalDrops[reason.ordinal()].sum();
    }

    /** Host signals that passed every check and were handed to the sink (counted as {@link #accepted}). */
    public long signalsAccepted() {
        return signalsAccepted.sum();
    }

    /** Heartbeats the kernel accepted for sending. */
    public long sent() {
        return sent.sum();
    }

    /**
     * Heartbeats that passed every check and were handed to the sink (counted just before, so a
     * sink that saw one finds it counted; one the sink threw on is also counted as SINK_FAILED).
     */
    public long accepted() {
        return accepted.sum();
    }

    public IoMode ioMode() {
        return ioMode;
    }

    /** The receive buffer the kernel granted the socket (SO_RCVBUF as read back), 0 before it is bound. */
    public int receiveBufferBytes() {
        return grantedReceiveBufferBytes;
    }

    /**
     * Datagrams the kernel dropped for this socket since it was bound (its receive buffer was full),
     * from {@code /proc/net/udp} and {@code udp6}; -1 before it is bound or where that cannot be read.
     * Reads the files: for a scrape, not for a hot path.
     */
    public long kernelDrops() {
        KernelDrops k = kernelDrops;
        return k == null ? -1 : k.read();
    }

    public State state() {
        return state.get();
    }

    /** The bound address, with the real port when bound to port 0. */
    public InetSocketAddress localAddress() {
        Channel ch = channel;
        if (ch == null) {
            throw new IllegalStateException("the transport is not bound (" + state.get() + ")");
        }
        return (InetSocketAddress) ch.localAddress();
    }

    /** Closes the socket and the event loop; idempotent. Waits a bounded time unless on Netty's thread. */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (state.getAndSet(State.CLOSED) == State.CLOSED) {
                return;
            }
            closeResources(channel, group);
            LOG.info("heartbeat transport of {} closed", self);
        }
    }

    private static void closeResources(Channel ch, EventLoopGroup g) {
        if (g == null) {
            return;
        }
        // waiting on the loop from inside it would deadlock: a sink may close us
        boolean wait = ch == null || !ch.eventLoop().inEventLoop();
        if (ch != null) {
            ChannelFuture closed = ch.close();
            if (wait) {
                closed.awaitUninterruptibly(CLOSE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            }
        }
        var terminated = g.shutdownGracefully(0, CLOSE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        if (wait) {
            terminated.awaitUninterruptibly(CLOSE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        }
    }

    private void count(Drop reason) {
        drops[reason.ordinal()].increment();
    }

    private static Drop drop(HeartbeatCodec.Reason reason) {
        return switch (reason) {
            case TOO_SHORT -> Drop.TOO_SHORT;
            case BAD_MAGIC -> Drop.BAD_MAGIC;
            case BAD_VERSION -> Drop.BAD_VERSION;
            case MALFORMED -> Drop.MALFORMED;
            case FOREIGN_CLUSTER -> Drop.FOREIGN_CLUSTER;
            case BAD_MAC -> Drop.BAD_MAC;
        };
    }

    /** Decodes, checks and posts one datagram's bytes, read at {@code readNanos}, a heartbeat or a signal; never throws. */
    private void receive(byte[] datagram, long readNanos) {
        if (SignalCodec.looksLikeSignal(datagram)) {
            receiveSignal(datagram);
            return;
        }
        HeartbeatCodec.Decoded decoded = codec.decode(datagram);
        if (decoded instanceof HeartbeatCodec.Rejected rejected) {
            count(drop(rejected.reason()));
            return;
        }
        Heartbeat hb = ((HeartbeatCodec.Ok) decoded).heartbeat();
        Drop refused = !((HeartbeatCodec.Ok) decoded).to().equals(self) ? Drop.NOT_FOR_ME
                : !guard.accept(hb) ? Drop.REPLAYED : null;
        if (refused != null) {
            count(refused);
            return;
        }
        accepted.increment();
        post(new NodeEvent.HeartbeatReceived(hb, readNanos), hb.from(), drops);
    }

    /** As {@link #receive} for a host signal, counted apart. */
    private void receiveSignal(byte[] datagram) {
        SignalCodec.Decoded decoded = signalCodec.decode(datagram);
        if (decoded instanceof HeartbeatCodec.Rejected rejected) {
            signalDrops[drop(rejected.reason()).ordinal()].increment();
            return;
        }
        HostSignal signal = ((SignalCodec.Ok) decoded).signal();
        // compute is atomic per sender: two threads cannot both take one datagram
        Drop refused = !((SignalCodec.Ok) decoded).to().equals(self) ? Drop.NOT_FOR_ME
                : lastSignal.compute(signal.from(), (h, prev) -> prev == null || signal.isAfter(prev) ? signal : prev)
                        != signal ? Drop.REPLAYED : null;
        if (refused != null) {
            signalDrops[refused.ordinal()].increment();
            return;
        }
        signalsAccepted.increment();
        post(new NodeEvent.SignalReceived(signal), signal.from(), signalDrops);
    }

    /** Hands {@code event} from {@code from} to the sink; a sink that throws is counted in {@code dropCounts}. */
    private void post(NodeEvent event, HostId from, LongAdder[] dropCounts) {
        try {
            sink.accept(event);
        } catch (RuntimeException e) {
            // the sink's failure must not kill the receive loop; what it carried is lost like a datagram
            dropCounts[Drop.SINK_FAILED.ordinal()].increment();
            LOG.warn("heartbeat sink failed on a {} from {}", event.getClass().getSimpleName(), from, e);
        }
    }

    private final class Inbound extends SimpleChannelInboundHandler<DatagramPacket> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
            // closing or not yet started: post nothing the node did not expect
            if (state.get() != State.STARTED) {
                return;
            }
            long readNanos = clock.nanos(); // before the decoding and the tag: when the datagram was read
            receive(ByteBufUtil.getBytes(packet.content()), readNanos);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            count(Drop.RECEIVE_FAILED);
            LOG.debug("heartbeat transport of {}: receive failed", self, cause);
        }
    }

    @Override
    public String toString() {
        Channel ch = channel;
        return "NettyTransport[" + self + ", " + ioMode + ", "
                + (ch == null ? bindAddress : ch.localAddress()) + ", " + state.get() + "]";
    }
}
