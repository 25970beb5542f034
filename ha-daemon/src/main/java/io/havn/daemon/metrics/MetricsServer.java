package io.havn.daemon.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves the metrics over HTTP for Prometheus: {@code GET /metrics} answers the text format,
 * every other path 404. Requests run on at most two threads with a short queue; past that the
 * server's own dispatcher serves, which slows down accepting rather than piling up work.
 */
public final class MetricsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private enum State { LATENT, STARTED, CLOSED }

    private final InetSocketAddress bind;
    private final Supplier<String> scrape;
    private final AtomicReference<State> state = new AtomicReference<>(State.LATENT);
    private final ThreadPoolExecutor workers = new ThreadPoolExecutor(2, 2, 30, TimeUnit.SECONDS,
            new ArrayBlockingQueue<>(16), r -> {
                Thread t = new Thread(r, "havn-metrics");
                t.setDaemon(true);
                return t;
            }, new ThreadPoolExecutor.CallerRunsPolicy());
    private HttpServer server;

    /**
     * @param bind    where to listen
     * @param scrape  the metrics' text, called on a request's thread
     */
    public MetricsServer(InetSocketAddress bind, Supplier<String> scrape) {
        this.bind = bind;
        this.scrape = scrape;
        workers.allowCoreThreadTimeOut(true);
    }

    /** Binds and starts serving. Once only; throws if the address cannot be bound. */
    public void start() throws IOException {
        if (!state.compareAndSet(State.LATENT, State.STARTED)) {
            throw new IllegalStateException("metrics server already started or closed");
        }
        server = HttpServer.create(bind, 16);
        server.createContext("/", this::handle);
        server.setExecutor(workers);
        server.start();
        LOG.info("metrics on http://{}:{}/metrics", address().getHostString(), address().getPort());
    }

    /** The bound address (the real port when 0 was asked for). */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            if (!"/metrics".equals(x.getRequestURI().getPath())) {
                send(x, 404, "text/plain; charset=utf-8", "not found: the metrics are at /metrics\n");
            } else if (!"GET".equals(x.getRequestMethod()) && !"HEAD".equals(x.getRequestMethod())) {
                x.getResponseHeaders().set("Allow", "GET, HEAD");
                send(x, 405, "text/plain; charset=utf-8", "method not allowed: use GET\n");
            } else {
                send(x, 200, CONTENT_TYPE, scrape.get());
            }
        }
    }

    private static void send(HttpExchange x, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        x.getResponseHeaders().set("Content-Type", type);
        boolean head = "HEAD".equals(x.getRequestMethod());
        x.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        if (state.getAndSet(State.CLOSED) != State.STARTED) {
            return;
        }
        server.stop(0);
        workers.shutdownNow();
    }
}
