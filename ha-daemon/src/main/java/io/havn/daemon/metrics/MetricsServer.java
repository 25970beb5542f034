package io.havn.daemon.metrics;

import io.havn.daemon.net.OneRequestServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the metrics over HTTP/1.1 for Prometheus: {@code GET /metrics} answers the text format,
 * every other path 404, one request per connection ({@code Connection: close}). It runs on a
 * {@link OneRequestServer}, so a slow or silent client costs one connection slot and no thread:
 * the request head must arrive whole within {@link #LIMITS}' request time (5 s, not renewed by
 * each byte) and 8 KiB, the answer must be taken within 10 s, and when all 32 slots are held a
 * scrape takes the slot of the oldest connection still sending.
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    /** The endpoint's budgets: see the class comment. */
    public static final OneRequestServer.Limits LIMITS = new OneRequestServer.Limits(Duration.ofSeconds(5),
            Duration.ofSeconds(10), 8 * 1024, 32, 0);
    private static final String TEXT = "text/plain; charset=utf-8";

    private enum State { LATENT, STARTED, CLOSED }

    private final InetSocketAddress bind;
    private final Supplier<String> scrape;
    private final OneRequestServer.Limits limits;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private volatile Consumer<OneRequestServer.Cut> cuts = cut -> { };
    private OneRequestServer<Void> server;
    private InetSocketAddress address;

    /**
     * @param bind    where to listen
     * @param scrape  the metrics' text, called on a request's thread
     */
    public MetricsServer(InetSocketAddress bind, Supplier<String> scrape) {
        this(bind, scrape, LIMITS);
    }

    /** As above, with budgets of its own (tests). */
    public MetricsServer(InetSocketAddress bind, Supplier<String> scrape, OneRequestServer.Limits limits) {
        this.bind = bind;
        this.scrape = scrape;
        this.limits = limits;
    }

    /** Calls {@code hook} with each connection cut off for a budget or turned away busy (metrics). */
    public void onCut(Consumer<OneRequestServer.Cut> hook) {
        this.cuts = hook;
    }

    /** Binds and starts serving. Once only; throws if the address cannot be bound. */
    public void start() throws IOException {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("metrics server already started or closed");
        }
        ServerSocketChannel channel = ServerSocketChannel.open();
        try {
            channel.bind(bind, 64);
            address = (InetSocketAddress) channel.getLocalAddress();
            server = new OneRequestServer<>("havn-metrics", channel, new Http(), limits);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        server.onCut(cut -> cuts.accept(cut));
        server.start();
        LOG.info("metrics on http://{}:{}/metrics", address.getHostString(), address.getPort());
    }

    /** The bound address (the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return address;
    }

    /** Just enough HTTP/1.1 for a scraper: the request line is read, headers and any body ignored. */
    private final class Http implements OneRequestServer.Protocol<Void> {
        @Override
        public OneRequestServer.Admission<Void> admit(SocketChannel peer) {
            return new OneRequestServer.Admit<>(null, false);
        }

        @Override
        public byte[] terminator() {
            return "\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
        }

        @Override
        public byte[] answer(Void peer, byte[] request) {
            String text = new String(request, StandardCharsets.ISO_8859_1);
            int eol = text.indexOf("\r\n");
            String[] line = (eol < 0 ? text : text.substring(0, eol)).split(" ");
            if (line.length != 3 || !line[2].startsWith("HTTP/1.")) {
                return response("400 Bad Request", TEXT, "", "bad request: not an HTTP/1.x request line\n", false);
            }
            String method = line[0];
            String target = line[1];
            int query = target.indexOf('?');
            String path = query < 0 ? target : target.substring(0, query);
            boolean head = "HEAD".equals(method);
            if (!"/metrics".equals(path)) {
                return response("404 Not Found", TEXT, "", "not found: the metrics are at /metrics\n", head);
            }
            if (!"GET".equals(method) && !head) {
                return response("405 Method Not Allowed", TEXT, "Allow: GET, HEAD\r\n", "method not allowed: use GET\n",
                        false);
            }
            return response("200 OK", CONTENT_TYPE, "", scrape.get(), head);
        }

        @Override
        public byte[] busy() {
            return response("503 Service Unavailable", TEXT, "Retry-After: 1\r\n", "busy: too many connections\n",
                    false);
        }

        @Override
        public byte[] tooLarge() {
            return response("431 Request Header Fields Too Large", TEXT, "",
                    "request head larger than " + limits.requestBytes() + " bytes\n", false);
        }
    }

    private static byte[] response(String status, String type, String extraHeaders, String body, boolean head) {
        byte[] content = body.getBytes(StandardCharsets.UTF_8);
        byte[] top = ("HTTP/1.1 " + status + "\r\nContent-Type: " + type + "\r\nContent-Length: " + content.length
                + "\r\nConnection: close\r\n" + extraHeaders + "\r\n").getBytes(StandardCharsets.US_ASCII);
        if (head) {
            return top;
        }
        byte[] all = java.util.Arrays.copyOf(top, top.length + content.length);
        System.arraycopy(content, 0, all, top.length, content.length);
        return all;
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) != State.STARTED || server == null) {
            return;
        }
        server.close();
    }
}
