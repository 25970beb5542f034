package io.havn.sim.scenario;

import java.util.List;

/** Commands applied together at {@code atMs} after the cluster has settled. */
public record TimelineEntry(long atMs, List<Command> commands) {
    public TimelineEntry {
        if (atMs < 0) {
            throw new IllegalArgumentException("negative time " + atMs);
        }
        commands = List.copyOf(commands);
        if (commands.isEmpty()) {
            throw new IllegalArgumentException("a timeline entry needs at least one command");
        }
    }
}
