package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.WatchdogStatus;
import io.havn.common.testkit.ManualClock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** One node driven by events alone; what it decides is asserted on as the {@link Effect} values it returns. */
class NodeEventsTest {
    private static final HostId ME = new HostId("node1");
    private static final long MS = 1_000_000L;

    private final ManualClock clock = new ManualClock();
    /** Everything the node decided to do, in order. */
    private final List<Effect> effects = new ArrayList<>();
    private Node node;

    @BeforeEach
    void setUp() {
        WatchdogStatus watchdog = new WatchdogStatus() {
            @Override
            public OptionalLong inheritedDeadline() {
                return OptionalLong.empty();
            }

            @Override
            public java.util.Optional<String> problem() {
                return java.util.Optional.ofNullable(watchdogProblem);
            }
        };
        node = new Node(new Node.Identity(ME, new HostCapacity(8, 16384), null, null), Settings.defaults(), clock,
                watchdog);
    }

    /** What the watchdog says is wrong with it, or null when it guards the host. */
    private String watchdogProblem;

    /** Takes the node's effects in; a requested tick runs on the manual clock, as a scheduler would run it. */
    private void take(List<Effect> out) {
        for (Effect e : out) {
            effects.add(e);
            if (e instanceof Effect.ScheduleTick t) {
                clock.schedule(t.delayNanos(), () -> take(node.tick()));
            }
        }
    }

    private void start() {
        take(node.start());
    }

    private void send(NodeEvent e) {
        take(node.handle(e));
    }

