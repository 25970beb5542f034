package io.havn.sim.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.port.CoordOp;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The coordination ensemble model on its own: a clock, a network, three servers and clients whose
 * inboxes record what they are told. The test ticks the ensemble every 100 ms of virtual time.
 */
class SimCoordinationTest {
    static final long MS = SimClock.MS;
    static final long SESSION_TIMEOUT_MS = 10_000;
    static final long TICK_MS = 100;
    /** The model's request time-out (SimCoordination.REQUEST_TIMEOUT_NANOS). */
    static final long REQUEST_TIMEOUT_MS = 2_000;

    static final HostId NODE1 = new HostId("node1");
    static final HostId NODE2 = new HostId("node2");
    static final HostId NODE3 = new HostId("node3");

    SimClock clock;
    SimNetwork net;
    SimCoordination coordination;

    /** What one client was told, with the virtual time (ms) of each event. */
    final class Probe {
        final HostId host;
        final List<NodeEvent> events = new ArrayList<>();
        final List<Long> times = new ArrayList<>();
        /** Confirmation token -> virtual time (ms) it was issued. */
        final Map<Long, Long> confirmIssued = new LinkedHashMap<>();
        SimCoordination.Client client;
        long nextToken = 1;

        Probe(HostId host) {
            this.host = host;
            this.client = coordination.connect(host, e -> {
                events.add(e);
                times.add(clock.nowMs());
            });
        }

        long confirm() {
            long token = nextToken++;
            confirmIssued.put(token, clock.nowMs());
            client.confirm(token);
            return token;
        }

        long session() {
            for (NodeEvent e : events) {
                if (e instanceof NodeEvent.SessionStarted s) {
                    return s.session();
                }
            }
            throw new AssertionError(host + " has no session; events: " + events);
        }

        <T extends NodeEvent> List<T> all(Class<T> type) {
            List<T> out = new ArrayList<>();
            for (NodeEvent e : events) {
                if (type.isInstance(e)) {
                    out.add(type.cast(e));
                }
            }
            return out;
        }

        <T extends NodeEvent> boolean has(Class<T> type, Predicate<T> p) {
            return all(type).stream().anyMatch(p);
        }

        /** The virtual time (ms) of the first event of {@code type} matching {@code p}, or -1. */
        <T extends NodeEvent> long timeOf(Class<T> type, Predicate<T> p) {
            for (int i = 0; i < events.size(); i++) {
                NodeEvent e = events.get(i);
                if (type.isInstance(e) && p.test(type.cast(e))) {
                    return times.get(i);
                }
            }
            return -1;
        }

        NodeEvent.Confirmed confirmed(long token) {
            for (NodeEvent.Confirmed c : all(NodeEvent.Confirmed.class)) {
                if (c.token() == token) {
                    return c;
                }
            }
            return null;
        }

        long confirmedAt(long token) {
            return timeOf(NodeEvent.Confirmed.class, c -> c.token() == token);
        }

        NodeEvent.WriteDone writeDone(long token) {
            for (NodeEvent.WriteDone w : all(NodeEvent.WriteDone.class)) {
                if (w.token() == token) {
                    return w;
                }
            }
            return null;
        }

        NodeEvent.EpochClaimed epochClaimed(long token) {
            for (NodeEvent.EpochClaimed c : all(NodeEvent.EpochClaimed.class)) {
                if (c.token() == token) {
                    return c;
                }
            }
            return null;
        }

        int eventCount() {
            return events.size();
        }
    }

    @BeforeEach
    void setUp() {
        clock = new SimClock();
        net = new SimNetwork(new SplittableRandom(1));
        coordination = new SimCoordination(clock, net, SESSION_TIMEOUT_MS);
        scheduleTick();
    }

    private void scheduleTick() {
        clock.schedule(TICK_MS * MS, () -> {
            coordination.tick();
            scheduleTick();
        });
    }

    // ---------------------------------------------------------------- driving

    /** Runs events until {@code done} holds or {@code withinMs} of virtual time have passed; returns whether it holds. */
    private boolean runUntil(BooleanSupplier done, long withinMs) {
        long limit = clock.nanos() + withinMs * MS;
        while (!done.getAsBoolean() && clock.runNext(limit)) {
            // bounded: ticks advance virtual time, and the limit is fixed
        }
        return done.getAsBoolean();
    }

