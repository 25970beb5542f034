package io.havn.daemon.demo;

import com.sun.security.auth.module.UnixSystem;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * libvirt's client library ({@code libvirt.so.0}), which every daemon loads to reach its
 * hypervisor. If the dynamic linker does not know it, root gets it installed by apt-get (its
 * output shown); anybody else gets the command to run.
 */
final class LibvirtLibrary {
    static final String LIBRARY = "libvirt.so.0";
    static final String INSTALL = "apt-get install -y libvirt0";
    private static final long LDCONFIG_TIMEOUT_S = 30;

    private LibvirtLibrary() {
    }

    /** Whether the library is there; if not, installs it as root. Returns false, having said why, if it is not there. */
    static boolean ensure(Console console) throws IOException, InterruptedException {
        try {
            if (present()) {
                console.event("libvirt: " + LIBRARY + " is installed");
                return true;
            }
        } catch (IOException e) {
            console.event("libvirt: cannot tell whether " + LIBRARY + " is installed: " + e.getMessage());
            return false;
        }
        if (new UnixSystem().getUid() != 0) {
            console.event("libvirt: " + LIBRARY + " is missing; the daemons need it. Install it, then run the demo "
                    + "again:");
            console.more("sudo " + INSTALL);
            return false;
        }
        console.event("libvirt: " + LIBRARY + " is missing; installing it: " + INSTALL);
        if (apt(console, "install", "-y", "libvirt0") != 0) {
            // a fresh machine may have no package lists yet
            console.event("libvirt: apt-get update, then " + INSTALL + " again");
            apt(console, "update");
            apt(console, "install", "-y", "libvirt0");
        }
        if (present()) {
            console.event("libvirt: " + LIBRARY + " is installed");
            return true;
        }
        console.event("libvirt: " + LIBRARY + " is still missing after " + INSTALL
                + "; install libvirt's client library and run the demo again");
        return false;
    }

    /** Whether {@code ldconfig -p} lists the library. */
    static boolean present() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(ldconfig(), "-p").redirectErrorStream(true).start();
        try {
            p.getOutputStream().close();
            String listing = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(LDCONFIG_TIMEOUT_S, TimeUnit.SECONDS)) {
                throw new IOException("ldconfig -p did not finish within " + LDCONFIG_TIMEOUT_S + " s");
            }
            return listing.lines().anyMatch(l -> l.strip().startsWith(LIBRARY + " "));
        } finally {
            p.destroyForcibly();
        }
    }

    /** ldconfig lives in /sbin, which a user's PATH often lacks. */
    private static String ldconfig() {
        for (String dir : List.of("/sbin", "/usr/sbin")) {
            Path p = Path.of(dir, "ldconfig");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return "ldconfig";
    }

    /** Runs apt-get with {@code args}, showing each line it prints; its exit status. */
    private static int apt(Console console, String... args) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(concat("apt-get", args)).redirectErrorStream(true);
        pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            console.more("apt-get: cannot run it: " + e.getMessage());
            return -1;
        }
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            p.getOutputStream().close();
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                console.more("apt-get: " + line);
            }
            return p.waitFor();
        } finally {
            p.destroyForcibly();
        }
    }

    private static String[] concat(String first, String... rest) {
        String[] all = new String[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }
}
