package io.havn.packaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Debian package as dpkg reads it, without installing it: its control fields, conffiles,
 * maintainer scripts, and every file with its mode.
 */
class DebPackageIT {
    static final String JAVA = "default-jre-headless (>= 2:1.17) | java17-runtime-headless";

    /** Every file of the package and its mode, besides {@link Artifacts#optionalDocs}. */
    static final Map<String, String> FILES = new TreeMap<>(Map.ofEntries(
            Map.entry("/usr/bin/havnd", "-rwxr-xr-x"),
            Map.entry("/usr/bin/havnctl", "-rwxr-xr-x"),
            Map.entry("/usr/lib/havn/havn-watchdog", "-rwxr-xr-x"),
            Map.entry("/usr/lib/havn/havn-signal", "-rwxr-xr-x"),
            Map.entry("/usr/lib/havn/havnd.jar", "-rw-r--r--"),
            Map.entry("/usr/lib/havn/havnctl.jar", "-rw-r--r--"),
            Map.entry("/lib/systemd/system/havnd.service", "-rw-r--r--"),
            Map.entry("/lib/systemd/system/havn-watchdog.service", "-rw-r--r--"),
            Map.entry("/lib/systemd/system/havn-signal.service", "-rw-r--r--"),
            Map.entry("/usr/lib/tmpfiles.d/havn.conf", "-rw-r--r--"),
            Map.entry("/etc/havn/havn.yaml", "-rw-r-----"),
            Map.entry("/usr/share/bash-completion/completions/havnctl", "-rw-r--r--"),
            Map.entry("/usr/share/man/man8/havnd.8.gz", "-rw-r--r--"),
            Map.entry("/usr/share/man/man8/havnctl.8.gz", "-rw-r--r--"),
            Map.entry("/usr/share/doc/havn/CONFIG.md", "-rw-r--r--")));

    @TempDir
    static Path dir;
    static Path extracted;
    static Path control;

    @BeforeAll
    static void requireDpkg() {
        Assumptions.assumeTrue(Run.onPath("dpkg-deb"),
                "dpkg-deb is not installed: the Debian package is checked on Debian only");
        extracted = dir.resolve("data");
        control = dir.resolve("control");
        Run.run("dpkg-deb", "--extract", Artifacts.deb().toString(), extracted.toString()).ok();
        Run.run("dpkg-deb", "--control", Artifacts.deb().toString(), control.toString()).ok();
    }

    @Test
    void controlFieldsNameThePackageItsVersionAndWhatItNeeds() {
        assertEquals("havn", field("Package"));
        assertEquals(Artifacts.debianVersion(), field("Version"));
        assertEquals("all", field("Architecture"));
        assertEquals(JAVA + ", libvirt0", field("Depends"));
        assertEquals("fence-agents", field("Recommends"));
        assertTrue(field("Description").startsWith("high-availability failover"), field("Description"));
    }

    @Test
    void aSnapshotSortsBeforeItsRelease() {
        String v = Artifacts.debianVersion();
        String release = v.replace("~SNAPSHOT", "");
        Run.run("dpkg", "--validate-version", v).ok();
        if (!release.equals(v)) {
            Run.run("dpkg", "--compare-versions", v, "lt", release).ok();
        }
        assertEquals("havn_" + v + "_all.deb", Artifacts.deb().getFileName().toString());
    }

    @Test
    void theConfigIsTheOnlyConffile() throws IOException {
        assertEquals(List.of("/etc/havn/havn.yaml"), Files.readAllLines(control.resolve("conffiles")));
        assertArrayEquals(Files.readAllBytes(Artifacts.sources().resolve("conf/havn.yaml")),
                Files.readAllBytes(extracted.resolve("etc/havn/havn.yaml")));
    }

    @Test
    void everyFileIsInItsPlaceWithItsModeAndEtcHavnIsClosed() throws IOException {
        Map<String, String> files = new TreeMap<>();
        Map<String, String> dirs = new TreeMap<>();
        for (String line : Run.run("dpkg-deb", "--contents", Artifacts.deb().toString()).ok().out().lines().toList()) {
            // -rw-r--r-- root/root 1354 2025-01-01 12:00 ./lib/systemd/system/havn-watchdog.service
            String[] f = line.split("\\s+", 6);
            assertEquals("root/root", f[1], line);
            String path = f[5].substring(1).replaceFirst("/$", "");
            (f[0].startsWith("d") ? dirs : files).put(path, f[0]);
        }
        Map<String, String> expected = new TreeMap<>(FILES);
        Artifacts.optionalDocs().forEach(d -> expected.put("/usr/share/doc/havn/" + d, "-rw-r--r--"));
        assertEquals(expected, files, "the package's files and their modes");
        assertEquals("drwxr-x---", dirs.get("/etc/havn"), "/etc/havn holds secrets: " + dirs);
    }

    @Test
    void itsWrappersRunTheJarsInUsrLibHavn() throws IOException {
        for (String w : List.of("usr/bin/havnd", "usr/bin/havnctl", "usr/lib/havn/havn-watchdog",
                "usr/lib/havn/havn-signal")) {
            String script = Files.readString(extracted.resolve(w));
            assertTrue(script.startsWith("#!/bin/sh\n") && script.contains("\nlib=/usr/lib/havn\n"), w + ":\n" + script);
            Run.run("sh", "-n", extracted.resolve(w).toString()).ok();
        }
    }

    @Test
    void theManPagesAreTheSourcesGzipped() throws IOException {
        for (String page : List.of("havnd.8", "havnctl.8")) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(
                    extracted.resolve("usr/share/man/man8").resolve(page + ".gz")))) {
                assertArrayEquals(Files.readAllBytes(Artifacts.sources().resolve("man").resolve(page)), in.readAllBytes(),
                        page);
            }
        }
    }

    @Test
    void itsMaintainerScriptsAreShellScriptsAndNothingMore() throws IOException {
        Set<String> scripts = new TreeSet<>();
        try (var files = Files.list(control)) {
            files.map(p -> p.getFileName().toString()).forEach(scripts::add);
        }
        assertEquals(Set.of("control", "conffiles", "md5sums", "postinst", "prerm", "postrm"), scripts);
        for (String s : List.of("postinst", "prerm", "postrm")) {
            Path p = control.resolve(s);
            assertTrue(Files.isExecutable(p), s + " is executable");
            assertTrue(Files.readString(p).startsWith("#!/bin/sh\n"), s);
            Run.run("sh", "-n", p.toString()).ok();
        }
        String postinst = Files.readString(control.resolve("postinst"));
        assertTrue(!postinst.contains("systemctl start") && !postinst.contains("systemctl enable")
                && !postinst.contains("systemctl restart"), "postinst starts and enables nothing:\n" + postinst);
    }

    @Test
    void theDocsAreThoseOfTheSources() throws IOException {
        Path docs = extracted.resolve("usr/share/doc/havn");
        assertArrayEquals(Files.readAllBytes(Artifacts.configReference()), Files.readAllBytes(docs.resolve("CONFIG.md")));
        for (String d : Artifacts.optionalDocs()) {
            assertArrayEquals(Files.readAllBytes(Artifacts.optionalDocSource(d)), Files.readAllBytes(docs.resolve(d)), d);
        }
    }

    private static String field(String name) {
        return Run.run("dpkg-deb", "--field", Artifacts.deb().toString(), name).ok().out().strip();
    }
}
