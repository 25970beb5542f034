package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Health passed on from peer to peer (SAFETY.md, "Monitors and gossiped health"): one node's
 * {@link Peers} among eight hosts with two monitors each, so it heartbeats two and hears of the
 * others only through them.
 */
class PeersGossipTest {
    private static final long MS = 1_000_000L;
    private static final HostId ME = new HostId("node1");
    private static final Settings SETTINGS = Settings.defaults().with(Map.of("monitors", 2));
    private static final long T0 = 1_000 * MS;

    private final Peers peers = new Peers(ME, 1, SETTINGS);
    private final List<Effect> out = new ArrayList<>();
    private final List<HostId> all = new ArrayList<>();

    PeersGossipTest() {
        for (int i = 1; i <= 8; i++) {
            HostId h = new HostId("node" + i);
            all.add(h);
            peers.add(h, 0);
        }
    }

    private Effect.Send round(long now) {
        int before = out.size();
        peers.sendAll(out::add, now, 1, 0, false);
        for (int i = out.size() - 1; i >= before; i--) {
            if (out.get(i) instanceof Effect.Send s) {
                return s;
            }
        }
        throw new AssertionError("no round sent");
    }

    private HostId monitor() {
        return Monitors.of(all, ME, 2).get(0);
    }

    private HostId notAMonitor() {
        List<HostId> mine = Monitors.of(all, ME, 2);
        for (HostId h : all) {
            if (!h.equals(ME) && !mine.contains(h)) {
                return h;
            }
        }
        throw new AssertionError();
    }

    /** A digest as {@code from} would send it: {@code said} of each host (null: nothing), ages in ms. */
    private HealthDigest digest(Map<HostId, Integer> healthyAgeMs, Map<HostId, Integer> lostAgeMs,
                                Map<HostId, Integer> apartAgeMs) {
        List<HostId> members = new ArrayList<>(all);
        members.sort(java.util.Comparator.comparing(HostId::value));
        byte[] e = new byte[2 * members.size()];
        for (int i = 0; i < members.size(); i++) {
            HostId h = members.get(i);
            e[2 * i] = healthyAgeMs.containsKey(h) ? HealthDigest.statementOf(true, healthyAgeMs.get(h) * MS)
                    : lostAgeMs.containsKey(h) ? HealthDigest.statementOf(false, lostAgeMs.get(h) * MS) : HealthDigest.NONE;
            e[2 * i + 1] = apartAgeMs.containsKey(h) ? HealthDigest.apartOf(apartAgeMs.get(h) * MS) : HealthDigest.NONE;
        }
        return new HealthDigest(Monitors.membersHash(members), e);
    }

    private void hear(HostId from, long seq, long echo, HealthDigest d, long now) {
        assertTrue(peers.received(new Heartbeat(from, 1, seq, 1, now, echo, 0, false, d), now, now));
    }

    @Test
    void aHostHeartbeatsOnlyItsMonitorsAnnouncesThemOnceAndPassesOnItsOwnStatement() {
        Effect.Send s = round(T0);
        assertEquals(Monitors.of(all, ME, 2), s.to());
        assertTrue(s.to().size() < 7, "not every peer: " + s.to());
        assertTrue(peers.gossiped());
        List<Effect.MonitorsChanged> told = out.stream().filter(Effect.MonitorsChanged.class::isInstance)
                .map(Effect.MonitorsChanged.class::cast).toList();
        assertEquals(List.of(new Effect.MonitorsChanged(s.to())), told);
        round(T0 + 200 * MS);
        assertEquals(1, out.stream().filter(Effect.MonitorsChanged.class::isInstance).count(), "told once");
        HealthDigest d = s.heartbeats().get(0).digest();
        int me = 0; // node1 sorts first
        assertTrue(HealthDigest.known(d.statement(me)) && HealthDigest.healthy(d.statement(me)));
        assertEquals(0, HealthDigest.ageNanos(d.statement(me)));
        assertFalse(HealthDigest.known(d.statement(1)), "nothing known of the others yet");
    }