    /** Runs every event of the next {@code ms} of virtual time. */
    private void runFor(long ms) {
        long limit = clock.nanos() + ms * MS;
        while (clock.runNext(limit)) {
            // bounded by the virtual-time limit
        }
        clock.advanceTo(limit);
    }

    /** Runs until virtual time {@code atMs}. */
    private void runTo(long atMs) {
        runFor(atMs - clock.nowMs());
    }

    private Probe connectAndStart(HostId host) {
        Probe p = new Probe(host);
        p.client.openSession();
        assertTrue(runUntil(() -> p.has(NodeEvent.SessionStarted.class, s -> true), 1_000),
                host + " got no SessionStarted; events: " + p.events);
        return p;
    }

    /** Confirms once and waits for the answer, which must be a success. */
    private void confirmOk(Probe p) {
        long token = p.confirm();
        assertTrue(runUntil(() -> p.confirmed(token) != null, 500), p.host + ": no answer to confirm " + token);
        assertTrue(p.confirmed(token).ok(), p.host + ": confirm " + token + " failed");
    }

    /** Every second from now on, each probe confirms (as a node renewing its lease does). */
    private void confirmEverySecond(Probe... probes) {
        clock.schedule(1_000 * MS, () -> {
            for (Probe p : probes) {
                p.confirm();
            }
            confirmEverySecond(probes);
        });
    }

    private static boolean sawLive(Probe observer, HostId host, Predicate<Set<Long>> sessions) {
        return observer.has(NodeEvent.LiveChanged.class, l -> l.host().equals(host) && sessions.test(l.sessions()));
    }

    /**
     * Whether {@code observer} was told, at or after {@code sinceMs}, that {@code host}'s live sessions are as
     * {@code sessions} says. (A client is told every host's live set when it attaches, before anyone confirmed.)
     */
    private static boolean sawLiveSince(Probe observer, long sinceMs, HostId host, Predicate<Set<Long>> sessions) {
        return liveTime(observer, sinceMs, host, sessions) >= 0;
    }

    /** The time (ms) of the first matching LiveChanged at or after {@code sinceMs}, or -1. */
    private static long liveTime(Probe observer, long sinceMs, HostId host, Predicate<Set<Long>> sessions) {
        for (int i = 0; i < observer.events.size(); i++) {
            if (observer.times.get(i) >= sinceMs && observer.events.get(i) instanceof NodeEvent.LiveChanged l
                    && l.host().equals(host) && sessions.test(l.sessions())) {
                return observer.times.get(i);
            }
        }
        return -1;
    }

    /** Tokens {@code p} issued in [fromMs, now - request time-out - 100 ms]: all of them must have been answered. */
    private List<Long> settledConfirms(Probe p, long fromMs) {
        long until = clock.nowMs() - REQUEST_TIMEOUT_MS - 100;
        List<Long> out = new ArrayList<>();
        p.confirmIssued.forEach((token, at) -> {
            if (at >= fromMs && at <= until) {
                out.add(token);
            }
        });
        return out;
    }

    private static VmRecord record(String vm, HostId host, long session) {
        VmSpec spec = new VmSpec(new VmId(vm), vm, 1, 1024, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + vm + "</name></domain>");
        return VmRecord.running(spec, host, session);
    }

    private long write(Probe p, long token, List<CoordOp> ops) {
        p.client.write(token, ops);
        assertTrue(runUntil(() -> p.writeDone(token) != null, 500), p.host + ": no WriteDone for " + token);
        return token;
    }

    private long claim(Probe p, long token) {
        p.client.claimEpoch(token);
        assertTrue(runUntil(() -> p.epochClaimed(token) != null, 500), p.host + ": no EpochClaimed for " + token);
        return p.epochClaimed(token).epoch();
    }

    /** Three started, confirmed (live) clients, node1 leading the election. */
    private Probe[] threeLiveWithLeader() {
        Probe[] ps = {connectAndStart(NODE1), connectAndStart(NODE2), connectAndStart(NODE3)};
        for (Probe p : ps) {
            confirmOk(p);
        }
        for (Probe p : ps) {
            p.client.joinElection();
            runFor(50);
        }
        assertTrue(ps[0].has(NodeEvent.LeadershipChanged.class, NodeEvent.LeadershipChanged::leader));
        return ps;
    }

