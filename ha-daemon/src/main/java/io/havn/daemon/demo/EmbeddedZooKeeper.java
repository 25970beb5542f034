package io.havn.daemon.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.zookeeper.server.ZooKeeperServer;

/**
 * One real ZooKeeper server in this process, on a free loopback port, its snapshots and
 * transaction log in a directory. A short tick makes sessions expire close to their timeout (the
 * server checks expiry once a tick).
 */
final class EmbeddedZooKeeper implements AutoCloseable {
    private static final int TICK_MS = 200;
    private static final int MAX_SESSION_TIMEOUT_MS = 60_000;
    private static final int MAX_CONNECTIONS = 64;

    private final ZooKeeperServer server;
    private final ServerCnxnFactory connections;

    private EmbeddedZooKeeper(ZooKeeperServer server, ServerCnxnFactory connections) {
        this.server = server;
        this.connections = connections;
    }

    static EmbeddedZooKeeper start(Path dataDir) throws IOException, InterruptedException {
        ZooKeeperServer server = new ZooKeeperServer(dataDir.toFile(), dataDir.toFile(), TICK_MS);
        server.setMinSessionTimeout(2 * TICK_MS);
        server.setMaxSessionTimeout(MAX_SESSION_TIMEOUT_MS);
        ServerCnxnFactory connections = ServerCnxnFactory.createFactory(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), MAX_CONNECTIONS);
        boolean started = false;
        try {
            connections.startup(server);
            started = true;
            return new EmbeddedZooKeeper(server, connections);
        } finally {
            if (!started) {
                // whatever went wrong (a missing class is an Error), its threads must not keep the JVM alive
                connections.shutdown();
                server.shutdown();
            }
        }
    }

    /** What a client connects to: {@code 127.0.0.1:PORT}. */
    String connectString() {
        return InetAddress.getLoopbackAddress().getHostAddress() + ":" + connections.getLocalPort();
    }

    @Override
    public void close() {
        connections.shutdown();
        server.shutdown();
    }
}
