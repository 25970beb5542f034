package io.havn.daemon.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.DomainChanged;
import io.havn.common.node.NodeEvent.DomainsListed;
import io.havn.common.node.NodeEvent.HypervisorDone;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Hypervisor.Op;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Hypervisor} adapter must do, whatever drives it: libvirt, or the simulator.
 * A subclass says how to make a subject; the tests only call the port and read its events.
 *
 * <p>Every wait is bounded and on the event queue; no test sleeps. A subject that cannot offer a
 * capability (changes from outside, hung calls) returns null and those tests are skipped.
 * (Public so another module's adapter can be held to it; it belongs in a shared test module once
 * the simulator adopts it.)
 */
public abstract class HypervisorContract {
    /** The bound of every wait for an event that must come. */
    protected static final Duration WAIT = Duration.ofSeconds(10);
    /** How long a test watches for an event that must not come. */
    protected static final Duration QUIET = Duration.ofMillis(400);

    /** One hypervisor under test, started, with the queue its events arrive on. */
    public interface Subject extends AutoCloseable {
        Hypervisor hypervisor();

        BlockingQueue<NodeEvent> events();

        /** A spec this hypervisor can start, for a VM it has never seen; a new one each call. */
        VmSpec newSpec();

        /** A spec whose domain XML this hypervisor must refuse. */
        VmSpec invalidSpec();

        /** A host the hypervisor would migrate to. */
        HostId peer();

        /** Changes behind the adapter's back, or null when this subject offers none. */
        Outside outside();

        /** Stops the hypervisor and removes what the test left on it. */
        @Override
        void close();
    }

    /** Another party acting on the same hypervisor: an operator, the guest, a peer migrating in. */
    public interface Outside {
        void pause(VmId vm) throws Exception;

        void destroy(VmId vm) throws Exception;

        /** Makes a paused copy of the VM appear, as a finished incoming migration leaves it. */
        void appearPaused(VmSpec spec) throws Exception;

        /**
         * Defines and starts the VM as an operator's {@code virsh start} would, once the adapter
         * has learnt what exists (so that it is a change, not the starting point).
         */
        void startBehindHavnsBack(VmSpec spec) throws Exception;

        /** Defines the VM, not started, with autostart on: a definition left from before havn. */
        void defineWithAutostart(VmSpec spec) throws Exception;
    }

    /** A started hypervisor of its own, with no domain on it. */
    protected abstract Subject newSubject() throws Exception;

    /** A started hypervisor whose {@link Subject#outside()} is not null; null when there is none. */
    protected abstract Subject newSubjectWithOutside() throws Exception;

    /**
     * A started hypervisor in which every call hangs, with a call timeout short enough for a test
     * (well under {@link #WAIT}); null when the adapter cannot be made to hang.
     */
    protected abstract Subject newHangingSubject() throws Exception;

    private Subject subject;
    private Events events;

    private Subject use(Subject s) {
        subject = s;
        events = s == null ? null : new Events(s.events());
        return s;
    }

    @AfterEach
    void closeSubject() {
        if (subject != null) {
            subject.close();
        }
    }

    // ---------------------------------------------------------------- listing and starting

    @Test
    void aFreshHypervisorListsNoDomains() throws Exception {
        use(newSubject());
        assertEquals(List.of(), listed(), "a fresh hypervisor's list");
    }

    @Test
    void aStartedVmIsListedRunning() throws Exception {
        Subject s = use(newSubject());
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        assertDone(spec.id(), Op.START);
        DomainInfo d = find(listed(), spec.id());
        assertNotNull(d, "the started VM is listed");
        assertEquals(DomainState.RUNNING, d.state(), "its state");
        assertEquals(spec.name(), d.name(), "its name");
        assertFalse(d.autostart(), "havn defines its domains with autostart off");
    }

    @Test
    void startOfInvalidXmlFailsWithAReason() throws Exception {
        Subject s = use(newSubject());
        VmSpec spec = s.invalidSpec();
        s.hypervisor().start(spec);
        HypervisorDone done = awaitDone(spec.id(), Op.START);
        assertFalse(done.ok(), "START of invalid XML must fail: " + done);
        assertTrue(done.error() != null && !done.error().isBlank(), "the failure says why: " + done);
        DomainInfo d = find(listed(), spec.id());
        assertTrue(d == null || d.state() == DomainState.SHUTOFF, "nothing runs after a failed start: " + d);
    }

    // ---------------------------------------------------------------- autostart

    @Test
    void disableAutostartOfAnUnknownVmPostsNothing() throws Exception {
        Subject s = use(newSubject());
        VmId unknown = s.newSpec().id();
        s.hypervisor().disableAutostart(unknown);
        events.expectNone(NodeEvent.class, e -> !(e instanceof DomainsListed), QUIET,
                "an event for disableAutostart, which has none");
        assertEquals(null, find(listed(), unknown), "nothing was defined");
    }

