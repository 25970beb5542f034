package io.havn.sim.world;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmPhaseTable;
import io.havn.common.model.VmRecord;
import io.havn.common.model.Versioned;
import io.havn.common.node.Decision;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * What must never happen in the simulated cluster, checked as it happens: no VM runs on two
 * hosts; no HA VM is killed needlessly; a host starts or resumes an HA VM only under its claim;
 * no VM disappears from the cluster state; every VM record write follows {@link VmPhaseTable};
 * at most one leader per epoch, and epochs only grow. The world reports each event here; the
 * first violation is kept, and the world stops running events once there is one.
 */
final class Invariants {
    private final SimClock clock;
    private final SimCoordination coordination;
    private final long outsideGraceNanos;
    private final Consumer<String> trail;
    private final Map<VmId, Set<HostId>> runningOn = new HashMap<>();
    /** Copies started behind havn's back, by host and VM, and since when: havn must remove them within a bound. */
    private final Map<String, Long> outsideCopies = new HashMap<>();
    private final Set<VmId> everRecorded = new HashSet<>();
    private final Map<Long, HostId> epochLeaders = new HashMap<>();
    private long highestEpoch;
    private String violation;

    /**
     * @param outsideGraceNanos how long havn may take to find and destroy a copy started behind its back
     * @param trail             where a violation is written, beside the events that led to it
     */
    Invariants(SimClock clock, SimCoordination coordination, long outsideGraceNanos, Consumer<String> trail) {
        this.clock = clock;
        this.coordination = coordination;
        this.outsideGraceNanos = outsideGraceNanos;
        this.trail = trail;
    }

    /** The first violation, with the virtual time it happened at; null while every check holds. */
    String violation() {
        return violation;
    }

    void violate(String what) {
        if (violation == null) {
            violation = String.format("%.3fs %s", clock.nanos() / 1e9, what);
            trail.accept("VIOLATION " + what);
        }
    }

    /** The hosts where {@code vm} runs now. */
    Set<HostId> runningOn(VmId vm) {
        Set<HostId> s = runningOn.get(vm);
        return s == null ? Set.of() : s;
    }

    // ---------------------------------------------------------------- the hypervisors

    /** A domain of {@code vm} on {@code h} changed to {@code state} (null: gone). */
    void domainChanged(SimHost h, VmId vm, DomainState state) {
        Set<HostId> on = runningOn.computeIfAbsent(vm, k -> new HashSet<>());
        if (state == DomainState.RUNNING) {
            on.add(h.id);
            checkOneCopy(vm);
        } else {
            on.remove(h.id);
            outsideCopies.remove(h.name + " " + vm);
        }
    }

    /** Someone starts {@code vm} on {@code h} by hand, now: a copy havn must remove, not prevent. */
    void outsideStart(SimHost h, VmId vm) {
        outsideCopies.put(h.name + " " + vm, clock.nanos());
    }

    /** Counts again the copies started by hand, which count once they outlive the grace. */
    void recheckOutsideCopies() {
        if (!outsideCopies.isEmpty()) {
            for (String key : new ArrayList<>(outsideCopies.keySet())) {
                checkOneCopy(new VmId(key.substring(key.indexOf(' ') + 1)));
            }
        }
    }

    /**
     * A VM runs on one host at most. A copy started behind havn's back is havn's to remove, not to
     * prevent: it counts only once it has outlived the grace.
     */
    private void checkOneCopy(VmId vm) {
        Set<HostId> on = runningOn.get(vm);
        if (on == null || on.size() < 2) {
            return;
        }
        int counted = 0;
        for (HostId x : on) {
            Long since = outsideCopies.get(x.value() + " " + vm);
            if (since == null || clock.nanos() - since >= outsideGraceNanos) {
                counted++;
            }
        }
        if (counted > 1) {
            violate("VM " + vm + " runs on two hosts at once: " + new TreeSet<>(on));
        }
    }

