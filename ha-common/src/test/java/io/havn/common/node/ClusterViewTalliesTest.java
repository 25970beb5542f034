package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.MoveRequest;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * What the view keeps as records come and go (the room each host has left, the migrations in
 * flight, the VMs the leader's round must look at) is, after every change, what a count over every
 * record gives: random host records, live sessions and VM records in every phase, replaced and
 * removed, checked after each step against counts written out here from the definitions.
 */
class ClusterViewTalliesTest {
    private static final int HOSTS = 5;

    @Test
    void aVmItsSourceReleasedAfterAMigrationIsOnItsTargetForTheRules() {
        ClusterView view = new ClusterView();
        VmId v = new VmId("web");
        HostId source = new HostId("h1");
        HostId target = new HostId("h2");
        VmRecord running = VmRecord.running(new VmSpec(v, "web", 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>web</name></domain>"), source, 1);
        view.putVm(v, new Versioned<>(running, 1));
        assertEquals(List.of(source), view.hostsOf(v));
        view.putVm(v, new Versioned<>(running.migratingTo(target, 2), 2));
        assertEquals(List.of(source, target), view.hostsOf(v));
        // the source released it: its copy is on the target, which is to claim it; nothing is left on the source
        view.putVm(v, new Versioned<>(running.migratingTo(target, 2).withPhase(VmPhase.RELEASED, "migrated to h2"), 3));
        assertEquals(List.of(target), view.hostsOf(v), "a hard apart partner placed now must keep off the target");
    }

    @Test
    void theTalliesKeptAsRecordsChangeAreWhatCountingEveryRecordGives() {
        Random rnd = new Random(20261207L);
        ClusterView view = new ClusterView();
        Map<VmId, Integer> versions = new HashMap<>();
        Map<HostId, Integer> hostVersions = new HashMap<>();
        List<HostId> hosts = new ArrayList<>();
        for (int i = 0; i < HOSTS; i++) {
            hosts.add(new HostId("h" + i));
        }
        List<HostId> ids = hosts.subList(0, HOSTS - 1); // the last is never registered
        int steps = 4_000;
        int looked = 0;
        for (int step = 0; step < steps; step++) {
            int what = rnd.nextInt(10);
            if (what == 0) {
                HostId h = ids.get(rnd.nextInt(ids.size()));
                HostAdminState admin = rnd.nextInt(4) == 0 ? HostAdminState.MAINTENANCE : HostAdminState.ACTIVE;
                HostRecord r = new HostRecord(h, new HostCapacity(8 + rnd.nextInt(8), 16_384 + rnd.nextInt(8_192)),
                        null, null, admin, rnd.nextInt(5) == 0);
                int v = hostVersions.merge(h, 1, Integer::sum);
                view.putHost(h, new Versioned<>(r, v), step);
            } else if (what == 1) {
                HostId h = hosts.get(rnd.nextInt(HOSTS));
                view.setLive(h, rnd.nextBoolean() ? Set.of(1L + rnd.nextInt(3)) : Set.of(), step);
            } else if (what == 2) {
                VmId v = new VmId("vm-" + rnd.nextInt(40));
                if (versions.containsKey(v)) {
                    view.putVm(v, null);
                    versions.remove(v);
                }
            } else {
                VmId v = new VmId("vm-" + rnd.nextInt(40));
                VmRecord r = record(rnd, v, hosts);
                int version = versions.merge(v, 1, Integer::sum);
                // now and then an older version, which the view must not take
                if (rnd.nextInt(8) == 0 && version > 1) {
                    view.putVm(v, new Versioned<>(r, version - 2));
                    versions.put(v, version - 1);
                } else {
                    view.putVm(v, new Versioned<>(r, version));
                }
            }
            assertEquals(countedMigrations(view), view.migrating(), "migrations in flight at step " + step);
            List<HostId> registered = ids.stream().filter(h -> view.host(h) != null).toList();
            assertEquals(countedFree(view, registered), view.free(registered), "room left at step " + step);
            SortedSet<VmId> expected = lookedAt(view);
            assertEquals(expected, view.needingARound(), "VMs the round looks at, at step " + step);
            looked += expected.size();
        }
        // the run reached both kinds: VMs looked at, and VMs passed over
        assertTrue(looked > 0 && looked < steps * view.vms().size(), "looked at " + looked);
    }

    private static VmRecord record(Random rnd, VmId v, List<HostId> hosts) {
        VmSpec spec = new VmSpec(v, v.value(), 1 + rnd.nextInt(4), 512L * (1 + rnd.nextInt(8)), Priority.MEDIUM,
                rnd.nextInt(6) != 0, "<domain type='kvm'><name>" + v.value() + "</name></domain>");
        HostId owner = hosts.get(rnd.nextInt(hosts.size()));
        long session = rnd.nextInt(4); // 0: bound to no session
        VmRecord r = VmRecord.running(spec, owner, session);
        VmPhase phase = rnd.nextInt(3) == 0 ? VmPhase.values()[rnd.nextInt(VmPhase.values().length)] : VmPhase.RUNNING;
        if (phase == VmPhase.MIGRATING) {
            HostId target = hosts.get(rnd.nextInt(hosts.size()));
            r = r.migratingTo(target, 1 + rnd.nextInt(3));
        } else if (phase != VmPhase.RUNNING) {
            r = r.withPhase(phase, "test");
        }
        if (rnd.nextInt(6) == 0) {
            r = r.withDesired(DesiredState.STOPPED);
        }
        if (rnd.nextInt(6) == 0) {
            r = r.withMove(new MoveRequest(hosts.get(rnd.nextInt(hosts.size())), true));
        }
        return r;
    }

    private static int countedMigrations(ClusterView view) {
        int n = 0;
        for (Versioned<VmRecord> vr : view.vms()) {
            if (vr.value().phase() == VmPhase.MIGRATING) {
                n++;
            }
        }
        return n;
    }

    /** Each host's capacity less every VM that holds some there, one by one, never below zero. */
    private static Map<HostId, HostCapacity> countedFree(ClusterView view, List<HostId> ids) {
        Map<HostId, HostCapacity> free = new HashMap<>();
        for (HostId h : ids) {
            Versioned<HostRecord> hr = view.host(h);
            if (hr != null) {
                free.put(h, hr.value().capacity());
            }
        }
        for (Versioned<VmRecord> vr : view.vms()) {
            VmRecord r = vr.value();
            if (!r.phase().holdsCapacity()) {
                continue;
            }
            free.computeIfPresent(r.owner(), (h, c) -> c.minus(r.spec().cpus(), r.spec().memoryMiB()));
            if (r.phase() == VmPhase.MIGRATING) {
                free.computeIfPresent(r.target(), (h, c) -> c.minus(r.spec().cpus(), r.spec().memoryMiB()));
            }
        }
        return free;
    }

    /**
     * Every HA VM but those running, wanted running, with no move asked, on a live session of an
     * owner that is not recorded off and not draining.
     */
    private static SortedSet<VmId> lookedAt(ClusterView view) {
        SortedSet<VmId> out = new TreeSet<>();
        for (Versioned<VmRecord> vr : view.vms()) {
            VmRecord r = vr.value();
            if (!r.spec().ha()) {
                continue;
            }
            Versioned<HostRecord> owner = r.owner() == null ? null : view.host(r.owner());
            boolean passedOver = r.phase() == VmPhase.RUNNING && r.desired() == DesiredState.RUNNING
                    && r.move() == null && r.owner() != null && view.isLive(r.owner(), r.ownerSession())
                    && (owner == null || !owner.value().offConfirmed() && !owner.value().draining(r.ownerSession()));
            if (!passedOver) {
                out.add(r.id());
            }
        }
        return out;
    }
}
