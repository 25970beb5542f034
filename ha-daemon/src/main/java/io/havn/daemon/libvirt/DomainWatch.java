package io.havn.daemon.libvirt;

import io.havn.common.model.VmId;
import io.havn.common.node.NodeEvent.DomainChanged;
import io.havn.common.port.DomainState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Turns successive polls of libvirt into the changes the node did not ask for. Detects only; the
 * node decides what a change means.
 *
 * <p>It keeps the last state seen of every active domain, and reports every change a poll shows,
 * whoever made it: a domain that appears (started outside havn, e.g. by an operator's
 * {@code virsh start}; or running although havn's operation on it was reported failed or timed
 * out), one that pauses, resumes or crashes, and one that stops or vanishes. A guest libvirt
 * paused on a disk I/O error is {@code PAUSED_STORAGE}, any other pause {@code PAUSED}. A paused
 * domain that appears is an incoming migration, reported once libvirt says the migration finished
 * ({@code migratedIn}); one that appears paused on its storage is no migration's. Domains that are only defined are not polled: {@code list} shows them.
 *
 * <p>It says nothing about a domain while an operation of this adapter is in flight on it, or whose
 * operation ended after the poll began: that poll may have seen it half-way. Operations report
 * their own effect through {@link #end} (and {@link #late}, for one that returns after it was
 * reported timed out); the watch takes that effect as seen, so it is not reported again. The first
 * poll only learns what exists: what already ran before the adapter started is no change (the node
 * learns it from {@code list}); a domain havn operated on since is held to what it knows of it.
 *
 * <p>Thread-safe: operations end on workers while polls are applied on others.
 */
final class DomainWatch {
    static final String INCOMING = "incoming migration complete";
    static final String STARTED_OUTSIDE = "started outside havn";
    static final String RUNNING_AFTER_FAILURE = "running although havn's last operation on it was reported failed";
    static final String RESUMED_OUTSIDE = "resumed outside havn";
    static final String RUNNING_AGAIN = "running again outside havn";

    /**
     * What one poll saw of a domain. {@code settled} false: in a transition, look again next poll.
     * {@code cause}: why it is in this state, when libvirt says (a crash, a pause's reason, a stop's).
     */
    record Seen(DomainState state, boolean active, boolean settled, String cause) {
        static Seen active(DomainState state) {
            return new Seen(state, true, true, state == DomainState.CRASHED ? "guest crashed" : null);
        }

        /** Paused: {@code PAUSED}, or {@code PAUSED_STORAGE} for a pause on a disk I/O error. */
        static Seen paused(DomainState state, String cause) {
            if (state != DomainState.PAUSED && state != DomainState.PAUSED_STORAGE) {
                throw new IllegalArgumentException("not a paused state: " + state);
            }
            return new Seen(state, true, true, cause);
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
    /** Domains whose last operation failed (or timed out) since a poll last looked at them. */
    private final Set<VmId> failed = new HashSet<>();
    /** Domains with an operation reported timed out whose call has not returned: it may act yet. */
    private final Set<VmId> pending = new HashSet<>();
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

    /** An operation on {@code vm} ended; {@code effect} is what it did if it succeeded ({@code NONE} if not). */
    synchronized void end(VmId vm, Effect effect) {
        end(vm, effect, false);
    }

    /**
     * An operation on {@code vm} ended; {@code timedOut}: it was reported timed out and its call
     * may still act, until {@link #late} says it returned.
     */
    synchronized void end(VmId vm, Effect effect, boolean timedOut) {
        inFlight.computeIfPresent(vm, (k, n) -> n == 1 ? null : n - 1);
        touched.put(vm, ++seq);
        record(vm, effect);
        if (timedOut) {
            pending.add(vm);
        }
    }

    /**
     * An operation already reported as timed out returned after all; {@code effect} is what it did
     * if it succeeded ({@code NONE} if not). The adapter reports that outcome itself.
     */
    synchronized void late(VmId vm, Effect effect) {
        touched.put(vm, ++seq);
        pending.remove(vm);
        record(vm, effect);
    }

    private void record(VmId vm, Effect effect) {
        switch (effect) {
            case RUNNING -> {
                lastSeen.put(vm, DomainState.RUNNING);
                failed.remove(vm);
            }
            case GONE -> {
                lastSeen.remove(vm);
                failed.remove(vm);
            }
            case NONE -> failed.add(vm); // whatever libvirt did, the next quiet poll finds out
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
            // the first poll learns what ran before the adapter started, but not what havn did since
            DomainChanged c = seeded || prev != null || failed.contains(vm) ? change(vm, prev, s) : null;
            if (c != null) {
                out.add(c);
            }
            if (s.active()) {
                lastSeen.put(vm, s.state());
            } else {
                lastSeen.remove(vm);
            }
        }
        seeded = true;
        // this poll began after these ended, and saw all that was active: its word on them is given
        // (unless a timed-out call on one may still act)
        failed.removeIf(vm -> !inFlight.containsKey(vm) && !pending.contains(vm)
                && touched.getOrDefault(vm, Long.MIN_VALUE) <= o.seq());
        touched.values().removeIf(t -> t <= o.seq()); // later polls began after these: they need not know
        return out;
    }

    /** What a poll's sight of {@code vm} says changed since {@code prev}, its last state seen; null: nothing. */
    private DomainChanged change(VmId vm, DomainState prev, Seen s) {
        if (!s.active()) {
            return prev == null ? null : new DomainChanged(vm, s.state(), false, s.cause());
        }
        if (s.state() == prev) {
            return null;
        }
        if (prev == null) {
            return switch (s.state()) {
                case PAUSED -> new DomainChanged(vm, DomainState.PAUSED, true, INCOMING);
                // paused on its storage, not by a migration: a migration's copy waits paused for the user
                case CRASHED, PAUSED_STORAGE -> new DomainChanged(vm, s.state(), false, appeared(vm) + "; "
                        + s.cause());
                default -> new DomainChanged(vm, s.state(), false, appeared(vm));
            };
        }
        String cause = switch (s.state()) {
            case RUNNING -> prev == DomainState.PAUSED || prev == DomainState.PAUSED_STORAGE ? RESUMED_OUTSIDE
                    : RUNNING_AGAIN;
            default -> s.cause() != null ? s.cause() : "now " + s.state() + " (libvirt gives no reason)";
        };
        return new DomainChanged(vm, s.state(), false, cause);
    }

    private String appeared(VmId vm) {
        return failed.contains(vm) ? RUNNING_AFTER_FAILURE : STARTED_OUTSIDE;
    }
}
