package io.havn.sim.world;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.node.ChangeRequest;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.common.port.Coordinator;
import io.havn.common.port.ViewScope;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * A three-server ZooKeeper ensemble as the node sees it. A client talks to one server. A write
 * (and so a confirmation) needs that server to be in the quorum, a group of at least two running
 * servers that reach each other. A server cut off from the quorum keeps its clients attached for a
 * while (it still answers pings) but serves nothing; then it drops them and they look for another
 * server. Sessions expire when the quorum has not heard from their client for the session timeout;
 * while there is no quorum at all, no session expires, and when a quorum forms again every
 * session's timer restarts. Presence is ephemeral, records are versioned, multi-ops are atomic,
 * and leadership goes to the oldest live session in the election.
 */
public final class SimCoordination {
    public static final String[] SERVERS = {"zk1", "zk2", "zk3"};
    /** How long a server without quorum keeps answering pings before it drops its clients. */
    static final long LOST_QUORUM_GRACE_NANOS = 2_000 * SimClock.MS;
    /** How long a request waits for an answer before the client reports it failed. */
    static final long REQUEST_TIMEOUT_NANOS = 2_000 * SimClock.MS;

    /** Hooks for the invariant checks. */
    public interface Observer {
        /** After an atomic write was applied. */
        void written(List<CoordOp> ops);

        /** As a write puts a VM record: the record it replaces ({@code before}, null for a new one). */
        default void vmReplaced(VmRecord before, VmRecord after) { }
    }

    private final SimClock clock;
    private final SimNetwork net;
    /** The timeout the hosts ask for, and the longest the ensemble grants (its maxSessionTimeout). */
    private final long sessionTimeoutNanos;
    private final boolean[] up = {true, true, true};
    private final Set<Integer> quorum = new HashSet<>(Set.of(0, 1, 2));
    private boolean hadQuorum = true;
    private long nextSession = 0x1000;
    private long epoch;
    private HostId epochLeader;
    private final TreeMap<HostId, Versioned<HostRecord>> hosts = new TreeMap<>();
    /** The cluster record; null until the first is written. */
    private Versioned<ClusterRecord> cluster;
    private final TreeMap<VmId, Versioned<VmRecord>> vms = new TreeMap<>();
    private final TreeMap<String, Versioned<ChangeRequest>> requests = new TreeMap<>();
    private final Map<Long, Session> sessions = new LinkedHashMap<>();
    private final List<Long> election = new ArrayList<>();
    /** The live sessions of each host, kept in step with the sessions' live flags. */
    private final Map<HostId, Set<Long>> live = new java.util.HashMap<>();
    private final List<Client> clients = new ArrayList<>();
    /** VM record changes passed on to clients (each notice or read counts once per client), and VM records written. */
    private long vmDeliveries;
    private long vmWrites;
    private Observer observer = ops -> { };

    private static final class Session {
        final long id;
        final Client client;
        long lastHeard;
        boolean live;
        boolean expired;

        Session(long id, Client client, long now) {
            this.id = id;
            this.client = client;
            this.lastHeard = now;
        }
    }

    public SimCoordination(SimClock clock, SimNetwork net, long sessionTimeoutMs) {
        this(clock, net, sessionTimeoutMs, 0);
    }

    /**
     * An ensemble whose maxSessionTimeout is {@code maxSessionTimeoutMs} (0: none): every session
     * that asks for more is negotiated down to it, as ZooKeeper does, and told so in SessionStarted.
     */
    public SimCoordination(SimClock clock, SimNetwork net, long sessionTimeoutMs, long maxSessionTimeoutMs) {
        this.clock = clock;
        this.net = net;
        long negotiated = maxSessionTimeoutMs > 0 ? Math.min(sessionTimeoutMs, maxSessionTimeoutMs) : sessionTimeoutMs;
        this.sessionTimeoutNanos = negotiated * SimClock.MS;
    }

    /** The session timeout every session gets, after negotiation. */
    public long negotiatedTimeoutMs() {
        return sessionTimeoutNanos / SimClock.MS;
    }

    public void observe(Observer o) {
        this.observer = o;
    }

