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
import io.havn.common.port.Coordinator;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Watchdog;
import io.havn.common.testkit.ManualClock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** One node driven by events alone, its outputs recorded at the ports. */
class NodeEventsTest {
    private static final HostId ME = new HostId("node1");
    private static final long MS = 1_000_000L;

    private final ManualClock clock = new ManualClock();
    private final List<String> calls = new ArrayList<>();
    private final List<Long> confirmTokens = new ArrayList<>();
    private final List<List<CoordOp>> writes = new ArrayList<>();
    private final List<Long> armed = new ArrayList<>();
    private final List<Decision> decisions = new ArrayList<>();
    private final Map<HostId, Heartbeat> sent = new java.util.HashMap<>();
    private final List<AdminReply> replies = new ArrayList<>();
    private Node node;

    @BeforeEach
    void setUp() {
        Coordinator coordinator = new Coordinator() {
            @Override
            public void openSession() {
                calls.add("openSession");
            }

            @Override
            public void confirm(long token) {
                confirmTokens.add(token);
            }

            @Override
            public void joinElection() {
                calls.add("joinElection");
            }

            @Override
            public void resign() {
                calls.add("resign");
            }

            @Override
            public void evict(HostId host, long session) {
                calls.add("evict " + host);
            }

            @Override
            public void claimEpoch(long token) {
                calls.add("claimEpoch");
            }

            @Override
            public void write(long token, List<CoordOp> ops) {
                writes.add(ops);
            }
        };
        Hypervisor hypervisor = new Hypervisor() {
            @Override
            public void list() {
                calls.add("list");
            }

            @Override
            public void start(VmSpec spec) {
                calls.add("start " + spec.id());
            }

            @Override
            public void resume(VmId vm) {
                calls.add("resume " + vm);
            }

            @Override
            public void shutdown(VmId vm, long timeoutMs) {
                calls.add("shutdown " + vm);
            }

            @Override
            public void destroy(VmId vm) {
                calls.add("destroy " + vm);
            }

            @Override
            public void migrate(VmId vm, HostId target) {
                calls.add("migrate " + vm);
            }

            @Override
            public void disableAutostart(VmId vm) {
                calls.add("autostart-off " + vm);
            }
        };
        Watchdog watchdog = new Watchdog() {
            @Override
            public void armUntil(long deadlineNanos) {
                armed.add(deadlineNanos);
            }

            @Override
            public void release() {
                calls.add("release");
            }

            @Override
            public OptionalLong inheritedDeadline() {
                return OptionalLong.empty();
            }

            @Override
            public java.util.Optional<String> problem() {
                return java.util.Optional.ofNullable(watchdogProblem);
            }
        };
        NodePorts ports = new NodePorts(clock, clock, sent::put, coordinator, hypervisor,
                (h, d) -> calls.add("fence " + h), watchdog, decisions::add, (id, r) -> replies.add(r));
        node = new Node(new Node.Identity(ME, new HostCapacity(8, 16384), null, null), Settings.defaults(), ports);
    }

    /** What the watchdog says is wrong with it, or null when it guards the host. */
    private String watchdogProblem;

    private void send(NodeEvent e) {
        node.handle(e);
    }

    @Test
    void startListsDomainsAndOpensASession() {
        node.start();
        assertEquals(List.of("list", "openSession"), calls);
        assertThrows(IllegalStateException.class, node::start, "a second start is refused");
    }

