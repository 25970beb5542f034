package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.WatchdogStatus;
import io.havn.common.testkit.ManualClock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * A daemon stopped cleanly (a planned restart), and the daemon that comes back: what one node
 * decides, as {@link Effect} values. The cluster's side (the leader holding off) runs in the
 * simulator's scenarios ({@code planned-restart-*.yaml}).
 */
class PlannedRestartTest {
    private static final HostId ME = new HostId("node1");
    private static final long MS = 1_000_000L;
    private static final VmId A = new VmId("a");
    private static final HostCapacity CAPACITY = new HostCapacity(8, 16384);

    private final ManualClock clock = new ManualClock();
    private final List<Effect> effects = new ArrayList<>();
    /** The deadline the previous daemon left armed on the watchdog. */
    private OptionalLong inherited = OptionalLong.empty();
    private Node node;

    private void take(List<Effect> out) {
        for (Effect e : out) {
            effects.add(e);
            if (e instanceof Effect.ScheduleTick t) {
                clock.schedule(t.delayNanos(), () -> take(node.tick()));
            }
        }
    }

    private void send(NodeEvent e) {
        take(node.handle(e));
    }

    private <T extends Effect> List<T> all(Class<T> type) {
        return effects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private List<Long> armed() {
        return all(Effect.ArmWatchdog.class).stream().map(Effect.ArmWatchdog::deadlineNanos).toList();
    }

    private List<Decision.Kind> kinds() {
        return all(Effect.Record.class).stream().map(r -> r.decision().kind()).toList();
    }

    private Effect.Write lastWrite() {
        List<Effect.Write> w = all(Effect.Write.class);
        return w.get(w.size() - 1);
    }

    private static VmSpec spec(String name) {
        return new VmSpec(new VmId(name), name, 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>" + name + "</name></domain>");
    }

    private static Versioned<HostRecord> myRecord(int version) {
        return new Versioned<>(new HostRecord(ME, CAPACITY, null, null, HostAdminState.ACTIVE, false), version);
    }

    /**
     * A daemon starting on a host where {@code a} runs, its record bound to {@code boundTo}; it opens
     * session 7, whose first confirmation lands.
     */
    private void daemonWithARunning(long boundTo) {
        WatchdogStatus watchdog = new WatchdogStatus() {
            @Override
            public OptionalLong inheritedDeadline() {
                return inherited;
            }

            @Override
            public Optional<String> problem() {
                return Optional.empty();
            }
        };
        node = new Node(new Node.Identity(ME, CAPACITY, null, null), Settings.defaults(), clock, watchdog);
        take(node.start());
        send(new NodeEvent.DomainsListed(List.of(new DomainInfo(A, "a", DomainState.RUNNING))));
        send(new NodeEvent.HostChanged(ME, myRecord(0)));
        send(new NodeEvent.VmChanged(A, new Versioned<>(VmRecord.running(spec("a"), ME, boundTo), 0)));
        send(new NodeEvent.SessionStarted(7, 10_000));
        long token = all(Effect.Confirm.class).get(0).token();
        clock.advance(5 * MS);
        send(new NodeEvent.Confirmed(token, true));
    }

    // ---------------------------------------------------------------- the daemon that stops

    @Test
    void aCleanStopRecordsThePlannedRestartBoundToTheSessionThenKeepsTheWatchdogForTheWindow() {
        daemonWithARunning(7);
        long stoppingAt = clock.nanos();
        send(new NodeEvent.Stopping(42, 60_000));
        Effect.Write w = lastWrite();
        HostRecord announced = myRecord(0).value().withRestart(7, 60_000);
        assertEquals(List.of(new CoordOp.PutHost(announced, 0), new CoordOp.CheckSessionLive(ME, 7)), w.ops(),
                "the announcement is a compare-and-set bound to the live session");
        assertFalse(armed().contains(stoppingAt + 60_000 * MS), "nothing kept before the cluster knows");
        clock.advance(20 * MS);
        send(new NodeEvent.WriteDone(w.token(), NodeEvent.WriteOutcome.OK, null));
        assertEquals(stoppingAt + 60_000 * MS, armed().get(armed().size() - 1),
                "the window counts from before the announcement was sent");
        assertTrue(kinds().contains(Decision.Kind.RESTART_ANNOUNCED), kinds().toString());
        Effect.Answer answer = all(Effect.Answer.class).get(0);
        assertEquals(42, answer.requestId());
        assertTrue(answer.reply().ok(), answer.reply().message());
        int before = effects.size();
        clock.advance(10_000 * MS);
        send(new NodeEvent.SessionEnded(7));
        assertEquals(before, effects.size(), "once announced, the node changes nothing more: " + effects);
    }

    @Test
    void aStopWhoseAnnouncementFailsKeepsNothingBeyondTheLeaseAndSaysSo() {
        daemonWithARunning(7);
        send(new NodeEvent.Stopping(42, 60_000));
        send(new NodeEvent.WriteDone(lastWrite().token(), NodeEvent.WriteOutcome.CONFLICT, null));
        long leaseEnd = clock.nanos() + Settings.defaults().leaseMs() * MS;
        assertTrue(armed().stream().allMatch(d -> d <= leaseEnd), "no deadline past the lease: " + armed());
        AdminReply reply = all(Effect.Answer.class).get(0).reply();
        assertFalse(reply.ok());
        assertEquals("not-announced", reply.code());
        assertTrue(reply.message().contains("CONFLICT"), reply.message());
        assertFalse(kinds().contains(Decision.Kind.RESTART_ANNOUNCED));
    }

    @Test
    void withoutARestartWindowNothingIsAnnounced() {
        daemonWithARunning(7);
        int writes = all(Effect.Write.class).size();
        send(new NodeEvent.Stopping(42, 0));
        assertEquals(writes, all(Effect.Write.class).size(), "no write");
        AdminReply reply = all(Effect.Answer.class).get(0).reply();
        assertFalse(reply.ok());
        assertTrue(reply.message().startsWith("no restart window is set (restartWindowMs 0)"), reply.message());
    }

    @Test
    void aHostHoldingNoHaVmHasNothingToAnnounce() {
        daemonWithARunning(7);
        send(new NodeEvent.VmChanged(A, null)); // a is no longer under HA here (removed from the cluster)
        int writes = all(Effect.Write.class).size();
        send(new NodeEvent.Stopping(42, 60_000));
        assertEquals(writes, all(Effect.Write.class).size(), "no write: " + effects);
        AdminReply reply = all(Effect.Answer.class).get(0).reply();
        assertTrue(reply.ok(), reply.message());
        assertTrue(reply.message().contains("holds no HA VM"), reply.message());
    }

    // ---------------------------------------------------------------- the daemon that comes back

    @Test
    void aCopyBoundToTheLastSessionIsGuardedOnlyUntilTheDeadlineThatSessionLeftUntilItIsReBound() {
        long previousDeadline = 4_000 * MS;
        inherited = OptionalLong.of(previousDeadline);
        daemonWithARunning(3); // a still names session 3, the previous daemon's
        Effect.Write rebind = all(Effect.Write.class).stream()
                .filter(w -> w.ops().get(0) instanceof CoordOp.PutVm).findFirst()
                .orElseThrow(() -> new AssertionError("no rebind: " + effects));
        assertEquals(7, ((CoordOp.PutVm) rebind.ops().get(0)).record().ownerSession());
        assertTrue(armed().stream().allMatch(d -> d <= previousDeadline),
                "while a is bound to session 3, the watchdog is kept no longer than session 3's deadline: " + armed());
        // the rebind hangs past that deadline, then fails: no copy may run here any more
        clock.advance(previousDeadline - clock.nanos() + MS);
        assertTrue(armed().stream().allMatch(d -> d <= previousDeadline), armed().toString());
        send(new NodeEvent.WriteDone(rebind.token(), NodeEvent.WriteOutcome.CONFLICT, null));
        clock.advance(200 * MS);
        assertTrue(effects.contains(new Effect.Destroy(A)), "destroyed past the deadline: " + effects);
    }

    @Test
    void onceReBoundTheCopyIsGuardedByTheNewSessionsLease() {
        long previousDeadline = 4_000 * MS;
        inherited = OptionalLong.of(previousDeadline);
        daemonWithARunning(3);
        Effect.Write rebind = all(Effect.Write.class).stream()
                .filter(w -> w.ops().get(0) instanceof CoordOp.PutVm).findFirst().orElseThrow();
        send(new NodeEvent.WriteDone(rebind.token(), NodeEvent.WriteOutcome.OK, null));
        for (int i = 0; i < 20; i++) { // the new session confirms on
            clock.advance(500 * MS);
            List<Effect.Confirm> confirms = all(Effect.Confirm.class);
            send(new NodeEvent.Confirmed(confirms.get(confirms.size() - 1).token(), true));
        }
        assertFalse(effects.contains(new Effect.Destroy(A)), effects.toString());
        assertTrue(armed().get(armed().size() - 1) > previousDeadline, "the new lease guards it: " + armed());
    }

    @Test
    void aCopyFromBeforeAnyDaemonRanIsReBoundNotDestroyed() {
        daemonWithARunning(0); // no watchdog deadline was left, and the record names no session
        clock.advance(10_000 * MS);
        assertFalse(effects.contains(new Effect.Destroy(A)), effects.toString());
    }
}
