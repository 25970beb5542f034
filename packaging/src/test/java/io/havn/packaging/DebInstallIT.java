package io.havn.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The package installed for real with dpkg, used, removed and purged: as root on Debian only, and
 * never where havn is installed already. Whatever happens, the package is purged and what the test
 * made is gone when it ends.
 */
class DebInstallIT {
    private static final String PACKAGE = "havn";
    private static final List<String> UNITS = List.of("havnd.service", "havn-watchdog.service", "havn-signal.service");
    private static final Path UNIT_DIR = Path.of("/lib/systemd/system");
    private static final Path WANTS = Path.of("/etc/systemd/system/multi-user.target.wants");
    private static final Path RUNTIME = Path.of("/run/havn");
    private static final Pattern JAVA_SPEC = Pattern.compile("java\\.specification\\.version = (\\d+)");

    private boolean madeRuntimeDir;
    /** Whether the system user havn was there before: the package makes it, and a purge leaves it (Debian's way). */
    private boolean hadUser;

    @BeforeEach
    void onlyWhereItMayInstall() {
        assumeTrue(Run.onPath("dpkg") && Files.exists(Path.of("/etc/debian_version")),
                "not a Debian system: the package is installed on Debian only");
        assumeTrue(Run.run("id", "-u").ok().out().strip().equals("0"), "not root: installing a package needs root");
        String status = status(PACKAGE);
        assumeTrue(status.isEmpty() || status.equals("not-installed"),
                "havn is on this machine already (" + status + "): the test would replace it");
        assumeTrue(status("libvirt0").equals("installed"), "libvirt0 is not installed (.ci/run installs it)");
        // the package's removal clears /run/havn, which a havnd from a tarball may be using
        assumeTrue(!Files.exists(RUNTIME), RUNTIME + " exists: a havnd may run on this machine");
        hadUser = Run.run("getent", "passwd", "havn").exit() == 0;
    }

    @AfterEach
    void purgeAndTidy() throws IOException {
        Run.run("dpkg", "--purge", PACKAGE); // it may be gone already
        if (madeRuntimeDir) {
            deleteTree(RUNTIME);
        }
        if (!hadUser) {
            Run.run("userdel", "havn");
            Run.run("groupdel", "havn"); // gone with the user already, where it was its own group
        }
        for (String u : UNITS) {
            Path link = WANTS.resolve(u);
            if (Files.isSymbolicLink(link) && Files.readSymbolicLink(link).toString().endsWith("/" + u)) {
                Files.delete(link);
            }
        }
    }

    @Test
    void installsStartingNothingWorksAndLeavesNothingOncePurged() throws IOException {
        install();
        assertEquals("installed", status(PACKAGE));
        for (String f : DebPackageIT.FILES.keySet()) {
            assertTrue(Files.isRegularFile(Path.of(f)), f + " is installed");
        }
        assertEquals("rwxr-x---", mode("/etc/havn"));
        assertEquals("rw-r-----", mode("/etc/havn/havn.yaml"));
        // havnd runs as havn: it reads its config as the owner; group havn (who may use the admin
        // socket) may enter /etc/havn but read nothing in it
        assertTrue(Run.run("getent", "passwd", "havn").exit() == 0, "the package made the system user havn");
        assertEquals("root:havn", owner("/etc/havn"));
        assertEquals("havn:root", owner("/etc/havn/havn.yaml"));
        if (Run.onPath("systemd-tmpfiles")) {
            assertEquals("havn:havn", owner("/run/havn"), "made for havnd at once, not at the next boot");
            assertEquals("rwxr-x---", mode("/run/havn"));
        }

        theInstalledProgramsWork();
        theInstalledUnitsHold();
        for (String u : UNITS) {
            assertFalse(Files.exists(WANTS.resolve(u), LinkOption.NOFOLLOW_LINKS), "the installation enabled no " + u);
        }

        if (Run.onPath("systemctl")) { // as the operator does, once the host is configured
            Run.run(concat(List.of("systemctl", "enable"), UNITS)).ok();
            assertTrue(Files.isSymbolicLink(WANTS.resolve("havnd.service")), "systemctl enabled havnd.service");
        }
        removalIsRefusedWhileTheHostGuardsHaVms();

        Run.run("dpkg", "--remove", PACKAGE).ok();
        assertEquals("config-files", status(PACKAGE));
        assertTrue(Files.isRegularFile(Path.of("/etc/havn/havn.yaml")), "removal keeps the conffile");
        for (String f : DebPackageIT.FILES.keySet()) {
            assertEquals(f.equals("/etc/havn/havn.yaml"), Files.exists(Path.of(f)), f + " after removal");
        }
        for (String u : UNITS) {
            assertFalse(Files.exists(WANTS.resolve(u), LinkOption.NOFOLLOW_LINKS), "removal disabled " + u);
        }

        Run.run("dpkg", "--purge", PACKAGE).ok();
        for (String p : List.of("/etc/havn", "/etc/havn/havn.yaml")) {
            assertEquals(1, Run.run("dpkg-statoverride", "--list", p).exit(), "the purge dropped the override of " + p);
        }
        String after = status(PACKAGE);
        assertTrue(after.isEmpty() || after.equals("not-installed"), "dpkg forgot havn: " + after);
        for (String p : List.of("/etc/havn", "/usr/lib/havn", "/usr/share/doc/havn", "/run/havn")) {
            assertFalse(Files.exists(Path.of(p)), p + " is gone after the purge");
        }
        for (String f : DebPackageIT.FILES.keySet()) {
            assertFalse(Files.exists(Path.of(f)), f + " is gone after the purge");
        }
    }

