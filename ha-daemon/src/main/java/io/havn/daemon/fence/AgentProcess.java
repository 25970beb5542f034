package io.havn.daemon.fence;

import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.lang.ProcessBuilder.Redirect;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * One run of a fence agent for one action: writes its input on stdin, waits for its exit until a
 * deadline, and kills it (with everything it started) past the deadline. Blocking; runs on a
 * fencer worker thread.
 *
 * <p>The agent's stdout and stderr go to a private temporary file, not a pipe: an agent, or a child
 * it left behind, can then never block on a full pipe or hold us reading one, and the last lines
 * are still there to explain a failure.
 */
final class AgentProcess {
    /** Exit codes of the fence-agents API (doc/FenceAgentAPI.md in ClusterLabs/fence-agents). */
    static final int EXIT_OK = 0;
    static final int STATUS_ON = 0;
    static final int STATUS_UNREACHABLE = 1;
    static final int STATUS_OFF = 2;

    private static final int TAIL_BYTES = 2048;
    private static final int TAIL_CHARS = 300;
    private static final long REAP_AFTER_KILL_MS = 2_000;

    enum Outcome {
        /** The agent ran and exited with {@link Result#exit}. */
        EXITED,
        /** It was still running at the deadline and was killed. */
        KILLED,
        /** It could not be started. */
        NOT_STARTED
    }

    /** What one run did; {@code output} is the tail of what the agent printed, secrets hidden. */
    record Result(String action, Outcome outcome, int exit, String output) {
        boolean exitedWith(int code) {
            return outcome == Outcome.EXITED && exit == code;
        }

        /** For a failure message, e.g. "action=off exited 1: Failed: Unable to connect". */
        String describe() {
            String what = switch (outcome) {
                case EXITED -> "action=" + action + " exited " + exit + meaning();
                case KILLED -> "action=" + action + " was still running at the deadline and was killed";
                case NOT_STARTED -> "action=" + action + " could not be started";
            };
            return output.isEmpty() ? what : what + ": " + output;
        }

        private String meaning() {
            if (!action.equals("status")) {
                return "";
            }
            return switch (exit) {
                case STATUS_ON -> " (on)";
                case STATUS_UNREACHABLE -> " (device unreachable)";
                case STATUS_OFF -> " (off)";
                default -> " (not a status code of the fence-agents API)";
            };
        }
    }

    private AgentProcess() {
    }

    /**
     * Runs {@code agent} with {@code input} on stdin until it exits or {@code deadlineNanos}
     * ({@link System#nanoTime()}) passes. If interrupted, kills the agent and rethrows.
     * {@code redact} hides secrets in the agent's output; it is applied before the output is cut.
     */
    static Result run(Path agent, String action, byte[] input, long deadlineNanos, UnaryOperator<String> redact)
            throws InterruptedException {
        Path out = null;
        Process p;
        try {
            out = Files.createTempFile("havn-fence-", ".out"); // rw------- : the output may echo a password
            ProcessBuilder pb = new ProcessBuilder(agent.toString())
                    .redirectErrorStream(true)
                    .redirectOutput(Redirect.to(out.toFile()));
            p = pb.start();
        } catch (IOException | RuntimeException e) {
            delete(out);
            return new Result(action, Outcome.NOT_STARTED, -1, redact.apply(String.valueOf(e.getMessage())));
        }
        try {
            String inputError = writeInput(p, input);
            long left = deadlineNanos - System.nanoTime();
            if (!p.waitFor(Math.max(0, left), TimeUnit.NANOSECONDS)) {
                kill(p);
                return new Result(action, Outcome.KILLED, -1, tail(out, inputError, redact));
            }
            return new Result(action, Outcome.EXITED, p.exitValue(), tail(out, inputError, redact));
        } catch (InterruptedException e) {
            kill(p);
            throw e;
        } finally {
            delete(out);
        }
    }

    /** Writes the input and closes stdin (agents read to end of input). Null, or why it failed. */
    private static String writeInput(Process p, byte[] input) {
        // The input is at most FenceDevice.MAX_INPUT_BYTES, less than a pipe holds: this never blocks.
        try (OutputStream in = p.getOutputStream()) {
            in.write(input);
            return null;
        } catch (IOException e) {
            // It exited or closed stdin before reading it all; its exit code (and, for off, the
            // status that must follow) still decides.
            return "(its stdin could not be written: " + e.getMessage() + ")";
        }
    }

    /** Kills the agent and every process under it: a script's children would outlive it. */
    static void kill(Process p) {
        List<ProcessHandle> under = p.descendants().collect(Collectors.toList());
        p.destroyForcibly();
        under.forEach(ProcessHandle::destroyForcibly);
        boolean interrupted = Thread.interrupted();
        try {
            p.waitFor(REAP_AFTER_KILL_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            interrupted = true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** The last lines the agent printed, on one line, secrets hidden. */
    private static String tail(Path out, String inputError, UnaryOperator<String> redact) {
        String text;
        try (RandomAccessFile f = new RandomAccessFile(out.toFile(), "r")) {
            long len = f.length();
            int n = (int) Math.min(len, TAIL_BYTES);
            byte[] b = new byte[n];
            f.seek(len - n);
            f.readFully(b);
            text = new String(b, StandardCharsets.UTF_8);
            if (n < len) {
                // The window may start inside a secret, which redact could not recognise: drop that line.
                int nl = text.indexOf('\n');
                text = nl < 0 ? "" : text.substring(nl + 1);
            }
        } catch (IOException e) {
            text = "(output unreadable: " + e.getMessage() + ")";
        }
        // Hide secrets before cutting, so a cut never leaves part of one.
        String oneLine = redact.apply(text).strip().replaceAll("\\s*[\\r\\n]+\\s*", " | ");
        if (oneLine.length() > TAIL_CHARS) {
            oneLine = "..." + oneLine.substring(oneLine.length() - TAIL_CHARS);
        }
        if (inputError != null) {
            oneLine = oneLine.isEmpty() ? inputError : oneLine + " " + inputError;
        }
        return oneLine;
    }

    private static void delete(Path p) {
        if (p == null) {
            return;
        }
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // a leftover temp file is harmless
        }
    }
}
