package io.havn.sim.world;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Who can reach whom: endpoints are host names and the coordination servers zk1..zk3. Isolation
 * cuts one endpoint off; a partition splits endpoints into groups (unlisted ones in the first); a
 * cut removes one link, both ways or one way only; loss drops datagrams at random; delay adds
 * latency on every link. Reachability is directional: {@code reachable(a, b)} is what a sends to b.
 */
public final class SimNetwork {
    public static final long BASE_LATENCY_NANOS = 300_000L;

    private final SplittableRandom random;
    private final Set<String> isolated = new HashSet<>();
    private final Map<String, Integer> group = new HashMap<>();
    /** Cut links, directed: "a>b" means what a sends never reaches b. */
    private final Set<String> cut = new HashSet<>();
    private double loss;
    private long extraDelayNanos;

    public SimNetwork(SplittableRandom random) {
        this.random = random;
    }

    public boolean reachable(String a, String b) {
        if (isolated.contains(a) || isolated.contains(b)) {
            return false;
        }
        if (!cut.isEmpty() && cut.contains(a + ">" + b)) {
            return false;
        }
        return group.getOrDefault(a, 0).intValue() == group.getOrDefault(b, 0).intValue();
    }

    /** Whether a and b reach each other both ways (what a connection, such as a ZooKeeper client's, needs). */
    public boolean connected(String a, String b) {
        return reachable(a, b) && reachable(b, a);
    }

    /** Cuts what {@code from} sends to {@code to}, and with {@code bothWays} what it receives from it too. */
    public void cut(String from, String to, boolean bothWays) {
        cut.add(from + ">" + to);
        if (bothWays) {
            cut.add(to + ">" + from);
        }
    }

    /** Whether a datagram from a to b arrives (reachable, and not lost). Draws randomness only when loss is on. */
    public boolean delivers(String a, String b) {
        return reachable(a, b) && (loss <= 0 || random.nextDouble() >= loss);
    }

    public long latencyNanos() {
        return BASE_LATENCY_NANOS + extraDelayNanos;
    }

    public void isolate(String endpoint) {
        isolated.add(endpoint);
    }

    public void reconnect(String endpoint) {
        isolated.remove(endpoint);
    }

    public boolean isolated(String endpoint) {
        return isolated.contains(endpoint);
    }

    /** Groups of endpoints; whatever no group lists belongs to the first. */
    public void partition(List<Set<String>> groups) {
        group.clear();
        for (int i = 1; i < groups.size(); i++) {
            for (String e : groups.get(i)) {
                group.put(e, i);
            }
        }
    }

    public void heal() {
        isolated.clear();
        group.clear();
        cut.clear();
        loss = 0;
        extraDelayNanos = 0;
    }

    public void setLoss(double fraction) {
        loss = fraction;
    }

    public void setDelay(long nanos) {
        extraDelayNanos = nanos;
    }
}
