package io.havn.daemon.bench;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.node.Decision;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * The machines of a {@link ScaleRun}: which hosts have power and which domains each runs. The
 * simulated hypervisors and fence devices of every host act on it; it records as a violation any
 * start or resume of a VM while another powered host still holds it (running or paused), and when
 * each VM last came up. It also takes every node's decisions, counted by kind.
 *
 * <p>Everything here is guarded by one lock; whoever waits for a state of the world waits on its
 * condition, which every change signals, with a bound.
 */
final class ScaleWorld {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** The hardware's own time: answers of the hypervisors and fence devices come from here. */
    final ScheduledExecutorService hardware;

    private final Map<HostId, Machine> machines = new HashMap<>();
    private final List<String> violations = new ArrayList<>();
    /** When each VM last started or resumed on a powered host (System.nanoTime). */
    private final Map<VmId, Long> upSince = new HashMap<>();
    private final EnumMap<Decision.Kind, Long> decided = new EnumMap<>(Decision.Kind.class);
    /** Decisions of hosts that were powered when they took them, by kind. */
    private final Set<HostId> ready = new HashSet<>();
    private final List<Decision> recovered = new ArrayList<>();
    private final List<Decision> noted = new ArrayList<>();
    private HostId leader;
    private int liveHostsFenced;
    private int sessionsStarted;

    private static final class Machine {
        final HostId id;
        final String fenceDevice;
        boolean powered = true;
        final Map<VmId, DomainState> domains = new HashMap<>();

        Machine(HostId id, String fenceDevice) {
            this.id = id;
            this.fenceDevice = fenceDevice;
        }
    }

    ScaleWorld(ScheduledExecutorService hardware) {
        this.hardware = hardware;
    }

    void addMachine(HostId id, String fenceDevice) {
        act(() -> machines.put(id, new Machine(id, fenceDevice)));
    }

    /** A VM already running on {@code host} when the run begins. */
    void place(HostId host, VmId vm) {
        act(() -> machines.get(host).domains.put(vm, DomainState.RUNNING));
    }

    boolean powered(HostId host) {
        return read(() -> {
            Machine m = machines.get(host);
            return m != null && m.powered;
        });
    }

    /** How many machines have power. */
    int poweredCount() {
        return read(() -> (int) machines.values().stream().filter(m -> m.powered).count());
    }

    /** Whether each of {@code vms} runs on exactly one powered host, and is nowhere else. */
    boolean eachRunsOnce(java.util.Collection<VmId> vms) {
        return read(() -> {
            Map<VmId, Integer> seen = new HashMap<>();
            for (Machine m : machines.values()) {
                if (m.powered) {
                    m.domains.forEach((vm, st) -> seen.merge(vm, st == DomainState.RUNNING ? 1 : 1000, Integer::sum));
                }
            }
            for (VmId vm : vms) {
                if (seen.getOrDefault(vm, 0) != 1) {
                    return false;
                }
            }
            return true;
        });
    }

    /** The fence device wired to {@code host}, or null. */
    String fenceDevice(HostId host) {
        return read(() -> {
            Machine m = machines.get(host);
            return m == null ? null : m.fenceDevice;
        });
    }

    /**
     * Cuts {@code host}'s power: its domains vanish. Returns whether it had power. {@code byFence}:
     * a fence device did it (counted when the host was alive: a fence of a host that had not failed).
     */
    boolean powerOff(HostId host, boolean byFence) {
        return locked(() -> {
            Machine m = machines.get(host);
            if (m == null || !m.powered) {
                return false;
            }
            m.powered = false;
            m.domains.clear();
            ready.remove(host);
            if (byFence) {
                liveHostsFenced++;
            }
            return true;
        });
    }

    /** The domains of {@code host}, as libvirt lists them. */
    List<DomainInfo> list(HostId host) {
        return read(() -> {
            List<DomainInfo> out = new ArrayList<>();
            Machine m = machines.get(host);
            if (m != null && m.powered) {
                m.domains.forEach((vm, s) -> out.add(new DomainInfo(vm, vm.value(), s)));
            }
            return out;
        });
    }

    /** Starts {@code vm} on {@code host}; null when it runs, else why not. */
    String start(HostId host, VmId vm) {
        return locked(() -> {
            Machine m = machines.get(host);
            if (m == null || !m.powered) {
                return "the host has no power";
            }
            if (m.domains.containsKey(vm)) {
                return "Requested operation is not valid: domain is already running";
            }
            checkNoOtherCopy(m, vm, "start");
            m.domains.put(vm, DomainState.RUNNING);
            upSince.put(vm, System.nanoTime());
            return null;
        });
    }

