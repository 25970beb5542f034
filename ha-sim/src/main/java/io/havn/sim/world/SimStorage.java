package io.havn.sim.world;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.HostSignal;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.DomainState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The shared datastores of the simulated cluster and what the hosts' paths to them do. Every host
 * heartbeats on every datastore (havnd's storage heartbeat): each {@code storageIntervalMs} a running,
 * unpaused daemon writes its slot (what its watchdog enforces, as its signal says it) and reads every
 * slot, and the round reaches its node as a {@link NodeEvent.StorageRound}. A datastore can go down
 * for everybody ({@code datastore-down}) or one host can lose its path to it ({@code storage-lost}):
 * that host's rounds there fail, and each guest it runs on that datastore pauses on a disk I/O error
 * at its next I/O ({@link DomainState#PAUSED_STORAGE}), as QEMU does with {@code error_policy='stop'}.
 * A start or an incoming migration on a host that does not reach a VM's datastores fails; a resume
 * succeeds but the guest pauses again at its next I/O while its storage still fails.
 */
final class SimStorage {
    /** How soon a guest's next I/O meets the lost storage. */
    static final long PAUSE_AFTER_MS = 20;
    /** How long one round's write and read take. */
    static final long ROUND_MS = 5;

    private final SimWorld world;
    private final long intervalNanos;
    final Set<String> datastores = new TreeSet<>();
    private final Set<String> down = new TreeSet<>();
    private final Map<String, Map<HostId, HostSignal>> slots = new HashMap<>();
    private boolean started;

    SimStorage(SimWorld world, long intervalMs) {
        this.world = world;
        this.intervalNanos = intervalMs * SimWorld.MS;
    }

    void add(String datastore) {
        if (!VmSpec.DATASTORE_NAME.matcher(datastore).matches()) {
            throw new IllegalArgumentException("invalid datastore name '" + datastore + "'");
        }
        datastores.add(datastore);
        if (!started) {
            started = true;
            world.clock.schedule(intervalNanos, this::round);
        }
    }

    /** Whether {@code h} reaches {@code datastore} now (a datastore the world does not know is always reached). */
    boolean reaches(SimHost h, String datastore) {
        return !datastores.contains(datastore) || !down.contains(datastore) && !h.storageLost.contains(datastore);
    }

    /** Whether {@code h} reaches every datastore of {@code spec} now. */
    boolean reaches(SimHost h, VmSpec spec) {
        if (spec == null) {
            return true;
        }
        for (String d : spec.datastores()) {
            if (!reaches(h, d)) {
                return false;
            }
        }
        return true;
    }

    /** The datastores of {@code spec} {@code h} does not reach now, for error messages. */
    List<String> unreached(SimHost h, VmSpec spec) {
        List<String> out = new ArrayList<>();
        for (String d : spec.datastores()) {
            if (!reaches(h, d)) {
                out.add(d);
            }
        }
        return out;
    }

    void setDown(String datastore, boolean isDown) {
        known(datastore);
        if (isDown ? down.add(datastore) : down.remove(datastore)) {
            world.noteCluster("datastore " + datastore + (isDown ? " down" : " up"));
            if (isDown) {
                for (SimHost h : world.hosts()) {
                    pauseSoon(h);
                }
            }
        }
    }

    void setLost(SimHost h, String datastore, boolean lost) {
        known(datastore);
        if (lost ? h.storageLost.add(datastore) : h.storageLost.remove(datastore)) {
            world.note(h.id, "fault", (lost ? "lost its path to datastore " : "reaches datastore ") + datastore
                    + (lost ? "" : " again"));
            if (lost) {
                pauseSoon(h);
            }
        }
    }

    private void known(String datastore) {
        if (!datastores.contains(datastore)) {
            throw new IllegalArgumentException("no datastore '" + datastore + "' (the scenario's datastores: "
                    + datastores + ")");
        }
    }

    /** At their next I/O, the guests of {@code h} whose storage it no longer reaches pause. */
    private void pauseSoon(SimHost h) {
        world.clock.schedule(PAUSE_AFTER_MS * SimWorld.MS, () -> {
            for (VmId vm : new ArrayList<>(h.domains.keySet())) {
                pauseIfCut(h, vm);
            }
        });
    }

    /** Pauses {@code vm} on {@code h} on a disk I/O error if it runs there on storage {@code h} does not reach. */
    void pauseIfCut(SimHost h, VmId vm) {
        if (!h.powered || h.domains.get(vm) != DomainState.RUNNING || reaches(h, h.specs.get(vm))) {
            return;
        }
        world.setDomain(h, vm, DomainState.PAUSED_STORAGE, "paused on a disk I/O error");
        if (h.hypervisor != null && h.node != null) {
            h.hypervisor.changed(vm, DomainState.PAUSED_STORAGE, false, "paused on a disk I/O error");
        }
    }

    /** One round on every host whose daemon runs and is not paused (a stalled daemon writes nothing). */
    private void round() {
        long now = world.clock.nanos();
        for (SimHost h : world.hosts()) {
            if (!h.powered || h.node == null || now < h.pausedUntil) {
                continue;
            }
            int inc = h.incarnation;
            for (String d : datastores) {
                boolean ok = reaches(h, d);
                NodeEvent.StorageRound e;
                if (ok) {
                    HostSignal mine = SimSignals.record(h, now, h.incarnation, ++h.storageSequence);
                    Map<HostId, HostSignal> there = slots.computeIfAbsent(d, k -> new TreeMap<>());
                    there.put(h.id, mine);
                    e = new NodeEvent.StorageRound(d, true, null, new ArrayList<>(there.values()));
                } else {
                    e = new NodeEvent.StorageRound(d, false, "I/O error on datastore " + d, List.of());
                }
                world.clock.schedule(ROUND_MS * SimWorld.MS, () -> {
                    if (h.driver != null) {
                        world.deliver(h, inc, h.driver, e);
                    }
                });
            }
        }
        world.clock.schedule(intervalNanos, this::round);
    }
}
