package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.CuratorEvent;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.TransactionOp;
import org.apache.curator.utils.ThreadUtils;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One write of the port as one ZooKeeper multi-op: the translation of its ops, the run, and the
 * translation of the result into {@code WriteDone}.
 *
 * <ul>
 *   <li>{@code CheckEpoch(e)}: check the version of {@code epoch} is e;</li>
 *   <li>{@code CheckSessionLive(h, s)}: check {@code live/h/s} exists (any version);</li>
 *   <li>{@code CheckSessionGone(h, s)}: create {@code live/h/s}, then delete it, in the same multi.
 *       ZooKeeper has no "must not exist" check; the create fails with NodeExists exactly when the
 *       session is live, and the delete undoes the create, so the multi leaves no trace but a bump
 *       of {@code live/h}'s child version (watchers of {@code live/h} see a change with nothing
 *       changed). The parent {@code live/h} must exist, or the create fails with NoNode: the
 *       parent is created (idempotently) before such a multi;</li>
 *   <li>{@code CheckHost(h, v)}: check the version of {@code hosts/h} is v;</li>
 *   <li>{@code CheckCluster(v)}: check the version of {@code cluster} is v; {@code CheckCluster(NEW)},
 *       "the cluster record is absent", is a create of {@code cluster} then its delete, in the same
 *       multi, as for CheckSessionGone: the create fails with NodeExists exactly when it exists (its
 *       watchers see it come and go, and read it absent again);</li>
 *   <li>{@code PutVm}/{@code PutHost}/{@code PutRequest}/{@code PutCluster}: create when the expected version is NEW,
 *       else set the data at that version; the data is sealed ({@link RecordSeal}) for the version
 *       the write makes, 0 or the expected version + 1;</li>
 *   <li>{@code DeleteVm(v, n)}: delete at version n.</li>
 * </ul>
 *
 * <p>Each {@code PutVm} also creates, in the same multi, one index entry
 * {@code hostvms/<h>/<vm>-<seq>} (persistent sequential, no data) for each host h that the new
 * record names and the previous version did not: the version the session's mirror keeps at
 * exactly the expected version, or, when it keeps another or none (or the put creates), every
 * host the record names. So the write and its hints stand or fall together, and a host that keeps
 * only its own records finds every one that comes to name it. Entries are hints (a duplicate is
 * harmless), never deleted here: a missing one would fail the whole write. Their parents must
 * exist: each host's session makes its own before it is live, and a write naming a host whose
 * parent this session has not seen yet makes it first, as for CheckSessionGone.
 *
 * <p>ZooKeeper reads version -1 as "any version", while the port's versions are exact (NEW, -1,
 * only means "absent" for a put). A check or delete naming a negative version, or a put naming a
 * version below NEW, can never hold: {@link #neverHolds} says so, and the write is a conflict
 * without being sent.
 *
 * <p>A conflict on a record whose stored version the session refused (its seal is missing or
 * wrong) is answered a retry interval late: the node still holds the last verified version, so
 * each try conflicts until an operator repairs the record, and the node must not spin on it.
 */
final class Multi {
    private static final Logger log = LoggerFactory.getLogger(Multi.class);
    /** ZooKeeper's "whatever the version". */
    private static final int ANY_VERSION = -1;

    private final List<CuratorOp> ops;
    /** For each ZooKeeper op, the port's op it came from. */
    private final List<CoordOp> origins;

    private Multi(List<CuratorOp> ops, List<CoordOp> origins) {
        this.ops = List.copyOf(ops);
        this.origins = List.copyOf(origins);
    }

    private List<CuratorOp> ops() {
        return ops;
    }

    /**
     * Runs {@code ops} as one multi and completes {@code answer} with its WriteDone. An op that can
     * never hold makes it a conflict without a round trip; CheckSessionGone first gets the live
     * parents it needs, with idempotent creates.
     */
    static void run(CoordSession session, long token, List<CoordOp> ops, Answer answer) {
        for (CoordOp op : ops) {
            String never = neverHolds(op);
            if (never != null) {
                answer.complete(new NodeEvent.WriteDone(token, WriteOutcome.CONFLICT, never));
                return;
            }
        }
        Map<String, HostId> parents = parentsNeeded(session, ops);
        if (parents.isEmpty()) {
            send(session, token, ops, answer);
            return;
        }
        int[] missing = {parents.size()};
        boolean[] failed = {false};
        for (Map.Entry<String, HostId> p : parents.entrySet()) {
            try {
                session.client().create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT)
                        .inBackground((c, e) -> session.reply(() -> {
                            Code code = Code.get(e.getResultCode());
                            boolean made = code == Code.OK || code == Code.NODEEXISTS;
                            failed[0] |= !made;
                            if (made && p.getValue() != null) {
                                session.indexParentMade(p.getValue());
                            }
                            if (--missing[0] > 0) {
                                return;
                            }
                            if (failed[0]) {
                                answer.complete(new NodeEvent.WriteDone(token, WriteOutcome.FAILED,
                                        "cannot create the parents " + parents.keySet()));
                            } else {
                                send(session, token, ops, answer);
                            }
                        }))
                        .forPath(p.getKey(), new byte[0]);
            } catch (Exception e) {
                ThreadUtils.checkInterrupted(e);
                answer.complete(new NodeEvent.WriteDone(token, WriteOutcome.FAILED, e.toString()));
                return;
            }
        }
    }

    private static void send(CoordSession session, long token, List<CoordOp> ops, Answer answer) {
        try {
            Multi m = of(session.client(), session.seal(), ops, session::keptVm);
            session.client().transaction()
                    .inBackground((c, e) -> session.reply(() -> {
                        NodeEvent.WriteDone done = m.done(token, e);
                        if (done.outcome() == WriteOutcome.CONFLICT && m.touchesRefused(session)) {
                            // the node keeps the last verified record, so its next try conflicts too: not at once
                            session.later(() -> answer.complete(done));
                        } else {
                            answer.complete(done);
                        }
                    }))
                    .forOperations(m.ops());
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            answer.complete(new NodeEvent.WriteDone(token, WriteOutcome.FAILED, e.toString()));
        }
    }

    private NodeEvent.WriteDone done(long token, CuratorEvent e) {
        Code code = Code.get(e.getResultCode());
        WriteOutcome outcome = outcome(code);
        if (outcome == WriteOutcome.OK) {
            return new NodeEvent.WriteDone(token, outcome, null);
        }
        String detail = describeFailure(code, e.getOpResults());
        log.info("write {} {}: {}", token, outcome, detail);
        return new NodeEvent.WriteDone(token, outcome, detail);
    }

    /** Why {@code op} can never hold in ZooKeeper's terms, or null when it can. */
    static String neverHolds(CoordOp op) {
        if (op instanceof CoordOp.CheckEpoch c && (c.epoch() < 0 || c.epoch() > Integer.MAX_VALUE)) {
            return "no epoch is " + c.epoch();
        } else if (op instanceof CoordOp.CheckHost c && c.version() < 0) {
            return "no host record has version " + c.version();
        } else if (op instanceof CoordOp.CheckCluster c && c.version() < CoordOp.NEW) {
            return "no cluster record has version " + c.version();
        } else if (op instanceof CoordOp.PutCluster p && p.expectedVersion() < CoordOp.NEW) {
            return "no cluster record has version " + p.expectedVersion();
        } else if (op instanceof CoordOp.DeleteVm d && d.expectedVersion() < 0) {
            return "no VM record has version " + d.expectedVersion();
        } else if (op instanceof CoordOp.PutVm p && p.expectedVersion() < CoordOp.NEW) {
            return "no VM record has version " + p.expectedVersion();
        } else if (op instanceof CoordOp.PutHost p && p.expectedVersion() < CoordOp.NEW) {
            return "no host record has version " + p.expectedVersion();
        } else if (op instanceof CoordOp.PutRequest p && p.expectedVersion() < CoordOp.NEW) {
            return "no request has version " + p.expectedVersion();
        } else if (op instanceof CoordOp.DeleteRequest d && d.expectedVersion() < 0) {
            return "no request has version " + d.expectedVersion();
        }
        return null;
    }

    /**
     * The parents that must exist before the multi, each with the host whose index parent it is (null
     * for a live parent): {@code live/<host>} for CheckSessionGone, and {@code hostvms/<host>} of
     * every host a put record names whose parent this session has not seen yet (every one it names,
     * not just those indexed: the mirror may move on before the multi is made).
     */
    private static Map<String, HostId> parentsNeeded(CoordSession session, List<CoordOp> ops) {
        Map<String, HostId> out = new LinkedHashMap<>();
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.CheckSessionGone g) {
                out.put(CoordPaths.liveDir(g.host()), null);
            } else if (op instanceof CoordOp.PutVm p) {
                for (HostId h : named(p.record())) {
                    if (!session.hasIndexParent(h)) {
                        out.put(CoordPaths.hostVmsDir(h), h);
                    }
                }
            }
        }
        return out;
    }

    /** The hosts {@code r} names: owner, then migration target. */
    private static Set<HostId> named(VmRecord r) {
        Set<HostId> out = new LinkedHashSet<>();
        if (r.owner() != null) {
            out.add(r.owner());
        }
        if (r.target() != null) {
            out.add(r.target());
        }
        return out;
    }

    /**
     * The hosts to index {@code put} under: those its record names that {@code kept}, the record the
     * mirror keeps, does not, when kept at exactly the expected version; else every host it names.
     */
    static Set<HostId> indexed(CoordOp.PutVm put, Versioned<VmRecord> kept) {
        Set<HostId> out = named(put.record());
        if (put.expectedVersion() != CoordOp.NEW && kept != null && kept.version() == put.expectedVersion()) {
            out.removeIf(kept.value()::namesHost);
        }
        return out;
    }

    /** Whether an op of this write names a record whose stored version the session refused. */
    private boolean touchesRefused(CoordSession session) {
        for (CoordOp op : origins) {
            String path = recordPath(op);
            if (path != null && session.refusedNow(path)) {
                return true;
            }
        }
        return false;
    }

    private static String recordPath(CoordOp op) {
        if (op instanceof CoordOp.PutVm p) {
            return CoordPaths.vm(p.record().id());
        } else if (op instanceof CoordOp.DeleteVm d) {
            return CoordPaths.vm(d.vm());
        } else if (op instanceof CoordOp.PutHost p) {
            return CoordPaths.host(p.record().id());
        } else if (op instanceof CoordOp.CheckHost c) {
            return CoordPaths.host(c.host());
        } else if (op instanceof CoordOp.PutRequest p) {
            return CoordPaths.request(p.record().id());
        } else if (op instanceof CoordOp.DeleteRequest d) {
            return CoordPaths.request(d.id());
        } else if (op instanceof CoordOp.CheckEpoch) {
            return CoordPaths.EPOCH;
        } else if (op instanceof CoordOp.CheckCluster || op instanceof CoordOp.PutCluster) {
            return CoordPaths.CLUSTER;
        }
        return null;
    }

    /**
     * Translates {@code ops}, none of which {@link #neverHolds}; records are sealed for the version
     * they make, and VM records indexed against the versions {@code kept} gives.
     */
    private static Multi of(CuratorFramework client, RecordSeal seal, List<CoordOp> ops,
                            Function<VmId, Versioned<VmRecord>> kept) throws Exception {
        TransactionOp t = client.transactionOp();
        List<CuratorOp> out = new ArrayList<>();
        List<CoordOp> origins = new ArrayList<>();
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.CheckEpoch c) {
                out.add(t.check().withVersion((int) c.epoch()).forPath(CoordPaths.EPOCH));
            } else if (op instanceof CoordOp.CheckSessionLive c) {
                out.add(t.check().withVersion(ANY_VERSION).forPath(CoordPaths.live(c.host(), c.session())));
            } else if (op instanceof CoordOp.CheckSessionGone c) {
                String path = CoordPaths.live(c.host(), c.session());
                out.add(t.create().withMode(CreateMode.PERSISTENT).forPath(path, new byte[0]));
                out.add(t.delete().withVersion(ANY_VERSION).forPath(path));
            } else if (op instanceof CoordOp.CheckHost c) {
                out.add(t.check().withVersion(c.version()).forPath(CoordPaths.host(c.host())));
            } else if (op instanceof CoordOp.CheckCluster c && c.version() == CoordOp.NEW) {
                out.add(t.create().withMode(CreateMode.PERSISTENT).forPath(CoordPaths.CLUSTER, new byte[0]));
                out.add(t.delete().withVersion(ANY_VERSION).forPath(CoordPaths.CLUSTER));
            } else if (op instanceof CoordOp.CheckCluster c) {
                out.add(t.check().withVersion(c.version()).forPath(CoordPaths.CLUSTER));
            } else if (op instanceof CoordOp.PutCluster p) {
                out.add(put(t, seal, CoordPaths.CLUSTER, Json.toBytes(p.record()), p.expectedVersion()));
            } else if (op instanceof CoordOp.PutVm p) {
                out.add(put(t, seal, CoordPaths.vm(p.record().id()), Json.toBytes(p.record()), p.expectedVersion()));
                for (HostId h : indexed(p, kept.apply(p.record().id()))) {
                    out.add(t.create().withMode(CreateMode.PERSISTENT_SEQUENTIAL)
                            .forPath(CoordPaths.indexPrefix(h, p.record().id()), new byte[0]));
                }
            } else if (op instanceof CoordOp.PutHost p) {
                out.add(put(t, seal, CoordPaths.host(p.record().id()), Json.toBytes(p.record()), p.expectedVersion()));
            } else if (op instanceof CoordOp.DeleteVm d) {
                out.add(t.delete().withVersion(d.expectedVersion()).forPath(CoordPaths.vm(d.vm())));
            } else if (op instanceof CoordOp.PutRequest p) {
                out.add(put(t, seal, CoordPaths.request(p.record().id()), Json.toBytes(p.record()), p.expectedVersion()));
            } else if (op instanceof CoordOp.DeleteRequest d) {
                out.add(t.delete().withVersion(d.expectedVersion()).forPath(CoordPaths.request(d.id())));
            } else {
                throw new IllegalArgumentException("unknown coordination op " + op);
            }
            while (origins.size() < out.size()) {
                origins.add(op);
            }
        }
        if (out.isEmpty()) {
            // an empty write still needs the quorum's answer to succeed
            out.add(t.check().withVersion(ANY_VERSION).forPath(CoordPaths.EPOCH));
            origins.add(null);
        }
        return new Multi(out, origins);
    }

    /** A create makes version 0, a set at version n makes n + 1: the version the seal names. */
    private static CuratorOp put(TransactionOp t, RecordSeal seal, String path, byte[] json, int expectedVersion)
            throws Exception {
        return expectedVersion == CoordOp.NEW
                ? t.create().withMode(CreateMode.PERSISTENT).forPath(path, seal.seal(path, 0, json))
                : t.setData().withVersion(expectedVersion).forPath(path, seal.seal(path, expectedVersion + 1, json));
    }

    /** A check or a version failed: nothing was written, and it would fail again as it stands. */
    private static WriteOutcome outcome(Code code) {
        if (code == Code.OK) {
            return WriteOutcome.OK;
        }
        if (code == Code.BADVERSION || code == Code.NONODE || code == Code.NODEEXISTS) {
            return WriteOutcome.CONFLICT;
        }
        return WriteOutcome.FAILED;
    }

    /** Which op failed and how, for the log and the WriteDone detail. */
    private String describeFailure(Code code, List<CuratorTransactionResult> results) {
        if (results != null) {
            for (int i = 0; i < results.size(); i++) {
                int err = results.get(i).getError();
                if (err != 0 && err != Code.RUNTIMEINCONSISTENCY.intValue()) {
                    CoordOp origin = i < origins.size() ? origins.get(i) : null;
                    return Code.get(err) + " on " + results.get(i).getForPath()
                            + (origin == null ? "" : " (" + origin + ")");
                }
            }
        }
        return String.valueOf(code);
    }
}
