package io.havn.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shipped havn.yaml against the havnd shipped with it. Every key havnd knows is in it, set or
 * commented out ("#key: value"), and with every commented-out key set, havnd still accepts it:
 * the defaults and examples it shows are valid. havnd itself tells which keys it knows, in its
 * answer to a file of unknown ones.
 */
class ConfigTemplateIT {
    /** Sections the template carries commented out for a havnd that knows them; an older one lacks them. */
    private static final Set<String> AHEAD_OF_HAVND = Set.of("metrics", "logging");
    /** A setting havnd knows that is set as zookeeper.sessionTimeoutMs only. */
    private static final String SESSION_TIMEOUT = "settings.sessionTimeoutMs";
    /** The devices of fence.devices are named by the operator; their options are the agent's. */
    private static final String DEVICE = "fence.devices.*";
    private static final String PROBE = "zzz";
    private static final Pattern COMMENTED_OUT = Pattern.compile("^([ \\t]*)#([ \\t]*[A-Za-z][A-Za-z0-9_-]*:([ \\t].*)?)$",
            Pattern.MULTILINE);
    private static final Pattern UNKNOWN_KEY = Pattern.compile(
            "(?<=: |; )((?:[A-Za-z0-9_-]+\\.)*)" + PROBE + ": unknown key \\(known: ([^)]*)\\)");
    private static final Pattern UNKNOWN_SETTING = Pattern.compile(
            "settings: unknown setting '" + PROBE + "'; known: \\[([^\\]]*)\\]");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    @TempDir
    static Path unpacked;
    static Path top;
    static String template;

    @TempDir
    Path dir;

    @BeforeAll
    static void unpack() throws IOException {
        top = Artifacts.extractTarball(unpacked);
        template = Files.readString(top.resolve("conf/havn.yaml"));
    }

    @Test
    void everyKeyHavndKnowsIsInTheTemplate() throws IOException {
        Set<String> known = keysHavndKnows();
        Set<String> missing = new TreeSet<>(known);
        missing.removeAll(paths(uncommented()));
        missing.remove(SESSION_TIMEOUT);
        assertEquals(Set.of(), missing, "keys havnd knows that conf/havn.yaml lacks (havnd knows " + known + ")");
    }

    @Test
    void withEveryCommentedOutKeySetTheTemplateIsStillValid() throws IOException {
        ObjectNode all = uncommented();
        Set<String> sections = topLevelKeysHavndKnows();
        for (Iterator<String> it = all.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!sections.contains(k)) {
                assertTrue(AHEAD_OF_HAVND.contains(k), "conf/havn.yaml has '" + k + "', which havnd does not know");
                it.remove();
            }
        }
        assertFalse(all.path("fence").path("devices").isEmpty(), "the fence example was set too: " + all);
        Path file = dir.resolve("all-set.yaml");
        YAML.writeValue(file.toFile(), all);
        Run.Result r = Run.run(top.resolve("bin/havnd").toString(), "--check-config", "--config", file.toString()).ok();
        assertTrue(r.out().contains("valid"), r.describe());
    }

    /** The template with every commented-out key set. */
    private static ObjectNode uncommented() throws IOException {
        String text = COMMENTED_OUT.matcher(template).replaceAll("$1$2");
        JsonNode n = YAML.readTree(text);
        assertTrue(n instanceof ObjectNode, "conf/havn.yaml with its keys set is a mapping:\n" + text);
        return (ObjectNode) n;
    }

    /** Every key path of {@code n}, sections included, with the fence devices' names as "*". */
    private static Set<String> paths(JsonNode n) {
        Set<String> out = new TreeSet<>();
        collect(n, "", out);
        return out;
    }

    private static void collect(JsonNode n, String prefix, Set<String> out) {
        if (!n.isObject() || (prefix + ".").startsWith(DEVICE + ".options.")) {
            return;
        }
        for (Map.Entry<String, JsonNode> e : n.properties()) {
            String path = prefix.isEmpty() ? e.getKey()
                    : prefix.equals("fence.devices") ? DEVICE : prefix + "." + e.getKey();
            out.add(path);
            collect(e.getValue(), path, out);
        }
    }

    private Set<String> topLevelKeysHavndKnows() throws IOException {
        String answer = refusal(PROBE + ": 1\n");
        Matcher m = UNKNOWN_KEY.matcher(answer);
        assertTrue(m.find() && m.group(1).isEmpty(), "havnd names the top-level keys it knows: " + answer);
        return split(m.group(2));
    }

    /** Asks havnd: a file with an unknown key in each of its sections; its refusal lists the keys of each. */
    private Set<String> keysHavndKnows() throws IOException {
        Set<String> top = topLevelKeysHavndKnows();
        ObjectNode probe = YAML.createObjectNode();
        ObjectNode shipped = uncommented();
        for (String k : top) {
            if (shipped.path(k).isObject()) {
                probe.putObject(k).put(PROBE, 1);
            }
        }
        assertTrue(probe.get("fence") instanceof ObjectNode, "conf/havn.yaml has a fence section: " + shipped);
        ((ObjectNode) probe.get("fence")).putObject("devices").putObject("d").put(PROBE, 1);
        assertTrue(probe.get("zookeeper") instanceof ObjectNode, "conf/havn.yaml has a zookeeper section: " + shipped);
        ((ObjectNode) probe.get("zookeeper")).putObject("tls").put(PROBE, 1);
        String answer = refusal(YAML.writeValueAsString(probe));

        Set<String> known = new TreeSet<>(top);
        Matcher m = UNKNOWN_KEY.matcher(answer);
        while (m.find()) {
            String prefix = m.group(1).replace("fence.devices.d.", DEVICE + ".");
            if (!prefix.isEmpty()) {
                known.add(prefix.substring(0, prefix.length() - 1));
                split(m.group(2)).forEach(k -> known.add(prefix + k));
            }
        }
        Matcher s = UNKNOWN_SETTING.matcher(answer);
        assertTrue(s.find(), "havnd names the settings it knows: " + answer);
        split(s.group(1)).forEach(k -> known.add("settings." + k));
        assertTrue(known.contains("host.name") && known.contains(DEVICE + ".agent"),
                "havnd named the keys of its sections: " + answer);
        return known;
    }

    /** What havnd says about {@code yaml}, which it must refuse. */
    private String refusal(String yaml) throws IOException {
        Path file = Files.writeString(Files.createTempFile(dir, "probe-", ".yaml"), yaml);
        return Run.run(top.resolve("bin/havnd").toString(), "--check-config", "--config", file.toString()).exits(2).err();
    }

    private static Set<String> split(String list) {
        return Arrays.stream(list.split(",")).map(String::strip).filter(k -> !k.isEmpty())
                .collect(Collectors.toCollection(TreeSet::new));
    }
}
