package io.havn.sim.world;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmPhaseTable;
import io.havn.common.model.VmRecord;
import io.havn.common.model.Versioned;
import io.havn.common.node.Decision;
import io.havn.common.port.CoordOp;
import io.havn.common.place.RuleIndex;
import io.havn.common.port.DomainState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * What must never happen in the simulated cluster, checked as it happens: no VM runs on two
 * hosts; no HA VM is killed needlessly; a host starts or resumes an HA VM only under its claim;
 * no VM disappears from the cluster state; every VM record write follows {@link VmPhaseTable};
 * at most one leader per epoch, and epochs only grow; no hard placement rule in force is broken,
 * neither by what truly runs nor by what the leader writes. The world reports each event here; the
 * first violation is kept, and the world stops running events once there is one.
 */
final class Invariants {
    private final SimClock clock;
    private final SimCoordination coordination;
    private final long outsideGraceNanos;
    private final Consumer<String> trail;
    private final Map<VmId, Set<HostId>> runningOn = new HashMap<>();
    private long domainChanges;
    /** Copies started behind havn's back, by host and VM, and since when: havn must remove them within a bound. */
    private final Map<String, Long> outsideCopies = new HashMap<>();
    private final Set<VmId> everRecorded = new HashSet<>();
    private final Map<Long, HostId> epochLeaders = new HashMap<>();
    private long highestEpoch;
    private String violation;
    /** Where each VM is present (running, or paused after a migration in): what the placement rules judge. */
    private final Map<VmId, Set<HostId>> presentOn = new HashMap<>();
    /**
     * Where each VM is held paused on a storage error: such a copy still holds its disk and runs on
     * as soon as it is resumed, so it counts as a copy for the one-host check.
     */
    private final Map<VmId, Set<HostId>> storagePausedOn = new HashMap<>();
    /** Whether a VM's guest hangs now: its owner's guest monitor may give it up (destroy it). */
    java.util.function.Predicate<VmId> guestHung = vm -> false;
    /**
     * Copies that appeared behind havn's back (started by hand, or by libvirt autostart at boot), by
     * host and VM: havn's to remove, not placements, so the placement rules do not judge them.
     */
    private final Set<String> foreign = new HashSet<>();
    /** The placement writes of the multi-op being applied: the record before (null: new) and after. */
    private final List<VmRecord[]> placements = new ArrayList<>();
    private PlacementPolicy indexed;
    private RuleIndex index = RuleIndex.EMPTY;

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

    /** How many domain changes there have been: where VMs run changes only with it. */
    long domainChanges() {
        return domainChanges;
    }

    /** A domain of {@code vm} on {@code h} changed to {@code state} (null: gone). */
    void domainChanged(SimHost h, VmId vm, DomainState state) {
        domainChanges++;
        Set<HostId> on = runningOn.computeIfAbsent(vm, k -> new HashSet<>());
        Set<HostId> paused = storagePausedOn.computeIfAbsent(vm, k -> new HashSet<>());
        if (state == DomainState.PAUSED_STORAGE) {
            paused.add(h.id);
        } else {
            paused.remove(h.id);
        }
        if (state == DomainState.RUNNING) {
            on.add(h.id);
            checkOneCopy(vm);
        } else {
            on.remove(h.id);
            if (state == DomainState.PAUSED_STORAGE) {
                checkOneCopy(vm); // paused on a storage error, it still holds its disk and resumes at a word
            } else {
                outsideCopies.remove(h.name + " " + vm);
            }
        }
        Set<HostId> present = presentOn.computeIfAbsent(vm, k -> new HashSet<>());
        if (state == DomainState.RUNNING || state == DomainState.PAUSED || state == DomainState.PAUSED_STORAGE) {
            if (present.add(h.id)) {
                checkRulesWhereRunning(vm, h.id);
            }
        } else {
            present.remove(h.id);
            if (state == null) {
                foreign.remove(h.name + " " + vm);
            }
        }
    }

    /** Someone starts {@code vm} on {@code h} by hand, now: a copy havn must remove, not prevent. */
    void outsideStart(SimHost h, VmId vm) {
        outsideCopies.put(h.name + " " + vm, clock.nanos());
        foreign.add(h.name + " " + vm);
    }

