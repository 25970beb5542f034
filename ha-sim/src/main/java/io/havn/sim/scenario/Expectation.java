package io.havn.sim.scenario;

import java.util.Objects;

/**
 * One {@code WHEN: FACT} line of a scenario. {@code atMs} is the instant or deadline for
 * {@link When#AT} and {@link When#BY}, else 0; {@code text} is the line as written, trimmed.
 */
public record Expectation(When when, long atMs, Fact fact, String text) {
    public Expectation {
        Objects.requireNonNull(when, "when");
        Objects.requireNonNull(fact, "fact");
        Objects.requireNonNull(text, "text");
        if (when == When.AT || when == When.BY) {
            if (atMs < 0) {
                throw new IllegalArgumentException("negative time " + atMs);
            }
        } else if (atMs != 0) {
            throw new IllegalArgumentException(when + " takes no time, got " + atMs);
        }
    }
}
