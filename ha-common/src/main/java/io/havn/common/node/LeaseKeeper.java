package io.havn.common.node;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.node.Decision.Kind;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import java.util.HashSet;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.LongPredicate;

/**
 * Rules 3 and 5 on this host: the session, its {@link Lease} and the confirmations that renew it,
 * and what happens when the lease lapses: freeze while a strict majority of voters is freshly lost
 * (and thaw or self-fence when that ends), else self-fence at once. It also publishes to the
 * watchdog until when this host may hold its HA VMs ({@link #updateWatchdog}).
 *
 * <p>It exists so that every decision about whether this host may hold HA VMs right now sits in one
 * class; it knows the local domains only through {@link Host} (whether any HA VM is held, and to
 * destroy them when it self-fences).
 */
final class LeaseKeeper {
    /** What the lease guards, and who must hear when the session changes. */
    interface Host {
        /** Whether this host runs, or is about to run, an HA VM. */
        boolean holdsHaVms();

        /** Destroys every HA VM this host holds (self-fencing). */
        void destroyHaVms();

        /** The session started or ended: registration and readiness start over. */
        void sessionChanged();

        /** Re-examines every VM this host runs or whose record names it. */
        void reconcileAll();

        /** Whether this host holds a copy of an HA VM whose record still names an earlier session of it. */
        boolean holdsUnbound();
    }

    private final NodeContext n;
    /** Rule 5: whether a strict majority of voters is freshly lost now (then a lapsed lease freezes). */
    private final LongPredicate majorityLost;
    /** Tells the manager this host's session ended (a leader steps down). */
    private final Runnable sessionEnded;
    private final Host host;

    private long session;
    private final Lease lease;
    private boolean registered;
    /**
     * Whether this host's lease is bound to its watchdog and to self-fencing (rules 3 and 5). It is,
     * unless the cluster record says the cluster is disarmed; once armed again it binds only when a
     * confirmation made its lease valid again, so arming never self-fences a host at once. It starts
     * bound: a daemon that has not read the cluster record yet behaves as in an armed cluster.
     */
    private boolean bound = true;
    /** An acknowledgement of the current arm is being written. */
    private boolean acking;
    /** The sessions this daemon opened (not those of a daemon before it on this host). */
    private final Set<Long> openedHere = new HashSet<>();

    LeaseKeeper(NodeContext context, LongPredicate majorityLost, Runnable sessionEnded, Host host) {
        this.n = context;
        this.majorityLost = majorityLost;
        this.sessionEnded = sessionEnded;
        this.host = host;
        this.lease = new Lease(context.settings());
    }

    /** At start-up: the deadline the watchdog still holds from a previous run is this host's lease. */
    void inherit() {
        lease.inherit(n.watchdog().inheritedDeadline());
    }

    /** This host's live session, 0 without one. */
    long session() {
        return session;
    }

    /** Whether this host is registered (has had a confirmation) in its current session. */
    boolean registered() {
        return registered;
    }

    boolean frozen() {
        return lease.frozen();
    }

    /** Whether this host's lease binds it now (false while the cluster is disarmed). */
    boolean bound() {
        return bound;
    }

    boolean selfFenced() {
        return lease.selfFenced();
    }

    boolean leaseValid(long now) {
        return lease.valid(now);
    }

    /**
     * Whether the deadline a previous daemon left on the watchdog has passed: a VM still bound to that
     * daemon's session may run here until then and not after, unless re-bound (the leader may then
     * prove that session dead). With no deadline left (none was armed), nothing is judged here.
     */
    boolean previousPassed(long now) {
        OptionalLong until = lease.previousUntil();
        return until.isPresent() && now >= until.getAsLong();
    }

    /** Whether {@code s} is a session this daemon opened itself (not one a daemon before it left). */
    boolean openedHere(long s) {
        return openedHere.contains(s);
    }

    /** Whether this host may hold no lease now (it takes no work). */
    boolean barred(long now) {
        return lease.barred(now);
    }

    /** Rule 5's x: time since the last confirmation, capped. */
    int unconfirmedMs(long now) {
        return lease.unconfirmedMs(now);
    }

    void onSessionStarted(long s, long timeoutMs) {
        session = s;
        openedHere.add(s);
        long sessionLeaseMs = n.settings().leaseForSessionMs(timeoutMs);
        lease.sessionStarted(sessionLeaseMs);
        if (sessionLeaseMs == 0) {
            n.decide(Kind.ALARM, null, null, "the ensemble negotiated a session timeout of " + timeoutMs
                    + " ms (asked " + n.settings().sessionTimeoutMs() + " ms): no lease fits below it with watchdogMs "
                    + n.settings().watchdogMs() + " and the drift margin; running no HA VM. Raise the ensemble's "
                    + "maxSessionTimeout or lower watchdogMs");
        } else if (sessionLeaseMs < n.settings().leaseMs()) {
            n.decide(Kind.ALARM, null, null, "the ensemble negotiated a session timeout of " + timeoutMs
                    + " ms (asked " + n.settings().sessionTimeoutMs() + " ms): lease shortened to " + sessionLeaseMs
                    + " ms");
        }
        registered = false;
        host.sessionChanged();
        n.decide(Kind.SESSION_STARTED, null, null, "session " + Long.toHexString(s));
        confirm(n.now());
    }