    /** One daemon incarnation's connection: the Coordinator port its node sees. */
    public final class Client implements Coordinator {
        final HostId host;
        final String endpoint;
        final Consumer<NodeEvent> inbox;
        boolean closed;
        int server = -1;
        long serverLostSince = Long.MIN_VALUE;
        Session session;
        boolean wantSession;
        boolean expiryReported;
        boolean leaderNotified;
        /** The last leadership notice was dropped on the way: it is told again on re-attach. */
        boolean leadershipDropped;
        /** Whether the daemon was last told it is next in the election's line. */
        boolean successorNotified;
        /** Which VM records this client passes on ({@link ViewScope}); it starts in OWN, as the port says. */
        ViewScope scope = ViewScope.OWN;
        /** The VMs it follows besides those whose records name it. */
        Set<VmId> followed = Set.of();
        /** Whether the daemon is stopped (SIGSTOP, a long pause): its client sends no pings meanwhile. */
        java.util.function.BooleanSupplier paused = () -> false;

        Client(HostId host, Consumer<NodeEvent> inbox) {
            this.host = host;
            this.endpoint = host.value();
            this.inbox = inbox;
        }

        /** Whether this client's server serves it now: running, reachable and in the quorum. */
        boolean served() {
            return !closed && server >= 0 && usable(this, server);
        }

        /** Tells the daemon whether it heads the election; a notice dropped on the way is remembered. */
        void tellLeadership(boolean leads) {
            leaderNotified = leads;
            leadershipDropped = false;
            clock.schedule(2 * net.latencyNanos(), () -> {
                if (served()) {
                    inbox.accept(new NodeEvent.LeadershipChanged(leads));
                } else if (leaderNotified == leads) {
                    leadershipDropped = true; // told again on re-attach
                }
            });
        }

        void deliver(NodeEvent e) {
            if (e instanceof NodeEvent.VmChanged) {
                vmDeliveries++;
            }
            clock.schedule(2 * net.latencyNanos(), () -> {
                if (served()) {
                    inbox.accept(e);
                }
            });
        }

        /**
         * The quorum's answer {@code e} to a request, on its way back: a client no longer served when
         * it would arrive never gets it, and answers {@code failure} itself once the request times
         * out, as the real adapter does (every request gets exactly one answer; a failure means "not
         * known to have happened", and the request may have been applied).
         */
        void answer(NodeEvent e, NodeEvent failure) {
            clock.schedule(2 * net.latencyNanos(), () -> {
                if (served()) {
                    inbox.accept(e);
                } else if (!closed) {
                    clock.schedule(REQUEST_TIMEOUT_NANOS, () -> fail(failure));
                }
            });
        }

        /** Sends a request; {@code apply} runs at the quorum, or {@code onTimeout} reports a failure. */
        private void request(Runnable apply, Runnable onTimeout) {
            if (closed) {
                return;
            }
            clock.schedule(2 * net.latencyNanos(), () -> {
                if (served() && session != null && !session.expired) {
                    session.lastHeard = clock.nanos();
                    apply.run();
                } else if (!closed) {
                    clock.schedule(REQUEST_TIMEOUT_NANOS, onTimeout);
                }
            });
        }

        private void fail(NodeEvent e) {
            if (!closed) {
                inbox.accept(e);
            }
        }

        @Override
        public void openSession() {
            wantSession = true;
            clock.schedule(net.latencyNanos(), () -> maintain(this));
        }

        @Override
        public void confirm(long token) {
            request(() -> {
                boolean was = session.live;
                session.live = true;
                answer(new NodeEvent.Confirmed(token, true), new NodeEvent.Confirmed(token, false));
                if (!was) {
                    live.computeIfAbsent(host, h -> new java.util.TreeSet<>()).add(session.id);
                    liveChanged(host);
                }
            }, () -> fail(new NodeEvent.Confirmed(token, false)));
        }

        @Override
        public void joinElection() {
            request(() -> {
                if (!election.contains(session.id)) {
                    election.add(session.id);
                }
                electionChanged();
            }, () -> { });
        }

        @Override
        public void resign() {
            request(() -> {
                election.remove(session.id);
                election.add(session.id);
                electionChanged();
            }, () -> { });
        }

        @Override
        public void evict(HostId other, long sessionId) {
            request(() -> {
                Session s = sessions.get(sessionId);
                if (s != null && s.client.host.equals(other) && !s.expired) {
                    end(s);
                }
            }, () -> { });
        }

