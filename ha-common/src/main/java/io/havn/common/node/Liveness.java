package io.havn.common.node;

import io.havn.common.model.HostId;
import java.util.function.LongToIntFunction;

/**
 * Rule 5 from this node's view: every voter's health (the peers from their heartbeats, this host
 * from its own confirmations), whether a strict majority is healthy or freshly lost, and since when.
 * It only counts; the agent freezes or self-fences on it, the manager fences and hands over on it.
 */
final class Liveness {
    private final NodeContext c;
    private final Peers peers;
    private final Signals signals;
    private final Datastores datastores;
    /** This host's rule 5 x: time since its last confirmation (from its lease). */
    private final LongToIntFunction selfUnconfirmedMs;
    private long healthySince = Long.MIN_VALUE;
    /**
     * Whether health was gossiped at any tick of the current healthy streak: then what counted may
     * have been a gossip timeout old, and the streak must last the longer settle time, even if the
     * cluster now heartbeats all to all.
     */
    private boolean gossipedInStreak;
    /** Since when this node has not seen a strict majority healthy (MIN_VALUE while it does). */
    private long unhealthySince = Long.MIN_VALUE;

    Liveness(NodeContext c, Peers peers, Signals signals, Datastores datastores, LongToIntFunction selfUnconfirmedMs) {
        this.c = c;
        this.peers = peers;
        this.signals = signals;
        this.datastores = datastores;
        this.selfUnconfirmedMs = selfUnconfirmedMs;
    }

    Peers peers() {
        return peers;
    }

    /** The peers' second liveness signal, apart from their daemons. */
    Signals signals() {
        return signals;
    }

    /** The peers' storage heartbeats. */
    Datastores datastores() {
        return datastores;
    }

    /**
     * Why {@code h}'s host is alive by a signal apart from its daemon's heartbeats (its signal sender,
     * or its storage heartbeat), or null when neither shows it alive. It only ever withholds a fence.
     */
    String aliveApart(HostId h, long now) {
        String why = signals.alive(h, now);
        if (why == null) {
            why = datastores.alive(h, now);
        }
        if (why == null && peers.aliveApartPassedOn(h, Long.MIN_VALUE, now)) {
            why = "a peer passed on that its signal or storage heartbeat showed it alive at most "
                    + peers.apartAgeMs(h, now) + " ms ago";
        }
        return why;
    }

    /**
     * Whether a signal apart from {@code h}'s daemon arrived at or after {@code t} and shows it alive now,
     * or a peer passed on such a sign from {@code t} or later.
     */
    boolean aliveApartSince(HostId h, long t, long now) {
        return signals.lastArrival(h) >= t && signals.alive(h, now) != null
                || datastores.lastAdvance(h) >= t && datastores.alive(h, now) != null
                || peers.aliveApartPassedOn(h, t, now);
    }

    /** Rule 5's count now, from this node's view: every peer's health, and its own once it votes. */
    Quorum quorum(long now) {
        Quorum.Tally votes = new Quorum.Tally();
        peers.vote(votes, now);
        if (c.view().host(c.self()) != null) { // this host votes once it is registered in the cluster state
            votes.add(health(c.self(), now));
        }
        return votes.of(c.view().hostIds().size());
    }

    /** Whether a strict majority of voters is freshly lost from this node's view now (rule 5's freeze). */
    boolean majorityLost(long now) {
        return quorum(now).majorityLost();
    }

    Peers.Health health(HostId h, long now) {
        if (h.equals(c.self())) {
            return selfUnconfirmedMs.applyAsInt(now) <= c.settings().suspectAfterMs() ? Peers.Health.HEALTHY
                    : Peers.Health.LOST;
        }
        return peers.health(h, now);
    }

    /** Takes this tick's count: since when a strict majority has been healthy, or not. */
    void tick(long now) {
        if (!quorum(now).majorityHealthy()) {
            healthySince = Long.MIN_VALUE;
            if (unhealthySince == Long.MIN_VALUE) {
                unhealthySince = now;
            }
        } else {
            unhealthySince = Long.MIN_VALUE;
            if (healthySince == Long.MIN_VALUE) {
                healthySince = now;
                gossipedInStreak = false;
            }
            gossipedInStreak |= peers.gossiped();
        }
    }

    /** How long this node has not seen a strict majority healthy, 0 while it does. */
    long unhealthyForNanos(long now) {
        return unhealthySince == Long.MIN_VALUE ? 0 : now - unhealthySince;
    }

    /** Whether a strict majority has been healthy continuously for the settle time (rule 5). */
    boolean settled(long now) {
        return healthySince != Long.MIN_VALUE && now - healthySince >= Peers.ms(settleMs());
    }

    /**
     * The settle time now: two windows of what counts for rule 5 (heartbeat or gossip timeouts) plus
     * W; the gossip timeout's if health is gossiped now or was at any tick of the healthy streak.
     */
    long settleMs() {
        return c.settings().settleMs(peers.gossiped() || gossipedInStreak);
    }
}
