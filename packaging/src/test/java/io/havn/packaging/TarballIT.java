package io.havn.packaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tarball as a user gets it: unpacked with tar into a directory of its own, its scripts run
 * from elsewhere and through symbolic links, with real JVMs.
 */
class TarballIT {
    /** Every file of the tarball and its mode, besides {@link Artifacts#optionalDocs}. */
    private static final Map<String, String> FILES = new TreeMap<>(Map.ofEntries(
            Map.entry("bin/havnd", "rwxr-xr-x"),
            Map.entry("bin/havnctl", "rwxr-xr-x"),
            Map.entry("bin/havn-watchdog", "rwxr-xr-x"),
            Map.entry("bin/havn-signal", "rwxr-xr-x"),
            Map.entry("lib/havnd.jar", "rw-r--r--"),
            Map.entry("lib/havnctl.jar", "rw-r--r--"),
            Map.entry("conf/havn.yaml", "rw-r-----"),
            Map.entry("systemd/havnd.service", "rw-r--r--"),
            Map.entry("systemd/havn-watchdog.service", "rw-r--r--"),
            Map.entry("systemd/havn-signal.service", "rw-r--r--"),
            Map.entry("systemd/havn-tmpfiles.conf", "rw-r--r--"),
            Map.entry("completion/havnctl", "rw-r--r--"),
            Map.entry("man/havnd.8", "rw-r--r--"),
            Map.entry("man/havnctl.8", "rw-r--r--"),
            Map.entry("doc/CONFIG.md", "rw-r--r--"),
            Map.entry("README", "rw-r--r--")));

    @TempDir
    static Path unpacked;
    static Path top;

    @TempDir
    Path dir;

    @BeforeAll
    static void unpack() {
        top = Artifacts.extractTarball(unpacked);
    }

