package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.port.Coordinator;
import io.havn.common.port.Fencer;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Scheduler;
import io.havn.common.port.Transport;
import io.havn.common.port.Watchdog;
import io.havn.common.testkit.ManualClock;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The driver carries each effect out on its port, in the order decided, and decides nothing itself. */
class NodeDriverTest {
    private static final HostId ME = new HostId("node1");
    private static final HostId PEER = new HostId("node2");
    private static final VmId A = new VmId("a");
    private static final long MS = 1_000_000L;

    private final ManualClock clock = new ManualClock();
    /** Every port call, as "Port.method args". */
    private final List<String> calls = new ArrayList<>();
    /** Called back (as a port that answers at once) when the coordinator is asked to open a session. */
    private Runnable onOpenSession = () -> { };

    private final Node node = new Node(new Node.Identity(ME, new HostCapacity(8, 16384), null, null),
            Settings.defaults(), clock, recording(Watchdog.class));

    private NodeDriver driver() {
        Coordinator coordinator = recording(Coordinator.class);
        Coordinator answering = (Coordinator) Proxy.newProxyInstance(Coordinator.class.getClassLoader(),
                new Class<?>[] {Coordinator.class}, (proxy, m, args) -> {
                    Object r = m.invoke(coordinator, args);
                    if (m.getName().equals("openSession")) {
                        onOpenSession.run();
                    }
                    return r;
                });
        Scheduler scheduler = (delay, task) -> {
            calls.add("Scheduler.schedule " + delay);
            return clock.schedule(delay, task);
        };
        return new NodeDriver(node, new NodePorts(clock, scheduler, recording(Transport.class), answering,
                recording(Hypervisor.class), recording(Fencer.class), recording(Watchdog.class),
                d -> calls.add("DecisionLog.record " + d.kind()), (id, r) -> calls.add("AdminReplies.reply " + id)));
    }

    @Test
    void startCarriesTheNodesFirstEffectsOutInOrderAndSchedulesItsTick() {
        NodeDriver driver = driver();
        driver.start();
        long tick = Settings.defaults().tickMs() * MS;
        assertEquals(List.of("Hypervisor.list", "Coordinator.openSession", "Scheduler.schedule " + tick), calls);
        calls.clear();
        clock.advance(tick);
        assertEquals(List.of("Scheduler.schedule " + tick), calls, "the tick ran on the scheduler and asked again");
    }

    @Test
    void anAnswerAPortGivesAtOnceRunsAfterWhatWasAlreadyDecided() {
        NodeDriver driver = driver();
        // the coordinator answers openSession synchronously: a session starts, whose effects (a decision,
        // a confirmation) must follow the start's own effects, not interleave with them
        onOpenSession = () -> driver.handle(new NodeEvent.SessionStarted(7, Settings.defaults().sessionTimeoutMs()));
        driver.start();
        assertEquals(List.of("Hypervisor.list", "Coordinator.openSession", "Scheduler.schedule "
                + Settings.defaults().tickMs() * MS, "DecisionLog.record SESSION_STARTED", "Coordinator.confirm 1",
                "Coordinator.scope WHOLE"), calls, "a host of a cluster this small keeps every VM record, asked for once "
                + "the session's state is in");
    }

