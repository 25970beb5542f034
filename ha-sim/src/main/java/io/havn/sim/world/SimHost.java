package io.havn.sim.world;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Node;
import io.havn.common.node.NodeDriver;
import io.havn.common.port.DomainState;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/** One simulated machine: power, its hypervisor's domains (they outlive the daemon), its watchdog, its daemon. */
public final class SimHost {
    final HostId id;
    final String name;
    final HostCapacity capacity;
    final String fenceDevice;
    boolean fenceBroken;
    boolean powered = true;
    Node node;
    /** Carries {@link #node}'s effects out on this host's simulated ports; events go through it. */
    NodeDriver driver;
    SimCoordination.Client client;
    int incarnation;
    long pausedUntil = Long.MIN_VALUE;
    final ArrayDeque<Runnable> held = new ArrayDeque<>();
    final Map<VmId, DomainState> domains = new TreeMap<>();
    final Map<VmId, VmSpec> specs = new HashMap<>();
    boolean watchdogArmed;
    long watchdogDeadline = Long.MIN_VALUE;
    /** The first session id the running daemon can have been given: a lower one is an earlier daemon's. */
    long bootedAtSession;
    /** The deadline an earlier daemon left armed on the watchdog when this one started; MIN_VALUE if none. */
    long inheritedUntil = Long.MIN_VALUE;
    int fencedCount;
    int watchdogResets;
    SimTransport.Batch outgoing;
    /** The VMs whose definition here has libvirt autostart on: the next boot starts them. */
    final java.util.Set<VmId> autostart = new java.util.TreeSet<>();
    /**
     * The VMs defined here from outside havn ({@link SimOutside#defineWithAutostart}): libvirt lists
     * them while they are off too (havn's own definitions are listed only while they run or autostart).
     */
    final java.util.Set<VmId> defined = new java.util.TreeSet<>();
    /** How far this host's wall clock is off (a step moves it); it only feeds the incarnation. */
    long wallOffsetMs;
    /** The last incarnation the daemon recorded on this host's disk (survives power loss); 0: none. */
    long recordedIncarnation;
    /** How often it was powered on: a call libvirt was making dies with the machine. */
    int boots;
    /** What the watchdog says is wrong with it, or null when it guards the host. */
    String watchdogProblem;
    /** Fence devices beyond its own {@link #fenceDevice}, by name, and how each behaves: none unless added. */
    final Map<String, SimFencer.Behaviour> fenceDevices = new HashMap<>();
    /** The transport made last for this host: what reaches the host goes to it. */
    SimTransport transport;
    /** Whether the guard beside the daemon (the petter) runs; it does unless a test stops it. */
    boolean guardRunning = true;
    /** Whether this host's signal sender runs ({@link SimSignals}); it does unless a test stops it. */
    boolean signalRunning = true;
    /**
     * The peers its signal sender signals: the monitors its daemon last announced (the peers file
     * havnd writes); kept when the daemon stops, as the file is.
     */
    java.util.List<io.havn.common.model.HostId> signalPeers = java.util.List.of();
    /** The last sequence its signal sender used (its incarnation is {@link #boots}). */
    long signalSequence;
    /** The datastores this host has lost its path to (its storage heartbeat fails there, its guests pause). */
    final java.util.Set<String> storageLost = new java.util.TreeSet<>();
    /** The write counter of this host's storage heartbeat. */
    long storageSequence;
    /** Whether the guard's device resets only after more than W (the lease's arithmetic breaks). */
    boolean guardSlowerThanW;
    /** When above 0, every libvirt call here hangs and the adapter gives it up after this many ms. */
    long hypervisorHangsMs;
    /** The hypervisor adapter made last for this host: it reports the changes made behind its back. */
    SimHypervisor hypervisor;

    SimHost(HostId id, HostCapacity capacity, String fenceDevice) {
        this.id = id;
        this.name = id.value();
        this.capacity = capacity;
        this.fenceDevice = fenceDevice;
    }

    public HostId id() {
        return id;
    }

    public boolean powered() {
        return powered;
    }

    public Node node() {
        return node;
    }

    public boolean daemonRunning() {
        return powered && node != null;
    }

    public DomainState domain(VmId vm) {
        return domains.get(vm);
    }

    public Map<VmId, DomainState> domains() {
        return domains;
    }

    /** The VMs whose libvirt definition here has autostart on. */
    public java.util.Set<VmId> autostart() {
        return autostart;
    }

    /** How often its watchdog reset it. */
    public int watchdogResets() {
        return watchdogResets;
    }

    /** A further fence device of this host, named {@code name}, that behaves as {@code behaviour}. */
    public void addFenceDevice(String name, SimFencer.Behaviour behaviour) {
        fenceDevices.put(name, behaviour);
    }

    /** The watchdog guard (the petter) stops: nothing guards the host, and its watchdog says so. */
    public void stopWatchdogGuard() {
        guardRunning = false;
    }

    /** The watchdog guard starts, on a device that resets within W, or with {@code slowerThanW} after more. */
    public void startWatchdogGuard(boolean slowerThanW) {
        guardRunning = true;
        guardSlowerThanW = slowerThanW;
    }

    /**
     * From now on every call to this host's libvirt hangs, as on dead storage: the adapter reports
     * each operation timed out after {@code callTimeoutMs} (it may still complete, so it says so),
     * and the call never returns. A list that hangs has no answer, as the real adapter's.
     */
    public void hangHypervisor(long callTimeoutMs) {
        hypervisorHangsMs = callTimeoutMs;
    }

    /** Fenced at least once, by a device, by itself, or by its watchdog. */
    public int fencedCount() {
        return fencedCount;
    }
}