    /** libvirt starts {@code vm} on {@code h} at boot (autostart): no placement of havn's. */
    void autostarted(SimHost h, VmId vm) {
        foreign.add(h.name + " " + vm);
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
        Set<HostId> on = new TreeSet<>(runningOn.getOrDefault(vm, Set.of()));
        on.addAll(storagePausedOn.getOrDefault(vm, Set.of()));
        if (on.size() < 2) {
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
     * that has self-fenced or recorded that the session it is bound to shuts the host down, by a
     * daemon that found it bound to an earlier daemon's session past the deadline that daemon left
     * on the watchdog, or because the operator stopped or is relocating it.
     */
    void beforeKill(SimHost h, VmId vm, String how) {
        if (h.domains.get(vm) != DomainState.RUNNING || guestHung.test(vm)) {
            return; // a hung guest its monitor gives up is not healthy; a paused one is the policy's to end
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
        // a copy bound to a session of an earlier daemon of this host runs only until the deadline that
        // daemon left armed on the watchdog (SAFETY.md, "A copy bound to an earlier session"): the
        // world's own record of that deadline, not the node's
        long bound = h.id.equals(r.owner()) ? r.ownerSession() : r.targetSession();
        boolean lapsed = bound != 0 && bound < h.bootedAtSession && clock.nanos() >= h.inheritedUntil;
        if (mine && !admin && !fenced && !shuttingDown && !lapsed) {
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

    // ---------------------------------------------------------------- placement rules

    /** The rules in force now: the cluster record's, as the last write left it. */
    private RuleIndex rules() {
        PlacementPolicy p = coordination.cluster().placement();
        if (p != indexed) {
            indexed = p;
            index = new RuleIndex(p);
        }
        return index;
    }

    private boolean foreign(HostId h, VmId vm) {
        return foreign.contains(h.value() + " " + vm);
    }

    /** Where {@code vm} is present now, copies that appeared behind havn's back left out. */
    private Set<HostId> placedCopies(VmId vm) {
        Set<HostId> out = new TreeSet<>();
        for (HostId h : presentOn.getOrDefault(vm, Set.of())) {
            if (!foreign(h, vm)) {
                out.add(h);
            }
        }
        return out;
    }

    /**
     * The simulated truth, as {@code vm} appears on {@code h}: no VM of a hard apart rule in force
     * runs there too, and {@code h} is among the hosts of every strict host rule of {@code vm}.
     */
    private void checkRulesWhereRunning(VmId vm, HostId h) {
        if (foreign(h, vm)) {
            return;
        }
        RuleIndex idx = rules();
        if (!idx.ruled(vm)) {
            return;
        }
        for (Rule r : idx.rulesOf(vm)) {
            if (r instanceof Rule.Apart a && a.hard()) {
                for (VmId o : a.vms()) {
                    if (!o.equals(vm) && placedCopies(o).contains(h)) {
                        violate("hard apart rule " + a.id() + " " + vmNames(a.vms()) + " broken: " + vm + " and " + o
                                + " both run on " + h + " (" + vm + " " + phaseOn(vm) + ", " + o + " " + phaseOn(o) + ")");
                        return;
                    }
                }
            } else if (r instanceof Rule.OnHosts o && o.strict()) {
                Set<HostId> allowed = idx.policy().hostsOf(o.groups());
                if (!allowed.contains(h)) {
                    violate("strict host rule " + o.id() + " broken: " + vm + " runs on " + h + ", outside groups "
                            + o.groups() + " (hosts " + new TreeSet<>(allowed) + "; " + vm + " " + phaseOn(vm) + ")");
                    return;
                }
            }
        }
    }

    /** As a multi-op is applied: remembers the writes that place a VM (a new owner, or a migration target). */
    private void notePlacement(VmRecord before, VmRecord after) {
        if (after.phase() == VmPhase.PLACED) {
            if (before == null || before.phase() != VmPhase.PLACED || !Objects.equals(before.owner(), after.owner())) {
                placements.add(new VmRecord[] {before, after});
            }
        } else if (after.phase() == VmPhase.MIGRATING && after.target() != null) {
            if (before == null || before.phase() != VmPhase.MIGRATING || !after.target().equals(before.target())) {
                placements.add(new VmRecord[] {before, after});
            }
        }
    }

    /**
     * The leader's writes, once a multi-op is applied: a VM placed on a host (a new owner, or a
     * migration target) breaks no hard rule in force. Hard apart: no other VM of the rule holds
     * capacity there. Strict hosts: the host is in the rule's groups. Hard together: every other
     * VM of the rule that truly runs on an up host (powered, with a live session) runs there or on
     * the VM's current owner (a drain moves the members one by one), and holds capacity (by its
     * record) nowhere else either (two members of a drain may not head for two hosts).
     */
    private void checkPlacements() {
        if (placements.isEmpty()) {
            return;
        }
        List<VmRecord[]> written = new ArrayList<>(placements);
        placements.clear();
        RuleIndex idx = rules();
        for (VmRecord[] w : written) {
            VmRecord before = w[0];
            VmRecord after = w[1];
            VmId vm = after.id();
            boolean migration = after.phase() == VmPhase.MIGRATING;
            // (a migration's live target, which holds the migrated copy, is placed there whatever it
            // reaches: the copy is there, and its storage error policy takes it from there)
            boolean toItsCopy = !migration && before != null && after.owner() != null
                    && after.owner().equals(before.target())
                    && (before.phase() == VmPhase.RELEASED || before.phase() == VmPhase.MIGRATING);
            if (!after.spec().datastores().isEmpty() && !toItsCopy) {
                HostId to = migration ? after.target() : after.owner();
                Versioned<HostRecord> hr = coordination.host(to);
                if (hr != null && !hr.value().reaches(after.spec().datastores())) {
                    violate("the leader " + (migration ? "migrates " : "places ") + vm + " onto " + to
                            + ", whose host record says it does not reach datastore(s) "
                            + String.join(", ", after.spec().datastores()) + ": " + hr.value().datastores());
                }
            }
            if (!idx.ruled(vm)) {
                continue;
            }
            HostId h = migration ? after.target() : after.owner();
            HostId current = migration ? after.owner() : before == null ? null : before.owner();
            String what = "the leader " + (migration ? "migrates " + vm + " from " + after.owner() + " to " + h
                    : "places " + vm + " on " + h + (current == null ? "" : " (it was on " + current + ")"));
            for (Rule r : idx.rulesOf(vm)) {
                if (r instanceof Rule.Apart a && a.hard()) {
                    for (VmId o : a.vms()) {
                        String holds = o.equals(vm) ? null : holdsOn(o, h);
                        if (holds != null) {
                            violate("hard apart rule " + a.id() + " " + vmNames(a.vms()) + " broken: " + what + ", where "
                                    + o + " holds capacity (" + holds + ")");
                            return;
                        }
                    }
                } else if (r instanceof Rule.OnHosts o && o.strict()) {
                    Set<HostId> allowed = idx.policy().hostsOf(o.groups());
                    if (!allowed.contains(h)) {
                        violate("strict host rule " + o.id() + " broken: " + what + ", outside groups " + o.groups()
                                + " (hosts " + new TreeSet<>(allowed) + ")");
                        return;
                    }
                } else if (r instanceof Rule.Together t && t.hard()) {
                    for (VmId o : t.vms()) {
                        if (o.equals(vm)) {
                            continue;
                        }
                        for (HostId x : placedCopies(o)) {
                            if (!x.equals(h) && !x.equals(current) && coordination.isLive(x)) {
                                violate("hard together rule " + t.id() + " " + vmNames(t.vms()) + " broken: " + what
                                        + ", while " + o + " runs on " + x + " (" + phaseOn(o) + ")");
                                return;
                            }
                        }
                        for (HostId x : heldBy(o)) {
                            if (!x.equals(h) && !x.equals(current)) {
                                violate("hard together rule " + t.id() + " " + vmNames(t.vms()) + " broken: " + what
                                        + ", while " + o + " holds capacity on " + x + " (" + phaseOn(o) + ")");
                                return;
                            }
                        }
                    }
                }
            }
        }
    }

    /** The hosts where the record of {@code vm} holds capacity: its owner, and its target while it migrates. */
    private List<HostId> heldBy(VmId vm) {
        Versioned<VmRecord> vr = coordination.vm(vm);
        if (vr == null || !vr.value().phase().holdsCapacity()) {
            return List.of();
        }
        VmRecord r = vr.value();
        return r.phase() == VmPhase.MIGRATING && r.target() != null ? List.of(r.owner(), r.target())
                : List.of(r.owner());
    }

    /** Where the record of {@code vm} holds capacity on {@code h}, said as its phase and host; null if it does not. */
    private String holdsOn(VmId vm, HostId h) {
        Versioned<VmRecord> vr = coordination.vm(vm);
        if (vr == null) {
            return null;
        }
        VmRecord r = vr.value();
        if (r.phase() == VmPhase.RELEASED) {
            // released by its source after a migration: its copy is on the target, which is to claim it
            return h.equals(r.target()) ? "released by " + r.owner() + " to " + h : null;
        }
        if (!r.phase().holdsCapacity()) {
            return null;
        }
        if (h.equals(r.owner())) {
            return name(r.phase()) + " on " + h;
        }
        if (r.phase() == VmPhase.MIGRATING && h.equals(r.target())) {
            return "migrating from " + r.owner() + " to " + h;
        }
        return null;
    }

    /** What the record of {@code vm} says, for a message. */
    private String phaseOn(VmId vm) {
        Versioned<VmRecord> vr = coordination.vm(vm);
        if (vr == null) {
            return "no record";
        }
        VmRecord r = vr.value();
        return "record: " + name(r.phase()) + (r.owner() == null ? "" : " on " + r.owner())
                + (r.target() == null ? "" : ", target " + r.target());
    }

    private static String vmNames(List<VmId> vms) {
        return "(" + String.join(", ", vms.stream().map(VmId::value).toList()) + ")";
    }

    // ---------------------------------------------------------------- the cluster state

    /** {@code vm} has a record from the start (an earlier cluster left it). */
    void recorded(VmId vm) {
        everRecorded.add(vm);
    }

    /** Every VM record write follows the phase table: {@code before} is null for a new record. */
    void vmWritten(VmRecord before, VmRecord after) {
        notePlacement(before, after);
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
        checkPlacements();
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
