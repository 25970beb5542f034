package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class MonitorsTest {
    private static List<HostId> hosts(int n) {
        List<HostId> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            out.add(new HostId("node" + i));
        }
        return out;
    }

    private static Map<HostId, List<HostId>> graph(List<HostId> all, int monitors) {
        Map<HostId, List<HostId>> g = new HashMap<>();
        for (HostId h : all) {
            g.put(h, Monitors.of(all, h, monitors));
        }
        return g;
    }

    @Test
    void aClusterOfAtMostMonitorsPlusOneHostsHeartbeatsAllToAll() {
        List<HostId> nine = hosts(9);
        assertTrue(Monitors.allToAll(9, 8));
        assertEquals(8, Monitors.of(nine, new HostId("node3"), 8).size());
        assertFalse(Monitors.allToAll(10, 8));
        assertTrue(Monitors.of(hosts(10), new HostId("node3"), 8).size() < 9, "ten hosts with 8 monitors: not all");
        assertTrue(Monitors.allToAll(1000, 0), "0 monitors: all to all at any size");
        assertEquals(999, Monitors.of(hosts(1000), new HostId("node1"), 0).size());
    }

    @Test
    void linksGoBothWaysAndNoHostIsLinkedToItself() {
        List<HostId> all = hosts(200);
        Map<HostId, List<HostId>> g = graph(all, 8);
        for (HostId h : all) {
            assertFalse(g.get(h).contains(h));
            for (HostId m : g.get(h)) {
                assertTrue(g.get(m).contains(h), h + " heartbeats " + m + " but not the other way");
            }
        }
    }

    @Test
    void everyHostHasAboutMonitorsPeersAndEveryOtherIsAFewHopsAwayAtAThousandHosts() {
        List<HostId> all = hosts(1000);
        Map<HostId, List<HostId>> g = graph(all, 8);
        int max = 0;
        long sum = 0;
        for (List<HostId> m : g.values()) {
            max = Math.max(max, m.size());
            sum += m.size();
            assertTrue(m.size() >= 2, "a ring neighbour on each side at least");
        }
        double mean = sum / 1000.0;
        assertTrue(mean >= 6 && mean <= 9, "mean monitors " + mean);
        assertTrue(max <= 20, "max monitors " + max);
        // every host reaches every other, in few hops (what bounds the age of gossiped health)
        int diameter = 0;
        for (HostId from : List.of(all.get(0), all.get(499), all.get(999))) {
            Map<HostId, Integer> hops = new HashMap<>();
            ArrayDeque<HostId> q = new ArrayDeque<>(List.of(from));
            hops.put(from, 0);
            while (!q.isEmpty()) {
                HostId h = q.poll();
                for (HostId m : g.get(h)) {
                    if (hops.putIfAbsent(m, hops.get(h) + 1) == null) {
                        q.add(m);
                    }
                }
            }
            assertEquals(1000, hops.size(), "every host reached from " + from);
            diameter = Math.max(diameter, Collections.max(hops.values()));
        }
        assertTrue(diameter <= 7, "hops from the farthest host: " + diameter);
    }

    @Test
    void theLinksDependOnTheSetOfHostsAloneNotOnTheirOrder() {
        List<HostId> all = hosts(60);
        List<HostId> shuffled = new ArrayList<>(all);
        Collections.shuffle(shuffled, new Random(3));
        HostId h = new HostId("node17");
        assertEquals(Monitors.of(all, h, 6), Monitors.of(shuffled, h, 6));
        assertTrue(Monitors.membersHash(all) != Monitors.membersHash(all.subList(0, 59)), "another set, another hash");
    }

    @Test
    void aHostJoiningMovesOnlyTheLinksNearIt() {
        List<HostId> before = hosts(300);
        List<HostId> after = new ArrayList<>(before);
        after.add(new HostId("node301"));
        int changed = 0;
        for (HostId h : before) {
            Set<HostId> a = new HashSet<>(Monitors.of(before, h, 8));
            Set<HostId> b = new HashSet<>(Monitors.of(after, h, 8));
            b.remove(new HostId("node301"));
            if (!a.equals(b)) {
                changed++;
            }
        }
        assertTrue(changed <= 20, changed + " of 300 hosts changed monitors other than the newcomer");
    }
}
