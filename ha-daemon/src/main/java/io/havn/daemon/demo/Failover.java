package io.havn.daemon.demo;

import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision.Kind;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * One failover as it happens, from the power loss of {@code victim} until every VM it ran runs on
 * a survivor again: the survivors' decisions as their logs record them, and what the cluster
 * state shows (polled from a survivor's admin socket), one line each. Then the time of each phase:
 * detect (the kill to the leader's suspicion), fence (to the fence device's confirmation, or the
 * expiry of the victim's ZooKeeper session when it has no device), restart (to the VM started on
 * its new host), and the total per VM.
 */
final class Failover {
    private static final Duration POLL = Duration.ofMillis(100);
    private static final Duration ASK_TIMEOUT = Duration.ofSeconds(2);

    private final Console console;
    private final Cluster cluster;
    private final String leader;
    private final String victim;
    private final List<String> survivors;
    private final Map<VmId, DemoVm> lost = new LinkedHashMap<>();
    private final Map<VmId, String> names;
    private final Instant killedAt;

    private DecisionLine detected;
    private Instant fencedAt;
    private String fencedHow;
    private Instant sessionGoneAt;
    private final Map<VmId, DecisionLine> started = new LinkedHashMap<>();

    /**
     * @param lost   the VMs that ran on the victim
     * @param names  every VM's name by id
     */
    Failover(Console console, Cluster cluster, String leader, String victim, List<DemoVm> lost,
             Map<VmId, String> names, Instant killedAt) {
        this.console = console;
        this.cluster = cluster;
        this.leader = leader;
        this.victim = victim;
        this.survivors = Cluster.HOSTS.stream().filter(h -> !h.equals(victim)).toList();
        lost.forEach(v -> this.lost.put(v.id(), v));
        this.names = names;
        this.killedAt = killedAt;
    }

    /** Follows the failover until every lost VM runs again; the last cluster state seen. */
    ClusterState watch(Duration bound) throws StepFailed, IOException, InterruptedException {
        long deadline = System.nanoTime() + bound.toNanos();
        ClusterState state = null;
        while (true) {
            cluster.requireAlive();
            // the state first: every decision it shows is then in the logs read next, and both print in time order
            ClusterState s = status();
            Instant seenAt = Instant.now();
            List<DecisionLine> seen = new ArrayList<>();
            for (String h : survivors) {
                for (DecisionLine d : cluster.newDecisions(h)) {
                    if (!d.at().isBefore(killedAt.truncatedTo(ChronoUnit.MILLIS))) {
                        seen.add(d);
                    }
                }
            }
            seen.sort(Comparator.comparing(DecisionLine::at));
            boolean stateShown = s == null;
            for (DecisionLine d : seen) {
                if (!stateShown && d.at().isAfter(seenAt)) {
                    onState(s, seenAt);
                    stateShown = true;
                }
                onDecision(d);
            }
            if (!stateShown) {
                onState(s, seenAt);
            }
            if (s != null) {
                state = s;
            }
            if (state != null && allRunning(state)) {
                console.event("every VM of " + victim + " runs again, on a survivor");
                return state;
            }
            if (System.nanoTime() > deadline) {
                throw new StepFailed("the VMs of " + victim + " did not all run again within " + bound.toSeconds()
                        + " s; still waiting for " + waitingFor(state));
            }
            cluster.pause(POLL);
        }
    }

    /** The state from the leader, or from another survivor if the leader does not answer. */
    private ClusterState status() {
        List<String> ask = new ArrayList<>(survivors);
        ask.sort(Comparator.comparing(h -> !h.equals(leader)));
        for (String h : ask) {
            try {
                return AdminClient.status(cluster.dir().socket(h), ASK_TIMEOUT);
            } catch (IOException e) {
                // try the next one; the next poll asks again
            }
        }
        return null;
    }

    private void onDecision(DecisionLine d) {
        console.event(d.at(), describe(d));
        if (victim.equals(d.subject()) && detected == null && (d.kind() == Kind.SUSPECT || d.kind() == Kind.FENCE_START)
                && d.host().equals(leader)) {
            detected = d;
        }
        if (d.kind() == Kind.FENCE_OFF && victim.equals(d.subject()) && fencedAt == null) {
            fencedAt = d.at();
            fencedHow = "the fence device confirmed " + victim + " off";
        }
        if (d.kind() == Kind.START && lost.containsKey(new VmId(d.vm())) && !d.host().equals(victim)) {
            started.putIfAbsent(new VmId(d.vm()), d);
        }
    }

    private void onState(ClusterState s, Instant seenAt) {
        boolean live = !s.live().getOrDefault(new HostId(victim), new TreeSet<>()).isEmpty();
        if (!live && sessionGoneAt == null) {
            sessionGoneAt = seenAt;
            console.event(seenAt, "ZooKeeper: the session of " + victim + " is gone");
            if (fencedAt == null) {
                fencedAt = seenAt;
                fencedHow = "its ZooKeeper session expired (no fence device)";
            }
        }
    }

    private boolean allRunning(ClusterState s) {
        for (VmId vm : lost.keySet()) {
            VmRecord r = s.vms().get(vm);
            DecisionLine start = started.get(vm);
            if (r == null || start == null || r.phase() != VmPhase.RUNNING || r.owner() == null
                    || !r.owner().value().equals(start.host())) {
                return false;
            }
        }
        return true;
    }

    private String waitingFor(ClusterState s) {
        List<String> out = new ArrayList<>();
        for (VmId vm : lost.keySet()) {
            VmRecord r = s == null ? null : s.vms().get(vm);
            String where = r == null ? "no record"
                    : r.phase().name().toLowerCase() + (r.owner() == null ? "" : " on " + r.owner());
            out.add(names.get(vm) + " (" + where + (started.containsKey(vm) ? ", started" : "") + ")");
        }
        return String.join(", ", out);
    }

    /** One decision in words. */
    private String describe(DecisionLine d) {
        String vm = d.vm() == null ? null : names.getOrDefault(new VmId(d.vm()), d.vm());
        String why = d.reason().isEmpty() ? "" : " (" + d.reason() + ")";
        return switch (d.kind()) {
            case SUSPECT -> d.host() + " suspects " + d.subject() + why;
            case UNSUSPECT -> d.host() + " no longer suspects " + d.subject() + why;
            case FENCE_START -> d.host() + " fences " + d.subject() + why;
            case FENCE_OFF -> d.host() + ": " + d.subject() + " is off" + why;
            case FENCE_FAILED -> d.host() + ": fencing " + d.subject() + " failed" + why;
            case PLACE -> d.host() + " places " + vm + " on " + d.subject() + why;
            case CLAIM -> d.host() + " claims " + vm + why;
            case START -> d.host() + " started " + vm + " in its hypervisor";
            case RECOVERED -> "the leader " + d.host() + " reports " + vm + " recovered from " + d.subject() + why;
            default -> d.host() + " " + d.kind().name().toLowerCase().replace('_', '-')
                    + (vm == null ? "" : " " + vm) + (d.subject() == null ? "" : " " + d.subject()) + why;
        };
    }

    /** The time of each phase. */
    void printTimings() {
        console.plain("");
        console.plain("Failover of " + victim + ", timed from its power loss:");
        Instant detectedAt = detected == null ? null : detected.at();
        console.plain(String.format("  detect  %s  %s", secs(killedAt, detectedAt),
                detected == null ? "(no suspicion by the leader " + leader + " seen)"
                        : "the leader " + leader + " suspects " + victim));
        console.plain(String.format("  fence   %s  %s", secs(detectedAt, fencedAt),
                fencedHow == null ? "(not seen)" : fencedHow));
        for (Map.Entry<VmId, DemoVm> e : lost.entrySet()) {
            DecisionLine s = started.get(e.getKey());
            console.plain(String.format("  %-6s  now on %-6s  restart %s  total %s", e.getValue().name(),
                    s == null ? "?" : s.host(), secs(fencedAt, s == null ? null : s.at()),
                    secs(killedAt, s == null ? null : s.at())));
        }
    }

    private static String secs(Instant from, Instant to) {
        return from == null || to == null ? "    ? s" : String.format("%5.2f s", Console.seconds(from, to));
    }
}
