package io.havn.daemon.demo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * Everything one demo run starts: the ZooKeeper server, the three daemons, the work directory.
 * {@link #close} stops it all, once, from whichever thread comes first: the end of the run, or
 * the shutdown hook when the user presses Ctrl-C. Nothing is started once it is closed.
 */
final class Cluster implements AutoCloseable {
    static final List<String> HOSTS = List.of("host1", "host2", "host3");
    private static final Duration STOP_GRACE = Duration.ofSeconds(10);
    private static final int LOG_LINES_ON_FAILURE = 12;

    private final Console console;
    private final WorkDir dir;
    private final Map<String, Daemon> daemons = new LinkedHashMap<>();
    private final Map<String, LogTail> tails = new LinkedHashMap<>();
    private final List<String> killed = new ArrayList<>();
    private EmbeddedZooKeeper zookeeper;
    private boolean keepDir;
    private boolean closed;

    Cluster(Console console, WorkDir dir) {
        this.console = console;
        this.dir = dir;
    }

    WorkDir dir() {
        return dir;
    }

    synchronized String startZooKeeper() throws IOException, InterruptedException, StepFailed {
        refuseIfClosed();
        CertificateAuthority ca = CertificateAuthority.create(dir.tls(), "havn demo CA", List.of(
                new CertificateAuthority.Leaf("zookeeper", "CN=zookeeper,OU=" + WorkDir.CLUSTER, List.of("ip:127.0.0.1")),
                new CertificateAuthority.Leaf(WorkDir.MEMBER_STORE, WorkDir.MEMBER_SUBJECT, List.of())));
        zookeeper = EmbeddedZooKeeper.start(dir.zookeeper(), ca.keyStore("zookeeper"), ca.trustStore(),
                ca.passwordFile());
        return zookeeper.connectString();
    }

    synchronized Daemon startDaemon(String host) throws IOException, StepFailed {
        refuseIfClosed();
        Daemon d = new Daemon(host, dir);
        tails.put(host, new LogTail(dir.log(host)));
        d.start();
        daemons.put(host, d);
        return d;
    }

    private void refuseIfClosed() throws StepFailed {
        if (closed) {
            throw new StepFailed("stopped before the end (Ctrl-C?)");
        }
    }

    synchronized Daemon daemon(String host) {
        return daemons.get(host);
    }

    /** Powers {@code host} off: its daemon, hypervisor and VMs die at once. */
    void kill(String host) throws InterruptedException {
        Daemon d;
        synchronized (this) {
            killed.add(host);
            d = daemons.get(host);
        }
        d.kill();
    }

    /** The decisions {@code host}'s daemon logged since the last look. */
    List<DecisionLine> newDecisions(String host) throws IOException {
        LogTail t;
        synchronized (this) {
            t = tails.get(host);
        }
        List<DecisionLine> out = new ArrayList<>();
        for (String line : t.newLines()) {
            DecisionLine.parse(line).ifPresent(out::add);
        }
        return out;
    }

    /** Fails if a daemon that was not killed on purpose has exited, or everything is being stopped. */
    synchronized void requireAlive() throws StepFailed {
        refuseIfClosed();
        for (Daemon d : daemons.values()) {
            if (!d.alive() && !killed.contains(d.host())) {
                int status = d.exitValue();
                throw new StepFailed("havnd " + d.host() + (status > 128 ? " was killed by signal " + (status - 128)
                        : " exited with status " + status));
            }
        }
    }

    /**
     * Waits for {@code d}, or less if a daemon exits meanwhile: the pace of the demo's polling,
     * which thus notices a dead daemon at once.
     */
    void pause(Duration d) throws InterruptedException {
        CompletableFuture<?>[] exits;
        synchronized (this) {
            exits = daemons.values().stream().filter(Daemon::alive).map(Daemon::onExit)
                    .toArray(CompletableFuture[]::new);
        }
        try {
            CompletableFuture.anyOf(exits.length == 0 ? new CompletableFuture[] {new CompletableFuture<>()} : exits)
                    .get(d.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // the usual case: nothing exited
        }
    }

    /** Leaves the work directory in place when closing: its logs explain a failure, or the user asked to keep it. */
    synchronized void keepDir() {
        keepDir = true;
    }

    /** Says where the logs are, with the last lines of any daemon that died on its own. */
    synchronized void reportLogs() {
        console.more("logs: " + String.join(" ", HOSTS.stream().map(h -> dir.log(h).toString()).toList()));
        for (Daemon d : daemons.values()) {
            if (!d.alive() && !killed.contains(d.host())) {
                console.more("the last lines of " + d.log() + ":");
                try (Stream<String> lines = Files.lines(d.log())) {
                    List<String> all = lines.toList();
                    all.subList(Math.max(0, all.size() - LOG_LINES_ON_FAILURE), all.size())
                            .forEach(l -> console.more("  " + l));
                } catch (IOException | java.io.UncheckedIOException e) {
                    console.more("  (unreadable: " + e.getMessage() + ")");
                }
            }
        }
    }

    /** Stops the daemons (SIGTERM, SIGKILL after a grace), then ZooKeeper; removes the work directory unless kept. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<ProcessHandle> stopping = new ArrayList<>();
        daemons.values().forEach(d -> stopping.addAll(d.terminate()));
        long deadline = System.nanoTime() + STOP_GRACE.toNanos();
        for (ProcessHandle p : stopping) {
            try {
                p.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException | ExecutionException e) {
                p.destroyForcibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
            }
        }
        if (zookeeper != null) {
            zookeeper.close();
        }
        List<String> stopped = new ArrayList<>();
        if (!daemons.isEmpty()) {
            stopped.add("the daemons");
        }
        if (zookeeper != null) {
            stopped.add("ZooKeeper");
        }
        String what = stopped.isEmpty() ? "" : "stopped " + String.join(" and ", stopped) + "; ";
        if (keepDir) {
            console.event(what + "the work dir stays: " + dir.path());
        } else {
            console.event(what + "removed " + dir.path() + removeDir());
        }
    }

    /** Empty, or why the directory could not be removed entirely. */
    private String removeDir() {
        try (Stream<Path> files = Files.walk(dir.path())) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
            return "";
        } catch (IOException | java.io.UncheckedIOException e) {
            return " (not entirely: " + e.getMessage() + ")";
        }
    }
}
