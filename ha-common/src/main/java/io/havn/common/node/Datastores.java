package io.havn.common.node;

import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.node.Decision.Kind;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The storage heartbeat, as this node hears it ({@link NodeEvent.StorageRound}): every host writes a
 * slot of its own on each shared datastore every {@code storageIntervalMs} (what its watchdog
 * enforces, as its signal says it) and reads everybody's. From the rounds this node learns
 * <ul>
 * <li>whether this host reaches each datastore ({@link #reach}): lost once no round succeeded for
 * {@code storageTimeoutMs}, reached again at the first round that does. {@link HostRegistration}
 * publishes it in the host record, where placement reads it;
 * <li>a further liveness signal for every peer ({@link #alive}): a host whose slot still advances,
 * saying its watchdog is armed toward a deadline still ahead (or that it guards nothing), is alive
 * though its network is silent: isolated, not dead. Like the signal, it only ever withholds a fence
 * ({@link Fencing}); it proves nothing dead and starts nothing (SAFETY.md, "Storage");
 * <li>whether a datastore is really shared ({@link #checkShared}): a peer whose record says it writes
 * its slot on a datastore this host reads, but whose slot this host never sees advance, is writing
 * somewhere else: a loud alarm, never a fence;
 * <li>on the leader, a datastore no host reaches ({@link #checkCluster}): an alarm, not a reason to
 * fence anyone.
 * </ul>
 * A slot counts only once it advances: the first read of it is the baseline, so the last record of
 * a host long dead never shows it alive.
 */
final class Datastores {
    /** This host's reach of one datastore. */
    private static final class Mine {
        boolean ok;
        /** The last round that succeeded, MIN_VALUE if none did. */
        long lastOk = Long.MIN_VALUE;
        /** Since when it has been reached without a break (MIN_VALUE while it is not). */
        long okSince = Long.MIN_VALUE;
        String error;
    }

    /** A peer's slot on one datastore: its last record, and when it last advanced. */
    private static final class Slot {
        HostSignal last;
        long advancedAt = Long.MIN_VALUE;
    }

    /** How many storage timeouts a peer's slot may stay still before the datastore is called not shared. */
    static final int NOT_SHARED_TIMEOUTS = 3;

    private final NodeContext n;
    private final Map<String, Mine> mine = new TreeMap<>();
    private final Map<String, Map<HostId, Slot>> slots = new HashMap<>();
    private final Map<String, Signals> beats = new HashMap<>();
    /** Per datastore and peer: since when both say they reach it (for the not-shared check). */
    private final Map<String, Map<HostId, Long>> bothSince = new HashMap<>();
    private Signals.UntilChanged untilChanged = (h, until) -> { };
    /** Alarms raised and not yet cleared, so that each is said once. */
    private final Set<String> alarmed = new HashSet<>();
    /** {@link ClusterView#hostsChanged} when {@link #checkCluster} last looked. */
    private long clusterChecked = -1;

    Datastores(NodeContext context) {
        this.n = context;
    }

    // ---------------------------------------------------------------- rounds

    /** Takes a round in; returns whether this host's reach changed (its host record is then out of date). */
    boolean onRound(NodeEvent.StorageRound e, long now) {
        String d = e.datastore();
        if (!io.havn.common.model.VmSpec.DATASTORE_NAME.matcher(d).matches()) {
            n.decide(Kind.ALARM, null, null, "storage heartbeat round for a datastore whose name is invalid: ignored");
            return false;
        }
        Mine m = mine.computeIfAbsent(d, k -> new Mine());
        boolean first = m.lastOk == Long.MIN_VALUE && m.error == null && !m.ok;
        boolean changed = first;
        if (e.ok()) {
            m.lastOk = now;
            m.error = null;
            if (!m.ok) {
                m.ok = true;
                m.okSince = now;
                changed = true;
                if (!first) {
                    n.decide(Kind.STORAGE_BACK, null, n.self(), "datastore " + d + " answers again");
                }
            }
        } else {
            m.error = e.error() == null ? "the round failed" : e.error();
            long timeout = Peers.ms(n.settings().storageTimeoutMs());
            if (m.ok && now - m.lastOk >= timeout) {
                m.ok = false;
                m.okSince = Long.MIN_VALUE;
                changed = true;
                n.decide(Kind.STORAGE_LOST, null, n.self(), "datastore " + d + " has not answered for "
                        + (now - m.lastOk) / 1_000_000L + " ms: " + m.error);
            } else if (first) {
                n.decide(Kind.STORAGE_LOST, null, n.self(), "datastore " + d + " does not answer: " + m.error);
            }
        }
        Map<HostId, Slot> seen = slots.computeIfAbsent(d, k -> new HashMap<>());
        // a live writer's slot advances every interval: one not seen to advance for two intervals is
        // silent (a host that lost power is then fenced within a second or so of its suspicion, not
        // after a storage timeout); and a host that self-fences at its lease's end says so (released)
        // in its next slot, up to two intervals later: its armed deadline counts that much longer
        long twoIntervals = 2 * n.settings().storageIntervalMs();
        Signals signals = beats.computeIfAbsent(d, k -> {
            Signals fresh = new Signals(twoIntervals, twoIntervals, "its storage heartbeat on " + k);
            fresh.onUntilChanged((h, until) -> untilChanged.changed(h, aliveUntil(h)));
            return fresh;
        });
        for (HostSignal s : e.slots()) {
            if (s.from().equals(n.self())) {
                continue;
            }
            Slot slot = seen.computeIfAbsent(s.from(), k -> new Slot());
            if (slot.last != null && s.isAfter(slot.last)) {
                slot.advancedAt = now;
                signals.advanced(s, now);
                if (alarmed.remove(notShared(d, s.from()))) {
                    n.decide(Kind.ALARM, null, s.from(), "datastore " + d + ": this host sees " + s.from()
                            + "'s storage heartbeat now");
                }
            }
            if (slot.last == null || s.isAfter(slot.last)) {
                slot.last = s;
            }
        }
        return changed;
    }

    /** What this host's record should say of the datastores it heartbeats on (null: none yet). */
    Map<String, Boolean> reach() {
        if (mine.isEmpty()) {
            return null;
        }
        Map<String, Boolean> out = new TreeMap<>();
        mine.forEach((d, m) -> out.put(d, m.ok));
        return Collections.unmodifiableMap(out);
    }

    /**
     * Whether this host reaches every datastore of {@code names} now. {@code null} when it cannot tell:
     * it has no storage heartbeat on one of them.
     */
    Boolean reaches(List<String> names) {
        for (String d : names) {
            Mine m = mine.get(d);
            if (m == null) {
                return null;
            }
            if (!m.ok) {
                return false;
            }
        }
        return names.isEmpty() ? null : Boolean.TRUE;
    }

    /** The last round that succeeded on {@code d}, MIN_VALUE if none did or it is not heartbeated here. */
    long lastOk(String d) {
        Mine m = mine.get(d);
        return m == null ? Long.MIN_VALUE : m.lastOk;
    }

    // ---------------------------------------------------------------- liveness

    /**
     * Why {@code h} is alive by its storage heartbeat on some datastore, or null: never seen advance,
     * still for a storage timeout, lapsed, or past the deadline it stated (counted from when this host
     * saw the slot advance, so never earlier than the host's own deadline).
     */
    String alive(HostId h, long now) {
        for (Signals s : beats.values()) {
            String why = s.alive(h, now);
            if (why != null) {
                return why;
            }
        }
        return null;
    }

    /** Until when (exclusive) {@code h}'s storage heartbeat on some datastore shows it alive: {@link #alive} is non-null exactly before. */
    long aliveUntil(HostId h) {
        long until = Long.MIN_VALUE;
        for (Signals s : beats.values()) {
            until = Math.max(until, s.aliveUntil(h));
        }
        return until;
    }

    /** Tells {@code to}, from now on, {@link #aliveUntil} of each host whose slot advanced. */
    void onUntilChanged(Signals.UntilChanged to) {
        this.untilChanged = java.util.Objects.requireNonNull(to, "to");
    }

    /** When {@code h}'s slot last advanced on any datastore, MIN_VALUE if never. */
    long lastAdvance(HostId h) {
        long last = Long.MIN_VALUE;
        for (Signals s : beats.values()) {
            last = Math.max(last, s.lastArrival(h));
        }
        return last;
    }

    /** Forgets {@code h} (gone from the cluster state). */
    void remove(HostId h) {
        for (Map<HostId, Slot> m : slots.values()) {
            m.remove(h);
        }
        for (Signals s : beats.values()) {
            s.remove(h);
        }
        for (Map<HostId, Long> m : bothSince.values()) {
            m.remove(h);
        }
    }

    // ---------------------------------------------------------------- checks

    /**
     * The not-shared check, every tick: a peer whose host record says it reaches a datastore this host
     * reaches too, while its slot has not advanced here for {@link #NOT_SHARED_TIMEOUTS} storage
     * timeouts, writes to other storage under the same name (a local directory, another LUN). Said
     * once, loudly; it changes nothing else (placement trusts each host's own word for its reach).
     */
    void checkShared(long now) {
        long limit = Peers.ms(n.settings().storageTimeoutMs()) * NOT_SHARED_TIMEOUTS;
        for (Map.Entry<String, Mine> e : mine.entrySet()) {
            String d = e.getKey();
            Map<HostId, Long> since = bothSince.computeIfAbsent(d, k -> new HashMap<>());
            for (HostId p : n.view().hostIds()) {
                if (p.equals(n.self())) {
                    continue;
                }
                Versioned<HostRecord> hr = n.view().host(p);
                boolean theirs = hr != null && hr.value().datastores() != null
                        && Boolean.TRUE.equals(hr.value().datastores().get(d)) && n.view().liveSession(p) != 0;
                if (!e.getValue().ok || !theirs) {
                    since.remove(p);
                    continue;
                }
                long from = since.computeIfAbsent(p, k -> now);
                Slot slot = slots.getOrDefault(d, Map.of()).get(p);
                long advanced = slot == null ? Long.MIN_VALUE : slot.advancedAt;
                if (advanced >= from) {
                    since.put(p, now); // seen: count again from here
                    continue;
                }
                if (now - from >= limit && alarmed.add(notShared(d, p))) {
                    n.decide(Kind.ALARM, null, p, "datastore " + d + " is not shared: " + p
                            + " says it writes its storage heartbeat there, but this host has not seen it for "
                            + (now - from) / 1_000_000L + " ms (check that both hosts' storage.datastores " + d
                            + " reach the same device or file)");
                }
            }
        }
    }

    /**
     * On the leader, every tick: a datastore that hosts heartbeat on but none reaches is an alarm
     * (its VMs stay where they are, paused or not: no host could run them). Said once per loss.
     */
    void checkCluster() {
        long stamp = n.view().hostsChanged();
        if (stamp == clusterChecked) {
            return; // what it finds depends on the host records alone, and none changed since
        }
        clusterChecked = stamp;
        Map<String, Boolean> any = new TreeMap<>();
        for (HostId h : n.view().hostIds()) {
            Versioned<HostRecord> hr = n.view().host(h);
            if (hr == null || hr.value().datastores() == null) {
                continue;
            }
            hr.value().datastores().forEach((d, ok) -> any.merge(d, ok, Boolean::logicalOr));
        }
        Set<String> down = new TreeSet<>();
        any.forEach((d, ok) -> {
            if (!ok) {
                down.add(d);
            }
        });
        for (String d : down) {
            if (alarmed.add(unreachable(d))) {
                n.decide(Kind.ALARM, null, null, "datastore " + d + " is reached by no host: its VMs can run nowhere "
                        + "until it answers again (nothing is fenced for it)");
            }
        }
        alarmed.removeIf(a -> a.startsWith("unreachable ") && !down.contains(a.substring("unreachable ".length())));
    }

    private static String notShared(String d, HostId p) {
        return "not-shared " + d + " " + p;
    }

    private static String unreachable(String d) {
        return "unreachable " + d;
    }
}