        @Override
        public void claimEpoch(long token) {
            request(() -> {
                if (election.isEmpty() || election.get(0) != session.id) {
                    answer(new NodeEvent.EpochClaimed(token, -1), new NodeEvent.EpochClaimed(token, -1));
                    return;
                }
                epoch++;
                epochLeader = host;
                answer(new NodeEvent.EpochClaimed(token, epoch), new NodeEvent.EpochClaimed(token, -1));
                broadcast(new NodeEvent.EpochChanged(epoch, host));
            }, () -> fail(new NodeEvent.EpochClaimed(token, -1)));
        }

        @Override
        public void scope(ViewScope s) {
            if (closed || s == scope) {
                return;
            }
            scope = s;
            if (s == ViewScope.WHOLE && served() && session != null && !session.expired) {
                // the reads of every record, then the word that they are in; a client not served now
                // loads them with the state it is sent on its next attachment or session
                vms.forEach((v, r) -> deliver(new NodeEvent.VmChanged(v, r)));
                deliver(new NodeEvent.ViewLoaded(ViewScope.WHOLE));
            }
        }

        @Override
        public void follow(Set<VmId> vmIds) {
            if (closed) {
                return;
            }
            Set<VmId> before = followed;
            followed = Set.copyOf(vmIds);
            if (served() && session != null && !session.expired) {
                for (VmId v : new java.util.TreeSet<>(followed)) {
                    if (!before.contains(v)) {
                        readLater(v); // one read of the record, which also sets its watch
                    }
                }
            }
        }

        /** Whether this client passes on a change of {@code vm} from {@code before} to {@code after}. */
        boolean wants(VmId vm, Versioned<VmRecord> before, Versioned<VmRecord> after) {
            return scope == ViewScope.WHOLE || followed.contains(vm) || names(before) || names(after);
        }

        private boolean names(Versioned<VmRecord> r) {
            return r != null && r.value().namesHost(host);
        }

        /**
         * Passes on the record of {@code vm} as it is when a read would come back (two round trips on,
         * the index's notice and then the read), not as it was: a record that comes to name an OWN
         * client is found through the index before it is read.
         */
        void readLater(VmId vm) {
            vmDeliveries++;
            clock.schedule(4 * net.latencyNanos(), () -> {
                if (served()) {
                    inbox.accept(new NodeEvent.VmChanged(vm, vms.get(vm)));
                }
            });
        }

        @Override
        public void write(long token, List<CoordOp> ops) {
            request(() -> answer(new NodeEvent.WriteDone(token, apply(ops), null),
                            new NodeEvent.WriteDone(token, WriteOutcome.FAILED, "no answer from the ensemble")),
                    () -> fail(new NodeEvent.WriteDone(token, WriteOutcome.FAILED, "no answer from the ensemble")));
        }
    }

    /** A new client for a daemon incarnation of {@code host}. */
    public Client connect(HostId host, Consumer<NodeEvent> inbox) {
        Client c = new Client(host, inbox);
        clients.add(c);
        return c;
    }

    /** The daemon of this client died: it sends nothing more; its session lives on until it expires. */
    public void close(Client c) {
        c.closed = true;
        clients.remove(c);
    }

    private boolean usable(Client c, int server) {
        return up[server] && quorum.contains(server) && net.connected(c.endpoint, SERVERS[server]);
    }

    // ---------------------------------------------------------------- faults

    public void serverDown(int index) {
        up[index] = false;
    }

    public void serverUp(int index) {
        up[index] = true;
    }

    public void allDown() {
        for (int i = 0; i < up.length; i++) {
            up[i] = false;
        }
    }

    public void allUp() {
        for (int i = 0; i < up.length; i++) {
            up[i] = true;
        }
    }

    // ---------------------------------------------------------------- time passes

    /** Called every 100 ms of virtual time: quorum, client connections, session expiry. */
    public void tick() {
        recomputeQuorum();
        long now = clock.nanos();
        if (!quorum.isEmpty() && !hadQuorum) {
            for (Session s : sessions.values()) {
                s.lastHeard = now; // revalidated: timers restart after an outage
            }
        }
        hadQuorum = !quorum.isEmpty();
        for (Client c : new ArrayList<>(clients)) {
            maintain(c);
        }
        if (quorum.isEmpty()) {
            return;
        }
        for (Session s : new ArrayList<>(sessions.values())) {
            if (!s.expired && now - s.lastHeard >= sessionTimeoutNanos) {
                end(s);
            }
        }
    }

