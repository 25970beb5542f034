package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.port.ViewScope;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Which VM records a session's {@link StateMirror} reads, keeps and passes on ({@link ViewScope}),
 * and what it knows of this host's index entries ({@code hostvms/<host>}). It decides; the mirror
 * reads and writes.
 *
 * <p>Index entries are hints, and only this host deletes its own, so a deletion must never lose
 * one that a record still stands behind. An entry is deleted only on a read of its record that
 * was issued after the listing that showed the entry: ZooKeeper answers one session's requests in
 * the order they were sent, so that read sees the record at least as the multi that created the
 * entry left it, and if it names this host no more, the entry is spent. An entry created later is
 * not yet known when the read is issued, and stays. Requests are ordered by a counter of reads
 * issued ({@link #stamp()}), not by time.
 *
 * <p>Threading: confined to the coordinator's loop thread, like its mirror.
 */
final class MirrorScope {
    private final HostId self;
    private ViewScope scope;
    private Set<VmId> followed;
    /** This host's index entries by VM: each name with the stamp current when a listing first showed it. */
    private final Map<VmId, Map<String, Long>> entries = new HashMap<>();
    /** Reads issued so far: a read whose stamp is above an entry's was sent after the entry was listed. */
    private long issued;
    /** Followed VMs whose first record (or its absence) is still to be passed on. */
    private final Set<VmId> unanswered = new HashSet<>();
    /**
     * The reads a switch to WHOLE waits for before it says every record is in: the listing of
     * {@code vms} and each record read since; null when no switch is loading.
     */
    private Set<String> loading;

    MirrorScope(HostId self, ViewScope scope, Set<VmId> followed) {
        this.self = self;
        this.scope = scope;
        this.followed = Set.copyOf(followed);
    }

    ViewScope scope() {
        return scope;
    }

    boolean whole() {
        return scope == ViewScope.WHOLE;
    }

    /** Sets the scope; whether it changed. A switch to OWN ends the loading of a switch to WHOLE. */
    boolean set(ViewScope s) {
        if (s == scope) {
            return false;
        }
        scope = s;
        if (s == ViewScope.OWN) {
            loading = null;
        }
        return true;
    }

    Set<VmId> followed() {
        return new TreeSet<>(followed);
    }

    boolean follows(VmId vm) {
        return followed.contains(vm);
    }

    /**
     * Follows {@code vms} from now on; returns the VMs newly followed, in id order. When
     * {@code answer}, each of them is owed one VmChanged ({@link #answered}).
     */
    List<VmId> follow(Set<VmId> vms, boolean answer) {
        List<VmId> added = new ArrayList<>();
        for (VmId v : new TreeSet<>(vms)) {
            if (!followed.contains(v)) {
                added.add(v);
            }
        }
        followed = Set.copyOf(vms);
        unanswered.retainAll(followed);
        if (answer) {
            unanswered.addAll(added);
        }
        return added;
    }

    /** Whether a VmChanged of {@code vm} is still owed to a follow; it is not from now on. */
    boolean answered(VmId vm) {
        return unanswered.remove(vm);
    }

    /** Whether the record of {@code vm} names this host, as owner or migration target. */
    boolean names(VmRecord r) {
        return r != null && r.namesHost(self);
    }

    /** Whether a change of {@code vm} from {@code before} to {@code after} (null: absent) is passed on. */
    boolean passes(VmId vm, VmRecord before, VmRecord after) {
        return whole() || followed.contains(vm) || names(before) || names(after);
    }

    /** Whether the mirror keeps {@code r}, the record of {@code vm}, once it has passed it on. */
    boolean keeps(VmId vm, VmRecord r) {
        return whole() || followed.contains(vm) || names(r);
    }

    /**
     * Whether a change of {@code vm}'s record is worth a read: in WHOLE every one; in OWN when the
     * mirror keeps it ({@code held}), follows it, or the index has an entry for it still.
     */
    boolean reads(VmId vm, boolean held) {
        return whole() || held || followed.contains(vm) || entries.containsKey(vm);
    }

    /** A fresh stamp for a read about to be issued. */
    long stamp() {
        return ++issued;
    }

    /**
     * The index as now listed ({@code names}: entries of {@code hostvms/<self>}); returns the VMs
     * with an entry not listed before, in id order: their records are to be read. Names that are no
     * entry are skipped.
     */
    List<VmId> listed(List<String> names) {
        Map<VmId, Map<String, Long>> now = new HashMap<>();
        Set<VmId> fresh = new TreeSet<>();
        for (String n : names) {
            VmId v = CoordPaths.parseIndexEntry(n).orElse(null);
            if (v == null) {
                continue;
            }
            Long seen = entries.getOrDefault(v, Map.of()).get(n);
            if (seen == null) {
                seen = issued;
                fresh.add(v);
            }
            now.computeIfAbsent(v, k -> new TreeMap<>()).put(n, seen);
        }
        entries.clear();
        entries.putAll(now);
        return new ArrayList<>(fresh);
    }

    /**
     * The entries of {@code vm} that a read with {@code stamp}, which found the record not naming
     * this host, shows spent: those listed before it was issued. They are forgotten here; one that
     * survives its deletion shows up as new at the next listing, and is read again.
     */
    List<String> spent(VmId vm, long stamp) {
        Map<String, Long> es = entries.get(vm);
        if (es == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        es.entrySet().removeIf(e -> {
            if (e.getValue() < stamp) {
                out.add(e.getKey());
                return true;
            }
            return false;
        });
        if (es.isEmpty()) {
            entries.remove(vm);
        }
        return out;
    }

    /** A switch to WHOLE starts loading: it waits for the listing of {@code vms} first. */
    void loadWhole() {
        loading = new HashSet<>(Set.of(CoordPaths.VMS));
    }

    /** Whether a switch to WHOLE is still loading. */
    boolean loadingWhole() {
        return loading != null;
    }

    /** A read of {@code path} was issued: a loading switch to WHOLE waits for it too. */
    void issued(String path) {
        if (loading != null) {
            loading.add(path);
        }
    }

    /** A read of {@code path} came back; whether that completes the loading of a switch to WHOLE. */
    boolean arrived(String path) {
        if (loading == null || !loading.remove(path) || !loading.isEmpty()) {
            return false;
        }
        loading = null;
        return true;
    }
}
