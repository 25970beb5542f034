package io.havn.daemon.bench;

import io.havn.common.model.HostId;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.CoordOp;
import io.havn.common.port.ViewScope;
import io.havn.daemon.coord.CuratorCoordinator;
import io.havn.daemon.coord.RecordSeal;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One host of the load: the real ZooKeeper adapter ({@link CuratorCoordinator}) of a host, driven
 * as the node drives it (confirmations on a timer, host writes, a target's claim of what the leader
 * placed on it), with what it saw counted. Its sink runs on the coordinator's loop thread; the
 * counts are read by the benchmark's thread, so they are atomic or under this object's lock.
 */
final class LoadHost implements AutoCloseable {
    final HostId id;
    private final CuratorCoordinator coordinator;
    private final AtomicLong tokens = new AtomicLong();
    /** When each confirmation and write in flight was asked for (System.nanoTime). */
    private final Map<Long, Long> asked = new ConcurrentHashMap<>();
    private final Map<Long, CompletableFuture<NodeEvent.WriteOutcome>> writes = new ConcurrentHashMap<>();
    final CompletableFuture<Long> session = new CompletableFuture<>();
    final CompletableFuture<Long> epoch = new CompletableFuture<>();
    final CompletableFuture<Boolean> leads = new CompletableFuture<>();
    /** Completes when the coordinator says every VM record is in (after {@link #keepEveryRecord}). */
    final CompletableFuture<Boolean> wholeLoaded = new CompletableFuture<>();
    /** Which VM records this host keeps. */
    private final ViewScope view;
    /** This host's view of the VM records (what StateMirror posted). */
    final Map<VmId, Versioned<VmRecord>> vms = new ConcurrentHashMap<>();
    /** VM deltas posted to this host, in all. */
    final AtomicLong vmDeltas = new AtomicLong();
    /** When this host's mirror saw each host's live sessions empty (System.nanoTime), by host. */
    final Map<HostId, Long> goneSeen = new ConcurrentHashMap<>();
    /** When each claim of a VM placed here was acknowledged (System.nanoTime). */
    final Map<VmId, Long> claimedAt = new ConcurrentHashMap<>();
    private final Map<VmId, Boolean> claiming = new ConcurrentHashMap<>();
    private volatile boolean claims;
    private volatile boolean closed;
    /** The session now, -1 between sessions. */
    private volatile long current = -1;
    /** Claims that failed (and were made again). */
    final AtomicLong claimsFailed = new AtomicLong();
    /** Sessions that ended while this host ran (each one would have cost the host its VMs). */
    final AtomicLong sessionsEnded = new AtomicLong();

    // confirmation figures, under the lock
    private final List<Long> confirmLatencies = new ArrayList<>();
    private long confirmFailures;
    private long lastCredit = Long.MIN_VALUE;
    private long longestUncredited;
    private long overSuspect;
    private long overLease;
    private final long suspectNanos;
    private final long leaseNanos;

    LoadHost(HostId id, String connect, int sessionTimeoutMs, String cluster, byte[] clusterKey, long suspectAfterMs,
             long leaseMs, ViewScope view) {
        this.id = id;
        this.view = view;
        this.suspectNanos = suspectAfterMs * 1_000_000L;
        this.leaseNanos = leaseMs * 1_000_000L;
        this.coordinator = new CuratorCoordinator(connect, sessionTimeoutMs, null, cluster, id,
                RecordSeal.fromClusterKey(cluster, clusterKey), this::onEvent);
    }

    void start() {
        coordinator.start();
        coordinator.scope(view); // OWN: only the records that name this host, as a host of a large cluster keeps
        coordinator.openSession();
    }

    /** The session now, -1 between sessions. */
    long currentSession() {
        return current;
    }

    /** Asks for a confirmation of this host's session now. */
    void confirm() {
        long t = tokens.incrementAndGet();
        asked.put(t, System.nanoTime());
        coordinator.confirm(t);
    }

    /** Applies {@code ops}; the future completes with the ensemble's answer. */
    CompletableFuture<NodeEvent.WriteOutcome> write(List<CoordOp> ops) {
        long t = tokens.incrementAndGet();
        CompletableFuture<NodeEvent.WriteOutcome> f = new CompletableFuture<>();
        writes.put(t, f);
        coordinator.write(t, ops);
        return f;
    }

    /** Keeps every VM record from now on, as a leader does; {@link #wholeLoaded} says when they are in. */
    void keepEveryRecord() {
        coordinator.scope(ViewScope.WHOLE);
    }

    void joinElectionAndClaim() {
        coordinator.joinElection();
    }

    /** From now on, claims every VM its mirror shows placed on it in its session (as a target host does). */
    void claimWhatIsPlacedHere() {
        claims = true;
    }

