package io.havn.daemon.storage;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * An iSCSI target of the test's own: a tgtd (Debian's tgt) on 127.0.0.1 and a free port, managed on
 * a control port of its own (so no other tgtd on the machine is touched), serving one LUN over an
 * image file. Needs root. {@link #freeze} stops the daemon (SIGSTOP), so the LUN hangs as a dead
 * storage array would; {@link #close} thaws it, removes the target and stops the daemon.
 */
final class TgtTarget implements AutoCloseable {
    static final Path TGTD = Path.of("/usr/sbin/tgtd");
    static final Path TGTADM = Path.of("/usr/sbin/tgtadm");
    static final String IQN_PREFIX = "iqn.2026-12.io.havn:test-";
    private static final long START_WAIT_MS = 10_000;

    private final Process tgtd;
    private final int control;
    private final int port;
    private final String iqn;

    private TgtTarget(Process tgtd, int control, int port, String iqn) {
        this.tgtd = tgtd;
        this.control = control;
        this.port = port;
        this.iqn = iqn;
    }

    /** Why this machine cannot run the target and a client of it, or null when it can. */
    static String unavailable() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "tgtd needs root";
        }
        if (!Files.isExecutable(TGTD) || !Files.isExecutable(TGTADM)) {
            return "no " + TGTD + " or " + TGTADM + " (Debian: tgt)";
        }
        if (!Files.isExecutable(StorageHeartbeat.QEMU_IO)) {
            return "no " + StorageHeartbeat.QEMU_IO + " (Debian: qemu-utils)";
        }
        if (qemuIscsiModule() == null) {
            return "QEMU has no iSCSI block driver, block-iscsi.so (Debian: qemu-block-extra)";
        }
        return null;
    }

    private static Path qemuIscsiModule() {
        List<Path> candidates = new ArrayList<>(List.of(Path.of("/usr/lib64/qemu/block-iscsi.so")));
        try (var dirs = Files.list(Path.of("/usr/lib"))) {
            dirs.forEach(d -> candidates.add(d.resolve("qemu/block-iscsi.so")));
        } catch (IOException e) {
            // only the other candidates then
        }
        return candidates.stream().filter(Files::isRegularFile).findFirst().orElse(null);
    }

    /** A target serving {@code image} as LUN 1, to 127.0.0.1 only. */
    static TgtTarget start(Path dir, Path image) throws Exception {
        int control = freeControlPort();
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        String iqn = IQN_PREFIX + control;
        Process p = new ProcessBuilder(TGTD.toString(), "-f", "-C", String.valueOf(control), "--iscsi",
                "portal=127.0.0.1:" + port).redirectErrorStream(true)
                .redirectOutput(dir.resolve("tgtd-" + control + ".log").toFile()).start();
        TgtTarget t = new TgtTarget(p, control, port, iqn);
        try {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_WAIT_MS);
            while (!t.adm(false, "--lld", "iscsi", "--op", "show", "--mode", "target")) {
                // the daemon's exit ends the wait at once; otherwise look again 50 ms on
                if (p.waitFor(50, TimeUnit.MILLISECONDS) || System.nanoTime() > deadline) {
                    throw new IOException("tgtd -C " + control + " did not come up: "
                            + Files.readString(dir.resolve("tgtd-" + control + ".log")));
                }
            }
            t.adm(true, "--lld", "iscsi", "--op", "new", "--mode", "target", "--tid", "1", "-T", iqn);
            t.adm(true, "--lld", "iscsi", "--op", "new", "--mode", "logicalunit", "--tid", "1", "--lun", "1", "-b",
                    image.toString());
            t.adm(true, "--lld", "iscsi", "--op", "bind", "--mode", "target", "--tid", "1", "-I", "127.0.0.1");
            return t;
        } catch (Exception e) {
            t.close();
            throw e;
        }
    }

    /** A control port no tgtd uses: its socket file is not there. */
    private static int freeControlPort() {
        for (int i = 0; i < 100; i++) {
            int n = ThreadLocalRandom.current().nextInt(20_000, 32_000); // tgtd takes 0-32767
            if (!Files.exists(socket(n))) {
                return n;
            }
        }
        throw new IllegalStateException("no free tgtd control port");
    }

    private static Path socket(int control) {
        return Path.of("/var/run/tgtd/socket." + control);
    }

    /** LUN 1, as qemu-io takes it. */
    URI url() {
        return URI.create("iscsi://127.0.0.1:" + port + "/" + iqn + "/1");
    }

    /** The LUN hangs: the daemon is stopped, so nothing it was sent is answered. */
    void freeze() throws Exception {
        signal("-STOP");
    }

    /** The LUN answers again. */
    void thaw() throws Exception {
        signal("-CONT");
    }

    private void signal(String sig) throws Exception {
        Process k = new ProcessBuilder("kill", sig, String.valueOf(tgtd.pid())).redirectErrorStream(true).start();
        if (!k.waitFor(10, TimeUnit.SECONDS) || k.exitValue() != 0) {
            throw new IOException("kill " + sig + " " + tgtd.pid() + " failed");
        }
    }

    private boolean adm(boolean required, String... args) throws Exception {
        List<String> line = new ArrayList<>(List.of(TGTADM.toString(), "-C", String.valueOf(control)));
        line.addAll(List.of(args));
        Process p = new ProcessBuilder(line).redirectErrorStream(true).start();
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", line) + ": no answer within 10 s");
        }
        String out = new String(p.getInputStream().readAllBytes());
        if (required && p.exitValue() != 0) {
            throw new IOException(String.join(" ", line) + ": " + out);
        }
        return p.exitValue() == 0;
    }

    /** Thaws, removes the target with its sessions, stops the daemon (SIGKILL after 5 s) and its socket. */
    @Override
    public void close() throws Exception {
        try {
            if (tgtd.isAlive()) {
                thaw();
                adm(false, "--lld", "iscsi", "--op", "delete", "--mode", "target", "--tid", "1", "--force");
                adm(false, "--op", "delete", "--mode", "system"); // tgtd ignores SIGTERM while it has a target
                if (!tgtd.waitFor(5, TimeUnit.SECONDS)) {
                    tgtd.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            }
        } finally {
            Files.deleteIfExists(socket(control));
            Files.deleteIfExists(Path.of(socket(control) + ".lock"));
        }
    }
}
