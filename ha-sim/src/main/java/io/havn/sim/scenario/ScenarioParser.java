package io.havn.sim.scenario;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.node.Settings;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads scenario files (YAML) and validates them completely: every error is a
 * {@link ScenarioException} naming the file, the place and the problem; nothing half-checked is returned.
 */
public final class ScenarioParser {
    /** The top-level keys of a scenario file, in canonical order. */
    public static final List<String> TOP_LEVEL_KEYS = List.of("name", "description", "seed", "leader", "fencing",
            "hosts", "vms", "settings", "zkMaxSessionTimeout", "timeline", "expect", "runFor");
    private static final List<String> HOST_KEYS = List.of("cpus", "memoryMiB");
    private static final List<String> VM_KEYS = List.of("host", "cpus", "memoryMiB", "priority", "ha", "disk");
    private static final List<String> ENTRY_KEYS = List.of("at", "do");
    private static final Pattern YAML_MARK = Pattern.compile("\\s*in '[^']*', (line \\d+, column \\d+):?");
    private static final Pattern DUPLICATE = Pattern.compile("Duplicate field ('.*')");

    private static final YAMLMapper MAPPER = YAMLMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(YAMLParser.Feature.PARSE_BOOLEAN_LIKE_WORDS_AS_STRINGS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    private ScenarioParser() { }

    /** Parses scenario YAML; {@code source} (usually the file name) starts every error message. */
    public static Scenario parse(String yaml, String source) {
        return new Run(source == null ? "<scenario>" : source).scenario(yaml);
    }

    /** Reads and parses a scenario file. */
    public static Scenario parse(Path file) {
        String yaml;
        try {
            yaml = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ScenarioException(file.toString(), "file", "cannot read: " + e, e);
        }
        return parse(yaml, file.toString());
    }

    /** One parse: the source name and the names declared so far. */
    private static final class Run {
        private final String source;
        private final Map<HostId, HostCapacity> hosts = new LinkedHashMap<>();
        private final Map<String, VmDecl> vms = new LinkedHashMap<>();

        Run(String source) {
            this.source = source;
        }

        Scenario scenario(String yaml) {
            JsonNode root = read(yaml);
            if (root == null || root.isMissingNode() || root.isNull()) {
                throw fail("file", "empty scenario: expected a mapping with at least name and hosts");
            }
            if (!root.isObject()) {
                throw fail("top level", "expected a mapping of " + String.join(", ", TOP_LEVEL_KEYS)
                        + ", got " + kind(root));
            }
            knownKeys(root, "", TOP_LEVEL_KEYS);

            String name = optionalText(root.get("name"), "name");
            if (name == null || name.isBlank()) {
                throw fail("name", "missing or blank: every scenario needs a name");
            }
            String description = optionalText(root.get("description"), "description");
            long seed = present(root.get("seed")) ? longValue(root.get("seed"), "seed") : Scenario.DEFAULT_SEED;
            Fencing fencing = Fencing.NONE;
            String fencingText = optionalText(root.get("fencing"), "fencing");
            if (fencingText != null) {
                try {
                    fencing = Fencing.parse(fencingText);
                } catch (IllegalArgumentException e) {
                    throw fail("fencing", e.getMessage());
                }
            }
            hosts(root.get("hosts"));
            HostId leader = null;
            String leaderText = optionalText(root.get("leader"), "leader");
            if (leaderText != null) {
                leader = declaredHost(leaderText, "leader");
            }
            vms(root.get("vms"));
            Map<String, Object> settings = settings(root.get("settings"));
            long zkMax = 0;
            if (present(root.get("zkMaxSessionTimeout"))) {
                zkMax = duration(root.get("zkMaxSessionTimeout"), "zkMaxSessionTimeout");
                if (zkMax <= 0) {
                    throw fail("zkMaxSessionTimeout", "must be > 0");
                }
            }
            List<TimelineEntry> timeline = timeline(root.get("timeline"));
            long last = timeline.stream().mapToLong(TimelineEntry::atMs).max().orElse(0);
            long runForMs;
            if (present(root.get("runFor"))) {
                runForMs = duration(root.get("runFor"), "runFor");
                if (runForMs <= 0) {
                    throw fail("runFor", "must be > 0");
                }
                if (runForMs < last) {
                    throw fail("runFor", Durations.format(runForMs) + " is shorter than the last timeline time "
                            + Durations.format(last));
                }
            } else {
                runForMs = last + Scenario.DEFAULT_RUN_AFTER_MS;
            }
            List<Expectation> expectations = expectations(root.get("expect"), runForMs);
            return new Scenario(name, description, seed, leader, fencing, hosts, vms, settings, timeline,
                    expectations, runForMs, zkMax);
        }

        private JsonNode read(String yaml) {
            if (yaml == null) {
                throw fail("file", "no content");
            }
            try {
                return MAPPER.readTree(yaml);
            } catch (StreamReadException e) {
                String where = "file";
                JsonParser p = e.getProcessor();
                if (p != null && p.getParsingContext() != null) {
                    String place = place(p.getParsingContext().pathAsPointer());
                    if (!place.isEmpty()) {
                        where = place;
                    }
                }
                throw fail(where, syntax(e.getOriginalMessage(), e.getLocation()), e);
            } catch (JsonMappingException e) {
                String place = place(e.getPath());
                throw fail(place.isEmpty() ? "file" : place, syntax(e.getOriginalMessage(), e.getLocation()), e);
            } catch (JsonProcessingException e) {
                throw fail("file", syntax(e.getOriginalMessage(), e.getLocation()), e);
            }
        }

        private void hosts(JsonNode node) {
            if (!present(node)) {
                throw fail("hosts", "missing: a scenario needs at least one host");
            }
            if (!node.isObject()) {
                throw fail("hosts", "expected a mapping of host name to capacity, got " + kind(node));
            }
            if (node.isEmpty()) {
                throw fail("hosts", "empty: a scenario needs at least one host");
            }
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                String where = "hosts." + e.getKey();
                HostId id;
                try {
                    id = HostId.of(e.getKey());
                } catch (IllegalArgumentException x) {
                    throw fail(where, x.getMessage());
                }
                if (Names.ZK_SERVERS.contains(id.value())) {
                    throw fail(where, "'" + id + "' is reserved for a coordination server; choose another host name");
                }
                JsonNode spec = e.getValue();
                HostCapacity d = Scenario.DEFAULT_HOST_CAPACITY;
                if (!present(spec)) {
                    hosts.put(id, d);
                    continue;
                }
                if (!spec.isObject()) {
                    throw fail(where, "expected a mapping with cpus and memoryMiB (or {}), got " + kind(spec));
                }
                knownKeys(spec, where + ".", HOST_KEYS);
                int cpus = present(spec.get("cpus")) ? positiveInt(spec.get("cpus"), where + ".cpus") : d.cpus();
                long mem = present(spec.get("memoryMiB"))
                        ? positiveLong(spec.get("memoryMiB"), where + ".memoryMiB") : d.memoryMiB();
                hosts.put(id, new HostCapacity(cpus, mem));
            }
        }

        private void vms(JsonNode node) {
            if (!present(node)) {
                return;
            }
            if (!node.isObject()) {
                throw fail("vms", "expected a mapping of VM name to spec, got " + kind(node));
            }
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                String name = e.getKey();
                String where = "vms." + name;
                try {
                    Names.vm(name);
                } catch (IllegalArgumentException x) {
                    throw fail(where, x.getMessage());
                }
                JsonNode spec = e.getValue();
                if (!present(spec)) {
                    throw fail(where + ".host", "missing: every VM needs a host");
                }
                if (!spec.isObject()) {
                    throw fail(where, "expected a mapping with host (and optionally cpus, memoryMiB, priority, ha, disk), got "
                            + kind(spec));
                }
                knownKeys(spec, where + ".", VM_KEYS);
                String hostText = optionalText(spec.get("host"), where + ".host");
                if (hostText == null) {
                    throw fail(where + ".host", "missing: every VM needs a host");
                }
                HostId host = declaredHost(hostText, where + ".host");
                int cpus = present(spec.get("cpus")) ? positiveInt(spec.get("cpus"), where + ".cpus") : VmDecl.DEFAULT_CPUS;
                long mem = present(spec.get("memoryMiB"))
                        ? positiveLong(spec.get("memoryMiB"), where + ".memoryMiB") : VmDecl.DEFAULT_MEMORY_MIB;
                Priority priority = VmDecl.DEFAULT_PRIORITY;
                String p = optionalText(spec.get("priority"), where + ".priority");
                if (p != null) {
                    try {
                        priority = Priority.parse(p);
                    } catch (IllegalArgumentException x) {
                        throw fail(where + ".priority", x.getMessage());
                    }
                }
                boolean ha = true;
                JsonNode haNode = spec.get("ha");
                if (present(haNode)) {
                    if (!haNode.isBoolean()) {
                        throw fail(where + ".ha", "expected true or false, got '" + haNode.asText() + "'");
                    }
                    ha = haNode.booleanValue();
                }
                String disk = optionalText(spec.get("disk"), where + ".disk");
                if (disk != null && !disk.matches("/[A-Za-z0-9._/-]*")) {
                    throw fail(where + ".disk", "expected an absolute path of letters, digits, '.', '_', '-' and '/', "
                            + "got '" + disk + "'");
                }
                vms.put(name, new VmDecl(name, host, cpus, mem, priority, ha, disk));
            }
        }