    /**
     * No HA VM is stopped except by fencing, an admin request, a clean host shutdown or its own
     * crash: a running copy that the record still gives to this host may be killed only by a host
     * that has self-fenced or recorded that the session it is bound to shuts the host down, or
     * because the operator stopped or is relocating it.
     */
    void beforeKill(SimHost h, VmId vm, String how) {
        if (h.domains.get(vm) != DomainState.RUNNING) {
            return;
        }
        Versioned<VmRecord> vr = coordination.vm(vm);
        if (vr == null || !vr.value().spec().ha()) {
            return;
        }
        VmRecord r = vr.value();
        boolean mine = h.id.equals(r.owner()) || h.id.equals(r.target());
        boolean admin = r.desired() == DesiredState.STOPPED || r.phase() == VmPhase.RELOCATING;
        boolean fenced = h.node != null && h.node.isSelfFenced();
        // a host shutting down cleanly stops what it holds (freeze, failover), having recorded so first
        Versioned<HostRecord> hr = coordination.host(h.id);
        boolean shuttingDown = hr != null && hr.value().shuttingDown(h.id.equals(r.owner()) ? r.ownerSession()
                : r.targetSession());
        if (mine && !admin && !fenced && !shuttingDown) {
            violate("needless kill: " + h.name + " " + how + "s " + vm + ", which its record gives to it ("
                    + r.phase().name().toLowerCase() + "), without fencing or an admin request");
        }
    }

    /**
     * Rule 1 at the hypervisor: a host starts or resumes an HA VM only while the record names it,
     * in a live session, as the owner of a running VM (it claimed it).
     */
    void beforeStart(SimHost h, VmId vm, String how) {
        Versioned<VmRecord> vr = coordination.vm(vm);
        if (vr == null || !vr.value().spec().ha()) {
            return;
        }
        VmRecord r = vr.value();
        if (!h.id.equals(r.owner()) || r.phase() != VmPhase.RUNNING || !coordination.isLive(h.id, r.ownerSession())) {
            violate(h.name + " was asked to " + how + " " + vm + " without holding the claim; record: "
                    + r.phase().name().toLowerCase() + " on " + r.owner());
        }
    }

    // ---------------------------------------------------------------- the cluster state

    /** {@code vm} has a record from the start (an earlier cluster left it). */
    void recorded(VmId vm) {
        everRecorded.add(vm);
    }

    /** Every VM record write follows the phase table: {@code before} is null for a new record. */
    void vmWritten(VmRecord before, VmRecord after) {
        if (before == null) {
            if (!VmPhaseTable.creatable().contains(after.phase())) {
                violate("VM " + after.id() + " was created in phase " + name(after.phase())
                        + "; the phase table creates records only in " + names(VmPhaseTable.creatable()));
            }
        } else if (!VmPhaseTable.allows(before.phase(), after.phase())) {
            violate("VM " + after.id() + " went from phase " + name(before.phase()) + " to " + name(after.phase())
                    + "; the phase table allows only " + names(VmPhaseTable.next(before.phase())));
        }
    }

    /** No VM disappears from the cluster state. */
    void written(List<CoordOp> ops) {
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.PutVm p) {
                everRecorded.add(p.record().id());
            }
        }
        for (VmId vm : everRecorded) {
            if (coordination.vm(vm) == null) {
                violate("VM " + vm + " disappeared from the cluster state");
            }
        }
    }

    /** At most one leader per epoch, and epochs only grow. */
    void decided(Decision d) {
        if (d.kind() != Decision.Kind.LEADER_ELECTED) {
            return;
        }
        HostId prev = epochLeaders.putIfAbsent(d.epoch(), d.host());
        if (prev != null && !prev.equals(d.host())) {
            violate("two leaders for epoch " + d.epoch() + ": " + prev + " and " + d.host());
        }
        if (d.epoch() < highestEpoch) {
            violate("epoch went back from " + highestEpoch + " to " + d.epoch() + " (" + d.host() + ")");
        }
        highestEpoch = Math.max(highestEpoch, d.epoch());
    }

    private static String name(VmPhase p) {
        return p.name().toLowerCase();
    }

    private static String names(Set<VmPhase> phases) {
        List<String> out = new ArrayList<>();
        for (VmPhase p : phases) {
            out.add(name(p));
        }
        return String.join(", ", out);
    }
}