    private void onEvent(NodeEvent e) {
        long now = System.nanoTime();
        if (e instanceof NodeEvent.SessionStarted s) {
            current = s.session();
            if (!session.complete(s.session())) {
                sessionsEnded.incrementAndGet(); // a second session: the first one ended under the load
            }
        } else if (e instanceof NodeEvent.SessionEnded) {
            current = -1;
            if (!closed) {
                coordinator.openSession(); // as the node does
            }
        } else if (e instanceof NodeEvent.Confirmed c) {
            Long at = asked.remove(c.token());
            if (at != null) {
                confirmed(at, now, c.ok());
            }
        } else if (e instanceof NodeEvent.WriteDone w) {
            CompletableFuture<NodeEvent.WriteOutcome> f = writes.remove(w.token());
            if (f != null) {
                f.complete(w.outcome());
            }
        } else if (e instanceof NodeEvent.LeadershipChanged l) {
            if (l.leader()) {
                leads.complete(true);
                long t = tokens.incrementAndGet();
                coordinator.claimEpoch(t);
            }
        } else if (e instanceof NodeEvent.EpochClaimed c) {
            if (c.epoch() > 0) {
                epoch.complete(c.epoch());
            } else {
                epoch.completeExceptionally(new IllegalStateException(id + " could not claim the epoch"));
            }
        } else if (e instanceof NodeEvent.VmChanged v) {
            vmDeltas.incrementAndGet();
            if (v.record() == null) {
                vms.remove(v.vm());
            } else {
                vms.put(v.vm(), v.record());
                VmRecord r = v.record().value();
                if (r.phase() == VmPhase.RUNNING && id.equals(r.owner()) && claiming.containsKey(r.id())) {
                    claimedAt.putIfAbsent(r.id(), now); // a claim whose answer was lost went through
                }
                maybeClaim(v.record());
            }
        } else if (e instanceof NodeEvent.ViewLoaded) {
            wholeLoaded.complete(true);
        } else if (e instanceof NodeEvent.LiveChanged l) {
            if (l.sessions().isEmpty()) {
                goneSeen.putIfAbsent(l.host(), now);
            }
        }
    }

    private void maybeClaim(Versioned<VmRecord> vr) {
        VmRecord r = vr.value();
        long s = current;
        if (!claims || s < 0 || r.phase() != VmPhase.PLACED || !r.names(id, s) || !id.equals(r.owner())
                || claiming.putIfAbsent(r.id(), true) != null) {
            return;
        }
        write(List.of(new CoordOp.PutVm(r.withPhase(VmPhase.RUNNING, null), vr.version()),
                new CoordOp.CheckSessionLive(id, s))).thenAccept(o -> {
                    if (o == NodeEvent.WriteOutcome.OK) {
                        claimedAt.putIfAbsent(r.id(), System.nanoTime());
                        return;
                    }
                    claimsFailed.incrementAndGet();
                    claiming.remove(r.id());
                    Versioned<VmRecord> now = vms.get(r.id());
                    if (now != null) {
                        maybeClaim(now); // as the node's next reconciliation does
                    }
                });
    }

    private synchronized void confirmed(long askedAt, long now, boolean ok) {
        if (!ok) {
            confirmFailures++;
            return;
        }
        confirmLatencies.add(now - askedAt);
        if (lastCredit != Long.MIN_VALUE) {
            uncredited(now - lastCredit);
        }
        lastCredit = Math.max(lastCredit, askedAt);
    }

    private void uncredited(long gap) {
        longestUncredited = Math.max(longestUncredited, gap);
        if (gap > suspectNanos) {
            overSuspect++;
        }
        if (gap > leaseNanos) {
            overLease++;
        }
    }

    /** The figures of the confirmations answered since the last call, which starts them afresh. */
    synchronized ConfirmFigures takeConfirmFigures(long now) {
        if (lastCredit != Long.MIN_VALUE) {
            uncredited(now - lastCredit); // the time since the last credit counts too
        }
        ConfirmFigures f = new ConfirmFigures(List.copyOf(confirmLatencies), confirmFailures, longestUncredited,
                overSuspect, overLease);
        confirmLatencies.clear();
        confirmFailures = 0;
        longestUncredited = 0;
        overSuspect = 0;
        overLease = 0;
        return f;
    }

    /** Confirmations answered in a stretch of time. */
    record ConfirmFigures(List<Long> latencies, long failures, long longestUncreditedNanos, long overSuspect,
                          long overLease) {
    }

    /**
     * Abandons the session, as the daemon's death does: ZooKeeper ends it a session timeout later.
     */
    @Override
    public void close() {
        closed = true;
        coordinator.close();
    }
}