    private <T extends Effect> List<T> all(Class<T> type) {
        return effects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private boolean did(Effect e) {
        return effects.contains(e);
    }

    private long count(Class<? extends Effect> type) {
        return all(type).size();
    }

    private List<Long> confirmTokens() {
        return all(Effect.Confirm.class).stream().map(Effect.Confirm::token).toList();
    }

    private List<List<CoordOp>> writes() {
        return all(Effect.Write.class).stream().map(Effect.Write::ops).toList();
    }

    private List<Long> writeTokens() {
        return all(Effect.Write.class).stream().map(Effect.Write::token).toList();
    }

    private List<Long> armed() {
        return all(Effect.ArmWatchdog.class).stream().map(Effect.ArmWatchdog::deadlineNanos).toList();
    }

    private List<AdminReply> replies() {
        return all(Effect.Answer.class).stream().map(Effect.Answer::reply).toList();
    }

    private List<Decision> decisions() {
        return all(Effect.Record.class).stream().map(Effect.Record::decision).toList();
    }

    /** The last heartbeat sent to each peer. */
    private Map<HostId, Heartbeat> sent() {
        Map<HostId, Heartbeat> last = new java.util.HashMap<>();
        for (Effect.Send round : all(Effect.Send.class)) {
            for (int i = 0; i < round.to().size(); i++) {
                last.put(round.to().get(i), round.heartbeats().get(i));
            }
        }
        return last;
    }

    @Test
    void startListsDomainsAndOpensASession() {
        start();
        assertEquals(List.of(new Effect.ListDomains(), new Effect.OpenSession()),
                effects.stream().filter(e -> !(e instanceof Effect.ScheduleTick)).toList());
        assertEquals(List.of(new Effect.ScheduleTick(Settings.defaults().tickMs() * MS)),
                all(Effect.ScheduleTick.class), "and asks for its first tick");
        assertThrows(IllegalStateException.class, node::start, "a second start is refused");
    }

    @Test
    void theLeaseIsCreditedFromWhenTheConfirmationWasSentNotAnswered() {
        runningAInSession(10_000);
        long sentAt = clock.nanos();
        assertEquals(1, confirmTokens().size(), "a confirmation right at session start");
        clock.advance(2_000 * MS); // a slow quorum: the answer takes 2 s
        send(new NodeEvent.Confirmed(confirmTokens().get(0), true));
        assertFalse(armed().isEmpty(), "the watchdog is armed() for the VM this host holds");
        assertEquals(sentAt + Settings.defaults().leaseMs() * MS, armed().get(armed().size() - 1),
                "deadline = send time + lease, not answer time + lease");
    }

    /** Started, HA VM a running here (its record names session 7), session 7 of {@code negotiatedMs} just opened. */
    private void runningAInSession(long negotiatedMs) {
        VmSpec spec = spec("a");
        start();
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(spec.id(), "a", DomainState.RUNNING))));
        send(new NodeEvent.VmChanged(spec.id(), new Versioned<>(VmRecord.running(spec, ME, 7), 0)));
        send(new NodeEvent.SessionStarted(7, negotiatedMs));
    }

    @Test
    void aConfirmationOfAnEndedSessionConfirmsNothing() {
        start();
        send(new NodeEvent.DomainsListed(List.of()));
        send(new NodeEvent.SessionStarted(7, 10_000));
        long token = confirmTokens().get(0);
        send(new NodeEvent.SessionEnded(7));
        send(new NodeEvent.SessionStarted(8, 10_000));
        send(new NodeEvent.Confirmed(token, true));
        assertFalse(did(new Effect.JoinElection()), "an old session's confirmation did not register this host");
    }

    @Test
    void aHostSelfFencesWhenItsLeaseLapsesWithNoMajorityLost() {
        // three voters; the two peers send nothing, so they are unknown, not freshly lost
        runningWithTwoPeers();
        clock.advance((Settings.defaults().leaseMs() - 100) * MS);
        assertFalse(did(new Effect.Destroy(new VmId("a"))), "still within the lease");
        clock.advance(300 * MS);
        assertTrue(did(new Effect.Destroy(new VmId("a"))), "self-fenced once the lease lapsed: " + effects);
        assertTrue(decisions().stream().anyMatch(d -> d.kind() == Decision.Kind.SELF_FENCE));
        assertFalse(decisions().stream().anyMatch(d -> d.kind() == Decision.Kind.FREEZE), "no freeze: 1 of 3 lost");
    }

    @Test
    void aLeaseThatLapsesBeforeTheFirstConfirmationSaysSoInsteadOfAnEndlessTime() {
        runningAInSession(10_000); // its confirmation is never answered
        clock.advance(200 * MS);
        Decision lapsed = decisions().stream().filter(d -> d.kind() == Decision.Kind.LEASE_LAPSED).findFirst()
                .orElseThrow(() -> new AssertionError("no lease-lapsed decision: " + decisions()));
        assertEquals("no confirmation yet in this session", lapsed.detail());
        assertTrue(did(new Effect.Destroy(new VmId("a"))), "self-fenced: " + effects);
    }

    @Test
    void aChangeIsRefusedWhileNoHostLeadsAndForwardedOnceOneDoes() {
        runningWithTwoPeers();
        int before = writes().size();
        AdminCommand change = new AdminCommand.Maintenance(new HostId("node2"), true);
        send(new NodeEvent.AdminRequest(1, change));
        assertEquals(1, replies().size());
        assertEquals("no-leader", replies().get(0).code(), replies().get(0).toString());
        assertTrue(writes().subList(before, writes().size()).stream().flatMap(List::stream)
                .noneMatch(op -> op instanceof CoordOp.PutRequest), "nothing was written: " + writes());

        send(new NodeEvent.EpochChanged(1, new HostId("node2")));
        send(new NodeEvent.AdminRequest(2, change));
        assertEquals(1, replies().size(), "no answer before the leader's verdict");
        List<CoordOp> put = writes().get(writes().size() - 1);
        assertTrue(put.get(0) instanceof CoordOp.PutRequest p && p.record().pending()
                && p.record().command().equals(change) && p.record().origin().equals(ME), put.toString());
    }

    /** A node of a three-host cluster running VM a, registered, its lease confirmed once. */
    private void runningWithTwoPeers() {
        VmSpec spec = new VmSpec(new VmId("a"), "a", 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>a</name></domain>");
        start();
        for (String h : List.of("node1", "node2", "node3")) {
            HostId id = new HostId(h);
            send(new NodeEvent.HostChanged(id, new Versioned<>(new io.havn.common.model.HostRecord(id,
                    new HostCapacity(8, 16384), null, null, io.havn.common.model.HostAdminState.ACTIVE, false), 0)));
        }
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(spec.id(), "a", DomainState.RUNNING))));
        send(new NodeEvent.VmChanged(spec.id(), new Versioned<>(VmRecord.running(spec, ME, 7), 0)));
        send(new NodeEvent.SessionStarted(7, 10_000));
        send(new NodeEvent.Confirmed(confirmTokens().get(0), true));
    }

    /** Both peers answer our last heartbeat (fresh), reporting {@code unconfirmedMs}. */
    private void peersSay(int unconfirmedMs) {
        for (String h : List.of("node2", "node3")) {
            Heartbeat ours = sent().get(new HostId(h));
            send(new NodeEvent.HeartbeatReceived(new Heartbeat(new HostId(h), clock.nanos(), 1, clock.nanos(),
                    ours.sentNanos(), unconfirmedMs, false), clock.nanos()));
        }
    }

    /** Lets time pass in heartbeat steps, the peers reporting {@code unconfirmedMs} all along. */
    private void passWithPeers(long ms, int unconfirmedMs) {
        for (long t = 0; t < ms; t += 200) {
            clock.advance(200 * MS);
            peersSay(unconfirmedMs);
        }
    }

    @Test
    void aHostWhoseLeaseLapsesWhileAMajorityIsFreshlyLostFreezesAndKeepsItsVms() {
        runningWithTwoPeers();
        passWithPeers(Settings.defaults().leaseMs() + 2_000, 5_000);
        assertTrue(node.isFrozen(), "frozen: " + decisions());
        assertFalse(did(new Effect.Destroy(new VmId("a"))), "a frozen host keeps its VMs");
    }

    @Test
    void aFrozenHostWhosePeersRecoverFirstConfirmsAndThawsWithoutKillingItsVms() {
        runningWithTwoPeers();
        passWithPeers(Settings.defaults().leaseMs() + 2_000, 5_000);
        assertTrue(node.isFrozen());
        int before = confirmTokens().size();
        clock.advance(10 * MS);
        peersSay(100); // the coordination service is back: the peers have confirmed
        assertTrue(confirmTokens().size() > before, "a confirmation went out at once");
        long token = confirmTokens().get(confirmTokens().size() - 1);
        clock.advance(300 * MS);
        assertFalse(did(new Effect.Destroy(new VmId("a"))), "it waits for its own confirmation, a heartbeat timeout at most");
        send(new NodeEvent.Confirmed(token, true));
        passWithPeers(5_000, 100);
        assertFalse(node.isFrozen());
        assertFalse(did(new Effect.Destroy(new VmId("a"))), "thawed with its VMs: " + effects);
    }

    @Test
    void aFrozenHostThatCannotConfirmOnceItsPeersRecoveredSelfFences() {
        runningWithTwoPeers();
        passWithPeers(Settings.defaults().leaseMs() + 2_000, 5_000);
        assertTrue(node.isFrozen());
        passWithPeers(Settings.defaults().heartbeatTimeoutMs() + 400, 100); // no confirmation comes back
        assertTrue(did(new Effect.Destroy(new VmId("a"))), "self-fenced after the thaw window: " + effects);
    }

    @Test
    void aRebootedPeerWhoseClockBeganAgainIsHeardAgain() {
        runningWithTwoPeers();
        clock.advance(200 * MS); // one round of our heartbeats goes out
        HostId two = new HostId("node2");
        Heartbeat ours = sent().get(two);
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 1, 500, 1, 9_000_000_000L, ours.sentNanos(), 10,
                false), clock.nanos()));
        assertEquals(Peers.Health.HEALTHY, node.peers.health(two, clock.nanos()));
        clock.advance(200 * MS);
        ours = sent().get(two);
        // node2 rebooted: a smaller clock and sequence, a later incarnation
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 2, 1, 1, 3_000_000L, ours.sentNanos(), 10, false),
                clock.nanos()));
        assertEquals(3_000_000L, node.peers.lastHeartbeat(two).sentNanos(), "the new incarnation was taken");
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 1, 501, 1, 9_200_000_000L, ours.sentNanos(), 10,
                false), clock.nanos()));
        assertEquals(3_000_000L, node.peers.lastHeartbeat(two).sentNanos(), "the old incarnation is ignored");
    }

    @Test
    void aHeartbeatCountsFromWhenItWasReadNotFromWhenTheNodeGotToIt() {
        runningWithTwoPeers();
        HostId two = new HostId("node2");
        long t = clock.nanos();
        for (int i = 1; i <= 20; i++) { // node2 heard every 200 ms, as it sends
            clock.advance(200 * MS);
            send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, i, 1, t + i * 200 * MS,
                    sent().get(two).sentNanos(), 10, false), clock.nanos()));
        }
        assertFalse(node.peers.suspected(two, clock.nanos()));

        // read from the socket on time, handled 300 ms later (the node's queue was backed up)
        clock.advance(200 * MS);
        long readAt = clock.nanos();
        clock.advance(300 * MS);
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 21, 1, t + 21 * 200 * MS,
                sent().get(two).sentNanos(), 10, false), readAt));
        assertEquals(readAt, node.peers.lastWord(two), "the arrival is the read, not the node's turn");

        // read 4 s ago and only handled now: node2 really was silent, and the late turn does not hide it
        long silentFrom = clock.nanos();
        clock.advance(4_000 * MS);
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 22, 1, t + 22 * 200 * MS,
                sent().get(two).sentNanos(), 10, false), silentFrom));
        assertTrue(node.peers.suspected(two, clock.nanos()), "4 s without a read is a silence, whenever it is handled");

        // a stamp ahead of the node's clock counts as now; one before the last arrival as the last arrival
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 23, 1, t + 23 * 200 * MS,
                sent().get(two).sentNanos(), 10, false), clock.nanos() + 5_000 * MS));
        assertEquals(clock.nanos(), node.peers.lastWord(two), "never in the future of the node's clock");
        long last = clock.nanos();
        clock.advance(100 * MS);
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 24, 1, t + 24 * 200 * MS,
                sent().get(two).sentNanos(), 10, false), last - 1_000 * MS));
        assertEquals(last, node.peers.lastWord(two), "never before the last arrival");
    }

    @Test
    void settingsRejectALeaseAndWatchdogThatDoNotFitTheSessionTimeout() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Settings.defaults().with(Map.of("leaseMs", 8000)));
        assertTrue(e.getMessage().contains("leaseMs + watchdogMs"), e.getMessage());
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> Settings.defaults().with(Map.of("leasMs", 5000)));
        assertTrue(unknown.getMessage().contains("unknown setting 'leasMs'"), unknown.getMessage());
        IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                () -> Settings.defaults().with(Map.of("graceMs", "soon")));
        assertTrue(type.getMessage().contains("graceMs"), type.getMessage());
        assertEquals(2000, Settings.defaults().with(Map.of("graceMs", 2000)).graceMs());
    }

    // ---------------------------------------------------------------- at the boundary

    private static VmSpec spec(String name) {
        return new VmSpec(new VmId(name), name, 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + name + "</name></domain>");
    }

    private boolean alarmed(String text) {
        return decisions().stream().anyMatch(d -> d.kind() == Decision.Kind.ALARM && d.detail() != null
                && d.detail().contains(text));
    }

    /** The last write, answered OK. */
    private List<CoordOp> answerLastWrite() {
        send(new NodeEvent.WriteDone(writeTokens().get(writeTokens().size() - 1), NodeEvent.WriteOutcome.OK, null));
        return writes().get(writes().size() - 1);
    }

    /** VM b placed on this host (session 7), claimed; returns after its start was asked for. */
    private VmSpec claimedAndStarting() {
        runningWithTwoPeers();
        VmSpec b = spec("b");
        send(new NodeEvent.VmChanged(b.id(), new Versioned<>(VmRecord.running(b, ME, 7)
                .placedOn(ME, 7, 0, List.of()), 3)));
        List<CoordOp> claim = answerLastWrite();
        assertTrue(claim.get(0) instanceof CoordOp.PutVm p && p.record().phase() == io.havn.common.model.VmPhase.RUNNING,
                "the claim: " + claim);
        assertTrue(all(Effect.Start.class).stream().anyMatch(e -> e.spec().id().equals(new VmId("b"))), "started after the claim: " + effects);
        return b;
    }

    private boolean wroteStartFailed(VmSpec vm) {
        return writes().stream().flatMap(List::stream).anyMatch(op -> op instanceof CoordOp.PutVm p
                && p.record().id().equals(vm.id()) && p.record().phase() == io.havn.common.model.VmPhase.START_FAILED);
    }

    @Test
    void aStartReportedFailedIsNotTakenForNoCopyUntilAListingSaysSo() {
        VmSpec b = claimedAndStarting();
        long listsBefore = count(Effect.ListDomains.class);
        send(new NodeEvent.HypervisorDone(b.id(), Hypervisor.Op.START, false, "internal error"));
        assertEquals(listsBefore + 1, count(Effect.ListDomains.class), "a listing is asked for at once: " + effects);
        assertFalse(wroteStartFailed(b), "the VM is not let go on the error alone");

        // the listing says the guest runs after all: it is kept under this host's claim
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(new VmId("a"), "a", DomainState.RUNNING),
                new DomainInfo(b.id(), "b", DomainState.RUNNING))));
        assertFalse(wroteStartFailed(b), "a running guest is never reported as a failed start");
        assertFalse(did(new Effect.Destroy(new VmId("b"))), "its own claimed guest is kept: " + effects);
        assertTrue(alarmed("left the guest running"), "the operator is told: " + decisions());
    }

    @Test
    void aStartReportedFailedIsLetGoOnceAListingShowsNoCopy() {
        VmSpec b = claimedAndStarting();
        send(new NodeEvent.HypervisorDone(b.id(), Hypervisor.Op.START, false, "internal error"));
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(new VmId("a"), "a", DomainState.RUNNING))));
        assertTrue(wroteStartFailed(b), "with no copy here, the failed start is reported: " + writes());
    }

    @Test
    void aListingAskedBeforeTheFailureDoesNotConfirmIt() {
        VmSpec b = claimedAndStarting();
        clock.advance(Settings.defaults().relistMs() * MS); // a periodic listing goes out (still unanswered)
        long lists = count(Effect.ListDomains.class);
        send(new NodeEvent.HypervisorDone(b.id(), Hypervisor.Op.START, false, "internal error"));
        assertEquals(lists, count(Effect.ListDomains.class), "one listing at a time");
        // the answer to the listing asked before the failure: it cannot say what the failed call left
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(new VmId("a"), "a", DomainState.RUNNING))));
        assertFalse(wroteStartFailed(b), "an older listing confirms nothing");
        assertEquals(lists + 1, count(Effect.ListDomains.class), "another listing, asked after the failure: " + effects);
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(new VmId("a"), "a", DomainState.RUNNING))));
        assertTrue(wroteStartFailed(b), "the newer listing confirms it: " + writes());
    }

    @Test
    void aTimedOutStartHoldsTheVmUntilTheCallReturns() {
        VmSpec b = claimedAndStarting();
        send(new NodeEvent.HypervisorDone(b.id(), Hypervisor.Op.START, false, "timed out", true));
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(new VmId("a"), "a", DomainState.RUNNING))));
        clock.advance(3_000 * MS); // within the lease (nobody answers confirmations here)
        assertFalse(wroteStartFailed(b), "a listing cannot settle a call still in flight");
        assertTrue(node.agent.holdsHaVms(), "the watchdog keeps guarding the start in doubt");
        send(new NodeEvent.HypervisorLate(b.id(), Hypervisor.Op.START, true, null));
        assertTrue(decisions().stream().anyMatch(d -> d.kind() == Decision.Kind.START && b.id().equals(d.vm())),
                "the late guest is kept: " + decisions());
        assertFalse(wroteStartFailed(b));
    }

    @Test
    void aTimedOutStartThatFailsLateIsLetGoAfterAListing() {
        VmSpec b = claimedAndStarting();
        send(new NodeEvent.HypervisorDone(b.id(), Hypervisor.Op.START, false, "timed out", true));
        send(new NodeEvent.HypervisorLate(b.id(), Hypervisor.Op.START, false, "no such file"));
        assertFalse(wroteStartFailed(b), "not before a listing");
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(new VmId("a"), "a", DomainState.RUNNING))));
        assertTrue(wroteStartFailed(b), writes().toString());
    }

    @Test
    void aListingFindsAGuestStartedBehindItsBackAndAutostartIsTurnedOff() {
        runningWithTwoPeers();
        VmSpec c = spec("c");
        send(new NodeEvent.VmChanged(c.id(), new Versioned<>(VmRecord.running(c, new HostId("node2"), 9), 0)));
        clock.advance(Settings.defaults().relistMs() * MS);
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(new VmId("a"), "a", DomainState.RUNNING, true),
                new DomainInfo(c.id(), "c", DomainState.RUNNING))));
        assertTrue(did(new Effect.Destroy(new VmId("c"))), "another host's VM started here by hand is destroyed: " + effects);
        assertTrue(did(new Effect.DisableAutostart(new VmId("a"))), "autostart is turned off on an HA VM: " + effects);
        assertFalse(did(new Effect.Destroy(new VmId("a"))), "its own VM is kept");
    }

    @Test
    void aListingDoesNotUndoWhatHappenedSinceItWasAsked() {
        runningWithTwoPeers();
        clock.advance(Settings.defaults().relistMs() * MS); // a listing is asked for
        // meanwhile the guest crashes and the event arrives before the (older) listing
        send(new NodeEvent.DomainChanged(new VmId("a"), DomainState.CRASHED, false, "crashed"));
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(new VmId("a"), "a", DomainState.RUNNING))));
        assertFalse(node.agent.domains().containsKey(new VmId("a")),
                "the older listing does not bring the crashed guest back: " + node.agent.domains());
    }

    @Test
    void aHostWhoseWatchdogCannotGuardItHoldsNoLeaseAndDestroysItsHaVms() {
        runningWithTwoPeers();
        clock.advance(200 * MS);
        assertFalse(did(new Effect.Destroy(new VmId("a"))));
        watchdogProblem = "no watchdog device";
        clock.advance(200 * MS);
        assertTrue(alarmed("no watchdog device"), "said loudly: " + decisions());
        // a petter restarting says so for a moment: the hardware still guards the host for W
        clock.advance((Settings.defaults().watchdogMs() - 400) * MS);
        assertFalse(did(new Effect.Destroy(new VmId("a"))), "not within W of the first report: " + effects);
        clock.advance(400 * MS);
        assertTrue(did(new Effect.Destroy(new VmId("a"))), "runs no HA VM without a watchdog: " + effects);
        assertFalse(node.agent.leaseValid(clock.nanos()), "no lease");
    }

    @Test
    void aWatchdogThatRecoversWithinItsTimeoutCostsNothing() {
        runningWithTwoPeers();
        clock.advance(200 * MS);
        watchdogProblem = "no status file: the petter is not running";
        clock.advance((Settings.defaults().watchdogMs() - 500) * MS);
        watchdogProblem = null; // the petter is back
        clock.advance(2_000 * MS);
        assertFalse(did(new Effect.Destroy(new VmId("a"))), "a petter restart costs no VM: " + effects);
        assertTrue(alarmed("guards this host again"), decisions().toString());
    }

    @Test
    void aNegotiatedSessionTimeoutWithNoRoomForALeaseRunsNoHaVm() {
        runningAInSession(4_000); // asked 10 s; 4 s - 3 s watchdog - 0.5 s margin: no room
        send(new NodeEvent.Confirmed(confirmTokens().get(0), true));
        assertTrue(alarmed("negotiated a session timeout of 4000 ms"), decisions().toString());
        assertFalse(node.agent.leaseValid(clock.nanos()), "no lease fits");
        clock.advance(200 * MS);
        assertTrue(did(new Effect.Destroy(new VmId("a"))), "its HA VM is destroyed: " + effects);
        assertFalse(node.isReady(), "it takes no work");
    }

    @Test
    void theLeaseIsShortenedToFitTheNegotiatedSessionTimeout() {
        runningAInSession(8_000);
        long sentAt = clock.nanos();
        send(new NodeEvent.Confirmed(confirmTokens().get(0), true));
        assertEquals(sentAt + 4_500 * MS, armed().get(armed().size() - 1), "8 s - 3 s watchdog - 0.5 s margin = 4.5 s");
        assertTrue(alarmed("lease shortened to 4500 ms"), decisions().toString());
    }
}