    // ---------------------------------------------------------------- tests

    @Test
    void sessionOpensAndConfirmationSucceeds() {
        Probe p = new Probe(NODE1);
        p.client.openSession();
        assertTrue(runUntil(() -> p.has(NodeEvent.SessionStarted.class, s -> true), 1_000), "events: " + p.events);
        long session = p.session();
        assertEquals(1, p.all(NodeEvent.SessionStarted.class).size());

        long token = p.confirm();
        assertTrue(runUntil(() -> p.confirmed(token) != null, 500), "events: " + p.events);
        assertEquals(new NodeEvent.Confirmed(token, true), p.confirmed(token));
        // the first confirmation makes the session live, and everyone attached is told
        assertTrue(runUntil(() -> sawLive(p, NODE1, s -> s.equals(Set.of(session))), 100), "events: " + p.events);
        assertTrue(coordination.isLive(NODE1));
        assertFalse(p.has(NodeEvent.SessionEnded.class, e -> true));
    }

    @Test
    void firstToJoinTheElectionLeadsAndOnlyTheLeaderClaimsAnEpoch() {
        Probe p1 = connectAndStart(NODE1);
        Probe p2 = connectAndStart(NODE2);
        Probe p3 = connectAndStart(NODE3);
        // node2 joins first although node1's session is older
        p2.client.joinElection();
        runFor(200);
        p1.client.joinElection();
        runFor(200);
        p3.client.joinElection();
        runFor(200);

        assertEquals(List.of(new NodeEvent.LeadershipChanged(true)), p2.all(NodeEvent.LeadershipChanged.class));
        assertTrue(p1.all(NodeEvent.LeadershipChanged.class).isEmpty(), "node1: " + p1.events);
        assertTrue(p3.all(NodeEvent.LeadershipChanged.class).isEmpty(), "node3: " + p3.events);

        assertEquals(1, claim(p2, 10));
        assertTrue(runUntil(() -> p1.has(NodeEvent.EpochChanged.class, e -> e.epoch() == 1 && NODE2.equals(e.leader())),
                100), "node1 not told of epoch 1: " + p1.events);

        assertEquals(-1, claim(p1, 11));
        assertEquals(-1, claim(p3, 12));
        assertEquals(1, coordination.epoch());
        assertFalse(p1.has(NodeEvent.EpochChanged.class, e -> e.epoch() > 1));
    }

    @Test
    void writeCheckingAnOldEpochConflictsAndChangesNothing() {
        Probe p1 = connectAndStart(NODE1);
        Probe p2 = connectAndStart(NODE2);
        p2.client.scope(io.havn.common.port.ViewScope.WHOLE); // told of every record, not only those naming it
        p1.client.joinElection();
        runFor(100);
        assertEquals(1, claim(p1, 1));
        assertEquals(2, claim(p1, 2));

        VmRecord rec = record("vm1", NODE1, p1.session());
        int before = p2.all(NodeEvent.VmChanged.class).size();
        write(p1, 3, List.of(new CoordOp.CheckEpoch(1), new CoordOp.PutVm(rec, CoordOp.NEW)));
        assertEquals(WriteOutcome.CONFLICT, p1.writeDone(3).outcome());
        runFor(100);
        assertNull(coordination.vm(rec.id()), "a fenced write must change nothing");
        assertEquals(before, p2.all(NodeEvent.VmChanged.class).size(), "nobody may be told of a change");
        assertEquals(2, coordination.epoch());

        // the same write under the current epoch goes through
        write(p1, 4, List.of(new CoordOp.CheckEpoch(2), new CoordOp.PutVm(rec, CoordOp.NEW)));
        assertEquals(WriteOutcome.OK, p1.writeDone(4).outcome());
        assertEquals(new Versioned<>(rec, 0), coordination.vm(rec.id()));
        assertTrue(runUntil(() -> p2.has(NodeEvent.VmChanged.class, v -> v.vm().equals(rec.id())), 100));
    }