    @Test
    void holdsEveryFileWithItsModeAndNothingElse() throws IOException {
        Map<String, String> found = new TreeMap<>();
        try (var files = Files.walk(top)) {
            for (Path p : files.filter(Files::isRegularFile).collect(Collectors.toList())) {
                found.put(top.relativize(p).toString(), PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
            }
        }
        Map<String, String> expected = new TreeMap<>(FILES);
        Artifacts.optionalDocs().forEach(d -> expected.put("doc/" + d, "rw-r--r--"));
        assertEquals(expected, found, "the tarball's files and their modes");
    }

    @Test
    void itsDocsAreThoseOfTheSources() throws IOException {
        assertArrayEquals(Files.readAllBytes(Artifacts.configReference()), Files.readAllBytes(top.resolve("doc/CONFIG.md")));
        for (String d : Artifacts.optionalDocs()) {
            assertArrayEquals(Files.readAllBytes(Artifacts.optionalDocSource(d)), Files.readAllBytes(top.resolve("doc/" + d)),
                    d);
        }
    }

    @Test
    void havndAcceptsTheShippedConfig() {
        Run.Result r = Run.run(dir, env -> { }, top.resolve("bin/havnd").toString(), "--check-config", "--config",
                top.resolve("conf/havn.yaml").toString()).ok();
        assertTrue(r.out().contains("valid (host hv1, cluster prod)"), r.describe());
    }

    @Test
    void havndExitsTwoNamingTheBadKeyOfABadConfig() throws IOException {
        String shipped = Files.readString(top.resolve("conf/havn.yaml"));
        Path bad = Files.writeString(dir.resolve("bad.yaml"), shipped.replace("  cpus: 32", "  cpus: many"));
        Run.Result r = Run.run(dir, env -> { }, top.resolve("bin/havnd").toString(), "--check-config", "--config",
                bad.toString()).exits(2);
        assertTrue(r.err().contains("host.cpus: must be a whole number, got 'many'"), r.describe());
    }

    @Test
    void havnctlShowsItsCommands() {
        Run.Result r = Run.run(dir, env -> { }, top.resolve("bin/havnctl").toString(), "--help").ok();
        assertTrue(r.out().startsWith("Usage: havnctl"), r.describe());
        assertTrue(r.out().contains("maintenance"), r.describe());
    }

    @Test
    void wrappersRunJavaFromJavaHomeWithTheOptionsAndFindTheirJarsThroughASymlink() throws IOException {
        Path jdk = fakeJava(dir.resolve("jdk/bin"));
        Path link = Files.createSymbolicLink(Files.createDirectories(dir.resolve("elsewhere")).resolve("ctl"),
                top.resolve("bin/havnctl"));
        Path cwd = Files.createDirectories(dir.resolve("cwd"));

        Run.Result r = Run.run(cwd, env -> {
            env.put("JAVA_HOME", jdk.getParent().toString());
            env.put("HAVN_JAVA_OPTS", "-Dhavn.probe=1 -Xmx64m");
        }, link.toString(), "--version").ok();

        assertEquals("havnctl 0.1", r.out().strip(), r.describe());
        assertEquals(List.of("-Dhavn.probe=1", "-Xmx64m", "-jar", top.toRealPath().resolve("lib/havnctl.jar").toString(), "--version"),
                javaArguments(jdk), "$JAVA_HOME/bin/java ran, with HAVN_JAVA_OPTS, on the tarball's jar");
        Files.delete(link); // @TempDir would warn of a link to outside it
    }

    @Test
    void wrappersRunJavaFromThePathWithoutJavaHome() throws IOException {
        Path bin = fakeJava(dir.resolve("bin"));
        Run.Result r = Run.run(dir, env -> {
            env.remove("JAVA_HOME");
            env.remove("HAVN_JAVA_OPTS");
            env.put("PATH", bin + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
        }, top.resolve("bin/havnd").toString(), "--version").ok();

        assertEquals("havnd 0.1", r.out().strip(), r.describe());
        assertEquals(List.of("-jar", top.toRealPath().resolve("lib/havnd.jar").toString(), "--version"), javaArguments(bin),
                "java from the PATH ran on the tarball's jar");
    }

    @Test
    void havndsWrapperWritesAClassArchiveAtTheFirstExitAndMapsItAfterButNotForAConfigCheck() throws IOException {
        Path bin = fakeJava(dir.resolve("bin"));
        Path cds = Files.createDirectories(dir.resolve("state"));
        Files.writeString(cds.resolve("havnd-of-an-older-jar.jsa"), "stale");
        java.util.function.Consumer<Map<String, String>> env = e -> {
            e.remove("JAVA_HOME");
            e.remove("HAVN_JAVA_OPTS");
            e.put("HAVN_CDS_DIR", cds.toString());
            e.put("PATH", bin + ":" + e.getOrDefault("PATH", "/usr/bin:/bin"));
        };
        // the first run of this jar and java: told to write the archive at its exit; older ones go
        Run.run(dir, env, top.resolve("bin/havnd").toString(), "--no-such-option").exits(2);
        List<String> first = javaArguments(bin);
        String write = first.stream().filter(a -> a.startsWith("-XX:ArchiveClassesAtExit=")).findFirst()
                .orElseThrow(() -> new AssertionError("no archive asked for: " + first));
        Path archive = Path.of(write.substring(write.indexOf('=') + 1));
        assertEquals(cds, archive.getParent());
        assertTrue(Files.size(archive) > 0, "the JVM wrote it at its exit");
        assertFalse(Files.exists(cds.resolve("havnd-of-an-older-jar.jsa")), "an older jar's archive is removed");
        // later runs map it
        Run.run(dir, env, top.resolve("bin/havnd").toString(), "--no-such-option").exits(2);
        assertTrue(javaArguments(bin).contains("-XX:SharedArchiveFile=" + archive), javaArguments(bin).toString());
        // a config check is not the daemon: it neither writes nor maps the archive
        Run.run(dir, env, top.resolve("bin/havnd").toString(), "--version").ok();
        assertTrue(javaArguments(bin).stream().noneMatch(a -> a.contains("Archive")), javaArguments(bin).toString());
        assertTrue(first.contains("-Xlog:cds=off"), "the dump's notes stay out of the journal: " + first);
    }

    @Test
    void theWatchdogWrapperExecsThePetterWhichRefusesAFileThatIsNoWatchdog() throws IOException {
        Path bin = fakeJava(dir.resolve("bin"));
        Path device = Files.createFile(dir.resolve("watchdog"));
        Path state = dir.resolve("watchdog.state");
        Run.Result r = Run.run(dir, env -> {
            env.remove("JAVA_HOME");
            env.remove("HAVN_JAVA_OPTS");
            env.put("PATH", bin + ":" + env.getOrDefault("PATH", "/usr/bin:/bin"));
        }, top.resolve("bin/havn-watchdog").toString(), "--device", device.toString(), "--state", state.toString(),
                "--timeout-ms", "3000").exits(3);

        assertEquals(List.of("-cp", top.toRealPath().resolve("lib/havnd.jar").toString(),
                "io.havn.daemon.watchdog.WatchdogPetter", "--device", device.toString(), "--state", state.toString(),
                "--timeout-ms", "3000"), javaArguments(bin), "the petter of the tarball's jar ran");
        assertEquals(ProcessHandle.current().pid(), Long.parseLong(Files.readString(bin.resolve("ppid")).strip()),
                "the wrapper exec'd the JVM: systemd's SIGTERM and READY=1 are the petter's own");
        // a plain file takes no watchdog ioctl: the petter disarms it and exits 3
        assertEquals("V", Files.readString(device, StandardCharsets.US_ASCII), r.describe());
        assertTrue(r.out().contains("refusing to arm the watchdog " + device) && r.out().contains("WDIOC_SETTIMEOUT")
                && r.out().contains("3000 ms"), r.describe());
        assertFalse(Files.exists(dir.resolve("watchdog.status")), "no status: havnd runs no HA VM");
    }

    @Test
    void theCompletionCompletesHavnctlsCommandsInBash() {
        String script = "source \"$1\"\n"
                + "fn=$(complete -p havnctl | sed -E 's/.* -F ([^ ]+).*/\\1/')\n"
                + "COMP_WORDS=(havnctl ma); COMP_CWORD=1; COMP_LINE='havnctl ma'; COMP_POINT=${#COMP_LINE}\n"
                + "\"$fn\" havnctl ma havnctl; echo \"ma: ${COMPREPLY[*]}\"\n"
                + "COMP_WORDS=(havnctl vm ''); COMP_CWORD=2; COMP_LINE='havnctl vm '; COMP_POINT=${#COMP_LINE}\n"
                + "\"$fn\" havnctl '' vm; echo \"vm: ${COMPREPLY[*]}\"\n";
        Run.Result r = Run.run(dir, env -> { }, "bash", "-c", script, "completion",
                top.resolve("completion/havnctl").toString()).ok();
        assertTrue(r.out().contains("ma: maintenance\n"), r.describe());
        assertEquals(Set.of("add", "start", "stop", "enable", "disable"),
                Set.of(r.out().lines().filter(l -> l.startsWith("vm: ")).findFirst().orElse("vm: ").substring(4).split(" ")),
                r.describe());
    }

    /**
     * A java that writes its arguments and its parent's pid to files beside it, then runs the real
     * one in its place.
     */
    private static Path fakeJava(Path bin) throws IOException {
        Files.createDirectories(bin);
        Path java = bin.resolve("java");
        Files.writeString(java, "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/args\"\n"
                + "echo \"$PPID\" > \"$(dirname \"$0\")/ppid\"\nexec '"
                + Path.of(System.getProperty("java.home"), "bin", "java") + "' \"$@\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        return bin;
    }

    private static List<String> javaArguments(Path bin) throws IOException {
        Path args = bin.resolve("args");
        assertTrue(Files.exists(args), "the java of " + bin + " ran");
        return Files.readAllLines(args).stream().map(a -> a.startsWith("/") ? Path.of(a).normalize().toString() : a)
                .collect(Collectors.toList());
    }
}
