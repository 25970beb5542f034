package io.havn.packaging.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the end-to-end harness, {@code src/e2e/e2e.sh}, as a real process: its output goes to
 * this test's output line by line as it comes (a run takes minutes), and is kept for the failure
 * message; the facts it writes are read back as {@link Results}.
 *
 * <p>The havn jars come from the system property {@code havn.e2e.jars} or the environment's
 * {@code HAVN_E2E_JARS}, else the tarball extracted into {@code target/havn-<version>/} (by this
 * test, when the build made the tarball), else {@code ha-daemon/target} (havnd.jar and
 * havnctl.jar): what ships is what is tested, when there is something shipped.
 *
 * <p>{@code HAVN_E2E_MANUAL_RESUME} (whether the harness resumes with virsh the guests a storage
 * fault left paused) comes from the system property {@code havn.e2e.manualResume} or the
 * environment, else 0: havnd resumes them itself.
 */
final class Harness {
    /** The whole run, setup and teardown included; it takes 2-3 minutes here. */
    static final Duration TIMEOUT = Duration.ofMinutes(12);
    /** How long the harness may take to clean up after it was told to stop. */
    private static final Duration CLEANUP = Duration.ofSeconds(90);

    /** A finished run: its exit status, everything it printed, and the facts it wrote. */
    record Run(int exit, String output, Results results) { }

    private final Path module;
    private final Path work;

    /** @param module the packaging module's directory; {@code work} gets the results and logs */
    Harness(Path module, Path work) {
        this.module = module;
        this.work = work;
    }

    /** The packaging module's directory, as Maven runs the test, or the working directory. */
    static Path moduleDir() {
        return Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
    }

    /**
     * Why this machine cannot run the test at all, or null if it can: the harness makes
     * namespaces, links and mounts, so it needs root and a kernel that lets it.
     */
    static String cannotRun() throws IOException, InterruptedException {
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        if (!Integer.valueOf(0).equals(uid)) {
            Prerequisites.Missing missing = Prerequisites.missing();
            return "the end-to-end test needs root (it makes network and mount namespaces); running as uid " + uid
                    + (missing.none() ? "" : "; it also needs " + String.join(", ", missing.what()) + ": sudo "
                    + missing.installCommand());
        }
        Process p;
        try {
            p = new ProcessBuilder("unshare", "--mount", "--net", "true").redirectErrorStream(true).start();
        } catch (IOException e) {
            return "the end-to-end test needs unshare(1) to make namespaces: " + e.getMessage();
        }
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return "unshare --mount --net did not finish within 30 s";
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        return p.exitValue() == 0 ? null
                : "this machine cannot make mount and network namespaces (unshare --mount --net: " + out + ")";
    }

    /** Runs the harness to its end, or stops it at {@link #TIMEOUT}. */
    Run run() throws IOException, InterruptedException {
        Files.createDirectories(work);
        Path results = work.resolve("results.txt");
        Files.deleteIfExists(results);
        ProcessBuilder pb = new ProcessBuilder("bash", script().toString(), "run").redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.put("PATH", Prerequisites.harnessPath(env.get("PATH")));
        env.put("HAVN_E2E_JARS", jars().toString());
        env.put("HAVN_E2E_RESULTS", results.toString());
        env.put("HAVN_E2E_LOGS", work.resolve("logs").toString());
        env.put("HAVN_E2E_MANUAL_RESUME", manualResume());
        Process p = pb.start();
        p.getOutputStream().close();
        StringBuilder output = new StringBuilder();
        Thread echo = new Thread(() -> copyLines(p, output), "e2e-output");
        echo.setDaemon(true);
        echo.start();
        if (!p.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroy(); // SIGTERM: the harness's trap tears everything down
            if (!p.waitFor(CLEANUP.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                clean();
            }
            echo.join(TimeUnit.SECONDS.toMillis(5));
            throw new AssertionError("the end-to-end harness did not finish within " + TIMEOUT.toMinutes()
                    + " minutes; its output:\n" + snapshot(output));
        }
        echo.join(TimeUnit.SECONDS.toMillis(30));
        List<String> lines = Files.exists(results) ? Files.readAllLines(results) : List.of();
        return new Run(p.exitValue(), snapshot(output), Results.parse(lines));
    }

    /** Removes what a harness killed without its trap left behind. */
    private void clean() throws IOException, InterruptedException {
        Process c = new ProcessBuilder("bash", script().toString(), "clean").inheritIO().start();
        if (!c.waitFor(CLEANUP.toSeconds(), TimeUnit.SECONDS)) {
            c.destroyForcibly();
        }
    }

    private Path script() {
        return module.resolve("src/e2e/e2e.sh");
    }

    /** HAVN_E2E_MANUAL_RESUME for the harness: see the class comment. */
    static String manualResume() {
        String given = System.getProperty("havn.e2e.manualResume", System.getenv("HAVN_E2E_MANUAL_RESUME"));
        return given == null || given.isBlank() ? "0" : given.strip();
    }

    /** Where havnd.jar and havnctl.jar are: see the class comment. */
    Path jars() throws IOException, InterruptedException {
        String given = System.getProperty("havn.e2e.jars", System.getenv("HAVN_E2E_JARS"));
        if (given != null && !given.isBlank()) {
            return Path.of(given).toAbsolutePath();
        }
        String top = "havn-" + System.getProperty("havn.version", "0.1.0-SNAPSHOT");
        Path target = module.resolve("target");
        Path extracted = target.resolve(top);
        Path tarball = target.resolve(top + ".tar.gz");
        if (!Files.isDirectory(extracted) && Files.isRegularFile(tarball)) {
            Process tar = new ProcessBuilder("tar", "-xzf", tarball.toString(), "-C", target.toString())
                    .redirectErrorStream(true).start();
            if (!tar.waitFor(60, TimeUnit.SECONDS) || tar.exitValue() != 0) {
                tar.destroyForcibly();
                throw new AssertionError("cannot extract " + tarball + ": "
                        + new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            }
        }
        return Files.isDirectory(extracted) ? extracted : module.resolveSibling("ha-daemon").resolve("target");
    }

    private static void copyLines(Process p, StringBuilder output) {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                System.out.println(line);
                synchronized (output) {
                    output.append(line).append('\n');
                }
            }
        } catch (IOException e) {
            synchronized (output) {
                output.append("(reading the harness's output failed: ").append(e).append(")\n");
            }
        }
    }

    private static String snapshot(StringBuilder output) {
        synchronized (output) {
            return output.toString();
        }
    }
}
