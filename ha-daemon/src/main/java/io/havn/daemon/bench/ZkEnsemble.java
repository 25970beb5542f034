package io.havn.daemon.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;

/**
 * A real three-server ZooKeeper ensemble on this machine: each server a JVM of its own
 * ({@code QuorumPeerMain} from this process's class path), its snapshots and transaction log in a
 * directory of its own, on loopback. Set up as a production ensemble is, but for two things a
 * benchmark needs: no limit of connections per client address (every session comes from
 * 127.0.0.1), and plain connections (no TLS). The tick is ZooKeeper's default, 2 s, which gives
 * sessions of 4 s to 40 s: havn's 10 s is taken as asked.
 */
final class ZkEnsemble implements AutoCloseable {
    static final int SERVERS = 3;
    static final int TICK_MS = 2_000;
    private static final Duration SERVING_BOUND = Duration.ofSeconds(90);

    private final List<Process> servers;
    private final List<Integer> clientPorts;

    private ZkEnsemble(List<Process> servers, List<Integer> clientPorts) {
        this.servers = servers;
        this.clientPorts = clientPorts;
    }

    /**
     * Starts the servers under {@code dir} (one directory each, and a log file each) with
     * {@code heap} each ({@code -Xmx}), and waits until each serves as leader or follower.
     */
    static ZkEnsemble start(Path dir, String heap) throws IOException, InterruptedException {
        int[] ports = freePorts(3 * SERVERS);
        List<Integer> clientPorts = new ArrayList<>();
        StringJoiner members = new StringJoiner("\n");
        for (int i = 0; i < SERVERS; i++) {
            clientPorts.add(ports[3 * i]);
            members.add("server." + (i + 1) + "=127.0.0.1:" + ports[3 * i + 1] + ":" + ports[3 * i + 2]);
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        String classPath = System.getProperty("java.class.path");
        List<Process> started = new ArrayList<>();
        ZkEnsemble ensemble = new ZkEnsemble(started, clientPorts);
        // the servers never outlive the benchmark, however it ends
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            synchronized (started) {
                started.forEach(Process::destroyForcibly);
            }
        }, "zk-ensemble-stop"));
        boolean ok = false;
        try {
            for (int i = 0; i < SERVERS; i++) {
                Path data = Files.createDirectories(dir.resolve("zk" + (i + 1)));
                Files.writeString(data.resolve("myid"), Integer.toString(i + 1));
                Path cfg = data.resolve("zoo.cfg");
                Files.writeString(cfg, String.join("\n",
                        "tickTime=" + TICK_MS,
                        "initLimit=10",
                        "syncLimit=5",
                        "dataDir=" + data.toAbsolutePath(),
                        "clientPort=" + clientPorts.get(i),
                        "clientPortAddress=127.0.0.1",
                        "maxClientCnxns=0",
                        "admin.enableServer=false",
                        "4lw.commands.whitelist=srvr,mntr",
                        members.toString(),
                        ""));
                ProcessBuilder pb = new ProcessBuilder(java, "-Xmx" + heap, "-Xms" + heap, "-XX:+UseG1GC",
                        "-Dzookeeper.admin.enableServer=false", "-Dlogback.configurationFile=none",
                        "-cp", classPath, "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg.toString());
                pb.redirectErrorStream(true);
                pb.redirectOutput(dir.resolve("zk" + (i + 1) + ".log").toFile());
                synchronized (started) {
                    started.add(pb.start());
                }
            }
            long deadline = System.nanoTime() + SERVING_BOUND.toNanos();
            for (int i = 0; i < SERVERS; i++) {
                ensemble.awaitServing(i, deadline);
            }
            ok = true;
            return ensemble;
        } finally {
            if (!ok) {
                ensemble.close();
            }
        }
    }

    /** What a client connects to: every server. */
    String connectString() {
        StringJoiner j = new StringJoiner(",");
        for (int p : clientPorts) {
            j.add("127.0.0.1:" + p);
        }
        return j.toString();
    }

    /** The CPU time the servers have used so far, in all (ns; 0 where the system does not say). */
    long cpuNanos() {
        long total = 0;
        for (Process p : servers) {
            total += p.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L);
        }
        return total;
    }

    /** The servers' resident memory now, in all (bytes; VmRSS of each server process, 0 where it cannot be read). */
    long rssBytes() {
        long total = 0;
        for (Process p : servers) {
            total += ScaleRun.rssOf(Path.of("/proc", Long.toString(p.pid()), "status"));
        }
        return total;
    }

    /** Server {@code i}'s answer to a four-letter word ({@code srvr}, {@code mntr}), or null if it does not answer. */
    String ask(int i, String word) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), clientPorts.get(i)), 1_000);
            s.setSoTimeout(2_000);
            OutputStream out = s.getOutputStream();
            out.write(word.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            return null;
        }
    }

    /** The sum over the servers of a numeric {@code mntr} key (for example {@code zk_num_alive_connections}). */
    long sum(String key) {
        long total = 0;
        for (int i = 0; i < SERVERS; i++) {
            String m = ask(i, "mntr");
            if (m == null) {
                continue;
            }
            for (String line : m.split("\n")) {
                String[] kv = line.split("\t");
                if (kv.length == 2 && kv[0].equals(key)) {
                    try {
                        total += Long.parseLong(kv[1].trim());
                    } catch (NumberFormatException e) {
                        // a non-numeric value counts as nothing
                    }
                }
            }
        }
        return total;
    }

    private void awaitServing(int i, long deadline) throws InterruptedException, IOException {
        while (true) {
            Process p = servers.get(i);
            if (!p.isAlive()) {
                throw new IOException("ZooKeeper server " + (i + 1) + " exited with " + p.exitValue()
                        + "; see its log beside its data directory");
            }
            String srvr = ask(i, "srvr");
            if (srvr != null && (srvr.contains("Mode: leader") || srvr.contains("Mode: follower"))) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("ZooKeeper server " + (i + 1) + " did not serve within " + SERVING_BOUND);
            }
            Thread.sleep(200);
        }
    }

    private static int[] freePorts(int n) throws IOException {
        int[] out = new int[n];
        List<ServerSocket> held = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                held.add(s);
                out[i] = s.getLocalPort();
            }
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
        return out;
    }

    @Override
    public void close() {
        for (Process p : servers) {
            p.destroy();
        }
        for (Process p : servers) {
            try {
                if (!p.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