    void onSessionEnded(long s) {
        if (s != session) {
            return;
        }
        // a quorum expired or closed the session: nothing of it confirms anything any more
        session = 0;
        lease.sessionEnded();
        registered = false;
        host.sessionChanged();
        n.decide(Kind.SESSION_ENDED, null, null, "session " + Long.toHexString(s) + " ended");
        sessionEnded.run();
        checkLease(n.now());
        n.emit(new Effect.OpenSession());
    }

    private void confirm(long now) {
        if (!lease.mayAskConfirmation()) {
            return;
        }
        long token = n.nextToken();
        lease.confirmationAsked(token, now);
        n.emit(new Effect.Confirm(token));
    }

    void onConfirmed(long token, boolean ok) {
        if (!lease.confirmationAnswered(token, ok)) {
            return;
        }
        if (!registered) {
            registered = true;
            n.emit(new Effect.JoinElection());
        }
        long now = n.now();
        if (leaseValid(now)) {
            updateWatchdog(now);
            host.reconcileAll();
        }
    }

    /**
     * The daemon is being stopped cleanly and means to be back within {@code windowMs}: while this
     * host holds HA VMs under a valid lease, it records a planned restart in its host record (bound
     * to its live session) and, once that is written, keeps the watchdog armed for the window,
     * counted from before the write was sent, so its VMs run on while no daemon runs here. The answer
     * to {@code requestId} says what was done; the caller may then exit. Without a window, VMs or a
     * lease, nothing is announced and the VMs stay only under the lease, as after a crash.
     */
    void onStopping(long requestId, long windowMs, Runnable announced) {
        long now = n.now();
        Versioned<HostRecord> hr = n.view().host(n.self());
        String refusal;
        if (windowMs <= 0) {
            refusal = "no restart window is set (restartWindowMs 0)";
        } else if (!host.holdsHaVms()) {
            n.answer(requestId, AdminReply.ok("this host holds no HA VM: nothing to keep while its daemon is away"));
            return;
        } else if (session == 0 || !registered || hr == null) {
            refusal = "this host is not registered in a session";
        } else if (lease.frozen() || lease.selfFenced() || !leaseValid(now)) {
            refusal = "this host holds no valid lease";
        } else {
            refusal = null;
        }
        if (refusal != null) {
            long left = Math.max(0, lease.end(now).orElse(now) - now) / 1_000_000L;
            n.answer(requestId, AdminReply.error("not-announced", refusal + ": its HA VMs stay only for what is "
                    + "left of the lease (" + left + " ms), as after a crash"));
            return;
        }
        long s = session;
        long until = now + Peers.ms(windowMs);
        n.write(List.of(new CoordOp.PutHost(hr.value().withRestart(s, windowMs), hr.version()),
                new CoordOp.CheckSessionLive(n.self(), s)), outcome -> {
                    if (outcome != WriteOutcome.OK || s != session || lease.selfFenced()) {
                        n.answer(requestId, AdminReply.error("not-announced", "the planned restart could not be "
                                + "recorded (" + outcome + "): its HA VMs stay only for what is left of the lease"));
                        return;
                    }
                    lease.restartAnnounced(until);
                    updateWatchdog(n.now());
                    n.decide(Kind.RESTART_ANNOUNCED, null, null, "daemon stopping; its HA VMs run on for up to "
                            + windowMs + " ms while it restarts");
                    n.answer(requestId, AdminReply.ok("planned restart recorded: back within " + windowMs + " ms"));
                    announced.run();
                });
    }

    /** Raises (or clears) the alarm when the watchdog starts (or stops) reporting a problem. */
    void checkWatchdog(long now) {
        String problem = n.watchdog().problem().orElse(null);
        if (lease.watchdogSays(problem, now)) {
            n.decide(Kind.ALARM, null, null, problem == null ? "the watchdog guards this host again"
                    : "the watchdog cannot guard this host: " + problem + "; unless that ends within "
                    + n.settings().watchdogMs() + " ms, this host runs no HA VM");
        }
    }

    /** Asks for a confirmation if the session has one due. */
    void confirmIfDue(long now) {
        if (session != 0 && lease.confirmationDue(now)) {
            confirm(now);
        }
    }

    void onHeartbeat(long now) {
        if (lease.frozen()) {
            checkLease(now);
        }
    }

