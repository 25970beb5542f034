package io.havn.daemon.demo;

import java.io.File;
import java.io.IOException;
import java.lang.ProcessBuilder.Redirect;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One host's havnd, a child process run by the host's launcher ({@link WorkDir#launcher}). The
 * demo powers a host off with {@link #kill} (SIGKILL: its test-driver hypervisor and VMs live in
 * the process and die with it) and stops the others cleanly with {@link #terminate}.
 */
final class Daemon {
    private static final long REAP_MS = 5_000;

    private final String host;
    private final WorkDir dir;
    private Process process;

    Daemon(String host, WorkDir dir) {
        this.host = host;
        this.dir = dir;
    }

    String host() {
        return host;
    }

    /** Starts it; its output goes to its log (the launcher sends it there). */
    void start() throws IOException {
        ProcessBuilder pb = new ProcessBuilder("/bin/sh", dir.launcher(host).toString())
                .redirectInput(Redirect.from(new File("/dev/null")))
                .redirectOutput(Redirect.DISCARD)
                .redirectErrorStream(true);
        // a demo run under systemd must not speak to systemd on its daemons' behalf
        pb.environment().keySet().removeAll(List.of("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"));
        process = pb.start();
    }

    long pid() {
        return process.pid();
    }

    boolean alive() {
        return process != null && process.isAlive();
    }

    CompletableFuture<Process> onExit() {
        return process.onExit();
    }

    int exitValue() {
        return process.exitValue();
    }

    /** Power loss: SIGKILL to the daemon and to whatever it runs (a fence agent). Returns once it is gone. */
    void kill() throws InterruptedException {
        List<ProcessHandle> under = process.descendants().toList();
        process.destroyForcibly();
        under.forEach(ProcessHandle::destroyForcibly);
        process.waitFor(REAP_MS, TimeUnit.MILLISECONDS);
    }

    /**
     * Asks it to stop (SIGTERM: havnd closes its session and leaves). Also a havnd of this host
     * started by hand from the launcher, which the pid file names.
     */
    List<ProcessHandle> terminate() {
        List<ProcessHandle> stopping = new ArrayList<>();
        if (process != null && process.isAlive()) {
            stopping.add(process.toHandle());
            stopping.addAll(process.descendants().toList());
        }
        startedByHand().ifPresent(stopping::add);
        stopping.forEach(ProcessHandle::destroy);
        return stopping;
    }

    /** The process the pid file names, if it is a havnd running this host's config and not the demo's own child. */
    private Optional<ProcessHandle> startedByHand() {
        try {
            long pid = Long.parseLong(Files.readString(dir.pid(host)).strip());
            if (process != null && pid == process.pid()) {
                return Optional.empty();
            }
            String config = dir.config(host).toString();
            return ProcessHandle.of(pid).filter(p -> p.info().arguments()
                    .map(a -> List.of(a).contains(config)).orElse(false));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    Path log() {
        return dir.log(host);
    }

    /** The command a person runs to start this host's havnd again, as the demo did. */
    String restartCommand() {
        return "sh " + dir.launcher(host) + " &";
    }
}
