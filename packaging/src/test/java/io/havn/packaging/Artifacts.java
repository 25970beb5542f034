package io.havn.packaging;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * The artifacts under test, as the build made them: the build passes its version and
 * directories as system properties (failsafe's systemPropertyVariables).
 */
final class Artifacts {
    private Artifacts() {
    }

    /** The project's version, e.g. 0.1.0-SNAPSHOT. */
    static String version() {
        return property("havn.version");
    }

    /** The Debian form of the version, where a snapshot sorts before its release: 0.1.0~SNAPSHOT. */
    static String debianVersion() {
        return version().replace("-SNAPSHOT", "~SNAPSHOT");
    }

    static Path target() {
        return Path.of(property("havn.target"));
    }

    /** packaging/src: what the artifacts were made from. */
    static Path sources() {
        return Path.of(property("havn.sources"));
    }

    static Path tarball() {
        return existing(target().resolve("havn-" + version() + ".tar.gz"));
    }

    static Path deb() {
        return existing(target().resolve("havn_" + debianVersion() + "_all.deb"));
    }

    /** Extracts the tarball into {@code dir} with tar, as a user would; returns its top directory. */
    static Path extractTarball(Path dir) {
        Run.run("tar", "-xzf", tarball().toString(), "-C", dir.toString()).ok();
        Path top = dir.resolve("havn-" + version());
        assertTrue(Files.isDirectory(top), "the tarball unpacks into havn-" + version() + "/");
        return top;
    }

    /** ha-daemon/CONFIG.md, the configuration reference the artifacts carry. */
    static Path configReference() {
        return sources().getParent().resolveSibling("ha-daemon").resolve("CONFIG.md");
    }

    /**
     * The docs that come along where the sources have them (another part of the build adds them),
     * as paths under the docs directory: the metrics' reference, Grafana dashboards, alert rules.
     */
    static Set<String> optionalDocs() throws IOException {
        Set<String> docs = new TreeSet<>();
        if (Files.isRegularFile(configReference().resolveSibling("METRICS.md"))) {
            docs.add("METRICS.md");
        }
        docs.addAll(names(sources().resolveSibling("grafana"), ".json", "grafana/"));
        docs.addAll(names(sources().resolveSibling("prometheus"), ".yaml", "prometheus/"));
        return docs;
    }

    /** Where {@link #optionalDocs} doc {@code path} comes from. */
    static Path optionalDocSource(String path) {
        return path.equals("METRICS.md") ? configReference().resolveSibling(path) : sources().resolveSibling(path);
    }

    private static Set<String> names(Path dir, String suffix, String prefix) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Set.of();
        }
        try (var files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(suffix)).map(n -> prefix + n)
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static Path existing(Path p) {
        assertTrue(Files.isRegularFile(p), p + " was built (run through mvn verify)");
        return p;
    }

    private static String property(String name) {
        String v = System.getProperty(name);
        assertTrue(v != null && !v.isBlank(), "system property " + name + " (set by the build)");
        return v;
    }
}
