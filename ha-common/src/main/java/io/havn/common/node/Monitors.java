package io.havn.common.node;

import io.havn.common.model.HostId;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;

/**
 * Who heartbeats whom: each host's monitors, the peers it exchanges heartbeats with. A cluster of
 * at most {@code monitors + 1} hosts (or {@code monitors} 0) heartbeats all to all, as it always
 * did. A larger one places its hosts on a ring by a hash of their names; each host is linked to
 * its two ring neighbours and, by {@code monitors / 2 - 1} chords, to the hosts that follow points
 * its name hashes to, and every link goes both ways. So each host heartbeats about
 * {@code monitors} peers whatever the cluster's size, the links are the same on every host that
 * sees the same hosts, a host joining or leaving moves only the links near it, and any host is a
 * few hops from any other (the chords make the ring a random graph), which bounds how old gossiped
 * health gets. It depends on the set of hosts alone, so an adapter can ask it too.
 */
public final class Monitors {
    /** Points per host on the ring that chords land on. */
    private static final int VIRTUAL = 16;

    private Monitors() {
    }

    /** Whether {@code hosts} registered hosts heartbeat all to all with {@code monitors}. */
    public static boolean allToAll(int hosts, int monitors) {
        return monitors <= 0 || hosts - 1 <= monitors;
    }

    /**
     * {@code self}'s monitors among {@code hosts} (self may or may not be among them), in name
     * order: every other host when they heartbeat all to all.
     */
    public static List<HostId> of(Collection<HostId> hosts, HostId self, int monitors) {
        TreeSet<HostId> all = new TreeSet<>(Comparator.comparing(HostId::value));
        all.addAll(hosts);
        all.add(self);
        List<HostId> sorted = new ArrayList<>(all);
        return of(sorted, sorted.indexOf(self), monitors);
    }

    /**
     * The monitors of {@code all.get(self)}, in name order, where {@code all} is every host in name
     * order (as {@link HostId#compareTo} orders them), without duplicates.
     */
    static List<HostId> of(List<HostId> all, int self, int monitors) {
        int n = all.size();
        List<HostId> out = new ArrayList<>(Math.min(n, Math.max(monitors, 0) + 8));
        if (allToAll(n, monitors)) {
            for (int i = 0; i < n; i++) {
                if (i != self) {
                    out.add(all.get(i));
                }
            }
            return out;
        }
        for (int k : graph(all, monitors)[self]) {
            out.add(all.get(k));
        }
        return out;
    }

    /** A set of hosts and the monitors setting: what the links depend on. */
    private record Members(List<HostId> hosts, int monitors) { }

    /**
     * The last graphs drawn, by the hosts they were drawn for: every host of a cluster draws the same
     * one, and one daemon draws it again only when the hosts change, so a few suffice (the simulator
     * runs many hosts in one process; what each gets is the same as drawing it anew).
     */
    private static final java.util.Map<Members, int[][]> GRAPHS = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(java.util.Map.Entry<Members, int[][]> eldest) {
            return size() > 8;
        }
    };

    /** Every host's monitors, as indices into {@code all} (name order), each row in name order. */
    private static int[][] graph(List<HostId> all, int monitors) {
        Members key = new Members(all, monitors);
        synchronized (GRAPHS) {
            int[][] g = GRAPHS.get(key);
            if (g != null) {
                return g;
            }
        }
        int[][] g = draw(all.toArray(new HostId[0]), monitors);
        synchronized (GRAPHS) {
            GRAPHS.put(new Members(List.copyOf(all), monitors), g);
        }
        return g;
    }

    /** Draws the links among {@code ring} (every host, in name order): ring neighbours and chords, both ways. */
    private static int[][] draw(HostId[] ring, int monitors) {
        int n = ring.length;
        long[] hash = new long[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            hash[i] = hash(ring[i].value(), 0);
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> hash[a] != hash[b] ? Long.compareUnsigned(hash[a], hash[b])
                : ring[a].value().compareTo(ring[b].value()));
        // chords land on the owners of points spread over the ring, VIRTUAL per host, so that every
        // host is the end of about as many chords as it starts
        long[] vpoints = new long[n * VIRTUAL];
        int[] owner = new int[n * VIRTUAL];
        Integer[] vorder = new Integer[n * VIRTUAL];
        long[] vhash = new long[n * VIRTUAL];
        for (int k = 0; k < n; k++) {
            for (int j = 0; j < VIRTUAL; j++) {
                vhash[k * VIRTUAL + j] = hash(ring[order[k]].value(), 1000 + j);
                vorder[k * VIRTUAL + j] = k * VIRTUAL + j;
            }
        }
        Arrays.sort(vorder, (a, b) -> Long.compareUnsigned(vhash[a], vhash[b]) != 0
                ? Long.compareUnsigned(vhash[a], vhash[b]) : Integer.compare(a, b));
        for (int i = 0; i < vorder.length; i++) {
            vpoints[i] = vhash[vorder[i]];
            owner[i] = vorder[i] / VIRTUAL;
        }
        List<TreeSet<Integer>> links = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            links.add(new TreeSet<>());
        }
        int chords = monitors / 2 - 1;
        for (int k = 0; k < n; k++) {
            link(links, order[k], order[(k + 1) % n]);
            String name = ring[order[k]].value();
            for (int c = 1; c <= chords; c++) {
                link(links, order[k], order[chord(vpoints, owner, n, k, hash(name, c))]);
            }
        }
        int[][] g = new int[n][];
        for (int i = 0; i < n; i++) {
            links.get(i).remove(i);
            g[i] = links.get(i).stream().mapToInt(Integer::intValue).toArray();
        }
        return g;
    }

    private static void link(List<TreeSet<Integer>> links, int a, int b) {
        links.get(a).add(b);
        links.get(b).add(a);
    }

    /**
     * The ring position a chord from position {@code from} to {@code point} lands on: the owner of the
     * first virtual point at or after it, skipping the host itself and its two ring neighbours.
     */
    private static int chord(long[] vpoints, int[] owner, int n, int from, long point) {
        int at = firstAtOrAfter(vpoints, point);
        for (int step = 0; step < vpoints.length; step++) {
            int k = owner[(at + step) % vpoints.length];
            int d = Math.floorMod(k - from, n);
            if (d != 0 && d != 1 && d != n - 1) {
                return k;
            }
        }
        return (from + 1) % n; // unreachable with more than three hosts
    }

    private static int firstAtOrAfter(long[] points, long point) {
        int lo = 0;
        int hi = points.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (Long.compareUnsigned(points[mid], point) < 0) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo == points.length ? 0 : lo;
    }

    /** A 64-bit hash of {@code name} and {@code salt} (FNV-1a, then a finaliser that spreads the bits). */
    static long hash(String name, int salt) {
        long h = 0xcbf29ce484222325L ^ (salt * 0x9E3779B97F4A7C15L);
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    /** A 64-bit hash of the set of {@code hosts} in name order: two hosts agree on it when they see the same hosts. */
    public static long membersHash(List<HostId> hostsInNameOrder) {
        long h = 0x84222325cbf29ce4L;
        for (HostId id : hostsInNameOrder) {
            h = (h ^ hash(id.value(), 7)) * 0x100000001b3L;
        }
        return h;
    }
}
