package io.havn.daemon.libvirt;

import java.util.Set;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The adapter's one libvirt connection: opened lazily by the first call that needs it (on a worker
 * thread, since opening can hang too), dropped when a call fails in a way that says the connection
 * is broken, and opened again by the next call. libvirt connections are thread-safe; all workers
 * share it.
 *
 * <p>A worker opening the connection holds a lock the other workers wait on; if the open hangs,
 * they all hang with it and their calls time out one by one.
 */
final class LibvirtConnection implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LibvirtConnection.class);

    /** Error codes after which the connection is presumed dead (libvirtd gone, socket closed). */
    private static final Set<ErrorNumber> BROKEN = Set.of(ErrorNumber.VIR_ERR_SYSTEM_ERROR,
            ErrorNumber.VIR_ERR_RPC, ErrorNumber.VIR_ERR_NO_CONNECT, ErrorNumber.VIR_ERR_INVALID_CONN);

    private final String uri;
    private final Object openLock = new Object();
    private volatile NativeConnect current;
    private volatile boolean closed;

    LibvirtConnection(String uri) {
        this.uri = uri;
    }

    String uri() {
        return uri;
    }

    /** The open connection, opening it first if there is none. */
    NativeConnect get() throws CallFailed {
        NativeConnect c = current;
        if (c != null) {
            return c;
        }
        synchronized (openLock) {
            if (closed) {
                throw new CallFailed("the libvirt adapter is closed");
            }
            if (current == null) {
                try {
                    current = new NativeConnect(uri);
                    LOG.info("connected to libvirt at {}", uri);
                } catch (LibvirtException e) {
                    throw new CallFailed("cannot connect to libvirt at " + uri + ": " + message(e));
                }
            }
            return current;
        }
    }

    /**
     * After a failed call on {@code c}: forgets {@code c} if the error says it is broken, so the
     * next call opens a new one. {@code c} is not closed here: other workers may be inside libvirt
     * with it, and closing it under them could free what they use. libvirt-java closes it when the
     * last of them lets go of it (its finalizer).
     */
    void failed(NativeConnect c, LibvirtException e) {
        ErrorNumber code = e.getError() == null ? null : e.getError().getCode();
        if (code == null || !BROKEN.contains(code)) {
            return;
        }
        synchronized (openLock) {
            if (current != c) {
                return; // another worker already dropped it
            }
            current = null;
        }
        LOG.warn("libvirt connection to {} looks broken ({}); the next call reconnects", uri, message(e));
    }

    /**
     * Closes the connection; later calls fail. {@code idle}: no worker can be using it any more, so
     * it is closed now (on a thread of its own, since closing a remote connection to a hung libvirtd
     * can block); otherwise it is left to libvirt-java's finalizer, for the same reason as in
     * {@link #failed}.
     */
    void close(boolean idle) {
        NativeConnect c;
        synchronized (openLock) {
            closed = true;
            c = current;
            current = null;
        }
        if (c == null) {
            return;
        }
        if (!idle) {
            LOG.info("libvirt calls are still running; the connection to {} closes when they return", uri);
            return;
        }
        Thread t = new Thread(() -> closeQuietly(c), "havn-libvirt-close");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() {
        close(false);
    }

    private static void closeQuietly(NativeConnect c) {
        try {
            c.close();
        } catch (LibvirtException | RuntimeException e) {
            LOG.debug("closing a libvirt connection failed: {}", e.toString());
        }
    }

    /** libvirt's message of a failure, or its code when it gives none. */
    static String message(LibvirtException e) {
        String m = e.getMessage();
        if (m != null && !m.isBlank()) {
            return m.strip();
        }
        return e.getError() == null ? "unknown libvirt error" : String.valueOf(e.getError().getCode());
    }

    /**
     * libvirt's own number for {@code e} (its {@code virErrorNumber}), or -1 when it cannot be told.
     * libvirt-java 0.5.2 maps a number to the constant at that position in its enum, which follows
     * libvirt's numbering only up to 79 and names some of those wrongly (it lacks the four nwfilter
     * codes at 60-63, so libvirt's VIR_ERR_ARGUMENT_UNSUPPORTED, 74, arrives as its
     * VIR_ERR_OPERATION_ABORTED), and folds every number from 80 on (VIR_ERR_AGENT_UNRESPONSIVE, 86,
     * among them) into VIR_ERR_UNKNOWN. The position is the number; its enum names are not.
     */
    static int code(LibvirtException e) {
        ErrorNumber n = e.getError() == null ? null : e.getError().getCode();
        if (n == null || n == ErrorNumber.VIR_ERR_UNKNOWN) {
            return -1;
        }
        return n.ordinal();
    }

    /** Whether {@code e} is libvirt's "no such domain". */
    static boolean noDomain(LibvirtException e) {
        return e.getError() != null && e.getError().getCode() == ErrorNumber.VIR_ERR_NO_DOMAIN;
    }
}
