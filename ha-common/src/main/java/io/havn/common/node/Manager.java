package io.havn.common.node;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;

/**
 * The leader's part of the node, as the node sees it: it turns failed hosts into fencing, proof of
 * death and restarts (rule 4), executes operators' requests and drains hosts in maintenance, every
 * write under its epoch (rule 2). It only wires and orders its parts, each holding its rules:
 * {@link Leadership} (rule 2), {@link Fencing} (rules 4 and 5: fencing and proof of death),
 * {@link Recovery} (restarts and placement), {@link Moves} (rule 6: migrations and drains) and
 * {@link FailoverTimings} (the failover report).
 */
final class Manager {
    /** What the manager needs of this host's own agent. */
    interface Host {
        /** Whether this host holds a valid lease now (rule 3): a leader without one acts on nothing. */
        boolean leaseValid(long now);

        /** Whether this host is registered in its current session. */
        boolean registered();
    }

    /** Where the leader's round hands the operators' requests to be decided. */
    interface Requests {
        void serve(long epoch, long now);
    }

    private final Requests requests;
    private final Leadership leadership;
    private final Fencing fencing;
    private final FailoverTimings timings;
    private final Recovery recovery;

    Manager(NodeContext context, Liveness live, Host host, Requests requests) {
        this.requests = requests;
        this.leadership = new Leadership(context, live, host, this::newEpoch, this::steppedDown);
        this.fencing = new Fencing(context, live, host, leadership::active);
        this.timings = new FailoverTimings(context, live, fencing::suspectedAt);
        Moves moves = new Moves(context, fencing::proof, leadership::leaderWrite, timings::failingOver);
        this.recovery = new Recovery(context, live, host, fencing::proof, leadership::leaderWrite, moves,
                timings::failingOver);
    }

    private void newEpoch() {
        fencing.forgetFences();
    }

    private void steppedDown() {
        timings.forget();
    }

    /** Whether this node leads now: elected, holding the current epoch, with a valid lease. */
    boolean active() {
        return leadership.active();
    }

    void onLeadership(boolean gained) {
        leadership.onLeadership(gained);
    }

    /** Whether the election names this node (it leads, or will once its epoch is claimed). */
    boolean elected() {
        return leadership.elected();
    }

    /** Every VM record is in the view now: an elected node may claim its epoch. */
    void onViewLoaded() {
        leadership.onViewLoaded();
    }

    void onEpochClaimed(long token, long newEpoch) {
        leadership.onEpochClaimed(token, newEpoch);
    }

    void onEpochChanged() {
        leadership.onEpochChanged();
    }

    void onSessionEnded() {
        leadership.onSessionEnded();
    }

    /** The round: leadership first, then fencing, then (while leading) requests and recovery. */
    void tick(long now) {
        if (!leadership.tick(now)) {
            return;
        }
        fencing.duty(now);
        if (active()) {
            requests.serve(leadership.epoch(), now);
            recovery.recover(now);
        }
    }

    void onFenceDone(HostId h, boolean off, String error) {
        fencing.onFenceDone(h, off, error);
    }

    /** Ends the sessions of a host recorded off, so that leadership and locks it held pass at once. */
    void evictAll(HostId h) {
        fencing.evictAll(h);
    }

    /** Decides on requests as they come, not only in the round. */
    void onRequestChanged(long now) {
        if (active()) {
            requests.serve(leadership.epoch(), now);
        }
    }

    /** Reports a failover once another host has claimed its VM; forgets it if the VM was stopped or failed. */
    void onVmChanged(VmId vm, long now) {
        timings.onVmChanged(vm, now);
    }
}
