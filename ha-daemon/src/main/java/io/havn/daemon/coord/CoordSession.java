package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.CoordOp;
import io.havn.common.port.ViewScope;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.utils.ThreadUtils;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher.Event.KeeperState;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.ACL;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ZooKeeper session of a {@link CuratorCoordinator}: its own CuratorFramework with exactly one
 * ZooKeeper handle, the mirror of the state it watches, and the port's operations run in it.
 *
 * <p>Phases: CONNECTING until the handle first connects (the session id and the timeout the
 * ensemble negotiated are known), LOADING while
 * it makes sure the base nodes (and this host's index parent) exist and reads the state in scope,
 * STARTED once it posted that state
 * and {@code SessionStarted}, ENDED when ZooKeeper said it expired, when it found its live node
 * deleted (evicted), or when the coordinator abandoned it.
 *
 * <p>Threading: confined to the coordinator's loop thread (but {@link #ensureBase}, which touches
 * only final fields); Curator's callbacks and ZooKeeper's events hop onto it. State work stops at
 * the end; a callback that arrives after it only completes its request's answer.
 *
 * <p>The framework decides nothing about the session ({@link SessionFramework}); the election and
 * epoch are in {@link Election}, writes in {@link Multi}.
 */
final class CoordSession implements StateMirror.Owner, IndexRepair.Session {
    private static final Logger log = LoggerFactory.getLogger(CoordSession.class);
    private static final byte[] EMPTY = new byte[0];

    private enum Phase { CONNECTING, LOADING, STARTED, ENDED }

    private final CuratorCoordinator owner;
    private final HostId host;
    private final OneSessionZookeeperFactory factory;
    private final CuratorFramework client;
    private final StateMirror mirror;
    private final Election election;
    private final IndexRepair indexRepair;

    private Phase phase = Phase.CONNECTING;
    private long id;
    /** The session timeout the ensemble negotiated, read once the handle first connected. */
    private long negotiatedTimeoutMs;
    private boolean liveCreated;
    private boolean leaderNotified;
    /** Whether the node was last told this session is next in the election's line. */
    private boolean successorNotified;
    /** The hosts whose index parent {@code hostvms/<host>} is known to exist: a write naming one needs it. */
    private final Set<HostId> indexParents = new HashSet<>();

    CoordSession(CuratorCoordinator owner) {
        this.owner = owner;
        this.host = owner.settings().host();
        this.factory = new OneSessionZookeeperFactory(
                e -> owner.execute(() -> connectionEvent(e)),
                () -> owner.execute(this::abandonedByCurator));
        this.client = SessionFramework.build(owner.settings(), factory);
        this.mirror = new StateMirror(this, owner.seal(), owner.refusals(), host, owner.scope(), owner.followed());
        this.election = new Election(this, mirror, host);
        this.indexRepair = new IndexRepair(this, host.value(), mirror::namedHosts);
    }

    void start() {
        client.getConnectionStateListenable().addListener((c, state) ->
                log.debug("{}: Curator connection state {} (information only, proves nothing)", host, state));
        client.start();
    }

    long id() {
        return id;
    }

    boolean started() {
        return phase == Phase.STARTED;
    }

    boolean ended() {
        return phase == Phase.ENDED;
    }

    /** The one ZooKeeper handle (for tests that expire it on purpose), or null before it exists. */
    ZooKeeper zooKeeper() {
        return factory.handle();
    }

    // ---------------------------------------------------------------- session lifecycle

    private void connectionEvent(WatchedEvent e) {
        KeeperState s = e.getState();
        if (s == KeeperState.SyncConnected) {
            connected();
        } else if (s == KeeperState.Expired) {
            expired();
        } else {
            log.debug("{}: ZooKeeper connection event {} in session {}", host, s, CoordPaths.sessionName(id));
        }
    }

    private void connected() {
        if (phase != Phase.CONNECTING) {
            return; // a reconnection: watches come back by themselves, failed reads are being retried
        }
        ZooKeeper zk = factory.handle();
        if (zk == null) {
            later(this::connected);
            return;
        }
        id = zk.getSessionId();
        negotiatedTimeoutMs = zk.getSessionTimeout();
        int asked = owner.settings().sessionTimeoutMs();
        if (negotiatedTimeoutMs != asked) {
            // the servers clamp it to [minSessionTimeout, maxSessionTimeout] (2 and 20 ticks by default)
            log.warn("{}: the ensemble gave session {} a timeout of {} ms, not the {} ms asked for "
                            + "(zookeeper.sessionTimeoutMs): the servers' minSessionTimeout/maxSessionTimeout bound it; "
                            + "the lease follows the {} ms", host, CoordPaths.sessionName(id), negotiatedTimeoutMs, asked,
                    negotiatedTimeoutMs);
        }
        phase = Phase.LOADING;
        log.info("{}: session {} connected; loading the cluster state", host, CoordPaths.sessionName(id));
        owner.blocking(this::ensureBase);
    }

