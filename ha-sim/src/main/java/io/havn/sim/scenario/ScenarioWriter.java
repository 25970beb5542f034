package io.havn.sim.scenario;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Writes a scenario as canonical YAML: keys in {@link ScenarioParser#TOP_LEVEL_KEYS} order, default
 * host and VM fields left out, seed, fencing and runFor always written, commands in canonical text and
 * expectations as written. {@code ScenarioParser.parse(toYaml(s), ...)} equals {@code s}.
 */
public final class ScenarioWriter {
    /** Words a YAML reader may take for something other than a string. */
    private static final Set<String> RESERVED = Set.of("true", "false", "yes", "no", "on", "off", "y", "n", "null");
    private static final Pattern PLAIN = Pattern.compile("[A-Za-z][A-Za-z0-9._-]*( [A-Za-z0-9._-]+)*");
    private static final Pattern PLAIN_COMMAND = Pattern.compile("[a-z][a-z-]*( [A-Za-z0-9._%,|-]+)*");
    private static final ObjectMapper JSON = new ObjectMapper();

    private ScenarioWriter() { }

    /** The scenario as canonical YAML. */
    public static String toYaml(Scenario s) {
        StringBuilder y = new StringBuilder();
        y.append("name: ").append(scalar(s.name())).append('\n');
        if (s.description() != null) {
            y.append("description: ").append(scalar(s.description())).append('\n');
        }
        y.append("seed: ").append(s.seed()).append('\n');
        if (s.leader() != null) {
            y.append("leader: ").append(scalar(s.leader().value())).append('\n');
        }
        y.append("fencing: ").append(s.fencing().text()).append('\n');

        y.append("hosts:\n");
        for (Map.Entry<HostId, HostCapacity> e : s.hosts().entrySet()) {
            HostCapacity c = e.getValue();
            HostCapacity d = Scenario.DEFAULT_HOST_CAPACITY;
            StringBuilder fields = new StringBuilder();
            if (c.cpus() != d.cpus()) {
                field(fields, "cpus", Integer.toString(c.cpus()));
            }
            if (c.memoryMiB() != d.memoryMiB()) {
                field(fields, "memoryMiB", Long.toString(c.memoryMiB()));
            }
            y.append("  ").append(scalar(e.getKey().value())).append(": {").append(fields).append("}\n");
        }

        if (!s.datastores().isEmpty()) {
            y.append("datastores: [").append(String.join(", ", s.datastores().stream().map(ScenarioWriter::scalar).toList()))
                    .append("]\n");
        }
        if (s.vms().isEmpty()) {
            y.append("vms: {}\n");
        } else {
            y.append("vms:\n");
            for (VmDecl vm : s.vms().values()) {
                StringBuilder fields = new StringBuilder();
                field(fields, "host", scalar(vm.host().value()));
                if (vm.cpus() != VmDecl.DEFAULT_CPUS) {
                    field(fields, "cpus", Integer.toString(vm.cpus()));
                }
                if (vm.memoryMiB() != VmDecl.DEFAULT_MEMORY_MIB) {
                    field(fields, "memoryMiB", Long.toString(vm.memoryMiB()));
                }
                if (vm.priority() != VmDecl.DEFAULT_PRIORITY) {
                    field(fields, "priority", vm.priority().name().toLowerCase(Locale.ROOT));
                }
                if (!vm.ha()) {
                    field(fields, "ha", "false");
                }
                if (vm.disk() != null) {
                    field(fields, "disk", scalar(vm.disk()));
                }
                if (!vm.datastores().isEmpty()) {
                    field(fields, "datastores", "[" + String.join(", ", vm.datastores().stream().map(ScenarioWriter::scalar)
                            .toList()) + "]");
                }
                if (vm.onStorageError() != null) {
                    field(fields, "onStorageError", vm.onStorageError().word());
                }
                if (vm.guestMonitor() != null) {
                    var m = vm.guestMonitor();
                    field(fields, "guestMonitor", "{interval: " + Durations.format(m.intervalMs()) + ", misses: " + m.misses()
                            + ", grace: " + Durations.format(m.graceMs()) + ", maxResets: " + m.maxResets() + ", window: "
                            + Durations.format(m.windowMs()) + "}");
                }
                if (!vm.agentChannel()) {
                    field(fields, "agentChannel", "false");
                }
                y.append("  ").append(scalar(vm.name())).append(": {").append(fields).append("}\n");
            }
        }

        placement(y, s.placement());

        if (!s.settings().isEmpty()) {
            y.append("settings:\n");
            for (Map.Entry<String, Object> e : s.settings().entrySet()) {
                y.append("  ").append(scalar(e.getKey())).append(": ").append(json(e.getValue())).append('\n');
            }
        }

        if (s.clampsSessions()) {
            y.append("zkMaxSessionTimeout: ").append(Durations.format(s.zkMaxSessionTimeoutMs())).append('\n');
        }

        if (s.timeline().isEmpty()) {
            y.append("timeline: []\n");
        } else {
            y.append("timeline:\n");
            for (TimelineEntry t : s.timeline()) {
                y.append("  - at: ").append(Durations.format(t.atMs())).append('\n');
                List<Command> commands = t.commands();
                if (commands.size() == 1) {
                    y.append("    do: ").append(command(commands.get(0))).append('\n');
                } else {
                    y.append("    do:\n");
                    for (Command c : commands) {
                        y.append("      - ").append(command(c)).append('\n');
                    }
                }
            }
        }

        if (s.expectations().isEmpty()) {
            y.append("expect: []\n");
        } else {
            y.append("expect:\n");
            for (Expectation e : s.expectations()) {
                y.append("  - ").append(quoted(e.text())).append('\n');
            }
        }
        y.append("runFor: ").append(Durations.format(s.runForMs())).append('\n');
        return y.toString();
    }

    /** Groups, rules (as mappings, every field of the kind written) and admission control, when set. */
    private static void placement(StringBuilder y, PlacementPolicy p) {
        if (!p.groups().isEmpty()) {
            y.append("groups:\n");
            p.groups().forEach((name, hosts) -> y.append("  ").append(scalar(name)).append(": [")
                    .append(String.join(", ", hosts.stream().map(h -> scalar(h.value())).toList())).append("]\n"));
        }
        if (!p.rules().isEmpty()) {
            y.append("rules:\n");
            for (Rule r : p.rules()) {
                StringBuilder f = new StringBuilder();
                field(f, "id", scalar(r.id()));
                field(f, "kind", r.kind());
                field(f, "vms", vmList(r.vms()));
                if (r instanceof Rule.Together t) {
                    hardness(f, t.hard(), t.weight());
                } else if (r instanceof Rule.Apart a) {
                    hardness(f, a.hard(), a.weight());
                } else if (r instanceof Rule.OnHosts o) {
                    field(f, "groups", "[" + String.join(", ", o.groups().stream().map(ScenarioWriter::scalar).toList())
                            + "]");
                    field(f, "strict", Boolean.toString(o.strict()));
                    field(f, "failback", Boolean.toString(o.failback()));
                } else if (r instanceof Rule.After a) {
                    field(f, "after", vmList(a.after()));
                    field(f, "timeout", Durations.format(a.timeoutMs()));
                    field(f, "onTimeout", a.onTimeout() == Rule.OnTimeout.START ? "start" : "stay-down");
                    if (a.ready() != Rule.Ready.RUNNING) {
                        field(f, "ready", "agent");
                    }
                } else if (r instanceof Rule.StartDelay d) {
                    field(f, "delay", Durations.format(d.delayMs()));
                }
                y.append("  - {").append(f).append("}\n");
            }
        }
        if (p.tolerate() != 0 || p.strict() || !p.reserved().isEmpty()) {
            StringBuilder f = new StringBuilder();
            field(f, "tolerate", Integer.toString(p.tolerate()));
            field(f, "strict", Boolean.toString(p.strict()));
            if (!p.reserved().isEmpty()) {
                field(f, "reserved", "[" + String.join(", ", p.reserved().stream().map(h -> scalar(h.value())).toList())
                        + "]");
            }
            y.append("admission: {").append(f).append("}\n");
        }
    }

    private static void hardness(StringBuilder f, boolean hard, Integer weight) {
        field(f, "hard", Boolean.toString(hard));
        if (!hard) {
            field(f, "weight", Integer.toString(weight));
        }
    }

    private static String vmList(List<VmId> vms) {
        return "[" + String.join(", ", vms.stream().map(v -> scalar(v.value())).toList()) + "]";
    }

    private static void field(StringBuilder fields, String key, String value) {
        if (fields.length() > 0) {
            fields.append(", ");
        }
        fields.append(key).append(": ").append(value);
    }

    private static String command(Command c) {
        String text = c.text();
        return PLAIN_COMMAND.matcher(text).matches() ? text : quoted(text);
    }

    /** Plain when YAML reads it back as the same string, double-quoted otherwise. */
    private static String scalar(String text) {
        if (PLAIN.matcher(text).matches() && !RESERVED.contains(text.toLowerCase(Locale.ROOT))) {
            return text;
        }
        return quoted(text);
    }

    private static String quoted(String text) {
        return json(text);
    }

    /** JSON is YAML flow syntax; used for quoted strings and settings values. */
    private static String json(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write value " + value, e);
        }
    }
}