    /** Resumes a paused {@code vm} on {@code host}; null when it runs, else why not. */
    String resume(HostId host, VmId vm) {
        return locked(() -> {
            Machine m = machines.get(host);
            DomainState s = m == null || !m.powered ? null : m.domains.get(vm);
            if (s != DomainState.PAUSED && s != DomainState.PAUSED_STORAGE) {
                return "domain is not paused";
            }
            checkNoOtherCopy(m, vm, "resume");
            m.domains.put(vm, DomainState.RUNNING);
            upSince.put(vm, System.nanoTime());
            return null;
        });
    }

    /** Removes {@code vm} from {@code host}; null when it was there, else why not. */
    String remove(HostId host, VmId vm) {
        return locked(() -> {
            Machine m = machines.get(host);
            if (m == null || !m.powered || m.domains.remove(vm) == null) {
                return "no domain " + vm;
            }
            return null;
        });
    }

    /** Moves a running {@code vm} from {@code source} to {@code target}, where it waits paused; null when done. */
    String migrate(HostId source, VmId vm, HostId target) {
        return locked(() -> {
            Machine s = machines.get(source);
            Machine t = machines.get(target);
            if (s == null || !s.powered || s.domains.get(vm) != DomainState.RUNNING) {
                return "domain is not running";
            }
            if (t == null || !t.powered || t.domains.containsKey(vm)) {
                return "live migration failed";
            }
            s.domains.remove(vm);
            t.domains.put(vm, DomainState.PAUSED);
            return null;
        });
    }

    /** Whether {@code vm} runs on {@code host}. */
    boolean runs(HostId host, VmId vm) {
        return read(() -> {
            Machine m = machines.get(host);
            return m != null && m.powered && m.domains.get(vm) == DomainState.RUNNING;
        });
    }

    /** The powered hosts where {@code vm} is (running or paused). */
    Set<HostId> holders(VmId vm) {
        return read(() -> {
            Set<HostId> out = new TreeSet<>();
            for (Machine m : machines.values()) {
                if (m.powered && m.domains.containsKey(vm)) {
                    out.add(m.id);
                }
            }
            return out;
        });
    }

    /** When {@code vm} last came up, or null if it never did since the run began. */
    Long upSince(VmId vm) {
        return read(() -> upSince.get(vm));
    }

    List<String> violations() {
        return read(() -> List.copyOf(violations));
    }

    private void checkNoOtherCopy(Machine here, VmId vm, String what) {
        for (Machine m : machines.values()) {
            if (m != here && m.powered && m.domains.containsKey(vm)) {
                violations.add(what + " of " + vm + " on " + here.id + " while powered " + m.id + " holds it ("
                        + m.domains.get(vm) + ")");
            }
        }
    }

    // ---------------------------------------------------------------- decisions

    /** One node's decision (from its thread). */
    void decided(Decision d) {
        locked(() -> {
            decided.merge(d.kind(), 1L, Long::sum);
            switch (d.kind()) {
                case READY -> ready.add(d.host());
                case LEADER_ELECTED -> leader = d.host();
                case SESSION_STARTED -> sessionsStarted++;
                case RECOVERED -> recovered.add(d);
                case LEASE_LAPSED, SELF_FENCE, FREEZE, FENCE_FAILED, ALARM, DESTROY_UNOWNED, START_FAILED -> noted.add(d);
                default -> { }
            }
            return null;
        });
    }

    long count(Decision.Kind kind) {
        return read(() -> decided.getOrDefault(kind, 0L));
    }

    int readyHosts() {
        return read(ready::size);
    }

    boolean isReady(HostId host) {
        return read(() -> ready.contains(host));
    }

    HostId leader() {
        return read(() -> leader);
    }

    int sessionsStarted() {
        return read(() -> sessionsStarted);
    }

    int liveHostsFenced() {
        return read(() -> liveHostsFenced);
    }

    List<Decision> recovered() {
        return read(() -> List.copyOf(recovered));
    }

    /** The decisions worth a look (lapsed leases, self-fences, alarms, failures), in order. */
    List<Decision> noted() {
        return read(() -> List.copyOf(noted));
    }

    // ---------------------------------------------------------------- waiting

    /**
     * Waits until {@code done} holds (checked under the lock, after every change) or the deadline
     * ({@code System.nanoTime}) passes; returns whether it holds.
     */
    boolean await(BooleanSupplier done, long deadlineNanos) throws InterruptedException {
        lock.lock();
        try {
            while (!done.getAsBoolean()) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(500)));
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Wakes whoever waits: something they check outside the world changed. */
    void poke() {
        locked(() -> null);
    }

    private <T> T locked(java.util.function.Supplier<T> body) {
        lock.lock();
        try {
            return body.get();
        } finally {
            changed.signalAll();
            lock.unlock();
        }
    }

    private void act(Runnable body) {
        locked(() -> {
            body.run();
            return null;
        });
    }

    /** Reads under the lock; wakes nobody. */
    private <T> T read(java.util.function.Supplier<T> body) {
        lock.lock();
        try {
            return body.get();
        } finally {
            lock.unlock();
        }
    }
}