    private void recomputeQuorum() {
        quorum.clear();
        for (int i = 0; i < SERVERS.length; i++) {
            if (!up[i]) {
                continue;
            }
            Set<Integer> group = new HashSet<>();
            for (int j = 0; j < SERVERS.length; j++) {
                if (up[j] && (i == j || net.connected(SERVERS[i], SERVERS[j]))) {
                    group.add(j);
                }
            }
            if (group.size() >= 2) {
                quorum.addAll(group);
                return;
            }
        }
    }

    /** Keeps a client attached to a serving server, as ZooKeeper's client does, and tells it what it missed. */
    private void maintain(Client c) {
        if (c.closed) {
            return;
        }
        long now = clock.nanos();
        if (c.server >= 0) {
            if (c.served()) {
                c.serverLostSince = Long.MIN_VALUE;
                if (c.session != null && !c.session.expired && !c.paused.getAsBoolean()) {
                    c.session.lastHeard = now;
                }
            } else if (up[c.server] && net.connected(c.endpoint, SERVERS[c.server])) {
                // the server lost its quorum but still answers pings, for a while
                if (c.serverLostSince == Long.MIN_VALUE) {
                    c.serverLostSince = now;
                } else if (now - c.serverLostSince >= LOST_QUORUM_GRACE_NANOS) {
                    c.server = -1;
                }
            } else {
                c.server = -1;
            }
        }
        if (c.server < 0) {
            int start = Math.floorMod(c.host.hashCode(), SERVERS.length);
            for (int k = 0; k < SERVERS.length; k++) {
                int s = (start + k) % SERVERS.length;
                if (usable(c, s)) {
                    c.server = s;
                    c.serverLostSince = Long.MIN_VALUE;
                    attached(c);
                    break;
                }
            }
        }
        if (c.served() && c.wantSession && (c.session == null || (c.session.expired && c.expiryReported))) {
            c.wantSession = false;
            c.expiryReported = false;
            c.leaderNotified = false;
            c.leadershipDropped = false;
            c.successorNotified = false; // the node forgets it at the session's end
            c.session = new Session(nextSession++, c, now);
            sessions.put(c.session.id, c.session);
            sendFullState(c);
            c.deliver(new NodeEvent.SessionStarted(c.session.id, negotiatedTimeoutMs()));
        }
    }

    private void attached(Client c) {
        if (c.session == null) {
            return;
        }
        if (c.session.expired) {
            if (!c.expiryReported) {
                c.expiryReported = true;
                c.deliver(new NodeEvent.SessionEnded(c.session.id));
            }
            return;
        }
        c.session.lastHeard = clock.nanos();
        sendFullState(c);
    }

    private void end(Session s) {
        boolean wasLive = s.live;
        s.live = false;
        s.expired = true;
        Set<Long> l = live.get(s.client.host);
        if (l != null) {
            l.remove(s.id);
        }
        election.remove(s.id);
        if (wasLive) {
            liveChanged(s.client.host);
        }
        electionChanged();
        if (s.client.session == s && s.client.served() && !s.client.expiryReported) {
            s.client.expiryReported = true;
            s.client.deliver(new NodeEvent.SessionEnded(s.id));
        }
    }

    private void electionChanged() {
        Long first = election.isEmpty() ? null : election.get(0);
        for (Client c : clients) {
            if (c.session == null || !c.served()) {
                continue; // told on re-attach
            }
            boolean leads = first != null && first == c.session.id && !c.session.expired;
            if (leads != c.leaderNotified) {
                c.tellLeadership(leads);
            }
            tellSuccessor(c);
        }
    }

    /** Tells a client whether it is next in the election's line, when that changed. */
    private void tellSuccessor(Client c) {
        boolean next = c.session != null && !c.session.expired && election.size() > 1 && election.get(1) == c.session.id;
        if (next != c.successorNotified) {
            c.successorNotified = next;
            c.deliver(new NodeEvent.SuccessorChanged(next));
        }
    }

    private Set<Long> liveSessions(HostId host) {
        Set<Long> l = live.get(host);
        return l == null ? Set.of() : Set.copyOf(l);
    }

