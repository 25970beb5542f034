package io.havn.daemon.demo;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.apache.zookeeper.server.ServerCnxnFactory;
import org.apache.zookeeper.server.ZooKeeperServer;
import org.apache.zookeeper.server.auth.ProviderRegistry;

/**
 * One real ZooKeeper server in this process, on a free loopback port, its snapshots and
 * transaction log in a directory. A short tick makes sessions expire close to their timeout (the
 * server checks expiry once a tick).
 *
 * <p>It is set up as a real cluster's ensemble should be (README, "Installing on real hosts"): its
 * one port speaks TLS only (Netty), asks every client for a certificate from the demo's CA
 * ({@code ssl.clientAuth=need}) and gives it the identity {@code x509:<subject>}; there is no
 * plain port. ZooKeeper's server reads these settings from system properties, set here; so one
 * such server runs per process.
 */
final class EmbeddedZooKeeper implements AutoCloseable {
    private static final int TICK_MS = 200;
    private static final int MAX_SESSION_TIMEOUT_MS = 60_000;
    private static final int MAX_CONNECTIONS = 64;

    private final ZooKeeperServer server;
    private final ServerCnxnFactory connections;
    private final Set<String> properties;

    private EmbeddedZooKeeper(ZooKeeperServer server, ServerCnxnFactory connections, Set<String> properties) {
        this.server = server;
        this.connections = connections;
        this.properties = properties;
    }

    /**
     * Starts the server with the key store {@code keyStore} (its certificate names 127.0.0.1),
     * trusting the CA of {@code trustStore}; both open with the password in {@code passwordFile}.
     */
    static EmbeddedZooKeeper start(Path dataDir, Path keyStore, Path trustStore, Path passwordFile)
            throws IOException, InterruptedException {
        Map<String, String> tls = Map.of(
                "zookeeper.serverCnxnFactory", "org.apache.zookeeper.server.NettyServerCnxnFactory",
                "zookeeper.authProvider.x509", "org.apache.zookeeper.server.auth.X509AuthenticationProvider",
                "zookeeper.ssl.clientAuth", "need",
                "zookeeper.ssl.keyStore.location", keyStore.toString(),
                "zookeeper.ssl.keyStore.passwordPath", passwordFile.toString(),
                "zookeeper.ssl.keyStore.type", "PKCS12",
                "zookeeper.ssl.trustStore.location", trustStore.toString(),
                "zookeeper.ssl.trustStore.passwordPath", passwordFile.toString(),
                "zookeeper.ssl.trustStore.type", "PKCS12");
        tls.forEach(System::setProperty);
        ProviderRegistry.reset(); // registers the x509 provider from the properties at the first handshake
        ZooKeeperServer server = new ZooKeeperServer(dataDir.toFile(), dataDir.toFile(), TICK_MS);
        server.setMinSessionTimeout(2 * TICK_MS);
        server.setMaxSessionTimeout(MAX_SESSION_TIMEOUT_MS);
        ServerCnxnFactory connections = ServerCnxnFactory.createFactory();
        boolean started = false;
        try {
            connections.configure(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), MAX_CONNECTIONS, -1, true);
            connections.startup(server);
            started = true;
            return new EmbeddedZooKeeper(server, connections, tls.keySet());
        } finally {
            if (!started) {
                // whatever went wrong (a missing class is an Error), its threads must not keep the JVM alive
                connections.shutdown();
                server.shutdown();
                forget(tls.keySet());
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
        forget(properties);
    }

    /** Leaves this process's system properties and ZooKeeper's providers as they were before the server. */
    private static void forget(Set<String> properties) {
        properties.forEach(System::clearProperty);
        ProviderRegistry.reset();
    }
}
