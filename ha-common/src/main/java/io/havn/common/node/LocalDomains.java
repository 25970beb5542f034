package io.havn.common.node;

import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.node.Decision.Kind;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What runs on this host, as far as the node knows: the local domains, the hypervisor calls in
 * flight (a VM with a call in flight is busy, and a start or resume in flight counts as held for
 * the watchdog), guests that crashed or arrived by migration, and when each VM last changed here
 * (which decides whether a listing still counts for it, rule 7). It makes every call to the
 * hypervisor ({@link #op}, {@link #destroy}, {@link #shutdown}) so that none escapes that record.
 *
 * <p>It exists so that the state everything else reads (whether this host holds HA VMs, for rule
 * 3's watchdog and self-fencing; what runs here, for reconciliation) lives in one place with no
 * decisions of its own. It depends on nothing but the node's context; {@link HypervisorEvents}
 * updates it, {@link LeaseKeeper} and {@link Reconciler} read it and call through it.
 */
final class LocalDomains {
    private final NodeContext n;

    private final Map<VmId, DomainState> domains = new TreeMap<>();
    private final Set<VmId> migratedIn = new HashSet<>();
    private final Map<VmId, Hypervisor.Op> ops = new HashMap<>();
    private final Set<VmId> crashed = new HashSet<>();
    /** Every domain the last listing found defined here, running or not. */
    private Set<VmId> defined = Set.of();
    /** Whether a first listing has been taken in (before it, nothing here is known). */
    private boolean listed;
    /** A sequence number of local changes, and the last one of each VM. */
    private long changes;
    private final Map<VmId, Long> lastChange = new HashMap<>();

    LocalDomains(NodeContext context) {
        this.n = context;
    }

    // ---------------------------------------------------------------- what runs here

    /** The local domains this host runs (a read-only view). */
    Map<VmId, DomainState> domains() {
        return Collections.unmodifiableMap(domains);
    }

    /** The state of {@code vm} here, null if it does not run here. */
    DomainState state(VmId vm) {
        return domains.get(vm);
    }

    /** Records {@code vm} as running or paused here. */
    void set(VmId vm, DomainState state) {
        domains.put(vm, state);
    }

    /** Records {@code vm} as in {@code state} here, or gone (null): a gone guest did not migrate in. */
    void put(VmId vm, DomainState state) {
        if (state == null) {
            domains.remove(vm);
            migratedIn.remove(vm);
        } else {
            domains.put(vm, state);
        }
    }

    /** A start or resume completed: the guest runs here by this host's call, not by a migration's arrival. */
    void startedHere(VmId vm) {
        domains.put(vm, DomainState.RUNNING);
        migratedIn.remove(vm);
    }

    /** The guest is no longer here (it migrated away: it keeps its migrated-in mark until listed). */
    void migratedAway(VmId vm) {
        domains.remove(vm);
    }

    /**
     * The VMs held here: every local domain, every domain defined here (one that does not run may be
     * started by libvirt's autostart when the host boots), and every VM with a call in flight.
     */
    Set<VmId> held() {
        if (ops.isEmpty() && (defined.isEmpty() || domains.keySet().containsAll(defined))) {
            return domains.keySet(); // the common case, every tick: no set made
        }
        Set<VmId> all = new HashSet<>(domains.keySet());
        all.addAll(defined);
        all.addAll(ops.keySet());
        return all;
    }

    /** The domains the last listing found defined here. */
    void defined(Set<VmId> listed) {
        defined = Set.copyOf(listed);
    }

    boolean listed() {
        return listed;
    }

    void listedOnce() {
        listed = true;
    }

    /** The hypervisor call in flight for {@code vm}, null if none. */
    Hypervisor.Op inFlight(VmId vm) {
        return ops.get(vm);
    }

    /** Holds {@code vm} as if starting, with no call made (a claim or a call whose result is unknown). */
    void holdAsStarting(VmId vm) {
        ops.put(vm, Hypervisor.Op.START);
    }

    /** The call in flight for {@code vm} returned, or the hold on it ends. */
    void callReturned(VmId vm) {
        ops.remove(vm);
    }

    boolean crashed(VmId vm) {
        return crashed.contains(vm);
    }

    void crashedHere(VmId vm) {
        crashed.add(vm);
    }

    void crashHandled(VmId vm) {
        crashed.remove(vm);
    }

    boolean migratedIn(VmId vm) {
        return migratedIn.contains(vm);
    }

    void arrivedByMigration(VmId vm) {
        migratedIn.add(vm);
    }

    /** Marks {@code vm} changed here; returns the change's sequence number. */
    long changed(VmId vm) {
        lastChange.put(vm, ++changes);
        return changes;
    }

    /** The sequence number of the last local change. */
    long changes() {
        return changes;
    }

    /** The sequence number of the last change of {@code vm}, 0 if none. */
    long lastChange(VmId vm) {
        return lastChange.getOrDefault(vm, 0L);
    }

    static boolean holds(DomainState s) {
        return s == DomainState.RUNNING || s == DomainState.PAUSED || s == DomainState.PAUSED_STORAGE;
    }

    boolean isHa(VmId vm) {
        Versioned<VmRecord> r = n.vm(vm);
        return r != null && r.value().spec().ha();
    }

    /** Whether this host runs, or is about to run, an HA VM: then the watchdog must guard it. */
    boolean holdsHaVms() {
        for (Map.Entry<VmId, DomainState> d : domains.entrySet()) {
            if (holds(d.getValue()) && isHa(d.getKey())) {
                return true;
            }
        }
        for (Map.Entry<VmId, Hypervisor.Op> op : ops.entrySet()) {
            if ((op.getValue() == Hypervisor.Op.START || op.getValue() == Hypervisor.Op.RESUME) && isHa(op.getKey())) {
                return true;
            }
        }
        return false;
    }

    /** Self-fencing: destroys every HA VM held here that is not being destroyed already. */
    void destroyHaVms() {
        for (Map.Entry<VmId, DomainState> d : domains.entrySet()) {
            if (isHa(d.getKey()) && holds(d.getValue()) && ops.get(d.getKey()) != Hypervisor.Op.DESTROY) {
                destroy(d.getKey());
            }
        }
    }

    // ---------------------------------------------------------------- calls to the hypervisor

    void destroy(VmId vm) {
        changed(vm);
        ops.put(vm, Hypervisor.Op.DESTROY);
        n.emit(new Effect.Destroy(vm));
    }

    /** Calls the hypervisor for {@code vm}: the VM counts as changed, and busy until the call returns. */
    void op(VmId vm, Hypervisor.Op op, Effect call) {
        changed(vm);
        ops.put(vm, op);
        n.emit(call);
    }

    void shutdown(VmId vm) {
        n.decide(Kind.STOP, vm, null, "graceful shutdown");
        op(vm, Hypervisor.Op.SHUTDOWN, new Effect.Shutdown(vm, n.settings().shutdownTimeoutMs()));
    }
}
