package io.havn.packaging.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The programs the end-to-end harness runs, and the Debian packages that bring them. As root on a
 * machine with apt-get, {@link #install} installs whatever is missing, saying what and why, so
 * that {@code ./mvnw verify} needs no step before it; elsewhere it gives the command to run.
 */
final class Prerequisites {
    /**
     * Each command {@code e2e.sh}'s check_machine looks for, with the Debian 12 package that ships
     * it; {@code java} and {@code keytool} come with the JDK that runs this test.
     */
    static final Map<String, String> PACKAGE_OF_COMMAND = commands();
    /** Without it libvirtd starts but knows no QEMU. */
    static final Path QEMU_DRIVER = Path.of("/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so");
    static final String QEMU_DRIVER_PACKAGE = "libvirt-daemon-driver-qemu";
    /** QEMU's iSCSI initiator (libiscsi), a module of its own: without it no guest opens its LUN. */
    static final Path QEMU_ISCSI = Path.of("/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so");
    static final String QEMU_ISCSI_PACKAGE = "qemu-block-extra";
    /** The files the harness needs besides commands: what each is, in messages, and its package. */
    static final Map<Path, Needed> FILES = files();

    /** A file the harness needs: what it is, and the Debian package that ships it. */
    record Needed(String what, String pkg) { }
    /** Where Debian puts the daemons and ip, which a user's PATH often lacks. */
    static final List<String> SBIN = List.of("/usr/local/sbin", "/usr/sbin", "/sbin");

    private Prerequisites() {
    }

    private static Map<String, String> commands() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("ip", "iproute2");
        m.put("nft", "nftables");
        m.put("nsenter", "util-linux");
        m.put("unshare", "util-linux");
        m.put("setsid", "util-linux");
        m.put("flock", "util-linux");
        m.put("pgrep", "procps");
        m.put("libvirtd", "libvirt-daemon");
        m.put("virtlogd", "libvirt-daemon");
        m.put("virsh", "libvirt-clients");
        m.put("qemu-system-x86_64", "qemu-system-x86");
        m.put("qemu-img", "qemu-utils");
        m.put("tgtd", "tgt");
        m.put("tgtadm", "tgt");
        m.put("curl", "curl");
        m.put("awk", "mawk");
        return Collections.unmodifiableMap(m);
    }

    private static Map<Path, Needed> files() {
        Map<Path, Needed> m = new LinkedHashMap<>();
        m.put(QEMU_DRIVER, new Needed("libvirt's QEMU driver", QEMU_DRIVER_PACKAGE));
        m.put(QEMU_ISCSI, new Needed("QEMU's iSCSI block driver", QEMU_ISCSI_PACKAGE));
        return Collections.unmodifiableMap(m);
    }

    /** What is missing: the commands (and the files) and the packages that bring them. */
    record Missing(List<String> what, Set<String> packages) {
        boolean none() {
            return what.isEmpty();
        }

        String installCommand() {
            return "apt-get install -y --no-install-recommends " + String.join(" ", packages);
        }
    }

    /** What this machine lacks of the harness's needs: PATH's directories and the sbin ones are searched. */
    static Missing missing() {
        return missing(searchPath(System.getenv("PATH")), Files::exists);
    }

    /**
     * Which of the harness's commands none of {@code dirs} holds, which of its {@link #FILES} are
     * not there by {@code present}, and the packages that bring them.
     */
    static Missing missing(List<Path> dirs, Predicate<Path> present) {
        List<String> what = new ArrayList<>();
        Set<String> packages = new LinkedHashSet<>();
        PACKAGE_OF_COMMAND.forEach((command, pkg) -> {
            if (dirs.stream().noneMatch(d -> Files.isExecutable(d.resolve(command)))) {
                what.add(command);
                packages.add(pkg);
            }
        });
        FILES.forEach((file, needed) -> {
            if (!present.test(file)) {
                what.add(needed.what());
                packages.add(needed.pkg());
            }
        });
        return new Missing(List.copyOf(what), packages);
    }

    /** PATH's directories, then the sbin ones it lacks. */
    static List<Path> searchPath(String path) {
        Set<String> dirs = new LinkedHashSet<>();
        for (String d : (path == null ? "" : path).split(":")) {
            if (!d.isBlank()) {
                dirs.add(d);
            }
        }
        dirs.addAll(SBIN);
        return dirs.stream().map(Path::of).toList();
    }

    /** PATH for the harness: this one with the sbin directories it lacks, so that it finds what was installed. */
    static String harnessPath(String path) {
        return String.join(":", searchPath(path).stream().map(Path::toString).toList());
    }

    /**
     * Installs what is missing with apt-get, showing its output through {@code out}. Returns null
     * when everything is there (already, or now), else why the harness cannot run here with the
     * command that would fix it. Throws when apt-get ran and the programs are still missing.
     */
    static String install(Consumer<String> out) throws IOException, InterruptedException {
        String path = System.getenv("PATH");
        Missing missing = missing();
        if (missing.none()) {
            return null;
        }
        if (searchPath(path).stream().noneMatch(d -> Files.isExecutable(d.resolve("apt-get")))) {
            return "the end-to-end test needs " + String.join(", ", missing.what()) + ", and this machine has no apt-get"
                    + " to install them; on Debian: " + missing.installCommand();
        }
        out.accept("EndToEndIT: the harness needs " + String.join(", ", missing.what()) + ", missing here; installing: "
                + missing.installCommand());
        List<String> install = new ArrayList<>(List.of("apt-get", "install", "-y", "-q", "--no-install-recommends"));
        install.addAll(missing.packages());
        if (apt(out, install) != 0) {
            // a fresh machine may have no package lists yet, or stale ones
            out.accept("EndToEndIT: apt-get update, then the install again");
            apt(out, List.of("apt-get", "update", "-q"));
            apt(out, install);
        }
        Missing after = missing();
        if (!after.none()) {
            throw new AssertionError("the end-to-end test still lacks " + String.join(", ", after.what())
                    + " after apt-get; its output is above. Install them and run the test again: "
                    + after.installCommand());
        }
        out.accept("EndToEndIT: installed " + String.join(" ", missing.packages()));
        return null;
    }

    /** Runs apt-get non-interactively, each line of its output through {@code out}; its exit status. */
    private static int apt(Consumer<String> out, List<String> command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
        pb.environment().put("PATH", harnessPath(System.getenv("PATH")));
        Process p = pb.start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            p.getOutputStream().close();
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                out.accept("apt-get: " + line);
            }
            return p.waitFor();
        } finally {
            p.destroyForcibly();
        }
    }
}
