package io.havn.daemon.coord;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.curator.utils.ZookeeperFactory;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.client.ZKClientConfig;

/**
 * Gives a CuratorFramework exactly one ZooKeeper handle, so that one framework is one session.
 *
 * <p>After an expiry Curator quietly builds a new handle, which is a new session, and carries on
 * with the same framework. An operation queued for the old session (a confirmation, a create of
 * the old session's live node) would then run in the new one, and an ephemeral named for the old
 * session would belong to the new one. This factory refuses the second handle instead: every
 * later operation of the framework fails, and {@code onRefused} tells the owner that the framework
 * has given up its session.
 *
 * <p>It also shows the owner every connection event of the handle (connected, disconnected,
 * expired) before Curator's own state machine sees it. They are ZooKeeper's events, not Curator's
 * guesses; even so, a connection event proves nothing about the session being live now.
 */
final class OneSessionZookeeperFactory implements ZookeeperFactory {
    private final Consumer<WatchedEvent> connectionEvents;
    private final Runnable onRefused;
    private final AtomicReference<ZooKeeper> handle = new AtomicReference<>();
    private volatile boolean closing;

    OneSessionZookeeperFactory(Consumer<WatchedEvent> connectionEvents, Runnable onRefused) {
        this.connectionEvents = connectionEvents;
        this.onRefused = onRefused;
    }

    @Override
    public ZooKeeper newZooKeeper(String connectString, int sessionTimeout, Watcher watcher, boolean canBeReadOnly)
            throws Exception {
        return newZooKeeper(connectString, sessionTimeout, watcher, canBeReadOnly, null);
    }

    @Override
    public ZooKeeper newZooKeeper(String connectString, int sessionTimeout, Watcher watcher, boolean canBeReadOnly,
                                  ZKClientConfig config) throws Exception {
        synchronized (handle) {
            if (handle.get() != null) {
                if (closing) {
                    return null; // Curator closing a framework whose handle it already replaced: nothing to close
                }
                onRefused.run();
                throw new SessionOverException();
            }
            Watcher observed = event -> {
                if (event.getType() == Watcher.Event.EventType.None) {
                    connectionEvents.accept(event);
                }
                watcher.process(event);
            };
            ZooKeeper zk = config == null
                    ? new AbandonableZooKeeper(connectString, sessionTimeout, observed, canBeReadOnly)
                    : new AbandonableZooKeeper(connectString, sessionTimeout, observed, canBeReadOnly, config);
            handle.set(zk);
            return zk;
        }
    }

    /**
     * A handle whose {@code close} sends no closeSession once its framework is closing: the session
     * is abandoned and expires in the ensemble a session timeout later, as if the daemon had died.
     * Closing it would delete this host's presence at once while its lease, and so its VMs, may
     * still be valid. (Without this, a reconnect racing the injected expiry could revive the
     * handle's state, and Curator's close would then send closeSession.)
     */
    private final class AbandonableZooKeeper extends ZooKeeper {
        AbandonableZooKeeper(String connect, int timeout, Watcher watcher, boolean readOnly) throws java.io.IOException {
            super(connect, timeout, watcher, readOnly);
        }

        AbandonableZooKeeper(String connect, int timeout, Watcher watcher, boolean readOnly, ZKClientConfig config)
                throws java.io.IOException {
            super(connect, timeout, watcher, readOnly, config);
        }

        @Override
        public synchronized void close() throws InterruptedException {
            if (closing) {
                getTestable().injectSessionExpiration(); // stops the client's threads, sends nothing
                return;
            }
            super.close();
        }

        @Override
        public boolean close(int waitForShutdownTimeoutMs) throws InterruptedException {
            if (closing) {
                getTestable().injectSessionExpiration();
                return true;
            }
            return super.close(waitForShutdownTimeoutMs);
        }
    }

    /** Tells the factory its framework is being closed: Curator may then ask for a handle only to close it. */
    void closing() {
        closing = true;
    }

    /** The one handle, or null before Curator asked for it. */
    ZooKeeper handle() {
        return handle.get();
    }

    /** What every operation of the framework fails with once its session is over. */
    static final class SessionOverException extends Exception {
        private static final long serialVersionUID = 1L;

        SessionOverException() {
            super("this framework's ZooKeeper session is over; a new session needs a new framework");
        }
    }
}