    @Test
    void putVmWithAStaleVersionConflicts() {
        Probe p1 = connectAndStart(NODE1);
        long session = p1.session();
        VmRecord v0 = record("vm1", NODE1, session);
        VmRecord v1 = v0.withPhase(io.havn.common.model.VmPhase.RUNNING, "first update");
        VmRecord stale = v0.withPhase(io.havn.common.model.VmPhase.RUNNING, "stale update");

        write(p1, 1, List.of(new CoordOp.PutVm(v0, CoordOp.NEW)));
        assertEquals(WriteOutcome.OK, p1.writeDone(1).outcome());
        assertEquals(0, coordination.vm(v0.id()).version());

        write(p1, 2, List.of(new CoordOp.PutVm(v1, 0)));
        assertEquals(WriteOutcome.OK, p1.writeDone(2).outcome());
        assertEquals(new Versioned<>(v1, 1), coordination.vm(v0.id()));

        write(p1, 3, List.of(new CoordOp.PutVm(stale, 0)));
        assertEquals(WriteOutcome.CONFLICT, p1.writeDone(3).outcome());
        write(p1, 4, List.of(new CoordOp.PutVm(stale, CoordOp.NEW)));
        assertEquals(WriteOutcome.CONFLICT, p1.writeDone(4).outcome());
        assertEquals(new Versioned<>(v1, 1), coordination.vm(v0.id()), "the record is unchanged");
    }

    @Test
    void isolatedClientGetsNoConfirmationsAndItsSessionExpires() {
        Probe p1 = connectAndStart(NODE1);
        Probe p2 = connectAndStart(NODE2);
        Probe p3 = connectAndStart(NODE3);
        long s1 = p1.session();
        confirmOk(p1);
        confirmOk(p2);
        confirmOk(p3);
        confirmEverySecond(p1, p2, p3);
        runTo(5_050);

        long isolatedAt = clock.nowMs();
        assertTrue(coordination.isLive(NODE1));
        net.isolate("node1");
        assertTrue(runUntil(() -> sawLiveSince(p2, isolatedAt, NODE1, Set::isEmpty), SESSION_TIMEOUT_MS + 1_000),
                "node1's session never expired; node2 saw: " + p2.all(NodeEvent.LiveChanged.class));
        long expiredAt = liveTime(p2, isolatedAt, NODE1, Set::isEmpty);
        assertTrue(expiredAt >= isolatedAt + SESSION_TIMEOUT_MS - 2 * TICK_MS
                        && expiredAt <= isolatedAt + SESSION_TIMEOUT_MS + 2 * TICK_MS,
                "expired at " + expiredAt + " ms, isolated at " + isolatedAt + " ms");
        assertTrue(runUntil(() -> sawLiveSince(p3, isolatedAt, NODE1, Set::isEmpty), 100),
                "node3 not told: " + p3.events);
        assertFalse(coordination.isLive(NODE1));

        runFor(REQUEST_TIMEOUT_MS + 500); // let node1's requests of the expiry time time out
        int answered = 0;
        for (long token : settledConfirms(p1, isolatedAt)) {
            long issuedAt = p1.confirmIssued.get(token);
            NodeEvent.Confirmed c = p1.confirmed(token);
            assertNotNull(c, "node1: no answer to confirm " + token + " issued at " + issuedAt);
            assertFalse(c.ok(), "node1 isolated but confirm " + token + " succeeded");
            long took = p1.confirmedAt(token) - issuedAt;
            assertTrue(took >= REQUEST_TIMEOUT_MS && took <= REQUEST_TIMEOUT_MS + 10,
                    "confirm " + token + " failed after " + took + " ms, not after the request time-out");
            answered++;
        }
        assertTrue(answered >= 10, "too few confirmations tried while isolated: " + answered);
        // the others kept confirming all along
        for (Probe p : List.of(p2, p3)) {
            for (NodeEvent.Confirmed c : p.all(NodeEvent.Confirmed.class)) {
                assertTrue(c.ok(), p.host + ": confirm " + c.token() + " failed");
            }
        }
        assertFalse(p1.has(NodeEvent.SessionEnded.class, e -> true), "an isolated client cannot be told anything");

        net.reconnect("node1");
        assertTrue(runUntil(() -> p1.has(NodeEvent.SessionEnded.class, e -> e.session() == s1), 500),
                "node1 reconnected but was not told its session ended: " + p1.events);
    }

