package io.havn.common.node;

import java.util.Collection;

/**
 * Rule 5's count at one moment, as one node sees it: of {@code hosts} registered hosts, how many
 * are healthy and how many freshly lost (the rest are unknown and count as neither). The voters
 * are the hosts, plus one vote for the coordination service when the hosts are even; that vote
 * belongs to the hosts whose leases are valid, so the healthy side counts it while any host is
 * healthy and the lost side only when every host is lost.
 *
 * @param hosts   the hosts registered in the cluster state
 * @param healthy the hosts healthy now (fresh, confirmed within suspectAfter, not frozen)
 * @param lost    the hosts freshly lost now (fresh, and unconfirmed for longer, or frozen)
 */
record Quorum(int hosts, int healthy, int lost) {
    Quorum {
        if (hosts < 0 || healthy < 0 || lost < 0) {
            throw new IllegalArgumentException("counts must be >= 0: hosts " + hosts + ", healthy " + healthy
                    + ", lost " + lost);
        }
    }

    /** Counts {@code votes}, one health per host that votes (unknown ones count as neither). */
    static Quorum of(int hosts, Collection<Peers.Health> votes) {
        Tally t = new Tally();
        for (Peers.Health h : votes) {
            t.add(h);
        }
        return t.of(hosts);
    }

    /** Counts votes one at a time, so rule 5 is counted every tick without a list of healths. */
    static final class Tally {
        private int healthy;
        private int lost;

        void add(Peers.Health h) {
            if (h == Peers.Health.HEALTHY) {
                healthy++;
            } else if (h == Peers.Health.LOST) {
                lost++;
            }
        }

        Quorum of(int hosts) {
            return new Quorum(hosts, healthy, lost);
        }
    }

    /** The number of voters: the hosts (at least one), plus the coordination service's vote when they are even. */
    int voters() {
        int n = Math.max(1, hosts);
        return n % 2 == 0 ? n + 1 : n;
    }

    /** Whether a strict majority of voters is healthy. */
    boolean majorityHealthy() {
        int votes = healthy;
        if (hosts % 2 == 0 && healthy > 0) {
            votes++; // the coordination service's vote, held by any host with a valid lease
        }
        return 2 * votes > voters();
    }

    /** Whether a strict majority of voters is freshly lost (rule 5's freeze). */
    boolean majorityLost() {
        int votes = lost;
        boolean allLost = hosts != 0 && lost == hosts;
        if (hosts % 2 == 0 && allLost) {
            votes++; // nobody holds a valid lease, so nobody holds the coordination service's vote
        }
        return 2 * votes > voters();
    }
}
