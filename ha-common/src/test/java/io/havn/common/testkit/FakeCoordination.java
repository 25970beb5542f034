package io.havn.common.testkit;

import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import io.havn.common.port.Coordinator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * An in-memory coordination service with ZooKeeper's semantics as far as the node relies on them:
 * sessions that expire a session timeout after their client was last heard, ephemeral presence,
 * versioned records, atomic multi-ops, leader election in join order, and an epoch whose version
 * every leader bumps. A client cut off from it gets no answers; its session expires server-side,
 * and it learns so when it reconnects.
 */
public final class FakeCoordination {
    private final ManualClock clock;
    private final long sessionTimeoutNanos;
    private final long latencyNanos;
    private long nextSession = 0x100;
    private long epoch;
    private HostId epochLeader;
    private final Map<HostId, Versioned<HostRecord>> hosts = new TreeMap<>();
    private final Map<VmId, Versioned<VmRecord>> vms = new TreeMap<>();
    private final Map<Long, Session> sessions = new LinkedHashMap<>();
    private final List<Long> election = new ArrayList<>();
    private final Map<HostId, Client> clients = new HashMap<>();
    private boolean up = true;

    private final class Session {
        final long id;
        final Client client;
        long lastHeard;
        boolean live; // has written its live node
        boolean expired;

        Session(long id, Client client) {
            this.id = id;
            this.client = client;
            this.lastHeard = clock.nanos();
        }
    }

    public FakeCoordination(ManualClock clock, long sessionTimeoutMs, long latencyMs) {
        this.clock = clock;
        this.sessionTimeoutNanos = sessionTimeoutMs * 1_000_000L;
        this.latencyNanos = latencyMs * 1_000_000L;
    }

    /** One host's connection to the service: the Coordinator port the node sees. */
    public final class Client implements Coordinator {
        final HostId host;
        final Consumer<NodeEvent> inbox;
        boolean connected = true;
        Session session;
        boolean leaderNotified;

        Client(HostId host, Consumer<NodeEvent> inbox) {
            this.host = host;
            this.inbox = inbox;
        }

        private boolean reachable() {
            return connected && up && clients.get(host) == this;
        }

        private void deliver(NodeEvent e) {
            clock.schedule(latencyNanos, () -> {
                if (reachable()) {
                    inbox.accept(e);
                }
            });
        }

        private void request(Runnable r) {
            clock.schedule(latencyNanos, () -> {
                if (reachable() && session != null && !session.expired) {
                    session.lastHeard = clock.nanos();
                    r.run();
                }
            });
        }

        @Override
        public void openSession() {
            clock.schedule(latencyNanos, () -> {
                if (!reachable()) {
                    return; // retried by reconnect()
                }
                if (session != null && !session.expired) {
                    return;
                }
                session = new Session(nextSession++, this);
                leaderNotified = false;
                sessions.put(session.id, session);
                sendFullState(this);
                deliver(new NodeEvent.SessionStarted(session.id));
            });
        }

        @Override
        public void confirm(long token) {
            request(() -> {
                boolean was = session.live;
                session.live = true;
                deliver(new NodeEvent.Confirmed(token, true));
                if (!was) {
                    liveChanged(host);
                }
            });
        }

        @Override
        public void joinElection() {
            request(() -> {
                if (!election.contains(session.id)) {
                    election.add(session.id);
                }
                electionChanged();
            });
        }

        @Override
        public void resign() {
            request(() -> {
                election.remove(session.id);
                election.add(session.id);
                electionChanged();
            });
        }

        @Override
        public void evict(HostId other, long sessionId) {
            request(() -> {
                Session s = sessions.get(sessionId);
                if (s != null && s.client.host.equals(other)) {
                    dropPresence(s);
                }
            });
        }

        @Override
        public void claimEpoch(long token) {
            request(() -> {
                boolean isLeader = !election.isEmpty() && election.get(0) == session.id;
                if (!isLeader) {
                    deliver(new NodeEvent.EpochClaimed(token, -1));
                    return;
                }
                epoch++;
                epochLeader = host;
                deliver(new NodeEvent.EpochClaimed(token, epoch));
                broadcast(new NodeEvent.EpochChanged(epoch, host));
            });
        }

        @Override
        public void write(long token, List<CoordOp> ops) {
            request(() -> {
                WriteOutcome outcome = apply(ops);
                deliver(new NodeEvent.WriteDone(token, outcome, null));
            });
        }

        public HostId host() {
            return host;
        }
    }

    /** Connects a (new) client for {@code host}; the old one, if any, is cut off for good. */
    public Client connect(HostId host, Consumer<NodeEvent> inbox) {
        Client c = new Client(host, inbox);
        clients.put(host, c);
        return c;
    }

    public void setConnected(HostId host, boolean connected) {
        Client c = clients.get(host);
        if (c == null || c.connected == connected) {
            return;
        }
        c.connected = connected;
        if (connected) {
            reconnected(c);
        }
    }

    /** Every server stops (or starts); sessions do not expire during the outage (timers restart after). */
    public void setUp(boolean isUp) {
        if (up == isUp) {
            return;
        }
        up = isUp;
        if (isUp) {
            for (Session s : sessions.values()) {
                s.lastHeard = clock.nanos();
            }
            for (Client c : clients.values()) {
                if (c.connected) {
                    reconnected(c);
                }
            }
        }
    }

    private void reconnected(Client c) {
        if (c.session != null && c.session.expired) {
            Session s = c.session;
            c.deliver(new NodeEvent.SessionEnded(s.id));
        } else {
            if (c.session != null) {
                c.session.lastHeard = clock.nanos();
            }
            sendFullState(c);
        }
    }

