package io.havn.common.node;

import io.havn.common.port.AdminReplies;
import io.havn.common.port.Clock;
import io.havn.common.port.Coordinator;
import io.havn.common.port.DecisionLog;
import io.havn.common.port.Fencer;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Scheduler;
import io.havn.common.port.Transport;
import io.havn.common.port.Watchdog;
import java.util.Objects;

/** The node's view of the world: one adapter per port. */
public record NodePorts(Clock clock, Scheduler scheduler, Transport transport, Coordinator coordinator,
                        Hypervisor hypervisor, Fencer fencer, Watchdog watchdog, DecisionLog decisions,
                        AdminReplies admin) {
    public NodePorts {
        Objects.requireNonNull(clock, "clock");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(transport, "transport");
        Objects.requireNonNull(coordinator, "coordinator");
        Objects.requireNonNull(hypervisor, "hypervisor");
        Objects.requireNonNull(fencer, "fencer");
        Objects.requireNonNull(watchdog, "watchdog");
        Objects.requireNonNull(decisions, "decisions");
        Objects.requireNonNull(admin, "admin");
    }
}
