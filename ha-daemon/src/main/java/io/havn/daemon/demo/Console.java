package io.havn.daemon.demo;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;

/**
 * The demo's output: one line per event, stamped with the seconds since the demo started. Events
 * read from a daemon's log carry the log line's own time, so a line tells when it happened, not
 * when the demo noticed. Thread-safe: the shutdown hook prints too.
 */
final class Console {
    private static final String INDENT = " ".repeat(10);

    private final PrintStream out;
    private final Instant start;

    Console(PrintStream out, Instant start) {
        this.out = out;
        this.start = start;
    }

    /** An event that happens now. */
    void event(String text) {
        event(Instant.now(), text);
    }

    /** An event that happened at {@code at}. */
    synchronized void event(Instant at, String text) {
        out.printf("[%6.2fs] %s%n", seconds(start, at), text);
        out.flush();
    }

    /** A line that belongs to the event above it. */
    synchronized void more(String text) {
        out.println(INDENT + text);
        out.flush();
    }

    /** A line without a time stamp (a heading, a table). */
    synchronized void plain(String text) {
        out.println(text);
        out.flush();
    }

    static double seconds(Instant from, Instant to) {
        return Duration.between(from, to).toNanos() / 1e9;
    }
}
