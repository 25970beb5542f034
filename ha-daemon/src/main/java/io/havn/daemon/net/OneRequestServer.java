package io.havn.daemon.net;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.time.Duration;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one request per connection on a bound socket (Unix or TCP) so that no client can hold
 * what others need. One thread does all the socket I/O without ever blocking: a client that is
 * slow to send, or never reads its answer, costs one connection slot, never a thread. Each
 * connection has budgets, not idle timeouts: its whole request must arrive within
 * {@link Limits#requestTime} of the accept and within {@link Limits#requestBytes}; once the
 * answer is ready, all of it must be taken within {@link Limits#writeTime}. A connection past a
 * budget is closed and counted ({@link #onCut}). Only a complete request reaches a worker thread,
 * for {@link Protocol#answer}, which bounds its own time.
 *
 * <p>Connections are bounded by {@link Slots}: {@link Limits#connections} for anyone plus
 * {@link Limits#reserved} for privileged peers; when full, a newcomer displaces the oldest
 * connection still sending, and only when none is left sending is it answered
 * {@link Protocol#busy} and closed.
 *
 * @param <P> what the protocol learns of a peer on admission and needs to answer it
 */
public final class OneRequestServer<P> implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OneRequestServer.class);
    /** Accepts per turn of the loop, so a flood of connects cannot starve reading and writing. */
    private static final int ACCEPTS_PER_TURN = 64;

    /** Why a connection was closed by the server; {@link #label} is the metric's label value. */
    public enum Cut {
        /** its request did not arrive whole within the request time */
        REQUEST_TIME,
        /** its request was larger than allowed */
        REQUEST_BYTES,
        /** its answer was not taken within the write time */
        WRITE_TIME,
        /** it was still sending when the slots were full and a newcomer took its slot */
        EVICTED,
        /** it was turned away at once: every slot was held by a connection being answered */
        BUSY;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The budgets of every connection.
     *
     * @param requestTime   from accept to the request's last byte: a total, not renewed by each byte
     * @param writeTime     from the answer being ready to its last byte taken by the client
     * @param requestBytes  the longest request, its terminator not counted
     * @param connections   connections held at once by anyone
     * @param reserved      further connections only privileged peers may hold
     */
    public record Limits(Duration requestTime, Duration writeTime, int requestBytes, int connections, int reserved) {
        public Limits {
            if (requestTime.isNegative() || requestTime.isZero() || writeTime.isNegative() || writeTime.isZero()) {
                throw new IllegalArgumentException("request and write times must be positive: " + requestTime
                        + ", " + writeTime);
            }
            if (requestBytes < 1 || connections < 1 || reserved < 0) {
                throw new IllegalArgumentException("requestBytes and connections must be positive, reserved at least 0");
            }
        }
    }

    /** What to do with a new connection, decided from the peer alone (before it sends anything). */
    public sealed interface Admission<P> permits Admit, Refuse { }

    /** Serve it; {@code privileged} peers may use the reserved slots. */
    public record Admit<P>(P peer, boolean privileged) implements Admission<P> { }

    /** Write {@code answer} (as much as the socket takes at once) and close. */
    public record Refuse<P>(byte[] answer) implements Admission<P> { }

    /** The protocol spoken over the connections. */
    public interface Protocol<P> {
        /** Decides on a new connection; on the I/O thread, so it must not block. */
        Admission<P> admit(SocketChannel peer);

        /** The bytes that end a request (a newline, a blank line). */
        byte[] terminator();

        /**
         * The answer to {@code request} (its bytes before the terminator), on a worker thread. Its
         * time is the protocol's to bound: the connection's thread is held until it returns.
         */
        byte[] answer(P peer, byte[] request);

        /** Said to a newcomer turned away because every slot is taken. */
        byte[] busy();

        /** Said to a connection whose request is larger than allowed, before it is closed. */
        byte[] tooLarge();
    }

    private enum State { LATENT, STARTED, CLOSED }

    private enum Phase { SENDING, ANSWERING, WRITING }

    /** One client's connection; touched only on the I/O thread. */
    private final class Conn {
        final SocketChannel channel;
        final P peer;
        SelectionKey key;
        Phase phase = Phase.SENDING;
        long deadlineNanos;
        byte[] in = new byte[256];
        int inLength;
        ByteBuffer out;
        boolean counted;

        Conn(SocketChannel channel, P peer, long deadlineNanos) {
            this.channel = channel;
            this.peer = peer;
            this.deadlineNanos = deadlineNanos;
        }

        void append(ByteBuffer b) {
            int n = b.remaining();
            if (inLength + n > in.length) {
                in = Arrays.copyOf(in, Math.max(in.length * 2, inLength + n));
            }
            b.get(in, inLength, n);
            inLength += n;
        }
    }

    private final String name;
    private final ServerSocketChannel server;
    private final Protocol<P> protocol;
    private final Limits limits;
    private final LongSupplier ticker;
    private final byte[] terminator;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final Slots<Conn> slots;
    /** Work for the I/O thread from the workers: answers ready to be written. */
    private final Queue<Runnable> tasks = new ConcurrentLinkedQueue<>();
    private final ThreadPoolExecutor workers;
    private final ByteBuffer readBuffer = ByteBuffer.allocate(8192);
    private final Selector selector;
    private volatile Consumer<Cut> cuts = cut -> { };
    private Thread io;

    /**
     * @param name      names the threads ({@code name-io}, {@code name-worker})
     * @param server    a bound server socket; this server closes it
     * @param protocol  the requests and answers
     * @param limits    the budgets and slots
     */
    public OneRequestServer(String name, ServerSocketChannel server, Protocol<P> protocol, Limits limits)
            throws IOException {
        this(name, server, protocol, limits, System::nanoTime);
    }

    OneRequestServer(String name, ServerSocketChannel server, Protocol<P> protocol, Limits limits,
                     LongSupplier ticker) throws IOException {
        this.name = name;
        this.server = server;
        this.protocol = protocol;
        this.limits = limits;
        this.ticker = ticker;
        this.terminator = protocol.terminator().clone();
        this.slots = new Slots<>(limits.connections(), limits.reserved());
        int threads = limits.connections() + limits.reserved();
        // never more requests in flight than slots held, so the queue stays that short
        this.workers = new ThreadPoolExecutor(threads, threads, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
                r -> daemon(r, name + "-worker"));
        workers.allowCoreThreadTimeOut(true);
        this.selector = Selector.open();
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Calls {@code hook} with each connection cut off (on the I/O thread; it must be quick). */
    public void onCut(Consumer<Cut> hook) {
        this.cuts = hook;
    }

    /** Starts serving. Once only. */
    public void start() throws IOException {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException(name + " already started or closed");
        }
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        io = daemon(this::loop, name + "-io");
        io.start();
    }

    private void loop() {
        try {
            while (state.get() == State.STARTED) {
                long waitMillis = expire(ticker.getAsLong());
                selector.select(waitMillis);
                for (Runnable t = tasks.poll(); t != null; t = tasks.poll()) {
                    t.run();
                }
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey k = it.next();
                    it.remove();
                    try {
                        ready(k);
                    } catch (RuntimeException e) {
                        // one connection's trouble must not end the loop that serves all others
                        LOG.warn("{}: dropping a connection after an error: {}", name, e.toString());
                        if (k.attachment() != null) {
                            drop((Conn) k.attachment());
                        }
                    }
                }
            }
        } catch (IOException | ClosedSelectorException e) {
            if (state.get() == State.STARTED) {
                LOG.error("{}: the I/O loop failed, nothing is served any more: {}", name, e.toString());
            }
        } finally {
            for (Conn c : slots.held()) {
                drop(c);
            }
            closeQuietly(server);
            closeQuietly(selector);
        }
    }

    private void ready(SelectionKey k) throws IOException {
        try {
            if (k.channel() == server) {
                acceptSome();
                return;
            }
            @SuppressWarnings("unchecked")
            Conn c = (Conn) k.attachment();
            if (c.phase == Phase.SENDING && k.isReadable()) {
                read(c);
            } else if (c.phase == Phase.WRITING && k.isWritable()) {
                write(c);
            }
        } catch (CancelledKeyException e) {
            // closed earlier in this turn
        }
    }

    /** Closes every connection past its budget; the milliseconds until the next deadline (0: none). */
    private long expire(long now) {
        long soonest = Long.MAX_VALUE;
        for (Conn c : slots.held()) {
            if (c.phase == Phase.ANSWERING) {
                continue;
            }
            long left = c.deadlineNanos - now;
            if (left <= 0) {
                cut(c, c.phase == Phase.SENDING ? Cut.REQUEST_TIME : Cut.WRITE_TIME);
            } else {
                soonest = Math.min(soonest, left);
            }
        }
        return soonest == Long.MAX_VALUE ? 0 : Math.max(1, TimeUnit.NANOSECONDS.toMillis(soonest + 999_999));
    }

    private void acceptSome() throws IOException {
        for (int i = 0; i < ACCEPTS_PER_TURN; i++) {
            SocketChannel ch = server.accept();
            if (ch == null) {
                return;
            }
            try {
                ch.configureBlocking(false);
                admit(ch);
            } catch (IOException | RuntimeException e) {
                LOG.warn("{}: dropping a new connection: {}", name, e.toString());
                closeQuietly(ch);
            }
        }
    }

    private void admit(SocketChannel ch) throws IOException {
        Admission<P> a = protocol.admit(ch);
        if (a instanceof Refuse<P> r) {
            sayAndClose(ch, r.answer());
            return;
        }
        Admit<P> admitted = (Admit<P>) a;
        Slots.Verdict<Conn> v = slots.admit(admitted.privileged());
        if (!v.admit()) {
            sayAndClose(ch, protocol.busy());
            tell(Cut.BUSY);
            return;
        }
        if (v.victim() != null) {
            cut(v.victim(), Cut.EVICTED);
        }
        Conn c = new Conn(ch, admitted.peer(), ticker.getAsLong() + limits.requestTime().toNanos());
        c.key = ch.register(selector, SelectionKey.OP_READ, c);
        slots.add(c, admitted.privileged());
    }

    private void read(Conn c) {
        int room = limits.requestBytes() + terminator.length - c.inLength;
        readBuffer.clear().limit(Math.min(readBuffer.capacity(), room));
        int n;
        try {
            n = c.channel.read(readBuffer);
        } catch (IOException e) {
            drop(c);
            return;
        }
        if (n < 0) {
            drop(c); // the client gave up
            return;
        }
        int searchFrom = Math.max(0, c.inLength - terminator.length + 1);
        c.append(readBuffer.flip());
        int end = indexOf(c.in, c.inLength, terminator, searchFrom);
        if (end >= 0) {
            byte[] request = Arrays.copyOf(c.in, end);
            c.in = null;
            c.phase = Phase.ANSWERING;
            c.key.interestOps(0);
            slots.requestComplete(c);
            workers.execute(() -> answer(c, request));
        } else if (c.inLength >= limits.requestBytes() + terminator.length) {
            count(c, Cut.REQUEST_BYTES);
            c.in = null;
            slots.requestComplete(c);
            startWrite(c, protocol.tooLarge());
        }
    }

    static int indexOf(byte[] data, int length, byte[] pattern, int from) {
        outer:
        for (int i = from; i <= length - pattern.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (data[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    /** On a worker: the protocol's answer, handed back to the I/O thread. */
    private void answer(Conn c, byte[] request) {
        byte[] a;
        try {
            a = protocol.answer(c.peer, request);
        } catch (RuntimeException e) {
            LOG.warn("{}: answering failed: {}", name, e.toString());
            a = null;
        }
        byte[] answer = a;
        tasks.add(() -> {
            if (answer == null) {
                drop(c);
            } else {
                startWrite(c, answer);
            }
        });
        selector.wakeup();
    }

    private void startWrite(Conn c, byte[] answer) {
        if (!c.channel.isOpen()) {
            return;
        }
        c.out = ByteBuffer.wrap(answer);
        c.phase = Phase.WRITING;
        c.deadlineNanos = ticker.getAsLong() + limits.writeTime().toNanos();
        write(c);
        if (c.channel.isOpen()) {
            c.key.interestOps(SelectionKey.OP_WRITE);
        }
    }

    private void write(Conn c) {
        try {
            c.channel.write(c.out);
        } catch (IOException e) {
            drop(c);
            return;
        }
        if (!c.out.hasRemaining()) {
            drop(c); // answered: one request per connection
        }
    }

    private void cut(Conn c, Cut why) {
        count(c, why);
        drop(c);
    }

    private void count(Conn c, Cut why) {
        if (!c.counted) {
            c.counted = true;
            LOG.debug("{}: connection cut off: {}", name, why.label());
            tell(why);
        }
    }

    private void tell(Cut why) {
        try {
            cuts.accept(why);
        } catch (RuntimeException e) {
            LOG.warn("{}: the cut-off hook failed: {}", name, e.toString());
        }
    }

    private void drop(Conn c) {
        slots.remove(c);
        closeQuietly(c.channel);
    }

    /** One write of what the socket takes at once, then close: a refusal never waits on its reader. */
    private static void sayAndClose(SocketChannel ch, byte[] answer) {
        try (ch) {
            ch.write(ByteBuffer.wrap(answer));
        } catch (IOException e) {
            // gone already
        }
    }

    private static void closeQuietly(java.io.Closeable c) {
        try {
            c.close();
        } catch (IOException e) {
            // already closed
        }
    }

    /** Stops serving and closes every connection and the server socket; waits up to a second for the I/O thread. */
    @Override
    public void close() {
        State was = state.getAndSet(State.CLOSED);
        if (was == State.CLOSED) {
            return;
        }
        if (was == State.LATENT) {
            closeQuietly(server);
            closeQuietly(selector);
        } else {
            selector.wakeup();
            try {
                io.join(1000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        workers.shutdownNow();
    }
}