    @Test
    void aStatementPassedOnIsAgedFromTheEchoAndCountsForTheGossipTimeout() {
        round(T0);
        HostId far = notAMonitor();
        // the monitor echoes our round at T0 and passes on that `far` said it was healthy 300 ms before sending
        long arrive = T0 + 150 * MS;
        hear(monitor(), 1, T0, digest(Map.of(far, 300), Map.of(), Map.of()), arrive);
        assertEquals(Peers.Health.HEALTHY, peers.health(far, arrive));
        long madeNoEarlier = T0 - 300 * MS;
        long window = SETTINGS.gossipTimeoutMs() * MS;
        assertEquals(Peers.Health.HEALTHY, peers.health(far, madeNoEarlier + window - 1));
        assertEquals(Peers.Health.UNKNOWN, peers.health(far, madeNoEarlier + window));
        assertFalse(peers.suspected(far, madeNoEarlier + window));
        assertTrue(peers.suspected(far, madeNoEarlier + window + 1), "nothing newer for the gossip timeout");
        assertTrue(peers.heardSince(far, madeNoEarlier));
        assertFalse(peers.heardSince(far, madeNoEarlier + 1), "it may have been said before then");
    }

    @Test
    void aDigestOfTheHostsAsTheyWereSaysNothingOfAPeerThatCameSinceInTheSamePlace() {
        round(T0);
        HostId gone = notAMonitor();
        HostId monitor = monitor();
        peers.remove(gone);
        HostId newcomer = new HostId("node9");
        peers.add(newcomer, T0);
        // before this host's next round arranges for the new set, its monitor, still arranged for the old
        // one, passes on that `gone` was healthy just now: it must not count for anybody else
        Map<HostId, Integer> healthy = new java.util.HashMap<>();
        healthy.put(gone, 0);
        healthy.put(monitor, 0);
        long now = T0 + 10 * MS;
        hear(monitor, 1, T0, digest(healthy, Map.of(), Map.of()), now);
        assertEquals(Peers.Health.UNKNOWN, peers.health(newcomer, now), "nothing was said of node9");
        assertEquals(Peers.Health.UNKNOWN, peers.health(gone, now), "no longer a peer");
        assertEquals(Peers.Health.HEALTHY, peers.health(monitor, now), "the rest of the digest still counts");
        round(T0 + 200 * MS); // arranged for the new set: the old digest no longer matches
        hear(monitor, 2, T0 + 200 * MS, digest(healthy, Map.of(), Map.of()), T0 + 210 * MS);
        assertEquals(Peers.Health.UNKNOWN, peers.health(newcomer, T0 + 210 * MS));
    }

    /** The entries of {@code d}'s hosts {@code from} to {@code to} (exclusive), as a run of its own. */
    private static HealthDigest run(HealthDigest d, int from, int to) {
        return new HealthDigest(d.members(), from, java.util.Arrays.copyOfRange(d.bytes(), 2 * from, 2 * to));
    }

    @Test
    void inAClusterLargerThanADigestEveryMonitorGetsEveryRunEveryRoundInARowAtOneSendTime() {
        Peers p = new Peers(ME, 1, SETTINGS.with(Map.of("digestHosts", 3)));
        for (HostId h : all) {
            p.add(h, 0);
        }
        List<HostId> mine = Monitors.of(all, ME, 2);
        List<Effect> sent = new ArrayList<>();
        long lastSequence = Long.MIN_VALUE;
        for (int r = 0; r < 3; r++) {
            sent.clear();
            long now = T0 + r * 200 * MS;
            p.sendAll(sent::add, now, 1, 0, false);
            Effect.Send s = sent.stream().filter(Effect.Send.class::isInstance).map(Effect.Send.class::cast)
                    .findFirst().orElseThrow();
            // eight hosts in runs of at most three: three runs, of 2, 3 and 3 hosts, to each monitor in a row
            assertEquals(3 * mine.size(), s.to().size(), "every run to every monitor: " + s.to());
            for (int m = 0; m < mine.size(); m++) {
                for (int k = 0; k < 3; k++) {
                    int i = 3 * m + k;
                    assertEquals(mine.get(m), s.to().get(i));
                    Heartbeat hb = s.heartbeats().get(i);
                    HealthDigest d = hb.digest();
                    assertEquals(List.of(0, 2, 5).get(k), d.offset(), "run " + k + " of round " + r);
                    assertEquals(k == 0 ? 2 : 3, d.hosts());
                    assertEquals(now, hb.sentNanos(), "the runs of a round share their send time");
                    assertTrue(hb.sequence() > lastSequence, "numbered in a row");
                    lastSequence = hb.sequence();
                }
            }
        }
        // this host's own statement is in the run that holds its place (node1 is first in name order)
        HealthDigest first = ((Effect.Send) sent.stream().filter(Effect.Send.class::isInstance).findFirst()
                .orElseThrow()).heartbeats().get(0).digest();
        assertEquals(0, first.offset());
        assertTrue(HealthDigest.known(first.statement(0)) && HealthDigest.healthy(first.statement(0)));
    }