        private Map<String, Object> settings(JsonNode node) {
            Map<String, Object> settings = new LinkedHashMap<>();
            if (!present(node)) {
                return settings;
            }
            if (!node.isObject()) {
                throw fail("settings", "expected a mapping of setting name to value, got " + kind(node));
            }
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                if (!present(e.getValue())) {
                    throw fail("settings." + e.getKey(), "missing value");
                }
                settings.put(e.getKey(), plain(e.getValue()));
            }
            try {
                Settings.defaults().with(settings);
            } catch (IllegalArgumentException e) {
                throw fail("settings", e.getMessage(), e);
            }
            return settings;
        }

        private List<TimelineEntry> timeline(JsonNode node) {
            List<TimelineEntry> timeline = new ArrayList<>();
            if (!present(node)) {
                return timeline;
            }
            if (!node.isArray()) {
                throw fail("timeline", "expected a list of {at: TIME, do: COMMAND}, got " + kind(node));
            }
            for (int i = 0; i < node.size(); i++) {
                String where = "timeline[" + i + "]";
                JsonNode entry = node.get(i);
                if (!present(entry) || !entry.isObject()) {
                    throw fail(where, "expected a mapping {at: TIME, do: COMMAND}, got " + kind(entry));
                }
                knownKeys(entry, where + ".", ENTRY_KEYS);
                if (!present(entry.get("at"))) {
                    throw fail(where + ".at", "missing: every timeline entry needs a time");
                }
                long at = duration(entry.get("at"), where + ".at");
                JsonNode todo = entry.get("do");
                if (!present(todo)) {
                    throw fail(where + ".do", "missing: every timeline entry needs a command or a list of commands");
                }
                List<Command> commands = new ArrayList<>();
                if (todo.isArray()) {
                    if (todo.isEmpty()) {
                        throw fail(where + ".do", "empty list: expected at least one command");
                    }
                    for (int j = 0; j < todo.size(); j++) {
                        String w = where + ".do[" + j + "]";
                        commands.add(command(optionalText(todo.get(j), w), w));
                    }
                } else {
                    commands.add(command(optionalText(todo, where + ".do"), where + ".do"));
                }
                timeline.add(new TimelineEntry(at, commands));
            }
            return timeline;
        }

        private Command command(String text, String where) {
            if (text == null) {
                throw fail(where, "missing command");
            }
            Command c;
            try {
                c = Commands.parse(text);
            } catch (IllegalArgumentException e) {
                throw fail(where, e.getMessage());
            }
            if (c instanceof Command.Partition p) {
                for (Set<String> group : p.groups()) {
                    for (String endpoint : group) {
                        if (!Names.ZK_SERVERS.contains(endpoint) && !hosts.containsKey(HostId.of(endpoint))) {
                            throw fail(where, "'" + c.text() + "' names unknown endpoint '" + endpoint
                                    + "'; known: " + join(hosts.keySet()) + ", zk1, zk2, zk3");
                        }
                    }
                }
            }
            references((Record) c, where, c.text());
            return c;
        }

        private List<Expectation> expectations(JsonNode node, long runForMs) {
            List<Expectation> list = new ArrayList<>();
            if (!present(node)) {
                return list;
            }
            if (!node.isArray()) {
                throw fail("expect", "expected a list of \"WHEN: FACT\" strings, got " + kind(node));
            }
            for (int i = 0; i < node.size(); i++) {
                String where = "expect[" + i + "]";
                String text = optionalText(node.get(i), where);
                if (text == null) {
                    throw fail(where, "missing expectation");
                }
                Expectation e;
                try {
                    e = Expectations.parse(text);
                } catch (IllegalArgumentException x) {
                    throw fail(where, x.getMessage());
                }
                references((Record) e.fact(), where, e.text());
                if ((e.when() == When.AT || e.when() == When.BY) && e.atMs() > runForMs) {
                    throw fail(where, "time " + Durations.format(e.atMs()) + " is after the end of the run (runFor "
                            + Durations.format(runForMs) + ")");
                }
                list.add(e);
            }
            return list;
        }

        /** Checks that every host and VM a command or fact names is declared. */
        private void references(Record r, String where, String text) {
            if (r instanceof Command.Cut cut) {
                endpoint(cut.from(), where, text);
                endpoint(cut.to(), where, text);
                return;
            }
            for (RecordComponent c : r.getClass().getRecordComponents()) {
                Object value;
                try {
                    value = c.getAccessor().invoke(r);
                } catch (ReflectiveOperationException e) {
                    throw new IllegalStateException(e);
                }
                if (value instanceof HostId h) {
                    host(h, where, text);
                } else if (value instanceof Collection<?> items) {
                    for (Object item : items) {
                        if (item instanceof HostId h) {
                            host(h, where, text);
                        }
                    }
                } else if (c.getName().equals("vm") && !vms.containsKey((String) value)) {
                    throw fail(where, "'" + text + "' names undeclared VM '" + value + "'; declared: "
                            + (vms.isEmpty() ? "none" : String.join(", ", vms.keySet())));
                }
            }
        }

        private void endpoint(String e, String where, String text) {
            if (!Names.ZK_SERVERS.contains(e) && !hosts.containsKey(HostId.of(e))) {
                throw fail(where, "'" + text + "' names unknown endpoint '" + e + "'; expected a declared host ("
                        + join(hosts.keySet()) + ") or " + String.join(", ", Names.ZK_SERVERS));
            }
        }

        private void host(HostId h, String where, String text) {
            if (!hosts.containsKey(h)) {
                throw fail(where, "'" + text + "' names undeclared host '" + h + "'; declared: " + join(hosts.keySet()));
            }
        }

        private HostId declaredHost(String text, String where) {
            HostId id;
            try {
                id = HostId.of(text);
            } catch (IllegalArgumentException e) {
                throw fail(where, e.getMessage());
            }
            if (!hosts.containsKey(id)) {
                throw fail(where, "undeclared host '" + text + "'; declared: " + join(hosts.keySet()));
            }
            return id;
        }

        private void knownKeys(JsonNode node, String prefix, List<String> known) {
            for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (!known.contains(key)) {
                    throw fail(prefix + key, "unknown key '" + key + "'; known keys: " + String.join(", ", known));
                }
            }
        }

        private long duration(JsonNode node, String where) {
            try {
                return Durations.parseMs(optionalText(node, where));
            } catch (IllegalArgumentException e) {
                throw fail(where, e.getMessage());
            }
        }

        private String optionalText(JsonNode node, String where) {
            if (!present(node)) {
                return null;
            }
            if (!node.isValueNode()) {
                throw fail(where, "expected a single value, got " + kind(node));
            }
            return node.asText();
        }

        private long longValue(JsonNode node, String where) {
            if (!node.isIntegralNumber() || !node.canConvertToLong()) {
                throw fail(where, "expected an integer, got " + (node.isValueNode() ? "'" + node.asText() + "'" : kind(node)));
            }
            return node.longValue();
        }

        private long positiveLong(JsonNode node, String where) {
            long v = longValue(node, where);
            if (v <= 0) {
                throw fail(where, "must be > 0, got " + v);
            }
            return v;
        }

        private int positiveInt(JsonNode node, String where) {
            long v = positiveLong(node, where);
            if (v > Integer.MAX_VALUE) {
                throw fail(where, "too large: " + v);
            }
            return (int) v;
        }

        private ScenarioException fail(String where, String what) {
            return new ScenarioException(source, where, what);
        }

        private ScenarioException fail(String where, String what, Throwable cause) {
            return new ScenarioException(source, where, what, cause);
        }
    }

    private static boolean present(JsonNode node) {
        return node != null && !node.isNull() && !node.isMissingNode();
    }

    private static String kind(JsonNode node) {
        if (!present(node)) {
            return "nothing";
        }
        if (node.isObject()) {
            return "a mapping";
        }
        if (node.isArray()) {
            return "a list";
        }
        return "'" + node.asText() + "'";
    }

    /** A YAML value as plain Java: String, Boolean, Long (or BigInteger), Double, List or Map. */
    private static Object plain(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        if (node.isIntegralNumber()) {
            return node.canConvertToLong() ? (Object) node.longValue() : node.bigIntegerValue();
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>();
            node.forEach(n -> list.add(plain(n)));
            return list;
        }
        if (node.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            node.properties().forEach(e -> map.put(e.getKey(), plain(e.getValue())));
            return map;
        }
        return node.asText();
    }

    private static String join(Collection<HostId> hosts) {
        return String.join(", ", hosts.stream().map(HostId::value).toList());
    }

    /** "/timeline/2/do" as "timeline[2].do". */
    private static String place(JsonPointer pointer) {
        StringBuilder sb = new StringBuilder();
        for (JsonPointer p = pointer; p != null && !p.matches(); p = p.tail()) {
            if (p.mayMatchElement()) {
                sb.append('[').append(p.getMatchingIndex()).append(']');
            } else {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(p.getMatchingProperty());
            }
        }
        return sb.toString();
    }

    private static String place(List<JsonMappingException.Reference> path) {
        StringBuilder sb = new StringBuilder();
        for (JsonMappingException.Reference r : path) {
            if (r.getIndex() >= 0) {
                sb.append('[').append(r.getIndex()).append(']');
            } else if (r.getFieldName() != null) {
                if (sb.length() > 0) {
                    sb.append('.');
                }
                sb.append(r.getFieldName());
            }
        }
        return sb.toString();
    }

    private static String syntax(String message, JsonLocation loc) {
        String lineCol = loc != null && loc.getLineNr() > 0
                ? "line " + loc.getLineNr() + ", column " + loc.getColumnNr() : null;
        List<String> parts = new ArrayList<>();
        for (String line : (message == null ? "" : message).lines().toList()) {
            Matcher m = YAML_MARK.matcher(line);
            if (m.matches()) {
                lineCol = m.group(1);
            } else if (!line.isBlank() && !Character.isWhitespace(line.charAt(0))) {
                parts.add(line.strip());
            }
        }
        String text = parts.isEmpty() ? "invalid YAML" : String.join("; ", parts);
        Matcher dup = DUPLICATE.matcher(text);
        if (dup.matches()) {
            text = "duplicate key " + dup.group(1);
        } else if (text.startsWith("Trailing token")) {
            text = "more than one YAML document, or content after the scenario";
        } else {
            text = "invalid YAML: " + text;
        }
        return lineCol == null ? text : text + " (" + lineCol + ")";
    }
}
