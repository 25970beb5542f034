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
import io.havn.common.model.GuestMonitor;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.StorageErrorPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Settings;
import io.havn.common.place.Planner;
import io.havn.common.place.PolicyCheck;
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
 *
 * <h2>Placement rules</h2>
 *
 * A scenario may start with a placement policy in the cluster record, as operators would have set
 * it (the leader honours it from the first moment; the invariants check its hard rules):
 *
 * <pre>
 * groups:                                   # host group name -&gt; its hosts (declared hosts, at least one)
 *   rack-a: [node1, node2]
 *   rack-b: [node3]
 * rules:                                    # in order; each a mapping, or the one-line form of rule-add
 *   - {id: web-apart, kind: apart, vms: [web1, web2, web3]}             # hard unless hard: false
 *   - {id: app-db, kind: together, vms: [app, db]}                      # hard: all on one host
 *   - {id: cache-near, kind: together, vms: [app, cache], weight: 50}  # a weight makes it soft (1..1000;
 *                                                                        # hard: false alone: weight 10)
 *   - {id: db-rack, kind: hosts, vms: [db], groups: [rack-a, rack-b], strict: true, failback: true}
 *                                            # on the groups' hosts, the first preferred; strict: never
 *                                            # elsewhere; failback: back to a more preferred host
 *   - {id: app-after-db, kind: after, vms: [app], after: [db], timeout: 2m, onTimeout: stay-down}
 *                                            # app is placed once db runs; after the timeout it is
 *                                            # placed anyway (start, the default) or not (stay-down)
 *   - {id: db-late, kind: delay, vms: [db], delay: 15s}                 # placed 15 s after it needs a host
 *   - "apart web-soft-apart web1,web2 soft 20"                         # the one-line form ({@link RuleText})
 * admission: {tolerate: 1, strict: false, reserved: [node4]}           # admission control
 * </pre>
 *
 * Every VM, host and group named must be declared (a rule's VMs must be HA VMs), and the policy must
 * be one the cluster accepts with the VMs where they start: it is checked rule by rule, as the
 * leader checks a change ({@code PolicyCheck}), and a refusal names the rule ({@code rules[2]: the
 * cluster would refuse rule ...}), whether it contradicts another rule, cannot be met by the hosts,
 * makes a dependency cycle or is broken by the starting placement.
 *
 * <p>Timeline commands change the policy through the admin path, as {@code havnctl} would (a refused
 * one is written to the timeline with its reason): {@code rule-add KIND ID ...} (the one-line form,
 * see {@link RuleText}), {@code rule-remove ID}, {@code group-set NAME HOST[,HOST...]}, {@code
 * group-remove NAME}, {@code admission TOLERATE [strict] [reserved HOST[,HOST...]]}, and {@code
 * what-if HOST [HOST...]} (asks what the loss of those hosts would do; the answer is written to the
 * timeline). A rule-add's groups and a rule-remove's rule must be declared by the sections above or
 * by another command of the timeline. In a flow mapping ({@code {at: 5s, do: ...}}) a command with
 * commas must be quoted.
 *
 * <p>Facts for expectations: {@code A apart B} (no host runs both; either may run nowhere), {@code
 * A with B} (both run, on one host), {@code A on-group G} (A runs on a host of group G as the
 * cluster record has it at that moment).
 *
 * <h2>Shared storage and guests</h2>
 *
 * <pre>
 * datastores: [vmstore, backup]             # every host heartbeats on each (havnd's storage heartbeat)
 * vms:
 *   db: {host: node1, datastores: [vmstore], onStorageError: restart-elsewhere}
 *                                            # pauses when its host loses vmstore; resume (the default),
 *                                            # leave-paused or restart-elsewhere (needs datastores)
 *   web: {host: node2, guestMonitor: {interval: 2s, misses: 3, grace: 10s, maxResets: 2, window: 10m}}
 *                                            # guest agent monitoring (true: the defaults)
 *   old: {host: node3, guestMonitor: true, agentChannel: false}   # a domain with no agent channel
 * </pre>
 *
 * Timeline commands: {@code storage-lost HOST DS} and {@code storage-back HOST DS} (one host's path
 * to a datastore), {@code datastore-down DS} and {@code datastore-up DS} (for everybody), {@code
 * guest-hang VM [forever]} (its agent stops answering; a reset cures it unless forever) and {@code
 * guest-unhang VM}. Facts: {@code V paused} (held paused on a storage error somewhere) and {@code V
 * boots N} (its guest booted N times since the run began: starts anywhere, and resets).
 */
public final class ScenarioParser {
    /** The top-level keys of a scenario file, in canonical order. */
    public static final List<String> TOP_LEVEL_KEYS = List.of("name", "description", "seed", "leader", "fencing",
            "hosts", "vms", "groups", "rules", "admission", "settings", "zkMaxSessionTimeout", "timeline", "expect", "runFor",
            "datastores");
    private static final List<String> HOST_KEYS = List.of("cpus", "memoryMiB");
    private static final List<String> VM_KEYS = List.of("host", "cpus", "memoryMiB", "priority", "ha", "disk",
            "datastores", "onStorageError", "guestMonitor", "agentChannel");
    private static final List<String> MONITOR_KEYS = List.of("interval", "misses", "grace", "maxResets", "window");
    private static final List<String> ENTRY_KEYS = List.of("at", "do");
    private static final List<String> ADMISSION_KEYS = List.of("tolerate", "strict", "reserved");
    /** The keys of a rule mapping, by kind (id, kind and vms for every kind). */
    private static final Map<String, List<String>> RULE_KEYS = Map.of(
            "apart", List.of("id", "kind", "vms", "hard", "weight"),
            "together", List.of("id", "kind", "vms", "hard", "weight"),
            "hosts", List.of("id", "kind", "vms", "groups", "strict", "failback"),
            "after", List.of("id", "kind", "vms", "after", "timeout", "onTimeout", "ready"),
            "delay", List.of("id", "kind", "vms", "delay"));
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
        /** The groups of the {@code groups} section, and those the timeline sets: names a rule or fact may use. */
        private final Set<String> groupNames = new java.util.HashSet<>();
        /** The rule ids of the {@code rules} section and of the timeline's rule-add commands. */
        private final Set<String> ruleIds = new java.util.HashSet<>();
        /** Group and rule names the timeline and expectations use, checked once everything is read. */
        private final List<String[]> laterChecks = new ArrayList<>();
        private final List<String> datastores = new ArrayList<>();

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
            datastores(root.get("datastores"));
            vms(root.get("vms"));
            PlacementPolicy placement = placement(root.get("groups"), root.get("rules"), root.get("admission"));
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
            for (String[] c : laterChecks) {
                Set<String> known = c[3].equals("group") ? groupNames : ruleIds;
                if (!known.contains(c[2])) {
                    throw fail(c[0], "'" + c[1] + "' names " + c[3] + " '" + c[2] + "', which neither the "
                            + (c[3].equals("group") ? "groups section nor a group-set" : "rules section nor a rule-add")
                            + " of the timeline declares; declared: "
                            + (known.isEmpty() ? "none" : String.join(",", new java.util.TreeSet<>(known))));
                }
            }
            return new Scenario(name, description, seed, leader, fencing, hosts, vms, settings, timeline,
                    expectations, runForMs, zkMax, placement, datastores);
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
                List<String> onDatastores = new ArrayList<>();
                JsonNode dsNode = spec.get("datastores");
                if (present(dsNode)) {
                    if (!dsNode.isArray()) {
                        throw fail(where + ".datastores", "expected a list of datastore names, got " + kind(dsNode));
                    }
                    for (JsonNode d : dsNode) {
                        String dn = d.asText();
                        if (!datastores.contains(dn)) {
                            throw fail(where + ".datastores", "no datastore '" + dn + "' in the datastores section"
                                    + " (declared: " + (datastores.isEmpty() ? "none" : String.join(",", datastores)) + ")");
                        }
                        if (onDatastores.contains(dn)) {
                            throw fail(where + ".datastores", "datastore '" + dn + "' listed twice");
                        }
                        onDatastores.add(dn);
                    }
                }
                StorageErrorPolicy policy = null;
                String policyText = optionalText(spec.get("onStorageError"), where + ".onStorageError");
                if (policyText != null) {
                    try {
                        policy = StorageErrorPolicy.of(policyText);
                    } catch (IllegalArgumentException x) {
                        throw fail(where + ".onStorageError", x.getMessage());
                    }
                    if (policy == StorageErrorPolicy.RESTART_ELSEWHERE && onDatastores.isEmpty()) {
                        throw fail(where + ".onStorageError", "restart-elsewhere needs the VM's datastores");
                    }
                }
                GuestMonitor monitor = null;
                JsonNode m = spec.get("guestMonitor");
                if (present(m)) {
                    if (m.isBoolean()) {
                        monitor = m.booleanValue() ? GuestMonitor.defaults() : null;
                    } else if (m.isObject()) {
                        knownKeys(m, where + ".guestMonitor.", MONITOR_KEYS);
                        GuestMonitor d = GuestMonitor.defaults();
                        try {
                            monitor = new GuestMonitor(
                                    present(m.get("interval")) ? duration(m.get("interval"), where + ".guestMonitor.interval") : d.intervalMs(),
                                    present(m.get("misses")) ? positiveInt(m.get("misses"), where + ".guestMonitor.misses") : d.misses(),
                                    present(m.get("grace")) ? duration(m.get("grace"), where + ".guestMonitor.grace") : d.graceMs(),
                                    present(m.get("maxResets")) ? (int) longValue(m.get("maxResets"), where + ".guestMonitor.maxResets") : d.maxResets(),
                                    present(m.get("window")) ? duration(m.get("window"), where + ".guestMonitor.window") : d.windowMs());
                        } catch (IllegalArgumentException x) {
                            throw fail(where + ".guestMonitor", x.getMessage());
                        }
                    } else {
                        throw fail(where + ".guestMonitor", "expected true, false or a mapping of "
                                + String.join(", ", MONITOR_KEYS) + ", got " + kind(m));
                    }
                }
                boolean agentChannel = true;
                JsonNode ac = spec.get("agentChannel");
                if (present(ac)) {
                    if (!ac.isBoolean()) {
                        throw fail(where + ".agentChannel", "expected true or false, got '" + ac.asText() + "'");
                    }
                    agentChannel = ac.booleanValue();
                }
                vms.put(name, new VmDecl(name, host, cpus, mem, priority, ha, disk, onDatastores, policy, monitor,
                        agentChannel));
            }
        }

        /** The shared datastores every host heartbeats on. */
        private void datastores(JsonNode node) {
            if (!present(node)) {
                return;
            }
            if (!node.isArray()) {
                throw fail("datastores", "expected a list of datastore names, got " + kind(node));
            }
            for (JsonNode d : node) {
                String dn = d.asText();
                if (!d.isTextual() || !VmSpec.DATASTORE_NAME.matcher(dn).matches()) {
                    throw fail("datastores", "'" + dn + "' is not a datastore name (1-63 letters, digits, '.', '_', '-')");
                }
                if (datastores.contains(dn)) {
                    throw fail("datastores", "datastore '" + dn + "' listed twice");
                }
                datastores.add(dn);
            }
        }

        /**
         * The placement policy the cluster starts with: host groups, rules (mappings, or the one-line
         * form of {@link RuleText}) and admission control, checked as the leader checks a change
         * ({@link PolicyCheck}) against the hosts and the VMs where they start.
         */
        private PlacementPolicy placement(JsonNode groupsNode, JsonNode rulesNode, JsonNode admissionNode) {
            java.util.SortedMap<String, java.util.SortedSet<HostId>> groups = new java.util.TreeMap<>();
            if (present(groupsNode)) {
                if (!groupsNode.isObject()) {
                    throw fail("groups", "expected a mapping of group name to a list of hosts, got " + kind(groupsNode));
                }
                for (Map.Entry<String, JsonNode> e : groupsNode.properties()) {
                    String where = "groups." + e.getKey();
                    try {
                        RuleText.name(e.getKey(), "group name");
                    } catch (IllegalArgumentException x) {
                        throw fail(where, x.getMessage());
                    }
                    List<String> names = textList(e.getValue(), where);
                    if (names.isEmpty()) {
                        throw fail(where, "empty: a group needs at least one host");
                    }
                    java.util.SortedSet<HostId> members = new java.util.TreeSet<>();
                    for (String h : names) {
                        if (!members.add(declaredHost(h, where))) {
                            throw fail(where, "host '" + h + "' listed twice");
                        }
                    }
                    groups.put(e.getKey(), members);
                    groupNames.add(e.getKey());
                }
            }
            int tolerate = 0;
            boolean strictAdmission = false;
            java.util.SortedSet<HostId> reserved = new java.util.TreeSet<>();
            if (present(admissionNode)) {
                if (!admissionNode.isObject()) {
                    throw fail("admission", "expected a mapping with tolerate, strict and reserved, got "
                            + kind(admissionNode));
                }
                knownKeys(admissionNode, "admission.", ADMISSION_KEYS);
                if (present(admissionNode.get("tolerate"))) {
                    long t = longValue(admissionNode.get("tolerate"), "admission.tolerate");
                    if (t < 0 || t > PlacementPolicy.MAX_TOLERATE) {
                        throw fail("admission.tolerate", "must be between 0 and " + PlacementPolicy.MAX_TOLERATE
                                + ", got " + t);
                    }
                    tolerate = (int) t;
                }
                strictAdmission = bool(admissionNode.get("strict"), "admission.strict", false);
                if (present(admissionNode.get("reserved"))) {
                    for (String h : textList(admissionNode.get("reserved"), "admission.reserved")) {
                        if (!reserved.add(declaredHost(h, "admission.reserved"))) {
                            throw fail("admission.reserved", "host '" + h + "' listed twice");
                        }
                    }
                }
            }
            List<Rule> rules = new ArrayList<>();
            if (present(rulesNode)) {
                if (!rulesNode.isArray()) {
                    throw fail("rules", "expected a list of rules, got " + kind(rulesNode));
                }
                for (int i = 0; i < rulesNode.size(); i++) {
                    Rule r = rule(rulesNode.get(i), "rules[" + i + "]");
                    if (!ruleIds.add(r.id())) {
                        throw fail("rules[" + i + "].id", "rule id '" + r.id() + "' is used twice");
                    }
                    rules.add(r);
                }
            }
            PlacementPolicy policy;
            try {
                policy = new PlacementPolicy(groups, List.of(), tolerate, strictAdmission, reserved);
            } catch (IllegalArgumentException e) {
                throw fail("admission", e.getMessage());
            }
            if (policy.isEmpty() && rules.isEmpty()) {
                return PlacementPolicy.EMPTY;
            }
            // checked as the leader checks a change, one rule at a time, so that a refusal names the rule it is about
            Map<HostId, HostCapacity> capacity = new LinkedHashMap<>(hosts);
            Map<VmId, VmSpec> specs = new LinkedHashMap<>();
            Map<VmId, HostId> at = new LinkedHashMap<>();
            for (VmDecl v : vms.values()) {
                if (v.ha()) {
                    specs.put(new VmId(v.name()), spec(v));
                }
                at.put(new VmId(v.name()), v.host());
            }
            Planner.Locator where = vm -> at.containsKey(vm) ? List.of(at.get(vm)) : List.of();
            PolicyCheck.Refusal ref = PolicyCheck.check(policy, capacity, specs, where);
            if (ref != null) {
                throw fail(present(admissionNode) && ref.message().contains("reserved") ? "admission.reserved" : "groups",
                        ref.message() + " (" + ref.code() + ")");
            }
            for (int i = 0; i < rules.size(); i++) {
                policy = policy.withRule(rules.get(i));
                ref = PolicyCheck.check(policy, capacity, specs, where);
                if (ref != null) {
                    throw fail("rules[" + i + "]", "the cluster would refuse rule " + rules.get(i).id() + ": "
                            + ref.message() + " (" + ref.code() + ")");
                }
            }
            return policy;
        }

        /** One rule: a mapping with id, kind, vms and the keys of its kind, or the one-line form. */
        private Rule rule(JsonNode node, String where) {
            if (!present(node)) {
                throw fail(where, "missing rule");
            }
            Rule r;
            if (node.isTextual()) {
                try {
                    r = RuleText.parse(List.of(node.textValue().strip().split("\\s+")));
                } catch (IllegalArgumentException e) {
                    throw fail(where, e.getMessage());
                }
            } else if (node.isObject()) {
                String kind = optionalText(node.get("kind"), where + ".kind");
                if (kind == null) {
                    throw fail(where + ".kind", "missing: expected one of " + String.join(", ", RuleText.KINDS));
                }
                if (!RULE_KEYS.containsKey(kind)) {
                    throw fail(where + ".kind", "unknown rule kind '" + kind + "'; known: "
                            + String.join(", ", RuleText.KINDS));
                }
                knownKeys(node, where + ".", RULE_KEYS.get(kind));
                String id = optionalText(node.get("id"), where + ".id");
                if (id == null) {
                    throw fail(where + ".id", "missing: every rule needs an id");
                }
                try {
                    RuleText.name(id, "rule id");
                } catch (IllegalArgumentException e) {
                    throw fail(where + ".id", e.getMessage());
                }
                List<VmId> ruleVms = vmIds(node.get("vms"), where + ".vms", true);
                try {
                    r = switch (kind) {
                        case "apart", "together" -> {
                            boolean hard = bool(node.get("hard"), where + ".hard", !present(node.get("weight")));
                            Integer weight = present(node.get("weight"))
                                    ? (int) positiveInt(node.get("weight"), where + ".weight") : null;
                            yield kind.equals("apart") ? new Rule.Apart(id, ruleVms, hard, weight)
                                    : new Rule.Together(id, ruleVms, hard, weight);
                        }
                        case "hosts" -> {
                            List<String> gs = textList(node.get("groups"), where + ".groups");
                            if (gs.isEmpty()) {
                                throw fail(where + ".groups", "missing: a hosts rule names at least one group");
                            }
                            for (String g : gs) {
                                if (!groupNames.contains(g)) {
                                    throw fail(where + ".groups", "no group '" + g + "' in the groups section; declared: "
                                            + (groupNames.isEmpty() ? "none" : String.join(", ",
                                            new java.util.TreeSet<>(groupNames))));
                                }
                            }
                            yield new Rule.OnHosts(id, ruleVms, gs, bool(node.get("strict"), where + ".strict", false),
                                    bool(node.get("failback"), where + ".failback", false));
                        }
                        case "after" -> {
                            List<VmId> after = vmIds(node.get("after"), where + ".after", true);
                            if (!present(node.get("timeout"))) {
                                throw fail(where + ".timeout", "missing: how long its VMs wait, e.g. 60s");
                            }
                            long timeout = duration(node.get("timeout"), where + ".timeout");
                            Rule.OnTimeout onTimeout = Rule.OnTimeout.START;
                            String ot = optionalText(node.get("onTimeout"), where + ".onTimeout");
                            if (ot != null) {
                                onTimeout = switch (ot) {
                                    case "start" -> Rule.OnTimeout.START;
                                    case "stay-down" -> Rule.OnTimeout.STAY_DOWN;
                                    default -> throw fail(where + ".onTimeout", "expected start or stay-down, got '"
                                            + ot + "'");
                                };
                            }
                            Rule.Ready ready = Rule.Ready.RUNNING;
                            String rd = optionalText(node.get("ready"), where + ".ready");
                            if (rd != null) {
                                ready = switch (rd) {
                                    case "running" -> Rule.Ready.RUNNING;
                                    case "agent" -> Rule.Ready.AGENT;
                                    default -> throw fail(where + ".ready", "expected running or agent, got '" + rd + "'");
                                };
                            }
                            yield new Rule.After(id, ruleVms, after, ready, timeout, onTimeout);
                        }
                        default -> {
                            if (!present(node.get("delay"))) {
                                throw fail(where + ".delay", "missing: how long its VMs wait before they start, e.g. 10s");
                            }
                            yield new Rule.StartDelay(id, ruleVms, duration(node.get("delay"), where + ".delay"));
                        }
                    };
                } catch (IllegalArgumentException e) {
                    throw fail(where, e.getMessage());
                }
            } else {
                throw fail(where, "expected a mapping {id, kind, vms, ...} or a one-line rule, got " + kind(node));
            }
            for (VmId v : RuleText.named(r)) {
                if (!vms.containsKey(v.value())) {
                    throw fail(where, "rule " + r.id() + " names undeclared VM '" + v + "'; declared: "
                            + (vms.isEmpty() ? "none" : String.join(", ", vms.keySet())));
                }
            }
            if (r instanceof Rule.OnHosts o) {
                for (String g : o.groups()) {
                    if (!groupNames.contains(g)) {
                        throw fail(where, "rule " + r.id() + " names group '" + g + "', which the groups section does "
                                + "not declare; declared: " + (groupNames.isEmpty() ? "none"
                                : String.join(", ", new java.util.TreeSet<>(groupNames))));
                    }
                }
            }
            return r;
        }

        private List<VmId> vmIds(JsonNode node, String where, boolean required) {
            if (!present(node)) {
                if (required) {
                    throw fail(where, "missing: a list of VMs, e.g. [web1, web2]");
                }
                return List.of();
            }
            List<VmId> out = new ArrayList<>();
            for (String v : textList(node, where)) {
                if (!vms.containsKey(v)) {
                    throw fail(where, "undeclared VM '" + v + "'; declared: "
                            + (vms.isEmpty() ? "none" : String.join(", ", vms.keySet())));
                }
                VmId id = new VmId(v);
                if (out.contains(id)) {
                    throw fail(where, "VM '" + v + "' listed twice");
                }
                out.add(id);
            }
            return out;
        }

        /** A list of plain values (a single value is a list of one). */
        private List<String> textList(JsonNode node, String where) {
            List<String> out = new ArrayList<>();
            if (!present(node)) {
                return out;
            }
            if (node.isValueNode()) {
                out.add(node.asText());
                return out;
            }
            if (!node.isArray()) {
                throw fail(where, "expected a list, e.g. [a, b], got " + kind(node));
            }
            for (int i = 0; i < node.size(); i++) {
                String t = optionalText(node.get(i), where + "[" + i + "]");
                if (t == null) {
                    throw fail(where + "[" + i + "]", "missing value");
                }
                out.add(t);
            }
            return out;
        }

        private boolean bool(JsonNode node, String where, boolean otherwise) {
            if (!present(node)) {
                return otherwise;
            }
            if (!node.isBoolean()) {
                throw fail(where, "expected true or false, got '" + node.asText() + "'");
            }
            return node.booleanValue();
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
            if (c instanceof Command.RuleAdd r) {
                for (VmId v : RuleText.named(r.rule())) {
                    vmRef(v.value(), where, c.text());
                }
                if (r.rule() instanceof Rule.OnHosts o) {
                    for (String g : o.groups()) {
                        laterChecks.add(new String[] {where, c.text(), g, "group"});
                    }
                }
                ruleIds.add(r.rule().id());
            } else if (c instanceof Command.RuleRemove r) {
                laterChecks.add(new String[] {where, c.text(), r.id(), "rule"});
            } else if (c instanceof Command.GroupSet g) {
                groupNames.add(g.name());
            } else if (c instanceof Command.GroupRemove g) {
                laterChecks.add(new String[] {where, c.text(), g.name(), "group"});
            }
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
                if (e.fact() instanceof Fact.OnGroup g) {
                    laterChecks.add(new String[] {where, e.text(), g.group(), "group"});
                }
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
                } else if (c.getName().equals("vm") || c.getName().equals("other")) {
                    vmRef((String) value, where, text);
                } else if (c.getName().equals("datastore") && !datastores.contains((String) value)) {
                    throw fail(where, "'" + text + "' names undeclared datastore '" + value + "'; declared: "
                            + (datastores.isEmpty() ? "none" : String.join(", ", datastores)));
                }
            }
        }

        private void vmRef(String vm, String where, String text) {
            if (!vms.containsKey(vm)) {
                throw fail(where, "'" + text + "' names undeclared VM '" + vm + "'; declared: "
                        + (vms.isEmpty() ? "none" : String.join(", ", vms.keySet())));
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

    /** The VM spec a scenario's VM is run with. */
    public static VmSpec spec(VmDecl v) {
        return new VmSpec(new VmId(v.name()), v.name(), v.cpus(), v.memoryMiB(), v.priority(), v.ha(), v.domainXml(),
                v.datastores(), v.onStorageError(), v.guestMonitor());
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
