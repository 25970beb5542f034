package io.havn.common.node;

import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.port.ViewScope;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which VM records this node keeps ({@link ViewScope}), and whose records it follows.
 *
 * <p>It keeps every record ({@link ViewScope#WHOLE}) while it leads or is elected to, while it is
 * next in the election's line (the successor: it leads when the leader's entry goes, and can then
 * claim its epoch at once instead of loading every record first), and while the cluster has fewer
 * hosts than {@link Settings#ownViewFromHosts()}; otherwise only its own
 * ({@link ViewScope#OWN}): the records that name it, and those of the domains it holds or has a
 * hypervisor call in flight for. It follows both: the coordinator finds a record that comes to name
 * this host by itself, but a record that stopped naming it while this host was cut off would
 * otherwise never be passed on again, and the view would keep a stale copy that names it (every
 * write on it then conflicts, and its VM may be left to run here); a followed record is passed on
 * again at each new session, or said to be gone. Nothing is decided before the first session's
 * state is in: until then the coordinator's starting scope, OWN, stands, so a host of a large
 * cluster never loads the whole state only to drop it.
 *
 * <p>Two facts the rest of the node relies on:
 * <ul>
 * <li>{@link #whole()}: every record is in the view, so the absence of one means the VM has none.
 *     The leader claims its epoch only then, so it never places, restarts or judges a request on
 *     part of the state.
 * <li>{@link #known(VmId)}: for a domain this host holds, whether the coordinator has answered with
 *     its record (or with its absence). Until then the domain is neither adopted nor left alone as
 *     one that is not under HA: reconciliation waits for the answer, and so does readiness.
 * </ul>
 * In OWN, a record that names this host no more, of a VM it does not follow and is not writing, is
 * dropped from the view as it comes: the coordinator passes nothing more on about it.
 */
final class RecordScope {
    private final NodeContext n;
    /** The scope asked of the coordinator; it starts in OWN. */
    private ViewScope asked = ViewScope.OWN;
    /** Whether every record of the WHOLE scope asked has been passed on. */
    private boolean loaded;
    /** Whether a session's state has come in: before it the number of hosts is not known. */
    private boolean sessionSeen;
    /** Whether this session is next in the election's line. */
    private boolean successor;
    private Set<VmId> followed = Set.of();
    /** Followed VMs whose record (or its absence) has not come back yet. */
    private final Set<VmId> unanswered = new HashSet<>();

    RecordScope(NodeContext context) {
        this.n = context;
    }

    /**
     * Whether the view holds what this host asked for: always in OWN (a followed record that has not
     * come in is judged by {@link #known}); in WHOLE, once every record is in. A host of a small
     * cluster reports ready only then, so what it shows and checks is the whole state, as it always was.
     */
    boolean settled() {
        return asked != ViewScope.WHOLE || loaded;
    }

    /** Whether the view holds every VM record now. */
    boolean whole() {
        return asked == ViewScope.WHOLE && loaded;
    }

    /**
     * Whether the record of {@code vm}, a domain held here, is known (or known to be absent): the view
     * holds every record, or holds this one, or the coordinator has answered its follow. A domain not
     * followed yet (found in this very step) is not known.
     */
    boolean known(VmId vm) {
        return whole() || n.view().vm(vm) != null || (followed.contains(vm) && !unanswered.contains(vm));
    }

    void onSessionStarted() {
        sessionSeen = true;
    }

    /** Whether this session is next in the election's line now. */
    void onSuccessor(boolean next) {
        successor = next;
    }

    /**
     * Asks for the scope this node needs now, and follows the VMs it holds and those whose records name
     * it; {@code leading}: it leads or is elected to.
     */
    void update(boolean leading, Set<VmId> heldHere) {
        Set<VmId> named = n.view().vmsOf(n.self());
        Set<VmId> held = heldHere;
        if (!named.isEmpty() && !heldHere.containsAll(named)) {
            held = new HashSet<>(heldHere);
            held.addAll(named);
        }
        if (!held.equals(followed)) {
            Set<VmId> gone = new HashSet<>(followed);
            gone.removeAll(held);
            for (VmId v : held) {
                if (!followed.contains(v)) {
                    unanswered.add(v);
                }
            }
            unanswered.retainAll(held);
            followed = Set.copyOf(held);
            n.emit(new Effect.Follow(followed));
            for (VmId v : gone) {
                drop(v);
            }
        }
        if (!sessionSeen) {
            return;
        }
        ViewScope want = leading || successor || n.view().hostIds().size() < n.settings().ownViewFromHosts()
                ? ViewScope.WHOLE : ViewScope.OWN;
        if (want != asked) {
            asked = want;
            loaded = false;
            n.emit(new Effect.Scope(want));
            if (want == ViewScope.OWN) {
                List<VmId> all = new ArrayList<>();
                for (Versioned<VmRecord> vr : n.view().vms()) {
                    all.add(vr.value().id());
                }
                for (VmId v : all) {
                    drop(v);
                }
            }
        }
    }

    /** The coordinator has passed on every record of {@code scope}. */
    void onLoaded(ViewScope scope) {
        if (scope == ViewScope.WHOLE && asked == ViewScope.WHOLE) {
            loaded = true;
        }
    }

    /** A record of {@code vm} came in (or its absence): answers a follow; in OWN, drops it if not needed. */
    void onVmChanged(VmId vm) {
        unanswered.remove(vm);
        drop(vm);
    }

    /** In OWN, drops the record of {@code vm} if this host needs it no more. */
    void drop(VmId vm) {
        if (asked != ViewScope.OWN || followed.contains(vm) || n.busy(vm)) {
            return;
        }
        Versioned<VmRecord> vr = n.view().vm(vm);
        if (vr != null && !vr.value().namesHost(n.self())) {
            n.view().putVm(vm, null);
        }
    }
}