    /**
     * Makes sure the base nodes exist, and this host's index parent {@code hostvms/<host>}, then
     * starts the load. The parent comes before the session can be live: a leader's write that checks
     * this session's live node and names this host, and so creates an index entry under it, always
     * finds it. Runs off the loop thread: the first operation of a namespaced framework creates the
     * namespace in the foreground.
     */
    private void ensureBase() {
        try {
            for (String path : CoordPaths.BASE) {
                ensure(path);
            }
            ensure(CoordPaths.hostVmsDir(host));
            warnIfOpen();
            onLoop(() -> {
                indexParents.add(host);
                mirror.load();
            });
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            if (e instanceof KeeperException.NoAuthException) {
                log.warn("{}: no permission to create the base nodes under /{}: the znodes belong to another identity; "
                        + "check this host's certificate subject (or digest credentials) against the other hosts'",
                        host, owner.settings().namespace());
            } else {
                log.debug("{}: creating the base nodes failed ({}); trying again", host, e.toString());
            }
            later(() -> owner.blocking(this::ensureBase));
        }
    }

    private void ensure(String path) throws Exception {
        try {
            client.create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT).forPath(path, EMPTY);
        } catch (KeeperException.NodeExistsException e) {
            // there already
        }
    }

    /**
     * Warns when this host has identities for an ACL but the cluster's namespace node lets anyone
     * in: it was created without them (by a havnd on plain TCP, or by hand), and ZooKeeper keeps a
     * node's ACL. Looking is best effort: a failure to look says nothing.
     */
    private void warnIfOpen() {
        if (MembersAcl.of(owner.settings()) == null) {
            return;
        }
        try {
            List<ACL> acl = client.getACL().forPath("/");
            if (acl.stream().anyMatch(a -> a.getId().equals(ZooDefs.Ids.ANYONE_ID_UNSAFE))) {
                log.warn("{}: /{} is open to anyone ({}): it was created without TLS or digest, and its znodes keep "
                        + "that ACL; with every havnd stopped, close it in zkCli.sh: setAcl -R /{} {}", host,
                        owner.settings().namespace(), acl, owner.settings().namespace(), MembersAcl.of(owner.settings()));
            }
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            log.debug("{}: cannot read the ACL of /{} ({})", host, owner.settings().namespace(), e.toString());
        }
    }

    @Override
    public void loaded() {
        if (phase != Phase.LOADING) {
            return;
        }
        phase = Phase.STARTED;
        for (NodeEvent e : mirror.snapshot()) {
            owner.post(e);
        }
        electionChanged();
        log.info("{}: session {} started, timeout {} ms", host, CoordPaths.sessionName(id), negotiatedTimeoutMs);
        owner.post(new NodeEvent.SessionStarted(id, negotiatedTimeoutMs));
    }

    @Override
    public void wholeLoaded() {
        repairIndex();
    }

    /**
     * Gives the records that lack index entries theirs ({@link IndexRepair}), once a session, from
     * the session that leads the election and keeps every record.
     */
    private void repairIndex() {
        if (phase == Phase.STARTED && election.leads() && mirror.wholeLoaded()) {
            indexRepair.runOnce();
        }
    }

    private void expired() {
        if (phase == Phase.ENDED) {
            return;
        }
        if (phase != Phase.STARTED) {
            // the node never heard of this session: quietly try another
            log.info("{}: session {} expired before it started", host, CoordPaths.sessionName(id));
            phase = Phase.ENDED;
            closeFramework();
            owner.sessionLostBeforeStart(this);
            return;
        }
        end("expired");
        closeFramework();
    }

    private void abandonedByCurator() {
        if (phase == Phase.ENDED) {
            return;
        }
        // should not happen with the settings above; if it does, the session is lost to this side
        log.warn("{}: Curator dropped the handle of session {}", host, CoordPaths.sessionName(id));
        if (phase == Phase.STARTED) {
            end("dropped by Curator");
        } else {
            phase = Phase.ENDED;
            owner.sessionLostBeforeStart(this);
        }
        abandon();
    }

    /** Tells the node the session is over: its presence is gone, and with it any leadership. */
    private void end(String why) {
        phase = Phase.ENDED;
        log.warn("{}: session {} ended: {}", host, CoordPaths.sessionName(id), why);
        if (leaderNotified) {
            leaderNotified = false;
            owner.post(new NodeEvent.LeadershipChanged(false));
        }
        successorNotified = false; // the node forgets it at the session's end
        owner.post(new NodeEvent.SessionEnded(id));
    }

    /**
     * Drops the session without closing it: the ensemble expires it one session timeout after it
     * last heard from this side, as if the daemon had died. Closing it instead would delete this
     * host's presence at once, while its lease, and so its VMs, may still be valid.
     */
    void abandon() {
        phase = Phase.ENDED;
        factory.closing(); // from now on the handle's close sends no closeSession
        ZooKeeper zk = factory.handle();
        if (zk != null && zk.getState().isAlive()) {
            // the only public way to drop a handle without sending closeSession
            zk.getTestable().injectSessionExpiration();
        }
        closeFramework();
    }

    private void closeFramework() {
        factory.closing();
        owner.closeFramework(client);
    }

    // ---------------------------------------------------------------- the mirror's owner

    @Override
    public CuratorFramework client() {
        return client;
    }

    @Override
    public void onLoop(Runnable task) {
        owner.execute(() -> {
            if (phase != Phase.ENDED) {
                task.run();
            }
        });
    }

    RecordSeal seal() {
        return owner.seal();
    }

    /** The VM record the mirror keeps for {@code vm}, or null: what a write's index entries are worked out against. */
    Versioned<VmRecord> keptVm(VmId vm) {
        return mirror.vm(vm);
    }

    /** Whether {@code host}'s index parent is known to exist in this session. */
    boolean hasIndexParent(HostId host) {
        return indexParents.contains(host);
    }

    /** {@code host}'s index parent exists (it was created, or found there). */
    void indexParentMade(HostId host) {
        indexParents.add(host);
    }

    /** Whether the record now stored at {@code path} was refused by this session's mirror. */
    boolean refusedNow(String path) {
        return mirror.refusedNow(path);
    }

    /** Runs {@code task} on the loop thread even after the end: for answers to requests. */
    void reply(Runnable task) {
        owner.execute(task);
    }

    @Override
    public void later(Runnable task) {
        owner.schedule(() -> {
            if (phase != Phase.ENDED) {
                task.run();
            }
        }, CuratorCoordinator.RETRY_MS);
    }

    @Override
    public void emit(NodeEvent event) {
        if (phase == Phase.STARTED) {
            owner.post(event);
        }
    }

    @Override
    public void electionChanged() {
        if (phase != Phase.STARTED) {
            return;
        }
        boolean leads = election.leads();
        if (leads != leaderNotified) {
            leaderNotified = leads;
            log.info("{}: {} the election in session {}", host, leads ? "leads" : "no longer leads",
                    CoordPaths.sessionName(id));
            owner.post(new NodeEvent.LeadershipChanged(leads));
        }
        boolean next = election.next();
        if (next != successorNotified) {
            successorNotified = next;
            owner.post(new NodeEvent.SuccessorChanged(next));
        }
        repairIndex();
    }

    // ---------------------------------------------------------------- the port's operations

    /** Creates the live node on the first confirmation of the session, then rewrites it. */
    void confirm(long token, Answer answer) {
        String path = CoordPaths.live(host, id);
        if (liveCreated) {
            rewriteLive(token, path, answer);
            return;
        }
        try {
            client.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL)
                    .inBackground((c, e) -> reply(() -> {
                        Code code = Code.get(e.getResultCode());
                        if (code == Code.OK) {
                            liveCreated = true;
                            answer.complete(new NodeEvent.Confirmed(token, true));
                        } else if (code == Code.NODEEXISTS && phase == Phase.STARTED) {
                            // an earlier create went through although its answer was lost
                            liveCreated = true;
                            rewriteLive(token, path, answer);
                        } else {
                            answer.fail();
                        }
                    }))
                    .forPath(path, EMPTY);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            answer.fail();
        }
    }

    private void rewriteLive(long token, String path, Answer answer) {
        try {
            client.setData().withVersion(-1)
                    .inBackground((c, e) -> reply(() -> {
                        Code code = Code.get(e.getResultCode());
                        if (code == Code.OK) {
                            answer.complete(new NodeEvent.Confirmed(token, true));
                            return;
                        }
                        answer.fail();
                        if (code == Code.NONODE && phase == Phase.STARTED) {
                            // deleted by someone else while the session lives: evicted
                            end("evicted: " + path + " was deleted");
                            abandon();
                        }
                    }))
                    .forPath(path, EMPTY);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            answer.fail();
        }
    }

    void joinElection() {
        election.join();
    }

    void resign() {
        election.resign();
    }

    void evict(HostId other, long session) {
        election.evict(other, session);
    }

    void claimEpoch(long token, Answer answer) {
        election.claimEpoch(token, answer);
    }

    void write(long token, List<CoordOp> ops, Answer answer) {
        Multi.run(this, token, ops, answer);
    }

    /** Which VM records the mirror reads from now on ({@link StateMirror#scope}). */
    void scope(ViewScope s) {
        mirror.scope(s);
    }

    /** The VMs the mirror follows from now on ({@link StateMirror#follow}). */
    void follow(Set<VmId> vms) {
        mirror.follow(vms);
    }
}