    @Test
    void theLeaseIsCreditedFromWhenTheConfirmationWasSentNotAnswered() {
        VmSpec spec = new VmSpec(new VmId("a"), "a", 1, 512, Priority.MEDIUM, true, "<domain/>");
        node.start();
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(spec.id(), "a", DomainState.RUNNING))));
        send(new NodeEvent.VmChanged(spec.id(), new Versioned<>(VmRecord.running(spec, ME, 7), 0)));
        send(new NodeEvent.SessionStarted(7, 10_000));
        long sentAt = clock.nanos();
        assertEquals(1, confirmTokens.size(), "a confirmation right at session start");
        clock.advance(2_000 * MS); // a slow quorum: the answer takes 2 s
        send(new NodeEvent.Confirmed(confirmTokens.get(0), true));
        assertFalse(armed.isEmpty(), "the watchdog is armed for the VM this host holds");
        assertEquals(sentAt + Settings.defaults().leaseMs() * MS, armed.get(armed.size() - 1),
                "deadline = send time + lease, not answer time + lease");
    }

    @Test
    void aConfirmationOfAnEndedSessionConfirmsNothing() {
        node.start();
        send(new NodeEvent.DomainsListed(List.of()));
        send(new NodeEvent.SessionStarted(7, 10_000));
        long token = confirmTokens.get(0);
        send(new NodeEvent.SessionEnded(7));
        send(new NodeEvent.SessionStarted(8, 10_000));
        send(new NodeEvent.Confirmed(token, true));
        assertFalse(calls.contains("joinElection"), "an old session's confirmation did not register this host");
    }

    @Test
    void aHostSelfFencesWhenItsLeaseLapsesWithNoMajorityLost() {
        // three voters; the two peers send nothing, so they are unknown, not freshly lost
        runningWithTwoPeers();
        clock.advance((Settings.defaults().leaseMs() - 100) * MS);
        assertFalse(calls.contains("destroy a"), "still within the lease");
        clock.advance(300 * MS);
        assertTrue(calls.contains("destroy a"), "self-fenced once the lease lapsed: " + calls);
        assertTrue(decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.SELF_FENCE));
        assertFalse(decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.FREEZE), "no freeze: 1 of 3 lost");
    }

    @Test
    void aChangeIsRefusedWhileNoHostLeadsAndForwardedOnceOneDoes() {
        runningWithTwoPeers();
        int before = writes.size();
        AdminCommand change = new AdminCommand.Maintenance(new HostId("node2"), true);
        send(new NodeEvent.AdminRequest(1, change));
        assertEquals(1, replies.size());
        assertEquals("no-leader", replies.get(0).code(), replies.get(0).toString());
        assertTrue(writes.subList(before, writes.size()).stream().flatMap(List::stream)
                .noneMatch(op -> op instanceof CoordOp.PutRequest), "nothing was written: " + writes);

        send(new NodeEvent.EpochChanged(1, new HostId("node2")));
        send(new NodeEvent.AdminRequest(2, change));
        assertEquals(1, replies.size(), "no answer before the leader's verdict");
        List<CoordOp> put = writes.get(writes.size() - 1);
        assertTrue(put.get(0) instanceof CoordOp.PutRequest p && p.record().pending()
                && p.record().command().equals(change) && p.record().origin().equals(ME), put.toString());
    }

    /** A node of a three-host cluster running VM a, registered, its lease confirmed once. */
    private void runningWithTwoPeers() {
        VmSpec spec = new VmSpec(new VmId("a"), "a", 1, 512, Priority.MEDIUM, true, "<domain/>");
        node.start();
        for (String h : List.of("node1", "node2", "node3")) {
            HostId id = new HostId(h);
            send(new NodeEvent.HostChanged(id, new Versioned<>(new io.havn.common.model.HostRecord(id,
                    new HostCapacity(8, 16384), null, null, io.havn.common.model.HostAdminState.ACTIVE, false), 0)));
        }
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(spec.id(), "a", DomainState.RUNNING))));
        send(new NodeEvent.VmChanged(spec.id(), new Versioned<>(VmRecord.running(spec, ME, 7), 0)));
        send(new NodeEvent.SessionStarted(7, 10_000));
        send(new NodeEvent.Confirmed(confirmTokens.get(0), true));
    }

    /** Both peers answer our last heartbeat (fresh), reporting {@code unconfirmedMs}. */
    private void peersSay(int unconfirmedMs) {
        for (String h : List.of("node2", "node3")) {
            Heartbeat ours = sent.get(new HostId(h));
            send(new NodeEvent.HeartbeatReceived(new Heartbeat(new HostId(h), clock.nanos(), 1, clock.nanos(),
                    ours.sentNanos(), unconfirmedMs, false)));
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
        assertTrue(node.isFrozen(), "frozen: " + decisions);
        assertFalse(calls.contains("destroy a"), "a frozen host keeps its VMs");
    }

    @Test
    void aFrozenHostWhosePeersRecoverFirstConfirmsAndThawsWithoutKillingItsVms() {
        runningWithTwoPeers();
        passWithPeers(Settings.defaults().leaseMs() + 2_000, 5_000);
        assertTrue(node.isFrozen());
        int before = confirmTokens.size();
        clock.advance(10 * MS);
        peersSay(100); // the coordination service is back: the peers have confirmed
        assertTrue(confirmTokens.size() > before, "a confirmation went out at once");
        long token = confirmTokens.get(confirmTokens.size() - 1);
        clock.advance(300 * MS);
        assertFalse(calls.contains("destroy a"), "it waits for its own confirmation, a heartbeat timeout at most");
        send(new NodeEvent.Confirmed(token, true));
        passWithPeers(5_000, 100);
        assertFalse(node.isFrozen());
        assertFalse(calls.contains("destroy a"), "thawed with its VMs: " + calls);
    }

    @Test
    void aFrozenHostThatCannotConfirmOnceItsPeersRecoveredSelfFences() {
        runningWithTwoPeers();
        passWithPeers(Settings.defaults().leaseMs() + 2_000, 5_000);
        assertTrue(node.isFrozen());
        passWithPeers(Settings.defaults().heartbeatTimeoutMs() + 400, 100); // no confirmation comes back
        assertTrue(calls.contains("destroy a"), "self-fenced after the thaw window: " + calls);
    }

    @Test
    void aRebootedPeerWhoseClockBeganAgainIsHeardAgain() {
        runningWithTwoPeers();
        clock.advance(200 * MS); // one round of our heartbeats goes out
        HostId two = new HostId("node2");
        Heartbeat ours = sent.get(two);
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 1, 500, 1, 9_000_000_000L, ours.sentNanos(), 10,
                false)));
        assertEquals(Peers.Health.HEALTHY, node.peers.health(two, clock.nanos()));
        clock.advance(200 * MS);
        ours = sent.get(two);
        // node2 rebooted: a smaller clock and sequence, a later incarnation
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 2, 1, 1, 3_000_000L, ours.sentNanos(), 10, false)));
        assertEquals(3_000_000L, node.peers.lastHeartbeat(two).sentNanos(), "the new incarnation was taken");
        send(new NodeEvent.HeartbeatReceived(new Heartbeat(two, 1, 501, 1, 9_200_000_000L, ours.sentNanos(), 10,
                false)));
        assertEquals(3_000_000L, node.peers.lastHeartbeat(two).sentNanos(), "the old incarnation is ignored");
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
}