    @Test
    void clientPartitionedWithOneServerCannotConfirmAndExpiresWhileTheMajorityConfirms() {
        Probe p1 = connectAndStart(NODE1);
        Probe p2 = connectAndStart(NODE2);
        Probe p3 = connectAndStart(NODE3);
        long s3 = p3.session();
        confirmOk(p1);
        confirmOk(p2);
        confirmOk(p3);
        confirmEverySecond(p1, p2, p3);
        runTo(5_050);

        long partitionedAt = clock.nowMs();
        int p1ConfirmsBefore = p1.all(NodeEvent.Confirmed.class).size();
        assertTrue(coordination.isLive(NODE3));
        net.partition(List.of(Set.of(), Set.of("node3", "zk3")));
        assertTrue(runUntil(() -> sawLiveSince(p1, partitionedAt, NODE3, Set::isEmpty), SESSION_TIMEOUT_MS + 1_000),
                "node3's session never expired; node1 saw: " + p1.all(NodeEvent.LiveChanged.class));
        long expiredAt = liveTime(p1, partitionedAt, NODE3, Set::isEmpty);
        assertTrue(expiredAt >= partitionedAt + SESSION_TIMEOUT_MS - 2 * TICK_MS
                        && expiredAt <= partitionedAt + SESSION_TIMEOUT_MS + 2 * TICK_MS,
                "expired at " + expiredAt + " ms, partitioned at " + partitionedAt + " ms");
        assertTrue(coordination.hasQuorum());
        assertFalse(coordination.isLive(NODE3));
        assertTrue(coordination.isLive(NODE1) && coordination.isLive(NODE2));

        runFor(REQUEST_TIMEOUT_MS + 500);
        int tried = 0;
        for (long token : settledConfirms(p3, partitionedAt)) {
            NodeEvent.Confirmed c = p3.confirmed(token);
            assertNotNull(c, "node3: no answer to confirm " + token);
            assertFalse(c.ok(), "node3 is with a server without quorum but confirm " + token + " succeeded");
            tried++;
        }
        assertTrue(tried >= 10, "too few confirmations tried in the minority: " + tried);
        for (Probe p : List.of(p1, p2)) {
            for (NodeEvent.Confirmed c : p.all(NodeEvent.Confirmed.class)) {
                assertTrue(c.ok(), p.host + ": confirm " + c.token() + " failed in the majority");
            }
        }
        assertTrue(p1.all(NodeEvent.Confirmed.class).size() - p1ConfirmsBefore >= 10,
                "the majority stopped confirming");
        assertFalse(p1.has(NodeEvent.SessionEnded.class, e -> true));
        assertFalse(p2.has(NodeEvent.SessionEnded.class, e -> true));

        net.heal();
        assertTrue(runUntil(() -> p3.has(NodeEvent.SessionEnded.class, e -> e.session() == s3), 500),
                "node3 healed but was not told its session ended: " + p3.events);
    }

    @Test
    void oneServerDownKeepsTheQuorum() {
        Probe p1 = connectAndStart(NODE1);
        Probe p2 = connectAndStart(NODE2);
        Probe p3 = connectAndStart(NODE3);
        for (Probe p : List.of(p1, p2, p3)) {
            confirmOk(p);
        }
        confirmEverySecond(p1, p2, p3);
        runTo(3_050);
        long downAt = clock.nowMs();
        int before = p1.all(NodeEvent.Confirmed.class).size();

        coordination.serverDown(0); // zk1
        runFor(2 * SESSION_TIMEOUT_MS + 1_000);

        assertTrue(coordination.hasQuorum());
        for (Probe p : List.of(p1, p2, p3)) {
            for (NodeEvent.Confirmed c : p.all(NodeEvent.Confirmed.class)) {
                assertTrue(c.ok(), p.host + ": confirm " + c.token() + " failed with one server down");
            }
            assertFalse(p.has(NodeEvent.SessionEnded.class, e -> true), p.host + ": session ended");
            assertEquals(1, p.all(NodeEvent.SessionStarted.class).size(), p.host + ": new session");
            assertTrue(coordination.isLive(p.host), p.host + " not live");
        }
        assertTrue(p1.all(NodeEvent.Confirmed.class).size() - before >= 20, "node1 stopped confirming");
        for (HostId h : List.of(NODE1, NODE2, NODE3)) {
            assertFalse(sawLiveSince(p2, downAt, h, Set::isEmpty), h + " was reported not live");
        }
    }

