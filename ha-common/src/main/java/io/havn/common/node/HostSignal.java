package io.havn.common.node;

import io.havn.common.model.HostId;
import java.util.Objects;

/**
 * What a host's signal sender, a small process apart from havnd, tells every peer each heartbeat
 * interval: that the host's kernel runs, and what its hardware watchdog enforces. It says nothing
 * of havnd: a daemon that is stalled, restarting or starved leaves it beating, a host that lost
 * power or is cut off silences it. The leader takes it as the second liveness signal before it
 * fences a host whose heartbeats stopped (SAFETY.md, "A stalled or restarting daemon is not a dead
 * host").
 *
 * @param from        the host it speaks for
 * @param incarnation the sender process's incarnation: grows with every start of it
 * @param sequence    grows by one per signal of this incarnation
 * @param guard       what the host's watchdog enforces now
 * @param remainingMs with {@link Guard#ARMED}, how long until the deadline the watchdog is petted
 *                    toward (then the machine resets within W unless havnd renews it); 0 otherwise
 */
public record HostSignal(HostId from, long incarnation, long sequence, Guard guard, int remainingMs) {
    /** What the host's watchdog enforces, as its petter's inputs say. */
    public enum Guard {
        /** A lease (or a restart window) is published and ahead, and the petter runs: the host holds HA VMs under it. */
        ARMED,
        /** Nothing is guarded: no HA VM is held here. */
        RELEASED,
        /**
         * The published deadline passed, cannot be trusted, or no petter runs: the watchdog is not
         * petted, and the hardware resets the machine within W.
         */
        LAPSED
    }

    public HostSignal {
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(guard, "guard");
        if (guard == Guard.ARMED ? remainingMs <= 0 : remainingMs != 0) {
            throw new IllegalArgumentException("remainingMs must be " + (guard == Guard.ARMED ? "> 0" : "0")
                    + " with " + guard + ", got " + remainingMs);
        }
    }

    /** Whether this signal comes after {@code earlier} of the same host: a later incarnation, or a later sequence. */
    public boolean isAfter(HostSignal earlier) {
        if (incarnation != earlier.incarnation) {
            return incarnation > earlier.incarnation;
        }
        return sequence > earlier.sequence;
    }
}
