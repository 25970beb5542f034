package io.havn.daemon.storage;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A datastore's slot area on storage QEMU reaches in user space ({@code iscsi://}, {@code nfs://}),
 * through {@code qemu-io} (Debian's qemu-utils; the iSCSI and NFS drivers are modules in
 * qemu-block-extra), which links the same block drivers as the guests' QEMU: the heartbeat then
 * fails when the guests' path to their storage fails, not only when some other path does.
 *
 * <p>One process per call: {@code qemu-io -f raw -c "write -q -f -s SLOTFILE OFFSET 4096" -c
 * "read -v 0 LENGTH" URL} writes this host's slot (with FUA: on the storage when it returns) from a
 * file holding it, then dumps the area, which {@link HexDump} reads back. Its output goes to a
 * file, so that nothing blocks on a pipe. A process that has not ended within {@code timeoutMs} is
 * killed (SIGKILL); a killed process that still has not ended (stuck in the kernel) is waited for
 * before another is started, so that at most one runs per datastore.
 *
 * <p>Not thread-safe, but {@link #abort} may be called from any thread.
 */
final class QemuIoSlots implements SlotIo {
    /** Where Debian and Fedora install it. */
    static final Path QEMU_IO = Path.of("/usr/bin/qemu-io");
    /** How long a killed process is given to end before the call gives up on it. */
    private static final long REAP_MS = 1_000;

    private final String datastore;
    private final Path qemuIo;
    private final URI url;
    private final long timeoutMs;
    private final Path slotFile;
    private final Path outFile;
    /** The process of the call in flight, or of an earlier one that would not end; null when none. */
    private volatile Process current;
    /** Set by {@link #abort} while a call runs: its process was killed from outside. */
    private volatile boolean aborted;
    /** Guards the hand-over between a call and {@link #abort}: {@link #inCall} and {@link #abortAsked}. */
    private final Object calls = new Object();
    /** Whether a call runs (from before its process starts to its end). */
    private boolean inCall;
    /** Whether {@link #abort} came during the call, perhaps before its process was known to it. */
    private boolean abortAsked;

    /**
     * @param qemuIo    the qemu-io program
     * @param url       the datastore's URL
     * @param timeoutMs how long one process may run before it is killed
     * @param scratch   a private directory for the slot file and the output (the daemon's /tmp)
     */
    QemuIoSlots(String datastore, Path qemuIo, URI url, long timeoutMs, Path scratch) throws IOException {
        this.datastore = Objects.requireNonNull(datastore, "datastore");
        this.qemuIo = Objects.requireNonNull(qemuIo, "qemuIo");
        this.url = Objects.requireNonNull(url, "url");
        if (timeoutMs < 1) {
            throw new IllegalArgumentException("timeoutMs must be positive, got " + timeoutMs);
        }
        this.timeoutMs = timeoutMs;
        if (scratch.toString().chars().anyMatch(c -> c <= ' ')) {
            throw new IllegalArgumentException("qemu-io's scratch directory must have no spaces: " + scratch);
        }
        this.slotFile = Files.createTempFile(scratch, "havn-storage-" + datastore + "-", ".slot");
        this.outFile = Files.createTempFile(scratch, "havn-storage-" + datastore + "-", ".out");
    }

    /** The command line of a call that runs {@code commands} (qemu-io's -c strings). */
    List<String> command(List<String> commands) {
        List<String> line = new ArrayList<>(List.of(qemuIo.toString(), "-f", "raw"));
        for (String c : commands) {
            line.add("-c");
            line.add(c);
        }
        line.add(url.toString());
        return line;
    }

    static String writeCommand(Path slotFile, long offset, int bytes) {
        return "write -q -f -s " + slotFile + " " + offset + " " + bytes;
    }

    static String readCommand(int bytes) {
        return "read -v 0 " + bytes;
    }

    @Override
    public byte[] read(int bytes) throws IOException {
        return HexDump.parse(run(List.of(readCommand(bytes))), 0, bytes);
    }

    @Override
    public byte[] writeThenRead(long offset, byte[] slot, int bytes) throws IOException {
        Files.write(slotFile, slot);
        return HexDump.parse(run(List.of(writeCommand(slotFile, offset, slot.length), readCommand(bytes))), 0, bytes);
    }

    /** Runs qemu-io with {@code commands}; its output, or an IOException saying why there is none. */
    private String run(List<String> commands) throws IOException {
        Process earlier = current;
        if (earlier != null && earlier.isAlive()) {
            throw new IOException("the qemu-io of an earlier round (pid " + earlier.pid() + ") has not ended since "
                    + "it was killed: the datastore hangs; no other is started until it ends");
        }
        synchronized (calls) {
            inCall = true;
            abortAsked = false;
            aborted = false;
        }
        try {
            return runStarted(commands);
        } finally {
            synchronized (calls) {
                inCall = false;
            }
        }
    }

    private String runStarted(List<String> commands) throws IOException {
        Process p;
        try {
            p = new ProcessBuilder(command(commands)).redirectErrorStream(true)
                    .redirectOutput(outFile.toFile()).redirectInput(ProcessBuilder.Redirect.from(nullDevice()))
                    .start();
        } catch (IOException e) {
            throw new IOException("cannot run " + qemuIo + " (Debian: qemu-utils, and qemu-block-extra for iscsi:// "
                    + "and nfs://): " + e.getMessage(), e);
        }
        synchronized (calls) {
            current = p;
            if (abortAsked) {
                // an abort came while the process was starting: it is for this call
                aborted = true;
                p.destroyForcibly();
            }
        }
        try {
            if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(REAP_MS, TimeUnit.MILLISECONDS);
                throw new IOException("no answer from the datastore for " + timeoutMs + " ms (qemu-io killed)");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while qemu-io ran", e);
        }
        if (current == p) {
            current = null;
        }
        String out = Files.readString(outFile, StandardCharsets.UTF_8);
        if (aborted) {
            throw new IOException("qemu-io killed: no answer from the datastore in time");
        }
        if (p.exitValue() != 0) {
            throw new IOException("qemu-io failed (exit " + p.exitValue() + "): " + firstLines(out));
        }
        return out;
    }

    /** qemu-io's messages without the dump, for an error. */
    private static String firstLines(String out) {
        List<String> lines = new ArrayList<>();
        for (String l : out.split("\n")) {
            if (!l.isBlank() && !l.matches("[0-9a-f]{8}:  .*")) {
                lines.add(l.strip());
            }
            if (lines.size() == 3) {
                break;
            }
        }
        return lines.isEmpty() ? "no message" : String.join("; ", lines);
    }

    private static java.io.File nullDevice() {
        return new java.io.File("/dev/null");
    }

    @Override
    public void abort() {
        synchronized (calls) {
            if (inCall) {
                abortAsked = true;
            }
            Process p = current;
            if (p != null && p.isAlive()) {
                aborted = true;
                p.destroyForcibly();
            }
        }
    }

    @Override
    public void close() {
        abort();
        try {
            Files.deleteIfExists(slotFile);
            Files.deleteIfExists(outFile);
        } catch (IOException e) {
            // the daemon's private /tmp goes with it
        }
    }

    @Override
    public String toString() {
        return url.toString();
    }
}