    @Test
    void listShowsAutostartAndDisableAutostartTurnsItOff() throws Exception {
        Subject s = use(newSubjectWithOutside());
        assumeTrue(s != null && s.outside() != null, "this hypervisor offers no changes from outside");
        VmSpec spec = s.newSpec();
        s.outside().defineWithAutostart(spec);
        DomainInfo d = find(listed(), spec.id());
        assertNotNull(d, "a domain that is only defined is listed too");
        assertEquals(DomainState.SHUTOFF, d.state(), "defined, not started");
        assertTrue(d.autostart(), "its autostart flag: " + d);
        s.hypervisor().disableAutostart(spec.id());
        awaitListed(spec.id(), x -> x != null && !x.autostart(), "autostart off");
    }

    @Test
    void startTurnsOffTheAutostartADefinitionCarried() throws Exception {
        Subject s = use(newSubjectWithOutside());
        assumeTrue(s != null && s.outside() != null, "this hypervisor offers no changes from outside");
        VmSpec spec = s.newSpec();
        s.outside().defineWithAutostart(spec);
        s.hypervisor().start(spec);
        assertDone(spec.id(), Op.START);
        DomainInfo d = find(listed(), spec.id());
        assertEquals(DomainState.RUNNING, d.state(), "started: " + d);
        assertFalse(d.autostart(), "a start leaves autostart off: " + d);
    }

    // ---------------------------------------------------------------- stopping

    @Test
    void destroyStopsTheVmAndIsNoUnaskedChange() throws Exception {
        Subject s = use(newSubject());
        VmId vm = started(s);
        s.hypervisor().destroy(vm);
        assertDone(vm, Op.DESTROY);
        assertStopped(vm);
        events.expectNone(DomainChanged.class, c -> c.vm().equals(vm), QUIET, "DomainChanged for a destroy the node asked for");
    }

    @Test
    void shutdownStopsTheVmAndIsNoUnaskedChange() throws Exception {
        Subject s = use(newSubject());
        VmId vm = started(s);
        s.hypervisor().shutdown(vm, WAIT.toMillis() / 2);
        assertDone(vm, Op.SHUTDOWN);
        assertStopped(vm);
        events.expectNone(DomainChanged.class, c -> c.vm().equals(vm), QUIET, "DomainChanged for a shutdown the node asked for");
    }

    // ---------------------------------------------------------------- resuming

    @Test
    void resumeRunsAVmPausedOutside() throws Exception {
        Subject s = use(newSubjectWithOutside());
        assumeTrue(s != null && s.outside() != null, "this hypervisor offers no changes from outside");
        VmId vm = started(s);
        s.outside().pause(vm);
        assertEquals(DomainState.PAUSED, find(listed(), vm).state(), "paused from outside");
        s.hypervisor().resume(vm);
        assertDone(vm, Op.RESUME);
        assertEquals(DomainState.RUNNING, find(listed(), vm).state(), "running after resume");
    }

    @Test
    void resumeOfAVmThatIsNotPausedFails() throws Exception {
        Subject s = use(newSubject());
        VmId vm = started(s);
        s.hypervisor().resume(vm);
        HypervisorDone done = awaitDone(vm, Op.RESUME);
        assertFalse(done.ok(), "RESUME of a running VM: " + done);
        assertEquals(DomainState.RUNNING, find(listed(), vm).state(), "still running");
    }

    // ---------------------------------------------------------------- unknown VMs

    @Test
    void everyOperationOnAnUnknownVmIsAFailureEvent() throws Exception {
        Subject s = use(newSubject());
        VmId unknown = s.newSpec().id();
        s.hypervisor().resume(unknown);
        s.hypervisor().shutdown(unknown, 1_000);
        s.hypervisor().destroy(unknown);
        s.hypervisor().migrate(unknown, s.peer());
        for (Op op : List.of(Op.RESUME, Op.SHUTDOWN, Op.DESTROY, Op.MIGRATE)) {
            HypervisorDone done = awaitDone(unknown, op);
            assertFalse(done.ok(), op + " of an unknown VM: " + done);
            assertTrue(done.error() != null && !done.error().isBlank(), "the failure says why: " + done);
        }
    }

    // ---------------------------------------------------------------- changes nobody asked for

    @Test
    void aVmStoppedOutsideIsReported() throws Exception {
        Subject s = use(newSubjectWithOutside());
        assumeTrue(s != null && s.outside() != null, "this hypervisor offers no changes from outside");
        VmId vm = started(s);
        s.outside().destroy(vm);
        DomainChanged c = events.await(DomainChanged.class, e -> e.vm().equals(vm), WAIT, "DomainChanged for " + vm);
        assertTrue(c.state() == DomainState.SHUTOFF || c.state() == DomainState.CRASHED, "stopped or crashed: " + c);
        assertFalse(c.migratedIn(), "no migration: " + c);
        assertTrue(c.cause() != null && !c.cause().isBlank(), "the change says why: " + c);
    }