    private void liveChanged(HostId host) {
        broadcast(new NodeEvent.LiveChanged(host, liveSessions(host)));
    }

    /**
     * Passes a VM record's change on to each client that wants it. An OWN client that the record comes
     * to name without having named it before, and that does not follow it, learns of it through the
     * index ({@code hostvms/<host>}) and reads it then: it gets the record as it is at that read.
     */
    private void vmChanged(VmId vm, Versioned<VmRecord> before, Versioned<VmRecord> after) {
        vmWrites++;
        NodeEvent e = new NodeEvent.VmChanged(vm, after);
        for (Client c : clients) {
            if (!c.served() || !c.wants(vm, before, after)) {
                continue;
            }
            if (c.scope == ViewScope.OWN && !c.followed.contains(vm) && !c.names(before)) {
                c.readLater(vm);
            } else {
                c.deliver(e);
            }
        }
    }

    private void broadcast(NodeEvent e) {
        for (Client c : clients) {
            if (c.served()) {
                c.deliver(e);
            }
        }
    }

    private void sendFullState(Client c) {
        c.deliver(new NodeEvent.EpochChanged(epoch, epochLeader));
        c.deliver(new NodeEvent.ClusterChanged(cluster));
        hosts.forEach((h, r) -> c.deliver(new NodeEvent.HostChanged(h, r)));
        Set<HostId> all = new java.util.TreeSet<>(hosts.keySet());
        for (Session s : sessions.values()) {
            all.add(s.client.host);
        }
        for (HostId h : all) {
            c.deliver(new NodeEvent.LiveChanged(h, liveSessions(h)));
        }
        vms.forEach((v, r) -> {
            if (c.wants(v, null, r)) {
                c.deliver(new NodeEvent.VmChanged(v, r));
            }
        });
        for (VmId v : new java.util.TreeSet<>(c.followed)) {
            if (!vms.containsKey(v)) {
                c.deliver(new NodeEvent.VmChanged(v, null)); // a followed VM that has no record: said so
            }
        }
        if (c.scope == ViewScope.WHOLE) {
            c.deliver(new NodeEvent.ViewLoaded(ViewScope.WHOLE));
        }
        requests.forEach((id, r) -> c.deliver(new NodeEvent.RequestChanged(id, r)));
        Long first = election.isEmpty() ? null : election.get(0);
        boolean leads = c.session != null && first != null && first == c.session.id;
        // told again if the last notice was dropped on the way (its server went away meanwhile): an
        // election client re-reads its place whenever it reconnects
        if (leads != c.leaderNotified || c.leadershipDropped) {
            c.tellLeadership(leads);
        }
        tellSuccessor(c);
    }

    /** VM record changes passed on to clients so far: every notice and every read, once per client. */
    public long vmDeliveries() {
        return vmDeliveries;
    }

    /** VM records written (or removed) so far. */
    public long vmWrites() {
        return vmWrites;
    }

    /** The id the next session opened will have: every session opened so far has a lower one. */
    long nextSessionId() {
        return nextSession;
    }

    /** Whether {@code session} of {@code host} is live (has its live node) now. */
    public boolean isLive(HostId host, long session) {
        return sessionLive(host, session);
    }

    /**
     * Bumps the epoch as a new leader elsewhere would, without telling anyone: the state a
     * paused, deposed leader wakes up to. For tests of rule 2.
     */
    public void bumpEpochSilently() {
        epoch++;
    }

    private boolean sessionLive(HostId host, long id) {
        Session s = sessions.get(id);
        return s != null && s.live && !s.expired && s.client.host.equals(host);
    }