    @Test
    void totalOutageLongerThanTheSessionTimeoutExpiresNobody() {
        Probe p1 = connectAndStart(NODE1);
        Probe p2 = connectAndStart(NODE2);
        Probe p3 = connectAndStart(NODE3);
        Map<HostId, Long> sessions = Map.of(NODE1, p1.session(), NODE2, p2.session(), NODE3, p3.session());
        for (Probe p : List.of(p1, p2, p3)) {
            confirmOk(p);
        }
        runTo(2_050);
        long downAt = clock.nowMs();

        coordination.allDown();
        long token = p1.confirm();
        runFor(SESSION_TIMEOUT_MS * 2 + 500);
        assertFalse(coordination.hasQuorum());
        assertEquals(new NodeEvent.Confirmed(token, false), p1.confirmed(token), "confirm during the outage");

        coordination.allUp();
        runFor(2 * TICK_MS + 50); // a tick re-forms the quorum and the clients re-attach
        assertTrue(coordination.hasQuorum());
        List<Long> tokens = new ArrayList<>();
        for (Probe p : List.of(p1, p2, p3)) {
            tokens.add(p.confirm());
        }
        runFor(500);
        List<Probe> probes = List.of(p1, p2, p3);
        for (int i = 0; i < probes.size(); i++) {
            Probe p = probes.get(i);
            assertEquals(new NodeEvent.Confirmed(tokens.get(i), true), p.confirmed(tokens.get(i)),
                    p.host + ": confirm on the old session after the outage");
        }
        // and the sessions stay valid well past another session timeout
        confirmEverySecond(p1, p2, p3);
        runFor(SESSION_TIMEOUT_MS + 2_000);
        for (Probe p : probes) {
            assertFalse(p.has(NodeEvent.SessionEnded.class, e -> true), p.host + ": session ended: " + p.events);
            assertEquals(1, p.all(NodeEvent.SessionStarted.class).size(), p.host + ": new session");
            assertEquals(sessions.get(p.host), p.session());
            assertTrue(coordination.isLive(p.host), p.host + " not live");
            for (HostId h : sessions.keySet()) {
                assertFalse(sawLiveSince(p, downAt, h, Set::isEmpty), p.host + " was told " + h + " is not live");
            }
            long last = p.confirmIssued.keySet().stream().mapToLong(Long::longValue).max().orElseThrow();
            long settled = p.confirmIssued.keySet().stream().filter(t -> t < last).mapToLong(Long::longValue).max()
                    .orElseThrow();
            assertEquals(new NodeEvent.Confirmed(settled, true), p.confirmed(settled), p.host + " keeps confirming");
        }
        // after re-attaching, each client was told the old sessions are live
        assertTrue(sawLiveSince(p2, downAt, NODE1, s -> s.equals(Set.of(sessions.get(NODE1)))));
    }

    @Test
    void evictingTheLeadersSessionHandsLeadershipToTheNextInLine() {
        Probe[] ps = threeLiveWithLeader();
        Probe p1 = ps[0];
        Probe p2 = ps[1];
        Probe p3 = ps[2];
        long s1 = p1.session();
        assertEquals(1, claim(p1, 100));

        long evictedAt = clock.nowMs();
        p2.client.evict(NODE1, s1);
        assertTrue(runUntil(() -> p2.has(NodeEvent.LeadershipChanged.class, NodeEvent.LeadershipChanged::leader), 100),
                "node2 did not take over: " + p2.events);
        runFor(50);
        assertFalse(p3.has(NodeEvent.LeadershipChanged.class, NodeEvent.LeadershipChanged::leader),
                "node3 is not next in line: " + p3.events);
        assertEquals(new NodeEvent.LeadershipChanged(false),
                p1.all(NodeEvent.LeadershipChanged.class).get(p1.all(NodeEvent.LeadershipChanged.class).size() - 1));
        assertTrue(p1.has(NodeEvent.SessionEnded.class, e -> e.session() == s1), "node1: " + p1.events);
        assertTrue(sawLiveSince(p3, evictedAt, NODE1, Set::isEmpty), "node3 not told node1 is gone: " + p3.events);
        assertFalse(coordination.isLive(NODE1));

        assertEquals(2, claim(p2, 101));
        assertEquals(-1, claim(p3, 102));
    }
}
