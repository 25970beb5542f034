package io.havn.common.port;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import java.util.List;
import java.util.Set;

/**
 * The coordination service (ZooKeeper through Curator in the daemon). Every call returns at once;
 * results and changes come back to the node as events: {@code SessionStarted}, {@code SessionEnded},
 * {@code Confirmed}, {@code LeadershipChanged}, {@code SuccessorChanged} (next in the election's
 * line, or no longer), {@code EpochClaimed}, {@code WriteDone}, and the
 * state deltas ({@code VmChanged}, {@code HostChanged}, {@code LiveChanged}, {@code EpochChanged}).
 *
 * <p>A session is a ZooKeeper session: ephemeral presence ends when it expires. The adapter must
 * never report a session as confirmed because the client is connected: only a successful write
 * to the quorum confirms anything.
 */
public interface Coordinator {
    /** Opens a session (again, after an expiry); reported by {@code SessionStarted}. */
    void openSession();

    /**
     * Writes this host's live node {@code live/<host>/<session>} (creating it on first use). The
     * node credits the lease from the moment it called this, once {@code Confirmed(token, true)}
     * comes back.
     */
    void confirm(long token);

    /** Enters the leader election of the current session. */
    void joinElection();

    /** Leaves the election and enters it again at the back (a leader whose lease lapsed steps down). */
    void resign();

    /**
     * Removes the live node and the election entry of a session of another host that is proven
     * powered off, so that its leadership (if it led) passes at once instead of at session expiry.
     */
    void evict(HostId host, long session);

    /** Bumps the epoch and records this host as its leader; reported by {@code EpochClaimed} with the new epoch, or a failure. */
    void claimEpoch(long token);

    /** Applies {@code ops} atomically; reported by {@code WriteDone(token, outcome)}. */
    void write(long token, List<CoordOp> ops);

    /**
     * Which VM records to pass on ({@link ViewScope}), from now on and in every later session; a
     * coordinator starts in {@link ViewScope#OWN}. A switch to {@link ViewScope#WHOLE} is answered by
     * {@code ViewLoaded} once every VM record has been passed on, and so is every new session while
     * in it (after its state, before {@code SessionStarted}). A switch to OWN passes nothing on: the
     * node drops what it no longer needs.
     */
    void scope(ViewScope scope);

    /**
     * The VMs whose records this host needs besides those that name it: the domains it holds. Replaces
     * the set given last. Each VM newly in the set is answered, in either scope, by a {@code VmChanged}
     * with its record as it is then, or null when it has none; each new session passes every followed
     * record on again (null for those that have none), before {@code SessionStarted}.
     */
    void follow(Set<VmId> vms);
}