    @Test
    void theRunsOfARoundAreAllTakenInTheirOrderAndCountAsOneArrival() {
        // a detector that allows no pause, so that its phi follows the intervals it saw
        Peers peers = new Peers(ME, 1, SETTINGS.with(Map.of("phiAcceptablePauseMs", 0, "phiMinStdDevMs", 10)));
        for (HostId h : all) {
            peers.add(h, 0);
        }
        peers.sendAll(x -> { }, T0, 1, 0, false);
        List<HostId> sorted = new ArrayList<>(all);
        sorted.sort(java.util.Comparator.comparing(HostId::value));
        HealthDigest whole = digest(Map.of(notAMonitor(), 0), Map.of(), Map.of());
        int half = sorted.size() / 2;
        HostId m = monitor();
        long sent = T0 + 5 * MS;
        // rounds every 200 ms, each in two runs: both taken, the earlier-numbered one after the later refused
        for (int r = 0; r < 10; r++) {
            long at = T0 + r * 200 * MS;
            long send = sent + r * 200 * MS;
            assertTrue(peers.received(new Heartbeat(m, 1, 10 * r + 1, 1, send, T0, 0, false, run(whole, 0, half)), at, at));
            long next = at + MS; // the next datagram arrives a little later
            assertTrue(peers.received(new Heartbeat(m, 1, 10 * r + 2, 1, send, T0, 0, false,
                    run(whole, half, sorted.size())), next, next), "the next run of the same round");
            assertFalse(peers.received(new Heartbeat(m, 1, 10 * r + 1, 1, send, T0, 0, false, run(whole, 0, half)),
                    next, next), "a run of the round numbered before the last taken");
        }
        // the detector saw one arrival every 200 ms: 150 ms after the last is no silence (phi near 0); had
        // each run counted, intervals of 1 and 199 ms (a mean of 100) would make phi about 0.5
        long now = T0 + 9 * 200 * MS + 150 * MS;
        PeerStat st = peers.stats(now).stream().filter(x -> x.host().equals(m)).findFirst().orElseThrow();
        assertTrue(st.phi() < 0.1, "phi " + st.phi());
    }

