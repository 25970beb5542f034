package io.havn.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.havn.common.node.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code CONFIG.md} documents exactly the keys the daemon takes: the keys of each section as the
 * parser itself names them when it refuses an unknown one, and every setting.
 */
class ConfigReferenceTest {
    private static final String MINIMAL = """
            cluster: c
            host: {name: h1, cpus: 1, memoryMiB: 1024}
            zookeeper: {connect: "localhost:2181", allowInsecure: true}
            """;
    private static final Pattern ROW = Pattern.compile("(?m)^\\| `([A-Za-z.]+)` \\|");
    private static final Pattern KNOWN = Pattern.compile("unknown key \\(known: ([^)]*)\\)");

    private static Set<String> documented() throws IOException {
        String md = Files.readString(Path.of("CONFIG.md"));
        Set<String> keys = new TreeSet<>();
        Matcher m = ROW.matcher(md);
        while (m.find()) {
            keys.add(m.group(1));
        }
        return keys;
    }

    /** The keys the parser knows in {@code section}, from its own error for an unknown key there. */
    private static Set<String> known(String yaml) {
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class,
                () -> HavnConfig.parse(yaml, "test.yaml"));
        Matcher m = KNOWN.matcher(e.getMessage());
        if (!m.find()) {
            throw new AssertionError("no list of known keys in: " + e.getMessage());
        }
        return new TreeSet<>(Arrays.asList(m.group(1).split(", ")));
    }

    private static String withBogus(String section) {
        return switch (section) {
            case "host" -> "cluster: c\nhost: {name: h1, cpus: 1, memoryMiB: 1024, bogus: 1}\n"
                    + "zookeeper: {connect: \"localhost:2181\"}\n";
            case "zookeeper" -> "cluster: c\nhost: {name: h1, cpus: 1, memoryMiB: 1024}\n"
                    + "zookeeper: {connect: \"localhost:2181\", bogus: 1}\n";
            case "zookeeper.tls" -> "cluster: c\nhost: {name: h1, cpus: 1, memoryMiB: 1024}\n"
                    + "zookeeper: {connect: \"localhost:2181\", tls: {bogus: 1}}\n";
            default -> MINIMAL + section + ": {bogus: 1}\n";
        };
    }

    @Test
    void everyKeyTheDaemonTakesIsDocumentedAndNothingElse() throws IOException {
        Set<String> expected = new TreeSet<>();
        Set<String> top = known(MINIMAL + "bogus: 1\n");
        for (String section : top) {
            if (section.equals("cluster")) {
                expected.add(section);
            } else if (section.equals("settings")) {
                for (var c : Settings.class.getRecordComponents()) {
                    if (!c.getName().equals("sessionTimeoutMs")) { // set as zookeeper.sessionTimeoutMs only
                        expected.add(c.getName());
                    }
                }
            } else {
                for (String k : known(withBogus(section))) {
                    expected.add(section + "." + k);
                }
            }
            if (section.equals("zookeeper")) {
                for (String k : known(withBogus("zookeeper.tls"))) {
                    expected.add("zookeeper.tls." + k);
                }
            }
        }
        assertEquals(expected, documented());
    }
}
