package io.havn.daemon.fence;

import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.Fencer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fencer contract on real fence-agent processes: one small shell agent, written to a temporary
 * directory, that speaks the fence-agents protocol (options on stdin, {@code action=off|status},
 * status exit 2 for off) and keeps each host's power in a file. Its {@code behaviour} option makes
 * it one {@link Kind} or another.
 */
class FenceAgentFencerContractTest extends FencerContract {
    private static final long ATTEMPT_DEADLINE_MS = 3_000;
    private static final String FAILURE_WORDS = "Unable to connect/login to fencing device";
    private static final String AGENT = """
            #!/bin/bash
            # A fence agent for the contract: behaviour=confirms|claims|fails|hangs, power=FILE ("on" or "off").
            declare -A opt
            while IFS= read -r line; do
              [[ -z "$line" ]] && continue
              opt["${line%%=*}"]="${line#*=}"
            done
            case "${opt[behaviour]}:${opt[action]}" in
              confirms:off) echo off > "${opt[power]}"; echo "Success: Powered OFF" ;;
              claims:off) echo "Success: Powered OFF" ;;
              fails:*) echo "Failed: %s" >&2; exit 1 ;;
              hangs:*) exec sleep 600 ;;
              *:status)
                if [[ "$(cat "${opt[power]}")" == off ]]; then echo "Status: OFF"; exit 2; fi
                echo "Status: ON" ;;
              *) echo "Failed: unsupported action ${opt[action]}" >&2; exit 1 ;;
            esac
            """.formatted(FAILURE_WORDS);

    @TempDir
    Path dir;

    @Override
    protected Subject newSubject() throws IOException {
        return new AgentSubject(dir);
    }

    private static final class AgentSubject implements Subject {
        private final Path dir;
        private final BlockingQueue<NodeEvent> events = new LinkedBlockingQueue<>();
        private final FenceAgentFencer fencer;

        AgentSubject(Path dir) throws IOException {
            this.dir = dir;
            Path agent = Files.writeString(dir.resolve("fence_contract"), AGENT);
            Files.setPosixFilePermissions(agent, PosixFilePermissions.fromString("rwx------"));
            Map<String, FenceDevice> devices = new HashMap<>();
            for (HostId h : List.of(H1, H2, H3)) {
                Files.writeString(power(h), "on\n");
                for (Kind k : Kind.values()) {
                    devices.put(device(h, k), new FenceDevice(agent.toString(), Map.of(
                            "ip", "10.0.0.9", "password", "contract-secret",
                            "behaviour", behaviour(k), "power", power(h).toString())));
                }
            }
            fencer = new FenceAgentFencer(devices, events::add,
                    new FenceAgentFencer.Limits(ATTEMPT_DEADLINE_MS, 20, 4));
        }

        private static String behaviour(Kind k) {
            return switch (k) {
                case CONFIRMS -> "confirms";
                case CLAIMS_BUT_STAYS_ON -> "claims";
                case FAILS -> "fails";
                case HANGS -> "hangs";
            };
        }

        private Path power(HostId host) {
            return dir.resolve(host.value() + ".power");
        }

        @Override
        public Fencer fencer() {
            return fencer;
        }

        @Override
        public String device(HostId host, Kind kind) {
            return "pdu-" + host.value() + "-" + kind.name().toLowerCase(Locale.ROOT);
        }

        @Override
        public NodeEvent next(Duration within) throws InterruptedException {
            return events.poll(within.toNanos(), TimeUnit.NANOSECONDS);
        }

        @Override
        public boolean poweredOff(HostId host) throws IOException {
            return Files.readString(power(host)).strip().equals("off");
        }

        @Override
        public String failureWords() {
            return FAILURE_WORDS;
        }

        @Override
        public long attemptDeadlineMs() {
            return ATTEMPT_DEADLINE_MS;
        }

        @Override
        public boolean closeFencer() {
            fencer.close();
            return true;
        }

        @Override
        public void close() {
            fencer.close();
        }
    }
}
