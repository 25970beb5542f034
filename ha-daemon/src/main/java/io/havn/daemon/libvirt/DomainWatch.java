package io.havn.daemon.libvirt;

import io.havn.common.model.VmId;
import io.havn.common.node.NodeEvent.DomainChanged;
import io.havn.common.port.DomainState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Turns successive polls of libvirt into the changes the node did not ask for. Detects only; the
 * node decides what a change means.
 *
 * <p>It keeps the last state seen of every active domain. A poll reports a domain that was running
 * or paused and is no longer (stopped, crashed, gone), and a paused domain that was not there
 * before (an incoming migration, once libvirt says it finished). It says nothing about a domain while
 * an operation of this adapter is in flight on it, or whose operation ended after the poll began:
 * that poll may have seen it half-way. Operations report their own effect through {@link #end}. The
 * first poll only learns what exists: what already ran before the adapter started is no change.
 *
 * <p>Thread-safe: operations end on workers while polls are applied on others.
 */
final class DomainWatch {
    static final String INCOMING = "incoming migration complete";

    /** What one poll saw of a domain. {@code settled} false: in a transition, look again next poll. */
    record Seen(DomainState state, boolean active, boolean settled, String cause) {
        static Seen active(DomainState state) {
            return new Seen(state, true, true, state == DomainState.CRASHED ? "guest crashed" : null);
        }

        static Seen stopped(DomainState state, String cause) {
            return new Seen(state, false, true, cause);
        }

        static Seen unsettled() {
            return new Seen(null, true, false, null);
        }
    }

    /** One poll: what it saw, and the sequence number current when it began. */
    record Observation(long seq, Map<VmId, Seen> domains) { }

    /** What a successful operation did to its domain. */
    enum Effect { NONE, RUNNING, GONE }

    private final Map<VmId, DomainState> lastSeen = new HashMap<>();
    private final Map<VmId, Integer> inFlight = new HashMap<>();
    private final Map<VmId, Long> touched = new HashMap<>();
    private long seq;
    private long lastApplied = Long.MIN_VALUE;
    private boolean seeded;

    /** Taken by a poll before it asks libvirt anything. */
    synchronized long seq() {
        return seq;
    }

    /** The domains a poll must account for even if they are no longer active. */
    synchronized Set<VmId> known() {
        return new TreeSet<>(lastSeen.keySet());
    }

    synchronized void begin(VmId vm) {
        inFlight.merge(vm, 1, Integer::sum);
        touched.put(vm, ++seq);
    }

    /** An operation on {@code vm} ended; {@code effect} is what it did if it succeeded. */
    synchronized void end(VmId vm, Effect effect) {
        inFlight.computeIfPresent(vm, (k, n) -> n == 1 ? null : n - 1);
        touched.put(vm, ++seq);
        record(vm, effect);
    }

    /** An operation already reported as timed out did succeed after all. */
    synchronized void late(VmId vm, Effect effect) {
        touched.put(vm, ++seq);
        record(vm, effect);
    }

    private void record(VmId vm, Effect effect) {
        switch (effect) {
            case RUNNING -> lastSeen.put(vm, DomainState.RUNNING);
            case GONE -> lastSeen.remove(vm);
            case NONE -> { } // failed: whatever libvirt did, the next quiet poll finds out
        }
    }

    /** Applies one poll; returns the changes to report, in VM order. */
    synchronized List<DomainChanged> apply(Observation o) {
        List<DomainChanged> out = new ArrayList<>();
        if (o.seq() < lastApplied) {
            return out; // an older poll than one already applied
        }
        lastApplied = o.seq();
        for (Map.Entry<VmId, Seen> e : new TreeMap<>(o.domains()).entrySet()) {
            VmId vm = e.getKey();
            Seen s = e.getValue();
            if (!s.settled() || inFlight.containsKey(vm) || touched.getOrDefault(vm, Long.MIN_VALUE) > o.seq()) {
                continue;
            }
            DomainState prev = lastSeen.get(vm);
            if (holds(prev) && !(s.active() && holds(s.state()))) {
                out.add(new DomainChanged(vm, s.state(), false, s.cause()));
            } else if (seeded && prev == null && s.active() && s.state() == DomainState.PAUSED) {
                out.add(new DomainChanged(vm, DomainState.PAUSED, true, INCOMING));
            }
            if (s.active()) {
                lastSeen.put(vm, s.state());
            } else {
                lastSeen.remove(vm);
            }
        }
        seeded = true;
        touched.values().removeIf(t -> t <= o.seq()); // later polls began after these: they need not know
        return out;
    }

    private static boolean holds(DomainState s) {
        return s == DomainState.RUNNING || s == DomainState.PAUSED;
    }
}