    /** Expires the sessions whose client has not been heard for the session timeout. Call on every tick. */
    public void expireSessions() {
        if (!up) {
            return;
        }
        long now = clock.nanos();
        for (Session s : new ArrayList<>(sessions.values())) {
            if (s.expired) {
                continue;
            }
            if (s.client.reachable() && clients.get(s.client.host) == s.client) {
                s.lastHeard = now;
            } else if (now - s.lastHeard >= sessionTimeoutNanos) {
                s.expired = true;
                dropPresence(s);
            }
        }
    }

    private void dropPresence(Session s) {
        boolean was = s.live;
        s.live = false;
        s.expired = true;
        election.remove(s.id);
        if (was) {
            liveChanged(s.client.host);
        }
        electionChanged();
    }

    private void electionChanged() {
        Long first = election.isEmpty() ? null : election.get(0);
        for (Session s : sessions.values()) {
            boolean leads = first != null && first == s.id && !s.expired;
            if (leads != s.client.leaderNotified && s.client.session == s) {
                s.client.leaderNotified = leads;
                s.client.deliver(new NodeEvent.LeadershipChanged(leads));
            }
        }
    }

    private Set<Long> liveSessions(HostId host) {
        Set<Long> out = new HashSet<>();
        for (Session s : sessions.values()) {
            if (s.live && !s.expired && s.client.host.equals(host)) {
                out.add(s.id);
            }
        }
        return out;
    }

    private void liveChanged(HostId host) {
        broadcast(new NodeEvent.LiveChanged(host, liveSessions(host)));
    }

    private void broadcast(NodeEvent e) {
        for (Client c : clients.values()) {
            c.deliver(e);
        }
    }

    private void sendFullState(Client c) {
        c.deliver(new NodeEvent.EpochChanged(epoch, epochLeader));
        hosts.forEach((h, r) -> c.deliver(new NodeEvent.HostChanged(h, r)));
        Set<HostId> all = new HashSet<>(hosts.keySet());
        for (Session s : sessions.values()) {
            all.add(s.client.host);
        }
        for (HostId h : all) {
            c.deliver(new NodeEvent.LiveChanged(h, liveSessions(h)));
        }
        vms.forEach((v, r) -> c.deliver(new NodeEvent.VmChanged(v, r)));
    }

    private boolean sessionLive(HostId host, long id) {
        Session s = sessions.get(id);
        return s != null && s.live && !s.expired && s.client.host.equals(host);
    }

    /** Applies a multi-op atomically: every check first, then every write, or nothing. */
    WriteOutcome apply(List<CoordOp> ops) {
        for (CoordOp op : ops) {
            boolean ok;
            if (op instanceof CoordOp.CheckEpoch c) {
                ok = c.epoch() == epoch;
            } else if (op instanceof CoordOp.CheckSessionLive c) {
                ok = sessionLive(c.host(), c.session());
            } else if (op instanceof CoordOp.CheckSessionGone c) {
                ok = !sessionLive(c.host(), c.session());
            } else if (op instanceof CoordOp.CheckHost c) {
                Versioned<HostRecord> h = hosts.get(c.host());
                ok = h != null && h.version() == c.version();
            } else if (op instanceof CoordOp.PutVm p) {
                ok = versionMatches(vms.get(p.record().id()), p.expectedVersion());
            } else if (op instanceof CoordOp.DeleteVm d) {
                Versioned<VmRecord> v = vms.get(d.vm());
                ok = v != null && v.version() == d.expectedVersion();
            } else if (op instanceof CoordOp.PutHost p) {
                ok = versionMatches(hosts.get(p.record().id()), p.expectedVersion());
            } else {
                ok = false;
            }
            if (!ok) {
                return WriteOutcome.CONFLICT;
            }
        }
        for (CoordOp op : ops) {
            if (op instanceof CoordOp.PutVm p) {
                Versioned<VmRecord> v = new Versioned<>(p.record(), p.expectedVersion() + 1);
                vms.put(p.record().id(), v);
                broadcast(new NodeEvent.VmChanged(p.record().id(), v));
            } else if (op instanceof CoordOp.DeleteVm d) {
                vms.remove(d.vm());
                broadcast(new NodeEvent.VmChanged(d.vm(), null));
            } else if (op instanceof CoordOp.PutHost p) {
                Versioned<HostRecord> v = new Versioned<>(p.record(), p.expectedVersion() + 1);
                hosts.put(p.record().id(), v);
                broadcast(new NodeEvent.HostChanged(p.record().id(), v));
            }
        }
        return WriteOutcome.OK;
    }

    private static boolean versionMatches(Versioned<?> current, int expected) {
        return expected == CoordOp.NEW ? current == null : current != null && current.version() == expected;
    }

    // ---- what tests read

    public Versioned<VmRecord> vm(VmId id) {
        return vms.get(id);
    }

    public Map<VmId, Versioned<VmRecord>> vms() {
        return vms;
    }

    public Versioned<HostRecord> host(HostId id) {
        return hosts.get(id);
    }

    public long epoch() {
        return epoch;
    }

    public HostId leader() {
        Long first = election.isEmpty() ? null : election.get(0);
        return first == null ? null : sessions.get(first).client.host;
    }

    /** Seeds a record directly, as if an earlier cluster had written it. */
    public void seedVm(VmRecord rec) {
        vms.put(rec.id(), new Versioned<>(rec, 0));
    }

    public boolean isLive(HostId host) {
        return !liveSessions(host).isEmpty();
    }

    public boolean isLive(HostId host, long session) {
        return sessionLive(host, session);
    }

    /** Bumps the epoch as a new leader elsewhere would, without telling anyone yet. */
    public void bumpEpochSilently() {
        epoch++;
    }
}
