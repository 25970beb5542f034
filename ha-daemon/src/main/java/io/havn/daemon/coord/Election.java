package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.daemon.coord.CoordPaths.ElectionEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.api.transaction.TransactionOp;
import org.apache.curator.utils.ThreadUtils;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A session's part in the leader election under {@code leader/}, and what depends on it: epoch
 * claims and evictions. An entry is an ephemeral sequential node named for its session and host;
 * the lowest sequence leads. Entries only ever leave the line (deleted, or gone with their session)
 * and new ones join at the back, so an entry that leads keeps leading for as long as it exists.
 *
 * <p>Threading: confined to the coordinator's loop thread, like its session.
 */
final class Election {
    private static final Logger log = LoggerFactory.getLogger(Election.class);
    private static final byte[] EMPTY = new byte[0];

    private final CoordSession session;
    private final StateMirror mirror;
    private final HostId host;
    private boolean wanted;
    private boolean creating;

    Election(CoordSession session, StateMirror mirror, HostId host) {
        this.session = session;
        this.mirror = mirror;
        this.host = host;
    }

    /** Whether this session heads the line, as far as the mirror knows. */
    boolean leads() {
        return mirror.first().map(e -> e.session() == session.id()).orElse(false);
    }

    /** Whether this session is next in the line, right behind the leader, as far as the mirror knows. */
    boolean next() {
        List<ElectionEntry> line = mirror.election();
        return line.size() > 1 && line.get(1).session() == session.id();
    }

    void join() {
        wanted = true;
        enter();
    }

    /** Creates this session's entry unless it has one (as far as the mirror knows) or one is on its way. */
    private void enter() {
        if (!wanted || !session.started() || creating || !mine().isEmpty()) {
            return;
        }
        creating = true;
        try {
            client().create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
                    .inBackground((c, e) -> session.reply(() -> {
                        creating = false;
                        Code code = Code.get(e.getResultCode());
                        if (code != Code.OK) {
                            // the create may still have gone through: the retry looks at the mirror first
                            log.debug("{}: entering the election failed ({}); trying again", host, code);
                            session.later(this::enter);
                        }
                    }))
                    .forPath(CoordPaths.electionPrefix(session.id(), host), EMPTY);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            creating = false;
            session.later(this::enter);
        }
    }

    /** Leaves the election and enters it again at the back, in one multi. */
    void resign() {
        wanted = true;
        List<ElectionEntry> mine = mine();
        if (mine.isEmpty()) {
            enter();
            return;
        }
        try {
            TransactionOp t = client().transactionOp();
            List<CuratorOp> ops = new ArrayList<>();
            for (ElectionEntry e : mine) {
                ops.add(t.delete().forPath(CoordPaths.electionPath(e)));
            }
            ops.add(t.create().withMode(CreateMode.EPHEMERAL_SEQUENTIAL)
                    .forPath(CoordPaths.electionPrefix(session.id(), host), EMPTY));
            client().transaction()
                    .inBackground((c, e) -> session.reply(() -> {
                        Code code = Code.get(e.getResultCode());
                        if (code == Code.NONODE) {
                            enter(); // our entry was already gone
                        } else if (code != Code.OK) {
                            log.info("{}: resigning failed ({}); still in the election", host, code);
                        }
                    }))
                    .forOperations(ops);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            log.info("{}: resigning failed ({})", host, e.toString());
        }
    }

    private CuratorFramework client() {
        return session.client();
    }

    private List<ElectionEntry> mine() {
        List<ElectionEntry> out = new ArrayList<>();
        for (ElectionEntry e : mirror.election()) {
            if (e.session() == session.id()) {
                out.add(e);
            }
        }
        return out;
    }

    /** Deletes the live node and election entries of {@code victim}; what is already gone stays gone. */
    void evict(HostId other, long victim) {
        log.warn("{}: evicting session {} of {}", host, CoordPaths.sessionName(victim), other);
        deleteQuietly(CoordPaths.live(other, victim));
        try {
            client().getChildren().inBackground((c, e) -> session.reply(() -> {
                if (e.getResultCode() != Code.OK.intValue()) {
                    log.warn("{}: listing the election to evict {} failed ({})", host, other,
                            Code.get(e.getResultCode()));
                    return;
                }
                for (String name : e.getChildren()) {
                    CoordPaths.parseElection(name)
                            .filter(en -> en.session() == victim && en.host().equals(other))
                            .ifPresent(en -> deleteQuietly(CoordPaths.electionPath(en)));
                }
            })).forPath(CoordPaths.LEADER);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            log.warn("{}: evicting {} failed ({})", host, other, e.toString());
        }
    }

    private void deleteQuietly(String path) {
        try {
            client().delete().inBackground((c, e) -> {
                Code code = Code.get(e.getResultCode());
                if (code != Code.OK && code != Code.NONODE) {
                    log.warn("{}: deleting {} failed ({})", host, path, code);
                }
            }).forPath(path);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            log.warn("{}: deleting {} failed ({})", host, path, e.toString());
        }
    }

    /**
     * Bumps the epoch if this session leads: one multi that checks its entry still exists and sets
     * the epoch node's data to this host's name, sealed, at the version the mirror last read; the
     * new znode version is the new epoch. A claim from a stale view fails and is tried again.
     */
    void claimEpoch(long token, Answer answer) {
        Optional<ElectionEntry> first = mirror.first();
        if (first.isEmpty() || first.get().session() != session.id()) {
            answer.complete(new NodeEvent.EpochClaimed(token, -1));
            return;
        }
        long known = mirror.epoch();
        if (known < 0 || known >= Integer.MAX_VALUE) {
            answer.fail(); // not read yet: the node tries again on a later tick
            return;
        }
        try {
            TransactionOp t = client().transactionOp();
            // from the epoch this session knows, so that the seal names the version the write makes
            byte[] name = session.seal().seal(CoordPaths.EPOCH, (int) known + 1,
                    host.value().getBytes(StandardCharsets.UTF_8));
            List<CuratorOp> ops = List.of(
                    t.check().withVersion(-1).forPath(CoordPaths.electionPath(first.get())),
                    t.setData().withVersion((int) known).forPath(CoordPaths.EPOCH, name));
            client().transaction()
                    .inBackground((c, e) -> session.reply(() -> {
                        List<CuratorTransactionResult> r = e.getOpResults();
                        if (e.getResultCode() == Code.OK.intValue() && r != null && r.size() == 2
                                && r.get(1).getResultStat() != null) {
                            answer.complete(new NodeEvent.EpochClaimed(token, r.get(1).getResultStat().getVersion()));
                        } else {
                            log.info("{}: claiming an epoch failed ({})", host, Code.get(e.getResultCode()));
                            answer.fail();
                        }
                    }))
                    .forOperations(ops);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            answer.fail();
        }
    }
}