    /** Applies a multi-op atomically at the quorum: every check first, then every write, or nothing. */
    WriteOutcome apply(List<CoordOp> ops) {
        for (CoordOp op : ops) {
            if (!holds(op)) {
                return WriteOutcome.CONFLICT;
            }
        }
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.PutVm p) {
                Versioned<VmRecord> v = new Versioned<>(p.record(), p.expectedVersion() + 1);
                Versioned<VmRecord> before = vms.put(p.record().id(), v);
                observer.vmReplaced(before == null ? null : before.value(), p.record());
                vmChanged(p.record().id(), before, v);
            } else if (op instanceof CoordOp.DeleteVm d) {
                Versioned<VmRecord> before = vms.remove(d.vm());
                vmChanged(d.vm(), before, null);
            } else if (op instanceof CoordOp.PutHost p) {
                Versioned<HostRecord> v = new Versioned<>(p.record(), p.expectedVersion() + 1);
                hosts.put(p.record().id(), v);
                broadcast(new NodeEvent.HostChanged(p.record().id(), v));
            } else if (op instanceof CoordOp.PutCluster p) {
                cluster = new Versioned<>(p.record(), p.expectedVersion() + 1);
                broadcast(new NodeEvent.ClusterChanged(cluster));
            } else if (op instanceof CoordOp.PutRequest p) {
                Versioned<ChangeRequest> v = new Versioned<>(p.record(), p.expectedVersion() + 1);
                requests.put(p.record().id(), v);
                broadcast(new NodeEvent.RequestChanged(p.record().id(), v));
            } else if (op instanceof CoordOp.DeleteRequest d) {
                requests.remove(d.id());
                broadcast(new NodeEvent.RequestChanged(d.id(), null));
            }
        }
        observer.written(ops);
        return WriteOutcome.OK;
    }

    private boolean holds(CoordOp op) {
        if (op instanceof CoordOp.CheckEpoch c) {
            return c.epoch() == epoch;
        } else if (op instanceof CoordOp.CheckSessionLive c) {
            return sessionLive(c.host(), c.session());
        } else if (op instanceof CoordOp.CheckSessionGone c) {
            return !sessionLive(c.host(), c.session());
        } else if (op instanceof CoordOp.CheckHost c) {
            Versioned<HostRecord> h = hosts.get(c.host());
            return h != null && h.version() == c.version();
        } else if (op instanceof CoordOp.CheckCluster c) {
            return matches(cluster, c.version());
        } else if (op instanceof CoordOp.PutCluster p) {
            return matches(cluster, p.expectedVersion());
        } else if (op instanceof CoordOp.PutVm p) {
            return matches(vms.get(p.record().id()), p.expectedVersion());
        } else if (op instanceof CoordOp.DeleteVm d) {
            Versioned<VmRecord> v = vms.get(d.vm());
            return v != null && v.version() == d.expectedVersion();
        } else if (op instanceof CoordOp.PutHost p) {
            return matches(hosts.get(p.record().id()), p.expectedVersion());
        } else if (op instanceof CoordOp.PutRequest p) {
            return matches(requests.get(p.record().id()), p.expectedVersion());
        } else if (op instanceof CoordOp.DeleteRequest d) {
            Versioned<ChangeRequest> v = requests.get(d.id());
            return v != null && v.version() == d.expectedVersion();
        }
        return false;
    }

    private static boolean matches(Versioned<?> current, int expected) {
        return expected == CoordOp.NEW ? current == null : current != null && current.version() == expected;
    }

    // ---------------------------------------------------------------- what the simulator reads

    /** Applies {@code ops} now, as a client the simulation does not model would (tests). */
    public WriteOutcome writeAsOutsider(List<CoordOp> ops) {
        return apply(ops);
    }

    /** Seeds a record as an earlier cluster left it. */
    public void seed(VmRecord rec) {
        vms.put(rec.id(), new Versioned<>(rec, 0));
    }

    /** Seeds the cluster record as an earlier cluster left it (before any daemon starts). */
    public void seedCluster(ClusterRecord rec) {
        cluster = new Versioned<>(rec, 0);
    }

    /** The cluster record (the defaults while none is written). */
    public ClusterRecord cluster() {
        return cluster == null ? ClusterRecord.DEFAULT : cluster.value();
    }

    public Versioned<VmRecord> vm(VmId id) {
        return vms.get(id);
    }

    /** The change requests on their way to the leader or back. */
    public Map<String, Versioned<ChangeRequest>> requests() {
        return requests;
    }

    public Map<VmId, Versioned<VmRecord>> vms() {
        return vms;
    }

    public Versioned<HostRecord> host(HostId id) {
        return hosts.get(id);
    }

    public boolean isLive(HostId host) {
        Set<Long> l = live.get(host);
        return l != null && !l.isEmpty();
    }

    public long epoch() {
        return epoch;
    }

    public boolean hasQuorum() {
        return !quorum.isEmpty();
    }
}