    private void install() {
        List<String> cmd = new ArrayList<>(List.of("dpkg", "--install"));
        if (!dpkgSeesJava17()) {
            int java = javaOnPath();
            assumeTrue(java >= 17, "no Java 17 or later for the package: dpkg knows none and java on the PATH is "
                    + (java < 0 ? "missing" : "Java " + java));
            // The dependency is met, by a JDK that dpkg does not know (not from a Debian package).
            System.err.println("DebInstallIT: dpkg knows no package that gives Java 17 (" + DebPackageIT.JAVA
                    + "), but java on the PATH is Java " + java + ": installing with --force-depends");
            cmd.add("--force-depends");
        }
        cmd.add(Artifacts.deb().toString());
        Run.run(cmd.toArray(String[]::new)).ok();
    }

    private static void theInstalledProgramsWork() {
        Run.Result check = Run.run("/usr/bin/havnd", "--check-config", "--config", "/etc/havn/havn.yaml").ok();
        assertTrue(check.out().contains("valid"), check.describe());
        Run.Result help = Run.run("/usr/bin/havnctl", "--help").ok();
        assertTrue(help.out().contains("Commands:"), help.describe());
        Run.Result petter = Run.run("/usr/lib/havn/havn-watchdog", "--help").ok();
        assertTrue(petter.out().startsWith("usage: havn-watchdog"), petter.describe());
        Run.Result signal = Run.run("/usr/lib/havn/havn-signal", "--help").ok();
        assertTrue(signal.out().contains("havn-signal"), signal.describe());
    }

    /** The installed units' commands exist and run as written; systemd finds nothing wrong with them. */
    private static void theInstalledUnitsHold() throws IOException {
        String havnd = Files.readString(UNIT_DIR.resolve("havnd.service"));
        Run.run(setting(havnd, "ExecStartPre").split(" ")).ok();
        assertTrue(Files.isExecutable(Path.of(setting(havnd, "ExecStart").split(" ")[0])), havnd);
        String petter = Files.readString(UNIT_DIR.resolve("havn-watchdog.service"));
        assertTrue(Files.isExecutable(Path.of(setting(petter, "ExecStart").split(" ")[0])), petter);
        String signal = Files.readString(UNIT_DIR.resolve("havn-signal.service"));
        assertTrue(Files.isExecutable(Path.of(setting(signal, "ExecStart").split(" ")[0])), signal);
        if (Run.onPath("systemd-analyze")) {
            Run.Result r = Run.run(concat(List.of("systemd-analyze", "verify"),
                    UNITS.stream().map(u -> UNIT_DIR.resolve(u).toString()).toList())).ok();
            assertEquals("", r.err(), r.describe());
        }
    }

    /** With the watchdog armed (havnd holds HA VMs), dpkg --remove fails and changes nothing. */
    private void removalIsRefusedWhileTheHostGuardsHaVms() throws IOException {
        Files.createDirectories(RUNTIME);
        madeRuntimeDir = true;
        Path state = Files.writeString(RUNTIME.resolve("watchdog.state"), "havn-watchdog 1 "
                + Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip() + " armed 123456789\n");
        Run.Result r = Run.run("dpkg", "--remove", PACKAGE);
        assertNotEquals(0, r.exit(), r.describe());
        assertTrue(r.err().contains("this host guards HA VMs") && r.err().contains("havnctl maintenance"), r.describe());
        assertEquals("installed", status(PACKAGE), "a refused removal leaves havn installed");
        assertTrue(Files.isRegularFile(Path.of("/usr/bin/havnd")), "a refused removal removes nothing");
        Files.delete(state);
    }

    /** dpkg's view of {@code pkg}: installed, config-files, not-installed..., or empty if it knows none. */
    private static String status(String pkg) {
        Run.Result r = Run.run("dpkg-query", "--show", "--showformat=${db:Status-Status}", pkg);
        return r.exit() == 0 ? r.out().strip() : "";
    }

    /** Whether dpkg sees the package's Java dependency met by an installed package. */
    private static boolean dpkgSeesJava17() {
        String all = Run.run("dpkg-query", "--show",
                "--showformat=${db:Status-Status}\t${Package}\t${Version}\t${Provides}\n").ok().out();
        for (String line : all.lines().toList()) {
            String[] f = line.split("\t", -1);
            if (!f[0].equals("installed")) {
                continue;
            }
            if (f[1].equals("default-jre-headless")
                    && Run.run("dpkg", "--compare-versions", f[2], "ge", "2:1.17").exit() == 0) {
                return true;
            }
            if (Stream.of(f[3].split(",")).map(p -> p.strip().split(" ")[0]).anyMatch("java17-runtime-headless"::equals)) {
                return true;
            }
        }
        return false;
    }

    /** The Java version of java on the PATH, which the package's scripts run; -1 if there is none. */
    private static int javaOnPath() {
        if (!Run.onPath("java")) {
            return -1;
        }
        Matcher m = JAVA_SPEC.matcher(Run.run("java", "-XshowSettings:properties", "-version").err());
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /** The value of the first {@code key=} line of a unit file. */
    private static String setting(String unit, String key) {
        return unit.lines().filter(l -> l.startsWith(key + "=")).findFirst()
                .map(l -> l.substring(key.length() + 1)).orElseThrow(() -> new AssertionError("no " + key + "= in\n" + unit));
    }

    /** The owner and group of {@code path}, as user:group names. */
    private static String owner(String path) {
        return Run.run("stat", "-c", "%U:%G", path).ok().out().strip();
    }

    private static String mode(String path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(Path.of(path)));
    }

    private static String[] concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all.toArray(String[]::new);
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