    /** Rules 3 and 5: past the lease, freeze if a strict majority is freshly lost, else self-fence. */
    void checkLease(long now) {
        if (leaseValid(now) || !bound) {
            return; // disarmed: nothing self-fences (see followArming)
        }
        if (lease.selfFenced() || !host.holdsHaVms()) {
            lease.nothingToGuard();
            return;
        }
        if (lease.frozen() && lease.barred(now)) {
            selfFence(now, "frozen, and this host may hold no lease now");
            return;
        }
        if (lease.frozen()) {
            if (majorityLost.test(now)) {
                lease.refreeze();
            } else if (lease.state() == Lease.State.FROZEN) {
                // Peers recovered first: confirm at once, and self-fence unless that lands within
                // a heartbeat timeout. The quorum restarted this session's timer no earlier than
                // the peers' recovery, so the session cannot expire before F + W has passed.
                lease.thaw(now + Peers.ms(n.settings().heartbeatTimeoutMs()));
                confirm(now);
            } else if (now >= lease.thawUntil()) {
                selfFence(now, "frozen, and a strict majority of voters is no longer freshly lost");
            }
            return;
        }
        if (lease.mayFreeze() && !lease.barred(now) && majorityLost.test(now)) {
            lease.freeze();
            n.decide(Kind.FREEZE, null, null, "lease lapsed while a strict majority of voters is freshly lost: "
                    + "keeping VMs, changing nothing");
            return;
        }
        n.decide(Kind.LEASE_LAPSED, null, null, lease.lapseReason(now));
        selfFence(now, "lease lapsed");
    }

    private void selfFence(long now, String why) {
        lease.selfFence();
        n.decide(Kind.SELF_FENCE, null, null, why);
        host.destroyHaVms();
        selfFenceProgress();
    }

    /** After a local change: a self-fenced host that holds no HA VM any more is done self-fencing. */
    void selfFenceProgress() {
        if (lease.selfFenced() && !host.holdsHaVms()) {
            n.decide(Kind.SELF_FENCE_DONE, null, null, "every HA VM of this host is destroyed");
            updateWatchdog(n.now());
        }
    }

    /** Publishes to the watchdog until when this host may hold its HA VMs, or that it holds none. */
    void updateWatchdog(long now) {
        if (!bound && host.holdsHaVms()) {
            disarmedWatchdog(now);
            return;
        }
        if (!host.holdsHaVms()) {
            if (lease.release()) {
                n.emit(new Effect.ReleaseWatchdog());
            }
            return;
        }
        // empty past the lease: the published deadline lapses, and the machine resets unless we finish self-fencing
        OptionalLong deadline = lease.watchdogDeadline(now);
        if (deadline.isPresent() && host.holdsUnbound()) {
            // a copy still bound to the previous daemon's session is guarded by that daemon's deadline
            // only: past it, unless re-bound, it is destroyed, or the machine resets
            OptionalLong previous = lease.previousUntil();
            if (previous.isPresent()) {
                deadline = OptionalLong.of(Math.min(deadline.getAsLong(), previous.getAsLong()));
            }
        }
        deadline.ifPresent(until -> {
            if (lease.arm(until)) {
                n.emit(new Effect.ArmWatchdog(until));
            }
        });
    }

    /**
     * While disarmed, the watchdog is either released or kept a lease length ahead for as long as
     * this daemon runs (so a daemon that hangs or dies still gets its host reset), whatever the lease.
     */
    private void disarmedWatchdog(long now) {
        ClusterRecord.Disarm mode = n.view().cluster().disarmed();
        if (mode == ClusterRecord.Disarm.RELEASE_WATCHDOGS) {
            if (lease.release()) {
                n.emit(new Effect.ReleaseWatchdog());
            }
            return;
        }
        long leaseNanos = Peers.ms(n.settings().leaseMs());
        OptionalLong armed = lease.armedUntil();
        if (armed.isEmpty() || armed.getAsLong() - now < leaseNanos / 2) {
            long until = now + leaseNanos;
            if (lease.arm(until)) {
                n.emit(new Effect.ArmWatchdog(until));
            }
        }
    }

    /**
     * Follows the cluster record: unbinds at once when the cluster is disarmed; binds again once it
     * is armed and this host's lease is valid (after a confirmation), and then acknowledges that arm
     * in its host record, bound to its live session, so that the leader may take that session's
     * expiry as proof again (rule 4). Called after each change of the cluster or host record and in
     * each round.
     */
    void followArming(long now) {
        ClusterRecord cluster = n.view().cluster();
        if (!cluster.armed()) {
            if (bound) {
                bound = false;
                n.decide(Kind.DISARMED, null, null, "the cluster is disarmed (" + cluster.disarmed().word()
                        + " watchdogs): this host self-fences on nothing and its VMs are restarted nowhere else");
                updateWatchdog(now);
            }
            return;
        }
        if (!bound) {
            if (!leaseValid(now) || lease.frozen()) {
                return; // binds on a valid lease only: arming never self-fences at once
            }
            bound = true;
            n.decide(Kind.ARMED, null, null, "the cluster is armed again (generation " + cluster.generation()
                    + "): this host's lease binds it again");
            updateWatchdog(now);
        }
        ackArm(cluster);
    }

    private void ackArm(ClusterRecord cluster) {
        Versioned<HostRecord> hr = n.view().host(n.self());
        long s = session;
        if (cluster.generation() == 0 || hr == null || acking || s == 0 || !registered || n.busy(n.self())
                || hr.value().armedIn(cluster, s)) {
            return;
        }
        long generation = cluster.generation();
        acking = true;
        n.write(List.of(new CoordOp.PutHost(hr.value().withArmed(generation, s), hr.version()),
                new CoordOp.CheckSessionLive(n.self(), s)), outcome -> acking = false);
    }
}