    @Test
    void everyEffectReachesItsPort() {
        NodeDriver driver = driver();
        VmSpec spec = new VmSpec(A, "a", 1, 512, Priority.MEDIUM, true, "<domain type='kvm'><name>a</name></domain>");
        List<Effect> all = List.of(
                new Effect.Send(PEER, new Heartbeat(ME, 1, 1, 1, Heartbeat.NO_ECHO, 0, false)),
                new Effect.OpenSession(), new Effect.Confirm(3), new Effect.JoinElection(), new Effect.Resign(),
                new Effect.Evict(PEER, 9), new Effect.ClaimEpoch(4), new Effect.Write(5, List.of()),
                new Effect.Scope(io.havn.common.port.ViewScope.WHOLE), new Effect.Follow(Set.of(A)),
                new Effect.ListDomains(), new Effect.DisableAutostart(A), new Effect.Start(spec),
                new Effect.Resume(A), new Effect.Shutdown(A, 60_000), new Effect.Destroy(A),
                new Effect.Migrate(A, PEER), new Effect.PowerOff(PEER, "ipmi-2"), new Effect.ArmWatchdog(42),
                new Effect.ReleaseWatchdog(), new Effect.Answer(6, AdminReply.ok("done")),
                new Effect.Record(new Decision(0, ME, Decision.Kind.READY, null, null, 0, null)));
        driver.carryOut(all);
        assertEquals(List.of("Transport.send node2", "Coordinator.openSession", "Coordinator.confirm 3",
                "Coordinator.joinElection", "Coordinator.resign", "Coordinator.evict node2 9", "Coordinator.claimEpoch 4",
                "Coordinator.write 5 []", "Coordinator.scope WHOLE", "Coordinator.follow [a]", "Hypervisor.list", "Hypervisor.disableAutostart a", "Hypervisor.start " + spec,
                "Hypervisor.resume a", "Hypervisor.shutdown a 60000", "Hypervisor.destroy a", "Hypervisor.migrate a node2",
                "Fencer.powerOff node2 ipmi-2", "Watchdog.armUntil 42", "Watchdog.release", "AdminReplies.reply 6",
                "DecisionLog.record READY"), calls.stream().map(c -> c.replaceAll(" Heartbeat\\[.*", "")).toList());
    }

    @Test
    void aPortThatThrowsLeavesTheEffectsAfterItForTheNextStep() {
        NodeDriver driver = driver();
        List<Effect> effects = List.of(new Effect.Destroy(A), new Effect.ListDomains());
        Hypervisor failing = new Hypervisor() {
            private boolean failed;

            @Override
            public void list() {
                calls.add("Hypervisor.list");
            }

            @Override
            public void disableAutostart(VmId vm) { }

            @Override
            public void start(VmSpec spec) { }

            @Override
            public void resume(VmId vm) { }

            @Override
            public void shutdown(VmId vm, long timeoutMs) { }

            @Override
            public void destroy(VmId vm) {
                if (!failed) {
                    failed = true;
                    throw new IllegalStateException("libvirt went away");
                }
                calls.add("Hypervisor.destroy " + vm);
            }

            @Override
            public void migrate(VmId vm, HostId target) { }

            @Override
            public void pingAgent(VmId vm) { }

            @Override
            public void reset(VmId vm) { }
        };
        NodeDriver d = new NodeDriver(node, new NodePorts(clock, clock, recording(Transport.class),
                recording(Coordinator.class), failing, recording(Fencer.class), recording(Watchdog.class),
                x -> { }, (id, r) -> { }));
        assertThrows(IllegalStateException.class, () -> d.carryOut(effects));
        assertEquals(List.of(), calls, "nothing after the failed call ran yet");
        d.carryOut(List.of(new Effect.Destroy(A)));
        assertEquals(List.of("Hypervisor.list", "Hypervisor.destroy a"), calls,
                "the effect queued behind the failed one runs first at the next step");
        assertTrue(driver.node() == node);
    }

    /** A port that records "Port.method args" for each call and answers with empty values. */
    private <T> T recording(Class<T> port) {
        return port.cast(Proxy.newProxyInstance(port.getClassLoader(), new Class<?>[] {port}, (proxy, m, args) -> {
            if (m.getName().equals("inheritedDeadline")) {
                return OptionalLong.empty();
            }
            if (m.getName().equals("problem")) {
                return Optional.empty();
            }
            String a = args == null ? "" : " " + Arrays.stream(args).map(String::valueOf).collect(Collectors.joining(" "));
            calls.add(port.getSimpleName() + "." + m.getName() + a);
            return null;
        }));
    }
}
