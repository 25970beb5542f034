package io.havn.daemon.systemd;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the host itself is being shut down or rebooted, asked once when havnd is stopped: a stop
 * of the daemon alone (a restart, an upgrade) leaves the VMs running under a restart window, while
 * a host shutdown follows the shutdown policy. A probe that cannot tell answers false: the daemon
 * then stops as for a restart, which never stops a VM.
 */
@FunctionalInterface
public interface HostShutdownProbe {
    /** How long {@code systemctl is-system-running} may take before the answer is "no". */
    long TIMEOUT_MS = 2_000;

    boolean hostShuttingDown();

    /** systemd's own answer: {@code systemctl is-system-running} prints {@code stopping} while the system goes down. */
    static HostShutdownProbe systemctl() {
        return command(List.of("systemctl", "is-system-running"), TIMEOUT_MS);
    }

    /**
     * Runs {@code command} and answers true when it prints {@code stopping} (its exit status does not
     * matter: {@code is-system-running} exits non-zero in every state but running); false when it
     * prints anything else, fails to start, or does not finish within {@code timeoutMs}.
     */
    static HostShutdownProbe command(List<String> command, long timeoutMs) {
        List<String> cmd = List.copyOf(command);
        Logger log = LoggerFactory.getLogger(HostShutdownProbe.class);
        return () -> {
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
                p.getOutputStream().close(); // it reads nothing
            } catch (IOException | RuntimeException e) {
                log.warn("cannot ask whether the host is shutting down ({}): {}; stopping as for a restart",
                        String.join(" ", cmd), e.getMessage());
                return false;
            }
            try {
                // its output is one short line: it fits the pipe, so waiting before reading cannot block it
                if (!p.waitFor(timeoutMs, TimeUnit.MILLISECONDS)) {
                    log.warn("{} gave no answer within {} ms; stopping as for a restart", String.join(" ", cmd),
                            timeoutMs);
                    return false;
                }
                String out = new String(p.getInputStream().readNBytes(4096), StandardCharsets.UTF_8).strip();
                return "stopping".equals(out);
            } catch (IOException | RuntimeException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            } finally {
                p.destroyForcibly();
            }
        };
    }
}
