package io.havn.sim.report;

/**
 * Outcome of one expectation of a scenario.
 *
 * @param text   the expectation as written in the scenario
 * @param passed whether it held
 * @param detail explanation (what was observed); may be null or empty
 */
public record ExpectationResult(String text, boolean passed, String detail) { }
