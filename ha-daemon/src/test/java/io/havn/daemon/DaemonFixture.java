package io.havn.daemon;

import io.havn.daemon.config.HavnConfig;
import io.havn.daemon.coord.TlsEnsemble;
import java.io.IOException;
import java.net.DatagramSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.HexFormat;

/** What a test needs to run real daemons on this machine: a cluster key, free ports, a config. */
final class DaemonFixture {
    private DaemonFixture() {
    }

    /** Writes a fresh cluster key (hex) into {@code dir}, readable by its owner only, and returns its path. */
    static Path clusterKey(Path dir) throws IOException {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        Path key = Files.createFile(dir.resolve("cluster.key"),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(key, HexFormat.of().formatHex(k));
        return key;
    }

    /** The next decision of {@code kind} from {@code q}, waiting at most 30 s for it. */
    static io.havn.common.node.Decision await(java.util.concurrent.BlockingQueue<io.havn.common.node.Decision> q,
                                              io.havn.common.node.Decision.Kind kind, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            io.havn.common.node.Decision d = q.poll(deadline - System.nanoTime(),
                    java.util.concurrent.TimeUnit.NANOSECONDS);
            if (d != null && d.kind() == kind) {
                return d;
            }
        }
        throw new AssertionError("no " + kind + " within 30 s: " + what);
    }

    /** Waits at most 30 s until decisions of every one of {@code kinds} came from {@code q}, in any order. */
    static void awaitAll(java.util.concurrent.BlockingQueue<io.havn.common.node.Decision> q,
                         java.util.Set<io.havn.common.node.Decision.Kind> kinds, String what)
            throws InterruptedException {
        java.util.Set<io.havn.common.node.Decision.Kind> missing = java.util.EnumSet.copyOf(kinds);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (!missing.isEmpty() && System.nanoTime() < deadline) {
            io.havn.common.node.Decision d = q.poll(deadline - System.nanoTime(),
                    java.util.concurrent.TimeUnit.NANOSECONDS);
            if (d != null) {
                missing.remove(d.kind());
            }
        }
        if (!missing.isEmpty()) {
            throw new AssertionError("no " + missing + " within 30 s: " + what);
        }
    }

    /** A UDP port on loopback that is free now. */
    static int freeUdpPort() throws IOException {
        try (DatagramSocket s = new DatagramSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * The config of daemon {@code host} of {@code cluster}: heartbeats on a free loopback port, a
     * private libvirt test-driver hypervisor of its own, its watchdog state file and state directory
     * in {@code dir}, no petter required (there is no hardware watchdog here); a session timeout of
     * {@code sessionTimeoutMs}; {@code dir}/shared as its shared storage; a ZooKeeper accepted
     * without TLS; {@code extra} is appended (e.g. settings).
     */
    static HavnConfig config(String cluster, String host, String zkConnect, int sessionTimeoutMs, Path dir, Path key,
                             String extra) throws IOException {
        return config(cluster, host, 8, zkConnect, "allowInsecure: true", sessionTimeoutMs, dir, key, extra);
    }

    /** As above, the host offering {@code cpus} vCPUs to HA VMs. */
    static HavnConfig config(String cluster, String host, int cpus, String zkConnect, int sessionTimeoutMs, Path dir,
                             Path key, String extra) throws IOException {
        return config(cluster, host, cpus, zkConnect, "allowInsecure: true", sessionTimeoutMs, dir, key, extra);
    }

    /** As above, reaching ZooKeeper over TLS as a member of {@link TlsEnsemble}. */
    static HavnConfig secureConfig(String cluster, String host, String zkConnect, int sessionTimeoutMs, Path dir,
                                   Path key, String extra) throws IOException {
        TlsEnsemble.Pki p = TlsEnsemble.pki();
        String tls = ("tls: {keyStore: \"%s\", keyStorePasswordFile: \"%s\", "
                + "trustStore: \"%s\", trustStorePasswordFile: \"%s\"}").formatted(p.member(), p.password(), p.trustStore(), p.password());
        return config(cluster, host, 8, zkConnect, tls, sessionTimeoutMs, dir, key, extra);
    }

    /** Where {@code host}'s daemon publishes its watchdog state: a runtime directory of its own, as /run/havn is. */
    static Path watchdogState(Path dir, String host) {
        return dir.resolve(host + ".run").resolve("watchdog.state");
    }

    private static HavnConfig config(String cluster, String host, int cpus, String zkConnect, String zkSecurity,
                                     int sessionTimeoutMs, Path dir, Path key, String extra) throws IOException {
        Path node = dir.resolve(host + "-node.xml");
        Files.writeString(node, "<node/>");
        int port = freeUdpPort();
        return HavnConfig.parse("""
                cluster: %s
                host: {name: %s, cpus: %d, memoryMiB: 16384, address: "127.0.0.1:%d", stateDir: "%s"}
                zookeeper: {connect: "%s", sessionTimeoutMs: %d, %s}
                heartbeat: {bind: "127.0.0.1:%d", keyFile: "%s"}
                libvirt: {uri: "test://%s", pollMs: 200, sharedStorage: ["%s"]}
                watchdog: {stateFile: "%s", required: false}
                """.formatted(cluster, host, cpus, port, dir.resolve(host + ".d"), zkConnect, sessionTimeoutMs, zkSecurity,
                port, key,
                node, dir.resolve("shared"), watchdogState(dir, host)) + extra, host + ".yaml");
    }

    /** Sends one request line to the admin socket at {@code socket} and reads its answer, bypassing havnctl. */
    static com.fasterxml.jackson.databind.JsonNode ask(Path socket, String line) throws IOException {
        try (java.nio.channels.SocketChannel c = java.nio.channels.SocketChannel.open(
                java.net.StandardProtocolFamily.UNIX)) {
            c.connect(java.net.UnixDomainSocketAddress.of(socket));
            java.nio.ByteBuffer out = java.nio.ByteBuffer.wrap((line + "\n").getBytes(
                    java.nio.charset.StandardCharsets.UTF_8));
            while (out.hasRemaining()) {
                c.write(out);
            }
            java.io.ByteArrayOutputStream answer = new java.io.ByteArrayOutputStream();
            java.nio.ByteBuffer in = java.nio.ByteBuffer.allocate(4096);
            while (c.read(in) >= 0) {
                in.flip();
                while (in.hasRemaining()) {
                    byte b = in.get();
                    if (b == '\n') {
                        return io.havn.common.model.Json.mapper().readTree(answer.toByteArray());
                    }
                    answer.write(b);
                }
                in.clear();
            }
            throw new IOException("the daemon closed the connection without answering: " + answer);
        }
    }
}
