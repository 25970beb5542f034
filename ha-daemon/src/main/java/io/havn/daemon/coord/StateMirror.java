package io.havn.daemon.coord;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Json;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.node.ChangeRequest;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.ViewScope;
import io.havn.daemon.coord.CoordPaths.ElectionEntry;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.CuratorEvent;
import org.apache.curator.framework.api.CuratorWatcher;
import org.apache.curator.utils.ThreadUtils;
import org.apache.zookeeper.KeeperException.Code;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher.Event.EventType;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One session's copy of the cluster state, kept by ZooKeeper watches, that turns each change
 * into the node's delta events.
 *
 * <p>Threading: every method runs on the coordinator's loop thread; ZooKeeper's callbacks and
 * watch events are handed over to it in the order they arrive, which is the server's order for
 * one session. Reads are asynchronous, one-shot watches are set again by each read, and
 * ZooKeeper re-registers them after a reconnection within the session, firing those whose node
 * changed meanwhile; a read that fails is tried again later while the session lasts.
 *
 * <p>It deliberately does not watch the data of live nodes: every host rewrites its own twice a
 * second, and only their presence matters. A live node is seen through the children of
 * {@code live/<host>}.
 *
 * <p>The cluster record ({@link CoordPaths#CLUSTER}) may be absent, which the node reads as the
 * defaults: while it is, an exists watch stands in for the data watch, so its creation is seen.
 *
 * <p>Every record (host, VM, request, the cluster record, and the leader's name on the epoch) must carry a valid
 * {@link RecordSeal} for its path and znode version, checked before it is decoded. A record that
 * does not is refused: it is not passed on, the last verified version of that record (if any) is
 * what the node keeps, and each refused znode version is counted and logged once
 * ({@link RecordRefusals}). So is a request that appears again where one was removed. The
 * epoch's number is its znode version, which ZooKeeper itself checks in every leader write, so a
 * bad seal there withholds only the leader's name.
 *
 * <p>VM records are read as far as the scope goes ({@link MirrorScope}). In WHOLE, as every other
 * kind: the children of {@code vms} and each record, and once a switch to WHOLE has read them all,
 * {@code ViewLoaded}. In OWN, the children of {@code vms} are not watched: the index entries of
 * this host ({@code hostvms/<host>}) say which records to read, and a record is kept (and watched)
 * while it names this host or is followed. A change that makes a record name this host no more is
 * passed on, then the record is forgotten: its last watch fires once more at most, and is not set
 * again. In either scope the followed VMs are read one by one, with an exists watch on those that
 * have no record, and this host's spent index entries are deleted.
 */
final class StateMirror {
    private static final Logger log = LoggerFactory.getLogger(StateMirror.class);

    /** What the mirror needs from its session. */
    interface Owner {
        CuratorFramework client();

        /** Runs {@code task} on the loop thread, if the session still lasts then. */
        void onLoop(Runnable task);

        /** Runs {@code task} on the loop thread a little later, if the session still lasts then. */
        void later(Runnable task);

        /** Posts a delta; called only once the initial load is over. */
        void emit(NodeEvent event);

        void electionChanged();

        /** The first complete read of the state is done; {@link #snapshot()} is ready. */
        void loaded();

        /** A switch to WHOLE has read every VM record ({@link #wholeLoaded()} holds now). */
        void wholeLoaded();
    }

    /** A record as read, with the zxids that order its versions and tell a re-created node apart. */
    private record Entry<T>(Versioned<T> record, long czxid, long mzxid) {
    }

    private final Owner owner;
    private final RecordSeal seal;
    private final RecordRefusals refusals;
    private final String host;
    /** This host's index parent, {@code hostvms/<host>}: its children say which records name it. */
    private final String index;
    private final MirrorScope scope;
    private final CuratorWatcher watcher = this::watched;
    /** For each data path whose stored version is refused, that version's mzxid: refused once each. */
    private final Map<String, Long> refused = new HashMap<>();

    private final TreeMap<HostId, Entry<HostRecord>> hosts = new TreeMap<>();
    private final TreeMap<VmId, Entry<VmRecord>> vms = new TreeMap<>();
    private final TreeMap<String, Entry<ChangeRequest>> requests = new TreeMap<>();
    /** The cluster record, under its path, when one is stored and verified; empty: the defaults. */
    private final Map<String, Entry<ClusterRecord>> cluster = new HashMap<>();
    private final Set<HostId> liveDirs = new HashSet<>();
    private final TreeMap<HostId, Set<Long>> live = new TreeMap<>();
    private List<ElectionEntry> election = List.of();
    private long epoch = -1;
    private HostId epochLeader;

    private int outstanding;
    private boolean started;
    private boolean loaded;

    /**
     * @param scope    which VM records to read, as the coordinator was last asked ({@link #scope})
     * @param followed the VMs followed besides those whose records name this host ({@link #follow})
     */
    StateMirror(Owner owner, RecordSeal seal, RecordRefusals refusals, HostId self, ViewScope scope,
                Set<VmId> followed) {
        this.owner = owner;
        this.seal = Objects.requireNonNull(seal, "seal");
        this.refusals = Objects.requireNonNull(refusals, "refusals");
        this.host = self.value();
        this.index = CoordPaths.hostVmsDir(self);
        this.scope = new MirrorScope(self, scope, followed);
    }

    /** Starts the initial load: every node of the state in scope, with its watch. */
    void load() {
        started = true;
        readData(CoordPaths.EPOCH);
        readData(CoordPaths.CLUSTER);
        readChildren(CoordPaths.HOSTS);
        if (scope.whole()) {
            readChildren(CoordPaths.VMS);
        }
        readChildren(CoordPaths.REQUESTS);
        readChildren(CoordPaths.LIVE);
        readChildren(CoordPaths.LEADER);
        readChildren(index);
        for (VmId v : scope.followed()) {
            readData(CoordPaths.vm(v));
        }
    }

    /**
     * Reads the VM records of {@code s} from now on. A switch to WHOLE passes on the records kept,
     * reads the others, passes each on as it comes and then says {@code ViewLoaded}; before the
     * initial load is over, the load takes it in (and the snapshot says ViewLoaded). A switch to
     * OWN passes nothing on and forgets the records no longer needed.
     */
    void scope(ViewScope s) {
        if (!scope.set(s)) {
            return;
        }
        if (s == ViewScope.OWN) {
            for (VmId v : new ArrayList<>(vms.keySet())) {
                forgetUnlessKept(v);
            }
            return;
        }
        if (!started) {
            return; // the load reads in the scope it finds
        }
        if (loaded) {
            scope.loadWhole();
            vms.forEach((v, e) -> emit(new NodeEvent.VmChanged(v, e.record())));
        }
        readChildren(CoordPaths.VMS);
    }

    /**
     * Follows {@code vms} from now on. Each VM newly followed is read, and, once the initial load
     * is over, answered by one VmChanged with its record or null (before, the snapshot answers);
     * a VM no longer followed is forgotten if its record does not name this host.
     */
    void follow(Set<VmId> vms) {
        Set<VmId> before = scope.followed();
        for (VmId v : scope.follow(vms, loaded)) {
            if (started) {
                readData(CoordPaths.vm(v));
            }
        }
        for (VmId v : before) {
            if (!vms.contains(v)) {
                forgetUnlessKept(v);
            }
        }
    }

    /** Whether every VM record is kept: in WHOLE, with the records all read. */
    boolean wholeLoaded() {
        return loaded && scope.whole() && !scope.loadingWhole();
    }

    /** The VMs whose kept records name each host, as owner or migration target. */
    Map<HostId, Set<VmId>> namedHosts() {
        Map<HostId, Set<VmId>> out = new HashMap<>();
        vms.forEach((v, e) -> {
            VmRecord r = e.record().value();
            for (HostId h : new HostId[] {r.owner(), r.target()}) {
                if (h != null) {
                    out.computeIfAbsent(h, k -> new HashSet<>()).add(v);
                }
            }
        });
        return out;
    }

    /** The VM record kept for {@code vm}, as last verified, or null. */
    Versioned<VmRecord> vm(VmId vm) {
        Entry<VmRecord> e = vms.get(vm);
        return e == null ? null : e.record();
    }

    /** The state in scope as deltas, in the order the simulated coordinator gives it. */
    List<NodeEvent> snapshot() {
        List<NodeEvent> out = new ArrayList<>();
        out.add(new NodeEvent.EpochChanged(Math.max(0, epoch), epochLeader));
        // before the hosts: whether a host acknowledged the current arm is judged against this record
        Entry<ClusterRecord> c = cluster.get(CoordPaths.CLUSTER);
        out.add(new NodeEvent.ClusterChanged(c == null ? null : c.record()));
        hosts.forEach((h, e) -> out.add(new NodeEvent.HostChanged(h, e.record())));
        Set<HostId> all = new TreeSet<>(hosts.keySet());
        all.addAll(live.keySet());
        for (HostId h : all) {
            out.add(new NodeEvent.LiveChanged(h, liveSessions(h)));
        }
        vms.forEach((v, e) -> out.add(new NodeEvent.VmChanged(v, e.record())));
        for (VmId v : scope.followed()) {
            if (!vms.containsKey(v)) {
                out.add(new NodeEvent.VmChanged(v, null)); // followed, and no record (or none verified)
            }
        }
        if (scope.whole()) {
            out.add(new NodeEvent.ViewLoaded(ViewScope.WHOLE));
        }
        requests.forEach((r, e) -> out.add(new NodeEvent.RequestChanged(r, e.record())));
        return out;
    }

    /** The election entries, first in line first. */
    List<ElectionEntry> election() {
        return election;
    }

    Optional<ElectionEntry> first() {
        return election.isEmpty() ? Optional.empty() : Optional.of(election.get(0));
    }

    /** The epoch znode's version as last read, or -1 before it was read. */
    long epoch() {
        return epoch;
    }

    /** Whether the version now stored at {@code path}, as last read, was refused. */
    boolean refusedNow(String path) {
        return refused.containsKey(path);
    }

    Set<Long> liveSessions(HostId host) {
        Set<Long> s = live.get(host);
        return s == null ? Set.of() : Set.copyOf(s);
    }

    // ---------------------------------------------------------------- reads

    private void readChildren(String path) {
        outstanding++;
        issueChildren(path);
    }

    private void readData(String path) {
        outstanding++;
        if (CoordPaths.isChild(path, CoordPaths.VMS)) {
            scope.issued(path);
        }
        issueData(path);
    }

    private void issueChildren(String path) {
        try {
            owner.client().getChildren().usingWatcher(watcher)
                    .inBackground((c, e) -> owner.onLoop(() -> childrenRead(path, e)))
                    .forPath(path);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            failed(path, () -> issueChildren(path), e.toString());
        }
    }

    private void issueData(String path) {
        long stamp = scope.stamp();
        try {
            owner.client().getData().usingWatcher(watcher)
                    .inBackground((c, e) -> owner.onLoop(() -> dataRead(path, e, stamp)))
                    .forPath(path);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            failed(path, () -> issueData(path), e.toString());
        }
    }

    /**
     * A followed VM has no record: as for the cluster record, an exists watch stands in for the
     * data watch, within the same outstanding read, so that its creation is seen in either scope.
     */
    private void issueVmExists(String path, VmId vm) {
        long stamp = scope.stamp();
        try {
            owner.client().checkExists().usingWatcher(watcher)
                    .inBackground((c, e) -> owner.onLoop(() -> vmExists(path, vm, e, stamp)))
                    .forPath(path);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            failed(path, () -> issueVmExists(path, vm), e.toString());
        }
    }

    private void vmExists(String path, VmId vm, CuratorEvent e, long stamp) {
        Code code = Code.get(e.getResultCode());
        if (code == Code.OK) {
            issueData(path); // created between the two reads: read it (and watch its data)
            return;
        }
        if (code != Code.NONODE) {
            failed(path, () -> issueVmExists(path, vm), String.valueOf(code));
            return;
        }
        vmRead(vm, path, null, null, stamp);
        arrived(path);
        done();
    }

    /**
     * The cluster record is absent: a read leaves no watch on a missing node, so an exists watch
     * is set instead, still as part of the same outstanding read. If the record appeared meanwhile,
     * it is read again; if not, it is taken as absent.
     */
    private void issueClusterExists() {
        try {
            owner.client().checkExists().usingWatcher(watcher)
                    .inBackground((c, e) -> owner.onLoop(() -> clusterExists(e)))
                    .forPath(CoordPaths.CLUSTER);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            failed(CoordPaths.CLUSTER, this::issueClusterExists, e.toString());
        }
    }

    private void clusterExists(CuratorEvent e) {
        Code code = Code.get(e.getResultCode());
        if (code == Code.OK) {
            issueData(CoordPaths.CLUSTER); // created between the two reads: read it (and watch its data)
            return;
        }
        if (code != Code.NONODE) {
            failed(CoordPaths.CLUSTER, this::issueClusterExists, String.valueOf(code));
            return;
        }
        recordRead(cluster, CoordPaths.CLUSTER, CoordPaths.CLUSTER, null, null, ClusterRecord.class,
                (k, v) -> new NodeEvent.ClusterChanged(v));
        done();
    }

    /** A read that failed stays outstanding and is issued again a little later. */
    private void failed(String path, Runnable retry, String why) {
        log.debug("reading {} failed ({}); trying again", path, why);
        owner.later(retry);
    }

    private void done() {
        outstanding--;
        if (!loaded && outstanding == 0) {
            loaded = true;
            owner.loaded();
        }
    }

    private void watched(WatchedEvent event) {
        String path = event.getPath();
        if (event.getType() == EventType.None || path == null) {
            return; // connection events: the session handles those
        }
        owner.onLoop(() -> {
            if (CoordPaths.VMS.equals(path) && !scope.whole()) {
                return; // left from a time in WHOLE: OWN does not list every VM
            }
            if (CoordPaths.isChild(path, CoordPaths.VMS)) {
                VmId v = id(CoordPaths.name(path), VmId::new);
                if (v == null || !scope.reads(v, vms.containsKey(v))) {
                    return; // a forgotten record's last watch: it is not set again
                }
            }
            if (CoordPaths.isChildrenPath(path)) {
                readChildren(path);
            } else if (CoordPaths.isDataPath(path)) {
                readData(path);
            }
        });
    }

    // ---------------------------------------------------------------- results

    private void childrenRead(String path, CuratorEvent e) {
        Code code = Code.get(e.getResultCode());
        if (code == Code.NONODE && index.equals(path)) {
            // made before the session started, and deleted since (by hand): made again, then listed
            remakeIndex();
            failed(path, () -> issueChildren(path), String.valueOf(code));
            return;
        }
        if (code != Code.OK && code != Code.NONODE) {
            failed(path, () -> issueChildren(path), String.valueOf(code));
            return;
        }
        List<String> names = code == Code.OK ? e.getChildren() : List.of();
        if (CoordPaths.HOSTS.equals(path)) {
            recordsListed(names, hosts, HostId::new, CoordPaths.HOSTS,
                    h -> new NodeEvent.HostChanged(h, null));
        } else if (CoordPaths.VMS.equals(path)) {
            if (scope.whole()) {
                recordsListed(names, vms, VmId::new, CoordPaths.VMS, v -> new NodeEvent.VmChanged(v, null));
            }
            arrived(path);
        } else if (index.equals(path)) {
            for (VmId v : scope.listed(names)) {
                readData(CoordPaths.vm(v)); // also where a spent entry is found, and deleted
            }
        } else if (CoordPaths.REQUESTS.equals(path)) {
            recordsListed(names, requests, ChangeRequest::checkId, CoordPaths.REQUESTS,
                    r -> new NodeEvent.RequestChanged(r, null));
        } else if (CoordPaths.LIVE.equals(path)) {
            liveHostsListed(names);
        } else if (CoordPaths.LEADER.equals(path)) {
            electionListed(names);
        } else {
            liveSessionsListed(id(CoordPaths.name(path), HostId::new), code == Code.NONODE, names);
        }
        done();
    }

    private <K extends Comparable<K>, T> void recordsListed(List<String> names, TreeMap<K, Entry<T>> known,
                                                            Function<String, K> id, String dir,
                                                            Function<K, NodeEvent> removed) {
        // in name order: the reads are answered in the order issued, so what is passed on (or refused)
        // follows an order that does not depend on hashing
        Set<K> present = new TreeSet<>(ids(names, id));
        for (K k : present) {
            if (!known.containsKey(k)) {
                readData(dir + "/" + k);
            }
        }
        for (K k : new ArrayList<>(known.keySet())) {
            if (!present.contains(k)) {
                known.remove(k);
                if (CoordPaths.REQUESTS.equals(dir)) {
                    refusals.requestRemoved(dir + "/" + k);
                }
                emit(removed.apply(k));
            }
        }
    }

    private void liveHostsListed(List<String> names) {
        Set<HostId> present = new HashSet<>(ids(names, HostId::new));
        for (HostId h : present) {
            if (liveDirs.add(h)) {
                readChildren(CoordPaths.liveDir(h));
            }
        }
        for (HostId h : new ArrayList<>(liveDirs)) {
            if (!present.contains(h)) {
                liveDirs.remove(h);
                setLive(h, Set.of());
            }
        }
    }

    private void liveSessionsListed(HostId host, boolean gone, List<String> names) {
        if (host == null) {
            return;
        }
        if (gone) {
            liveDirs.remove(host); // the watch on live/ sees it again if it comes back
        }
        Set<Long> sessions = new TreeSet<>();
        for (String n : names) {
            OptionalLong s = CoordPaths.parseSession(n);
            if (s.isPresent()) {
                sessions.add(s.getAsLong());
            } else {
                log.warn("ignoring live node {}/{}: not a session id", CoordPaths.liveDir(host), n);
            }
        }
        setLive(host, sessions);
    }

    private void setLive(HostId host, Set<Long> sessions) {
        if (liveSessions(host).equals(sessions)) {
            return;
        }
        if (sessions.isEmpty()) {
            live.remove(host);
        } else {
            live.put(host, new TreeSet<>(sessions));
        }
        emit(new NodeEvent.LiveChanged(host, Set.copyOf(sessions)));
    }

    private void electionListed(List<String> names) {
        List<ElectionEntry> entries = new ArrayList<>();
        for (String n : names) {
            Optional<ElectionEntry> e = CoordPaths.parseElection(n);
            if (e.isPresent()) {
                entries.add(e.get());
            } else {
                log.warn("ignoring election node {}/{}: not written by havn", CoordPaths.LEADER, n);
            }
        }
        entries.sort(Comparator.comparingLong(ElectionEntry::sequence));
        if (!entries.equals(election)) {
            election = List.copyOf(entries);
            owner.electionChanged();
        }
    }

    private void dataRead(String path, CuratorEvent e, long stamp) {
        Code code = Code.get(e.getResultCode());
        if (code != Code.OK && code != Code.NONODE) {
            failed(path, () -> issueData(path), String.valueOf(code));
            return;
        }
        byte[] data = code == Code.OK ? e.getData() : null;
        Stat stat = code == Code.OK ? e.getStat() : null;
        if (CoordPaths.EPOCH.equals(path)) {
            epochRead(data, stat);
        } else if (CoordPaths.CLUSTER.equals(path)) {
            if (stat == null) {
                issueClusterExists(); // this read goes on until the exists watch is set
                return;
            }
            recordRead(cluster, CoordPaths.CLUSTER, path, data, stat, ClusterRecord.class,
                    (k, v) -> new NodeEvent.ClusterChanged(v));
        } else if (CoordPaths.isChild(path, CoordPaths.HOSTS)) {
            HostId h = id(CoordPaths.name(path), HostId::new);
            if (h != null) {
                recordRead(hosts, h, path, data, stat, HostRecord.class, NodeEvent.HostChanged::new);
            }
        } else if (CoordPaths.isChild(path, CoordPaths.REQUESTS)) {
            String r = id(CoordPaths.name(path), ChangeRequest::checkId);
            if (r != null) {
                recordRead(requests, r, path, data, stat, ChangeRequest.class, NodeEvent.RequestChanged::new);
            }
        } else {
            VmId v = id(CoordPaths.name(path), VmId::new);
            if (v != null && stat == null && scope.follows(v)) {
                issueVmExists(path, v); // this read goes on until the exists watch is set
                return;
            }
            if (v != null) {
                vmRead(v, path, data, stat, stamp);
            }
            arrived(path);
        }
        done();
    }

    /**
     * A VM record read (null {@code stat}: absent) by a read issued with {@code stamp}. Passed on
     * when the scope takes the change ({@link MirrorScope#passes}), kept while the scope keeps it;
     * sealed and refused as every record. A verified record (or the absence of one) that does not
     * name this host spends this host's index entries for it that were listed before the read.
     */
    private void vmRead(VmId v, String path, byte[] data, Stat stat, long stamp) {
        Entry<VmRecord> old = vms.get(v);
        boolean told = false;
        if (stat == null) {
            refused.remove(path);
            if (old != null) {
                vms.remove(v);
                emit(new NodeEvent.VmChanged(v, null));
                told = true;
            }
            deleteSpent(v, stamp);
        } else if (old != null && old.czxid() == stat.getCzxid() && old.mzxid() >= stat.getMzxid()) {
            if (!scope.names(old.record().value())) {
                deleteSpent(v, stamp); // nothing new, but entries listed since may be spent
            }
        } else {
            told = vmVersionRead(v, old, path, data, stat, stamp);
        }
        if (scope.answered(v) && !told) {
            // a newly followed VM is answered whatever the read found: the record kept, or none
            Entry<VmRecord> now = vms.get(v);
            emit(new NodeEvent.VmChanged(v, now == null ? null : now.record()));
        }
    }

    /** A new version of a VM record; whether a VmChanged was passed on. */
    private boolean vmVersionRead(VmId v, Entry<VmRecord> old, String path, byte[] data, Stat stat, long stamp) {
        byte[] payload = opened(path, data, stat, old != null
                ? "the node keeps its last verified version " + old.record().version() : "it is not passed on");
        if (payload == null) {
            return false; // refused: nothing is known of it, not even whether it still names this host
        }
        VmRecord value;
        try {
            value = Json.fromJson(payload, VmRecord.class);
        } catch (IllegalArgumentException ex) {
            log.warn("ignoring {} at version {}: {}", path, stat.getVersion(), ex.getMessage());
            return false;
        }
        boolean told = false;
        if (old != null && old.czxid() != stat.getCzxid()) {
            // deleted and created again between two reads: say so, versions start again at 0
            vms.remove(v);
            emit(new NodeEvent.VmChanged(v, null));
            told = true;
        }
        if (scope.passes(v, old == null ? null : old.record().value(), value)) {
            Versioned<VmRecord> vr = new Versioned<>(value, stat.getVersion());
            vms.put(v, new Entry<>(vr, stat.getCzxid(), stat.getMzxid()));
            emit(new NodeEvent.VmChanged(v, vr));
            told = true;
        }
        forgetUnlessKept(v);
        if (!scope.names(value)) {
            deleteSpent(v, stamp);
        }
        return told;
    }

    /** Drops the record of {@code vm} unless the scope keeps it; nothing is passed on. */
    private void forgetUnlessKept(VmId vm) {
        Entry<VmRecord> e = vms.get(vm);
        if (e != null && !scope.keeps(vm, e.record().value())) {
            vms.remove(vm);
            refused.remove(CoordPaths.vm(vm));
        }
    }

    /**
     * Deletes this host's index entries for {@code vm} that a read with {@code stamp} showed spent.
     * Best effort: one that survives is listed again, and read again, at the next change of the index.
     */
    private void deleteSpent(VmId vm, long stamp) {
        for (String name : scope.spent(vm, stamp)) {
            String path = index + "/" + name;
            try {
                owner.client().delete().inBackground((c, e) -> {
                    Code code = Code.get(e.getResultCode());
                    if (code != Code.OK && code != Code.NONODE) {
                        log.debug("{}: deleting the spent index entry {} failed ({})", host, path, code);
                    }
                }).forPath(path);
            } catch (Exception e) {
                ThreadUtils.checkInterrupted(e);
                log.debug("{}: deleting the spent index entry {} failed ({})", host, path, e.toString());
            }
        }
    }

    private void remakeIndex() {
        try {
            owner.client().create().creatingParentsIfNeeded().inBackground().forPath(index, new byte[0]);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            log.debug("{}: making {} again failed ({})", host, index, e.toString());
        }
    }

    /** A read that a loading switch to WHOLE waited for came back: once the last has, every record is in. */
    private void arrived(String path) {
        if (scope.arrived(path)) {
            emit(new NodeEvent.ViewLoaded(ViewScope.WHOLE));
            owner.wholeLoaded();
        }
    }

    private interface Change<K, T> {
        NodeEvent of(K key, Versioned<T> record);
    }

    private <K, T> void recordRead(Map<K, Entry<T>> known, K key, String path, byte[] data, Stat stat,
                                   Class<T> type, Change<K, T> change) {
        Entry<T> old = known.get(key);
        if (stat == null) {
            refused.remove(path);
            if (old != null) {
                if (CoordPaths.isChild(path, CoordPaths.REQUESTS)) {
                    refusals.requestRemoved(path);
                }
                known.remove(key);
                emit(change.of(key, null));
            }
            return;
        }
        if (old != null && old.czxid() == stat.getCzxid() && old.mzxid() >= stat.getMzxid()) {
            return; // nothing new: an older or the same version
        }
        byte[] payload = opened(path, data, stat, old != null
                ? "the node keeps its last verified version " + old.record().version()
                : CoordPaths.CLUSTER.equals(path) ? "it is not passed on: the node keeps the defaults (armed, "
                        + "shutdown policy migrate)" : "it is not passed on");
        if (payload == null) {
            return;
        }
        T value;
        try {
            value = Json.fromJson(payload, type);
        } catch (IllegalArgumentException ex) {
            log.warn("ignoring {} at version {}: {}", path, stat.getVersion(), ex.getMessage());
            return;
        }
        if (old != null && old.czxid() != stat.getCzxid()) {
            // deleted and created again between two reads: say so, versions start again at 0
            known.remove(key);
            emit(change.of(key, null));
        }
        Versioned<T> v = new Versioned<>(value, stat.getVersion());
        known.put(key, new Entry<>(v, stat.getCzxid(), stat.getMzxid()));
        emit(change.of(key, v));
    }

    private void epochRead(byte[] data, Stat stat) {
        if (stat == null) {
            log.warn("{} is missing; the epoch is 0 until it is created again", CoordPaths.EPOCH);
            return;
        }
        HostId leader = null;
        boolean asCreated = stat.getVersion() == 0 && (data == null || data.length == 0);
        if (asCreated) {
            refused.remove(CoordPaths.EPOCH); // the base node as created: no leader yet
        }
        byte[] payload = asCreated ? null : opened(CoordPaths.EPOCH, data, stat, "the epoch counts (ZooKeeper "
                + "checks it in every leader write), without a leader's name until a leader claims the next one");
        if (payload != null && payload.length > 0) {
            String name = new String(payload, StandardCharsets.UTF_8);
            try {
                leader = new HostId(name);
            } catch (IllegalArgumentException ex) {
                log.warn("epoch {} names an invalid leader '{}'", stat.getVersion(), name);
            }
        }
        if (stat.getVersion() == epoch && Objects.equals(leader, epochLeader)) {
            return;
        }
        epoch = stat.getVersion();
        epochLeader = leader;
        emit(new NodeEvent.EpochChanged(epoch, leader));
    }

    /**
     * The payload of {@code data} read at {@code path}, or null if its seal is missing or wrong;
     * a refusal is counted and logged once per stored version.
     */
    private byte[] opened(String path, byte[] data, Stat stat, String kept) {
        RecordSeal.Opened o = CoordPaths.isChild(path, CoordPaths.REQUESTS) && refusals.requestRemovedBefore(path)
                ? new RecordSeal.Opened(null, RecordSeal.Refusal.REPLAYED)
                : seal.open(path, stat.getVersion(), data);
        if (o.ok()) {
            refused.remove(path);
            return o.payload();
        }
        Long seen = refused.put(path, stat.getMzxid());
        if (seen == null || seen != stat.getMzxid()) {
            refusals.refused(host, path, stat.getVersion(), o.refusal(), kept);
        }
        return null;
    }

    // ---------------------------------------------------------------- helpers

    private void emit(NodeEvent event) {
        if (loaded) {
            owner.emit(event);
        }
    }

    private static <K> List<K> ids(List<String> names, Function<String, K> parse) {
        List<K> out = new ArrayList<>();
        for (String n : names) {
            K k = id(n, parse);
            if (k != null) {
                out.add(k);
            }
        }
        return out;
    }

    /** The id a znode's name spells, or null (logged) for a name that is no valid id. */
    private static <K> K id(String name, Function<String, K> parse) {
        try {
            return parse.apply(name);
        } catch (IllegalArgumentException e) {
            log.warn("ignoring znode '{}': {}", name, e.getMessage());
            return null;
        }
    }
}
