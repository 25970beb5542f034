package io.havn.sim.report;

/**
 * Where a VM ran: on host from fromMs to toMs (toMs = endMs if still running at the end);
 * paused = the copy was paused (e.g. arriving by live migration).
 */
public record VmSpan(String vm, String host, long fromMs, long toMs, boolean paused) { }
