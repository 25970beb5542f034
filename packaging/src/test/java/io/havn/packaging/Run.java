package io.havn.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.concurrent.TimeUnit;

/**
 * Runs a program to its end within a bound, as a user would from a shell: its output goes to
 * files, so that neither a full pipe nor a forgotten reader can hang a test, and a program still
 * running at the bound is killed and fails the test with what it printed.
 */
final class Run {
    static final Duration LIMIT = Duration.ofSeconds(120);

    /** What a finished program did. */
    record Result(List<String> command, int exit, String out, String err) {
        /** Fails, showing the command and its output, unless it exited 0. */
        Result ok() {
            return exits(0);
        }

        Result exits(int expected) {
            assertEquals(expected, exit, () -> describe());
            return this;
        }

        String describe() {
            return String.join(" ", command) + " exited " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    private Run() {
    }

    /** Runs {@code command} in the current directory with this process's environment. */
    static Result run(String... command) {
        return run(null, env -> { }, command);
    }

    /** Runs {@code command} in {@code dir} (null: the current one), its environment changed by {@code env}. */
    static Result run(Path dir, Consumer<Map<String, String>> env, String... command) {
        List<String> cmd = List.of(command);
        Path out = null;
        Path err = null;
        try {
            out = Files.createTempFile("havn-run-", ".out");
            err = Files.createTempFile("havn-run-", ".err");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            if (dir != null) {
                pb.directory(dir.toFile());
            }
            env.accept(pb.environment());
            Process p = pb.start();
            if (!p.waitFor(LIMIT.toSeconds(), TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                fail(String.join(" ", cmd) + " still ran after " + LIMIT + " and was killed\n--- stdout\n"
                        + read(out) + "--- stderr\n" + read(err));
            }
            return new Result(cmd, p.exitValue(), read(out), read(err));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted while running " + String.join(" ", cmd), e);
        } finally {
            delete(out);
            delete(err);
        }
    }

    /** Whether {@code program} is on the PATH. */
    static boolean onPath(String program) {
        String path = System.getenv().getOrDefault("PATH", "");
        for (String d : path.split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, program))) {
                return true;
            }
        }
        return false;
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    private static void delete(Path p) {
        if (p != null) {
            try {
                Files.deleteIfExists(p);
            } catch (IOException e) {
                // a temporary file left behind is harmless
            }
        }
    }
}