    @Test
    void aVmStartedBehindHavnsBackIsReportedAndListed() throws Exception {
        Subject s = use(newSubjectWithOutside());
        assumeTrue(s != null && s.outside() != null, "this hypervisor offers no changes from outside");
        VmSpec spec = s.newSpec();
        s.outside().startBehindHavnsBack(spec);
        DomainChanged c = events.await(DomainChanged.class, e -> e.vm().equals(spec.id()), WAIT,
                "DomainChanged for the VM started outside");
        assertEquals(DomainState.RUNNING, c.state(), "running: " + c);
        assertFalse(c.migratedIn(), "no migration: " + c);
        assertTrue(c.cause() != null && !c.cause().isBlank(), "the change says why: " + c);
        DomainInfo d = find(listed(), spec.id());
        assertNotNull(d, "listed, whoever started it");
        assertEquals(DomainState.RUNNING, d.state(), "listed running: " + d);
    }

    @Test
    void aVmPausedOutsideIsReportedButNotAsAnIncomingMigration() throws Exception {
        Subject s = use(newSubjectWithOutside());
        assumeTrue(s != null && s.outside() != null, "this hypervisor offers no changes from outside");
        VmId vm = started(s);
        s.outside().pause(vm);
        DomainChanged c = events.await(DomainChanged.class, e -> e.vm().equals(vm), WAIT, "DomainChanged for " + vm);
        assertEquals(DomainState.PAUSED, c.state(), "paused: " + c);
        assertFalse(c.migratedIn(), "a pause is no migration: " + c);
        assertTrue(c.cause() != null && !c.cause().isBlank(), "the change says why: " + c);
    }

    @Test
    void aPausedVmAppearingIsReportedAsAnIncomingMigration() throws Exception {
        Subject s = use(newSubjectWithOutside());
        assumeTrue(s != null && s.outside() != null, "this hypervisor offers no changes from outside");
        VmSpec spec = s.newSpec();
        s.outside().appearPaused(spec);
        DomainChanged c = events.await(DomainChanged.class, e -> e.vm().equals(spec.id()), WAIT,
                "DomainChanged for the VM that appeared paused");
        assertEquals(new DomainChanged(spec.id(), DomainState.PAUSED, true, c.cause()), c, "an incoming migration");
        s.hypervisor().resume(spec.id());
        assertDone(spec.id(), Op.RESUME);
        assertEquals(DomainState.RUNNING, find(listed(), spec.id()).state(), "running after the hand-over's resume");
    }

    // ---------------------------------------------------------------- hung calls

    @Test
    void aHungCallEndsInATimeoutFailure() throws Exception {
        Subject s = use(newHangingSubject());
        assumeTrue(s != null, "this hypervisor cannot be made to hang");
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        s.hypervisor().destroy(spec.id());
        for (Op op : List.of(Op.START, Op.DESTROY)) {
            HypervisorDone done = awaitDone(spec.id(), op);
            assertFalse(done.ok(), op + " that hangs: " + done);
            assertTrue(done.error().contains("timed out"), "the failure says it timed out: " + done);
            assertTrue(done.timedOut(), "the call may still complete, and says so: " + done);
        }
    }

    // ---------------------------------------------------------------- helpers

    /** Starts a new VM and waits until START succeeded. */
    protected VmId started(Subject s) throws InterruptedException {
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        assertDone(spec.id(), Op.START);
        return spec.id();
    }

    protected HypervisorDone awaitDone(VmId vm, Op op) throws InterruptedException {
        return events.await(HypervisorDone.class, d -> d.vm().equals(vm) && d.op() == op, WAIT,
                "HypervisorDone(" + vm + ", " + op + ")");
    }

    protected void assertDone(VmId vm, Op op) throws InterruptedException {
        HypervisorDone done = awaitDone(vm, op);
        assertTrue(done.ok(), op + " must succeed: " + done);
    }

    /** Lists now and returns the answer (not one an earlier list produced). */
    protected List<DomainInfo> listed() throws InterruptedException {
        events.forget(DomainsListed.class);
        subject.hypervisor().list();
        return events.await(DomainsListed.class, l -> true, WAIT, "DomainsListed").domains();
    }

    /**
     * Lists until {@code vm}'s entry (null when it is not listed) matches; for a change that has no
     * event of its own. Each list is a bounded wait for its answer; all of them together are bounded
     * by {@link #WAIT}.
     */
    protected DomainInfo awaitListed(VmId vm, Predicate<DomainInfo> match, String what) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        DomainInfo last;
        do {
            last = find(listed(), vm);
            if (match.test(last)) {
                return last;
            }
        } while (System.nanoTime() < deadline);
        return fail("no list showed " + what + " for " + vm + " within " + WAIT.toMillis() + " ms; the last: " + last);
    }

    protected void assertStopped(VmId vm) throws InterruptedException {
        DomainInfo d = find(listed(), vm);
        assertTrue(d == null || d.state() == DomainState.SHUTOFF, "gone or shut off: " + d);
    }

    protected Events events() {
        return events;
    }

    protected static DomainInfo find(List<DomainInfo> domains, VmId vm) {
        return domains.stream().filter(d -> d.vm().equals(vm)).findFirst().orElse(null);
    }
}