    @Test
    void digestHostsOutsideTwoTo2048IsRefusedNamingIt() {
        for (int bad : new int[] {1, 0, HealthDigest.MAX_HOSTS + 1}) {
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> Settings.defaults().with(Map.of("digestHosts", bad)));
            assertTrue(e.getMessage().contains("digestHosts must be between 2 and 2048, got " + bad), e.getMessage());
        }
        assertEquals(2, Settings.defaults().with(Map.of("digestHosts", 2)).digestHosts());
        assertEquals(HealthDigest.MAX_HOSTS, Settings.defaults().with(Map.of("digestHosts", 2048)).digestHosts());
    }

    @Test
    void aRunSpeaksOfTheHostsAtItsPlaceInNameOrderAndOfNoOther() {
        round(T0);
        List<HostId> sorted = new ArrayList<>(all);
        sorted.sort(java.util.Comparator.comparing(HostId::value));
        List<HostId> mine = Monitors.of(all, ME, 2);
        List<HostId> others = sorted.stream().filter(h -> !h.equals(ME) && !mine.contains(h)).toList();
        HostId low = others.get(0);
        HostId high = others.get(others.size() - 1);
        int at = sorted.indexOf(high);
        HealthDigest whole = digest(Map.of(high, 0), Map.of(low, 0), Map.of());
        long now = T0 + 10 * MS;
        // the run of the hosts from `high` on: what it says is of `high`, not of the host first in name order
        hear(monitor(), 1, T0, run(whole, at, sorted.size()), now);
        assertEquals(Peers.Health.HEALTHY, peers.health(high, now));
        assertEquals(Peers.Health.UNKNOWN, peers.health(low, now), "said by no run taken yet");
        hear(monitor(), 2, T0, run(whole, 0, at), now);
        assertEquals(Peers.Health.LOST, peers.health(low, now));
        // a run longer than the hosts from its place on says nothing at all
        byte[] e = new byte[2 * (sorted.size() - at + 1)];
        java.util.Arrays.fill(e, HealthDigest.NONE);
        e[0] = HealthDigest.statementOf(false, 0);
        long later = T0 + 3_000 * MS; // what was said above has aged out
        hear(monitor(), 3, T0 + 2_900 * MS, new HealthDigest(whole.members(), at, e), later);
        assertEquals(Peers.Health.UNKNOWN, peers.health(high, later), "a run past the last host is ignored");
        hear(monitor(), 4, T0 + 2_900 * MS, new HealthDigest(whole.members(), at,
                java.util.Arrays.copyOf(e, e.length - 2)), later);
        assertEquals(Peers.Health.LOST, peers.health(high, later), "the same run, ending at the last host");
    }

    @Test
    void theNewestStatementWinsWhicheverPathItCameBy() {
        round(T0);
        List<HostId> mine = Monitors.of(all, ME, 2);
        HostId far = notAMonitor();
        hear(mine.get(0), 1, T0, digest(Map.of(), Map.of(far, 100), Map.of()), T0 + 100 * MS);
        assertEquals(Peers.Health.LOST, peers.health(far, T0 + 100 * MS));
        // an older healthy statement by another path does not undo it
        hear(mine.get(1), 1, T0, digest(Map.of(far, 400), Map.of(), Map.of()), T0 + 110 * MS);
        assertEquals(Peers.Health.LOST, peers.health(far, T0 + 110 * MS));
        // a newer one does
        hear(mine.get(1), 2, T0, digest(Map.of(far, 50), Map.of(), Map.of()), T0 + 120 * MS);
        assertEquals(Peers.Health.HEALTHY, peers.health(far, T0 + 120 * MS));
    }

    @Test
    void aDigestOfOtherHostsOrWithNoEchoIsIgnored() {
        round(T0);
        HostId far = notAMonitor();
        HealthDigest good = digest(Map.of(far, 0), Map.of(), Map.of());
        hear(monitor(), 1, T0, new HealthDigest(good.members() + 1, good.bytes()), T0 + 10 * MS);
        assertEquals(Peers.Health.UNKNOWN, peers.health(far, T0 + 10 * MS), "another set of hosts");
        hear(monitor(), 2, Heartbeat.NO_ECHO, good, T0 + 20 * MS);
        assertEquals(Peers.Health.UNKNOWN, peers.health(far, T0 + 20 * MS), "no echo: no bound on its age");
        hear(monitor(), 3, T0, good, T0 + 30 * MS);
        assertEquals(Peers.Health.HEALTHY, peers.health(far, T0 + 30 * MS));
    }

    @Test
    void anEchoAheadOfThisHostsClockBoundsNothing() {
        round(T0);
        HostId far = notAMonitor();
        // an echo of a send this clock never made: one from before it began again (a reboot)
        hear(monitor(), 1, T0 + 5_000 * MS, digest(Map.of(far, 0), Map.of(), Map.of()), T0 + 10 * MS);
        assertEquals(Peers.Health.UNKNOWN, peers.health(far, T0 + 10 * MS));
        assertEquals(Peers.Health.UNKNOWN, peers.health(monitor(), T0 + 10 * MS));
        Peers small = new Peers(ME, 1, SETTINGS.with(Map.of("monitors", 0)));
        small.add(new HostId("node2"), 0);
        assertTrue(small.received(new Heartbeat(new HostId("node2"), 1, 1, 1, T0, T0 + 5_000 * MS, 0, false),
                T0, T0));
        assertEquals(Peers.Health.UNKNOWN, small.health(new HostId("node2"), T0), "all to all alike");
    }

    @Test
    void whatOthersPassOnOfThisHostIsNotTaken() {
        round(T0);
        hear(monitor(), 1, T0, digest(Map.of(), Map.of(ME, 0), Map.of(ME, 0)), T0 + 10 * MS);
        assertEquals(Peers.Health.UNKNOWN, peers.health(ME, T0 + 10 * MS));
        assertFalse(peers.aliveApartPassedOn(ME, Long.MIN_VALUE, T0 + 10 * MS));
    }

    @Test
    void aSignOfLifeApartFromTheDaemonIsPassedOnAndAged() {
        round(T0);
        HostId far = notAMonitor();
        hear(monitor(), 1, T0, digest(Map.of(), Map.of(), Map.of(far, 200)), T0 + 10 * MS);
        long at = T0 - 200 * MS;
        assertTrue(peers.aliveApartPassedOn(far, at, T0 + 10 * MS));
        assertFalse(peers.aliveApartPassedOn(far, at + 1, T0 + 10 * MS), "not provably after");
        assertFalse(peers.aliveApartPassedOn(far, Long.MIN_VALUE, at + SETTINGS.gossipTimeoutMs() * MS));
        // and this host passes it on, older by the time since
        HealthDigest d = round(T0 + 100 * MS).heartbeats().get(0).digest();
        int i = all.stream().sorted(java.util.Comparator.comparing(HostId::value)).toList().indexOf(far);
        assertEquals(300 * MS, HealthDigest.ageNanos(d.apart(i)));
        peers.signalUntil(far, T0 + 250 * MS);
        d = round(T0 + 200 * MS).heartbeats().get(0).digest();
        assertEquals(0, HealthDigest.ageNanos(d.apart(i)), "its signal seen here: passed on as new");
        d = round(T0 + 250 * MS).heartbeats().get(0).digest();
        assertEquals(450 * MS, HealthDigest.ageNanos(d.apart(i)), "no longer: the newest passed on, older");
        peers.storageUntil(far, T0 + 251 * MS);
        d = round(T0 + 250 * MS + 1).heartbeats().get(0).digest();
        assertEquals(0, HealthDigest.ageNanos(d.apart(i)), "its storage heartbeat seen here: passed on as new");
    }

    @Test
    void agesAreRoundedUpSoNothingIsTakenForNewerThanItIs() {
        assertEquals(25 * MS, HealthDigest.ageNanos(HealthDigest.statementOf(true, 1)));
        assertEquals(25 * MS, HealthDigest.ageNanos(HealthDigest.statementOf(false, 25 * MS)));
        assertEquals(50 * MS, HealthDigest.ageNanos(HealthDigest.apartOf(25 * MS + 1)));
        assertFalse(HealthDigest.healthy(HealthDigest.statementOf(false, 0)));
        assertTrue(HealthDigest.healthy(HealthDigest.statementOf(true, HealthDigest.MAX_AGE_MS * MS)));
        assertEquals(HealthDigest.NONE, HealthDigest.statementOf(false, (HealthDigest.MAX_AGE_MS + 1) * MS));
        assertEquals(HealthDigest.NONE, HealthDigest.apartOf((HealthDigest.MAX_AGE_MS + 1) * MS));
    }

    @Test
    void aSmallClusterHeartbeatsAllToAllWithNoDigestAndTheHeartbeatTimeout() {
        Peers small = new Peers(ME, 1, SETTINGS);
        for (int i = 1; i <= 3; i++) {
            small.add(new HostId("node" + i), 0);
        }
        List<Effect> o = new ArrayList<>();
        small.sendAll(o::add, T0, 1, 0, false);
        Effect.Send s = (Effect.Send) o.stream().filter(Effect.Send.class::isInstance).findFirst().orElseThrow();
        assertEquals(2, s.to().size());
        assertNull(s.heartbeats().get(0).digest());
        assertFalse(small.gossiped());
        assertEquals(SETTINGS.settleMs(), SETTINGS.settleMs(false));
        assertEquals(2 * SETTINGS.gossipTimeoutMs() + SETTINGS.watchdogMs(), SETTINGS.settleMs(true));
    }
}
