package io.havn.daemon.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.DomainChanged;
import io.havn.common.node.NodeEvent.HypervisorDone;
import io.havn.common.node.NodeEvent.HypervisorLate;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import io.havn.common.port.Hypervisor.Op;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.LibvirtException;

/**
 * The libvirt adapter on libvirt's test driver, held to the {@link HypervisorContract}, plus what
 * only libvirt shows. Facts of the test driver these tests rely on: {@code test:///PATH/node.xml}
 * gives each connection a private hypervisor, empty with {@code <node/>}; {@code test:///default}
 * is one hypervisor shared by every connection of the process (it runs a domain named "test"), so
 * tests that act from outside use it, with unique names and UUIDs, and remove their domains after;
 * the test driver cannot migrate, and cannot start a domain paused (a paused copy is made by
 * starting and suspending it while the adapter's poll is held at a {@link Gate}).
 */
class LibvirtHypervisorTest extends HypervisorContract {
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration POLL = Duration.ofMillis(20);
    private static final String SHARED = "test:///default";
    private static final HostId PEER = HostId.of("peer");

    private final List<AutoCloseable> extra = new ArrayList<>();

    /** A private, empty test-driver hypervisor: each connection to this URI gets its own. */
    static String privateUri() throws Exception {
        Path node = Path.of(LibvirtHypervisorTest.class.getResource("/libvirt/node.xml").toURI());
        return "test://" + node.toAbsolutePath();
    }

    /** A domain the test driver accepts: name, uuid, memory, vcpu and an os type. */
    static VmSpec spec(UUID uuid, String name) {
        String xml = "<domain type='test'><name>" + name + "</name><uuid>" + uuid + "</uuid>"
                + "<memory unit='MiB'>64</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>";
        return new VmSpec(VmId.of(uuid.toString()), name, 1, 64, Priority.MEDIUM, true, xml);
    }

    static VmSpec newTestSpec() {
        UUID uuid = UUID.randomUUID();
        return spec(uuid, "havn-test-" + uuid.toString().substring(0, 8));
    }

    /** A libvirt adapter on the test driver, with what the contract needs around it. */
    static final class LibvirtSubject implements Subject {
        final String uri;
        final BlockingQueue<NodeEvent> events = new LinkedBlockingQueue<>();
        final Gate gate;
        final Gate polls;
        final LibvirtHypervisor hypervisor;
        final List<VmSpec> specs = new ArrayList<>();
        final Connect outsideConn;

        LibvirtSubject(String uri, Duration callTimeout, int workers, Duration poll, int queueCapacity,
                       Gate gate, boolean withOutside) throws Exception {
            this(uri, callTimeout, workers, poll, queueCapacity, gate, new Gate(c -> false), withOutside);
        }

        /** With a second gate, {@code polls}, that holds calls too (usually the polls). */
        LibvirtSubject(String uri, Duration callTimeout, int workers, Duration poll, int queueCapacity,
                       Gate gate, Gate polls, boolean withOutside) throws Exception {
            this.uri = uri;
            this.gate = gate;
            this.polls = polls;
            String peerUri = privateUri();
            this.hypervisor = new LibvirtHypervisor(uri, events::add, callTimeout, workers, poll,
                    h -> h.equals(PEER) ? peerUri : null, queueCapacity, call -> {
                        gate.before(call);
                        polls.before(call);
                    });
            this.outsideConn = withOutside ? new Connect(uri) : null;
            hypervisor.start();
        }

        @Override
        public Hypervisor hypervisor() {
            return hypervisor;
        }

        @Override
        public BlockingQueue<NodeEvent> events() {
            return events;
        }

        @Override
        public VmSpec newSpec() {
            VmSpec s = newTestSpec();
            specs.add(s);
            return s;
        }

        @Override
        public VmSpec invalidSpec() {
            VmSpec s = newSpec();
            return new VmSpec(s.id(), s.name(), 1, 64, Priority.MEDIUM, true,
                    "<domain type='test'><name>" + s.name() + "</name><uuid>" + s.id() + "</uuid></domain>");
        }

        @Override
        public HostId peer() {
            return PEER;
        }

        @Override
        public Outside outside() {
            if (outsideConn == null) {
                return null;
            }
            return new Outside() {
                @Override
                public void pause(VmId vm) throws LibvirtException {
                    outsideConn.domainLookupByUUIDString(vm.value()).suspend();
                }

                @Override
                public void destroy(VmId vm) throws LibvirtException {
                    outsideConn.domainLookupByUUIDString(vm.value()).destroy();
                }

                @Override
                public void appearPaused(VmSpec spec) throws Exception {
                    // The test driver starts nothing paused: hold a poll so none sees it running.
                    whileAPollAfterTheFirstIsHeld(() -> {
                        Domain d = outsideConn.domainDefineXML(spec.domainXml());
                        d.create();
                        d.suspend();
                    });
                }

                @Override
                public void startBehindHavnsBack(VmSpec spec) throws Exception {
                    whileAPollAfterTheFirstIsHeld(() -> outsideConn.domainDefineXML(spec.domainXml()).create());
                }

                @Override
                public void defineWithAutostart(VmSpec spec) throws Exception {
                    outsideConn.domainDefineXML(spec.domainXml()).setAutostart(true);
                }
            };
        }

        /** What another party does to the hypervisor; libvirt-java's exceptions pass through. */
        @FunctionalInterface
        interface Action {
            void run() throws Exception;
        }

        /**
         * Runs {@code action} while a poll is held before it looks, and not the first poll, which
         * only learns what exists: one held poll passes first, and the next is held.
         */
        void whileAPollAfterTheFirstIsHeld(Action action) throws Exception {
            gate.shut().awaitHeld("poll", WAIT);
            gate.open();
            gate.shut().awaitHeld("poll", WAIT);
            try {
                action.run();
            } finally {
                gate.open();
            }
        }

        @Override
        public void close() {
            hypervisor.close();
            gate.open();
            polls.open();
            if (outsideConn == null) {
                return;
            }
            for (VmSpec s : specs) {
                removeQuietly(outsideConn, s.id());
            }
            try {
                outsideConn.close();
            } catch (LibvirtException e) {
                // the hypervisor is the process's own; nothing is left open
            }
        }
    }

    static void removeQuietly(Connect c, VmId vm) {
        try {
            Domain d = c.domainLookupByUUIDString(vm.value());
            if (d.isActive() == 1) {
                d.destroy();
            }
            d.undefine();
        } catch (LibvirtException e) {
            // never defined, or already gone
        }
    }

    @Override
    protected Subject newSubject() throws Exception {
        return new LibvirtSubject(privateUri(), CALL_TIMEOUT, 4, POLL, 64, new Gate(c -> false), false);
    }

    @Override
    protected Subject newSubjectWithOutside() throws Exception {
        return new LibvirtSubject(SHARED, CALL_TIMEOUT, 4, POLL, 64, new Gate("poll"::equals), true);
    }

    @Override
    protected Subject newHangingSubject() throws Exception {
        return new LibvirtSubject(privateUri(), Duration.ofMillis(200), 4, POLL, 64, new Gate(c -> true).shut(), false);
    }

    private <T extends AutoCloseable> T closeAfter(T t) {
        extra.add(t);
        return t;
    }

    @AfterEach
    void closeExtra() throws Exception {
        for (AutoCloseable c : extra) {
            c.close();
        }
    }

    // ---------------------------------------------------------------- what only libvirt shows

    @Test
    void invalidXmlFailureCarriesLibvirtsMessage() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubject());
        Events events = new Events(s.events());
        VmSpec bad = s.invalidSpec();
        s.hypervisor().start(bad);
        HypervisorDone done = awaitDone(events, bad.id(), Op.START);
        assertFalse(done.ok(), done.toString());
        assertTrue(done.error().contains("an os <type> must be specified"), "libvirt's own words: " + done.error());
    }

    @Test
    void xmlWhoseUuidIsNotTheVmIdIsRefused() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubject());
        Events events = new Events(s.events());
        VmSpec good = newTestSpec();
        VmSpec wrongId = new VmSpec(VmId.of(UUID.randomUUID().toString()), good.name(), 1, 64, Priority.MEDIUM,
                true, good.domainXml());
        s.hypervisor().start(wrongId);
        HypervisorDone done = awaitDone(events, wrongId.id(), Op.START);
        assertFalse(done.ok(), done.toString());
        assertTrue(done.error().contains("must be the domain's UUID"), done.error());
    }

    @Test
    void aMigrationTheDriverRefusesIsAFailureEventAndTheVmKeepsRunning() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubject());
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        assertTrue(awaitDone(events, spec.id(), Op.START).ok());
        s.hypervisor().migrate(spec.id(), PEER);
        HypervisorDone done = awaitDone(events, spec.id(), Op.MIGRATE);
        assertFalse(done.ok(), done.toString());
        assertTrue(done.error().contains("not supported"), "the test driver's refusal: " + done.error());
        events.forget(NodeEvent.DomainsListed.class);
        s.hypervisor().list();
        List<DomainInfo> listed = events.await(NodeEvent.DomainsListed.class, l -> true, WAIT, "DomainsListed").domains();
        assertEquals(DomainState.RUNNING, find(listed, spec.id()).state(), "the source still runs");
    }

    @Test
    void aMigrationsOutcomeDoesNotWaitForTheConnectionToTheDestinationToClose() throws Exception {
        // closing a connection to a host that just died waits for libvirt's keepalive (~30 s)
        CountDownLatch closing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        BlockingQueue<NodeEvent> raw = new LinkedBlockingQueue<>();
        String peerUri = privateUri();
        LibvirtHypervisor h = closeAfter(new LibvirtHypervisor(privateUri(), raw::add, Duration.ofSeconds(120), 2, POLL,
                p -> peerUri, LibvirtHypervisor.QUEUE_CAPACITY, CallRunner.Hook.NONE, uri -> new Connect(uri) {
                    @Override
                    public int close() throws LibvirtException {
                        closing.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        return super.close();
                    }
                }));
        try {
            h.start();
            Events events = new Events(raw);
            VmSpec spec = newTestSpec();
            h.start(spec);
            assertTrue(awaitDone(events, spec.id(), Op.START).ok());
            h.migrate(spec.id(), PEER);
            HypervisorDone done = awaitDone(events, spec.id(), Op.MIGRATE);
            assertTrue(done.error().contains("not supported"), "the test driver's own answer: " + done);
            assertTrue(closing.await(WAIT.toMillis(), TimeUnit.MILLISECONDS), "the connection is closed all the same");
        } finally {
            release.countDown();
        }
    }

    @Test
    void aMigrationToAHostWithoutAUriIsAFailureEvent() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubject());
        Events events = new Events(s.events());
        VmId vm = s.newSpec().id();
        s.hypervisor().migrate(vm, HostId.of("nowhere"));
        HypervisorDone done = awaitDone(events, vm, Op.MIGRATE);
        assertEquals(new HypervisorDone(vm, Op.MIGRATE, false, "no libvirt URI known for host nowhere"), done);
    }

    @Test
    void aHungCallTimesOutWhileOthersGoOnAndItsLateReturnIsReported() throws Exception {
        Gate gate = new Gate("destroy"::equals);
        Gate polls = new Gate("poll"::equals);
        LibvirtSubject s = closeAfter(new LibvirtSubject(privateUri(), Duration.ofSeconds(1), 4, POLL, 64, gate, polls,
                false));
        Events events = new Events(s.events());
        VmSpec first = s.newSpec();
        s.hypervisor().start(first);
        assertTrue(awaitDone(events, first.id(), Op.START).ok());

        gate.shut();
        s.hypervisor().destroy(first.id());
        gate.awaitHeld("destroy", WAIT);
        HypervisorDone timedOut = awaitDone(events, first.id(), Op.DESTROY);
        assertFalse(timedOut.ok(), timedOut.toString());
        assertTrue(timedOut.timedOut(), "the destroy may still happen: " + timedOut);
        assertTrue(timedOut.error().startsWith("timed out after 1000 ms"), timedOut.error());

        VmSpec second = s.newSpec(); // the hung worker holds one worker, not the adapter
        s.hypervisor().start(second);
        assertTrue(awaitDone(events, second.id(), Op.START).ok(), "another call still works");

        polls.shut().awaitHeld("poll", WAIT); // no poll looks while the late result is on its way
        gate.open(); // libvirt returns at last, and the destroy did happen
        HypervisorLate late = events.await(HypervisorLate.class, l -> l.vm().equals(first.id()), WAIT,
                "the late destroy's HypervisorLate");
        assertEquals(new HypervisorLate(first.id(), Op.DESTROY, true, null), late);
        polls.open();
        assertStoppedOrGone(s, events, first.id());
        events.expectNone(DomainChanged.class, c -> c.vm().equals(first.id()), QUIET,
                "a poll reporting the late destroy's effect again");
    }

    @Test
    void aStartThatTimesOutAndThenReturnsIsReportedLateAndRunsWithoutAutostart() throws Exception {
        Gate gate = new Gate("start"::equals);
        Gate polls = new Gate("poll"::equals);
        LibvirtSubject s = closeAfter(new LibvirtSubject(privateUri(), Duration.ofSeconds(1), 4, POLL, 64, gate, polls,
                false));
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        gate.shut();
        s.hypervisor().start(spec);
        gate.awaitHeld("start", WAIT);
        HypervisorDone done = awaitDone(events, spec.id(), Op.START);
        assertEquals(new HypervisorDone(spec.id(), Op.START, false, done.error(), true), done,
                "a START that hangs is reported timed out, not failed");

        polls.shut().awaitHeld("poll", WAIT); // no poll looks while the late result is on its way
        gate.open(); // libvirt returns: the guest was started after all
        HypervisorLate late = events.await(HypervisorLate.class, l -> l.vm().equals(spec.id()), WAIT,
                "the late start's HypervisorLate");
        assertEquals(new HypervisorLate(spec.id(), Op.START, true, null), late);
        polls.open();
        events.forget(NodeEvent.DomainsListed.class);
        s.hypervisor().list();
        DomainInfo d = find(events.await(NodeEvent.DomainsListed.class, l -> true, WAIT, "DomainsListed").domains(),
                spec.id());
        assertEquals(new DomainInfo(spec.id(), spec.name(), DomainState.RUNNING, false), d);
        events.expectNone(DomainChanged.class, c -> c.vm().equals(spec.id()), QUIET,
                "a poll reporting the late start's effect again");
    }

    @Test
    void aLateFailureIsReportedTooWithLibvirtsMessage() throws Exception {
        Gate gate = new Gate("start"::equals);
        LibvirtSubject s = closeAfter(new LibvirtSubject(privateUri(), Duration.ofSeconds(1), 4, POLL, 64, gate,
                false));
        Events events = new Events(s.events());
        VmSpec bad = s.invalidSpec();
        gate.shut();
        s.hypervisor().start(bad);
        gate.awaitHeld("start", WAIT);
        assertTrue(awaitDone(events, bad.id(), Op.START).timedOut());
        gate.open();
        HypervisorLate late = events.await(HypervisorLate.class, l -> l.vm().equals(bad.id()), WAIT,
                "the late start's HypervisorLate");
        assertEquals(Op.START, late.op());
        assertFalse(late.ok(), late.toString());
        assertTrue(late.error().contains("an os <type> must be specified"), "libvirt's own words: " + late.error());
    }

    @Test
    void aCallWhoseDeadlinePassesInTheQueueIsNeverRunAndNotTimedOut() throws Exception {
        Gate gate = new Gate("destroy"::equals).shut();
        LibvirtSubject s = closeAfter(new LibvirtSubject(privateUri(), Duration.ofMillis(500), 1,
                Duration.ofHours(1), 64, gate, false));
        Events events = new Events(s.events());
        VmId held = s.newSpec().id();
        s.hypervisor().destroy(held);
        gate.awaitHeld("destroy", WAIT); // the only worker hangs; the first poll is over
        VmSpec queued = s.newSpec();
        s.hypervisor().start(queued);
        HypervisorDone done = awaitDone(events, queued.id(), Op.START);
        assertFalse(done.ok(), done.toString());
        assertFalse(done.timedOut(), "it never reached libvirt: nothing can follow: " + done);
        assertTrue(done.error().contains("waiting for a free libvirt worker") && done.error().endsWith("not run"),
                done.error());
        assertTrue(awaitDone(events, held, Op.DESTROY).timedOut(), "the hung destroy did reach libvirt");

        gate.open(); // the worker is free again, and the destroy returns: no such domain
        HypervisorLate late = events.await(HypervisorLate.class, l -> l.vm().equals(held), WAIT,
                "the late destroy's HypervisorLate");
        assertFalse(late.ok(), late.toString());
        events.forget(NodeEvent.DomainsListed.class);
        s.hypervisor().list();
        List<DomainInfo> listed = events.await(NodeEvent.DomainsListed.class, l -> true, WAIT, "DomainsListed").domains();
        assertEquals(null, find(listed, queued.id()), "the abandoned start defined nothing");
        events.expectNone(HypervisorLate.class, l -> l.vm().equals(queued.id()), QUIET,
                "a late result of a call never run");
    }

    @Test
    void aGuestRunningWhileItsTimedOutStartStillHangsIsReportedAndTheLateResultFollows() throws Exception {
        Gate gate = new Gate("start"::equals);
        LibvirtSubject s = closeAfter(new LibvirtSubject(SHARED, Duration.ofSeconds(1), 4, POLL, 64, gate, true));
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        gate.shut();
        s.hypervisor().start(spec);
        gate.awaitHeld("start", WAIT);
        assertTrue(awaitDone(events, spec.id(), Op.START).timedOut());

        Domain d = s.outsideConn.domainDefineXML(spec.domainXml()); // the guest runs while havn's call hangs
        d.create();
        DomainChanged c = events.await(DomainChanged.class, e -> e.vm().equals(spec.id()), WAIT,
                "DomainChanged for the guest that runs");
        assertEquals(new DomainChanged(spec.id(), DomainState.RUNNING, false, DomainWatch.RUNNING_AFTER_FAILURE), c);

        gate.open(); // havn's own create now finds it running
        HypervisorLate late = events.await(HypervisorLate.class, l -> l.vm().equals(spec.id()), WAIT,
                "the late start's HypervisorLate");
        assertFalse(late.ok(), "libvirt refuses to start a running domain: " + late);
    }

    @Test
    void aDomainStartedThroughAnotherConnectionIsReportedAsStartedOutsideHavn() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubjectWithOutside());
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.outside().startBehindHavnsBack(spec);
        DomainChanged c = events.await(DomainChanged.class, e -> e.vm().equals(spec.id()), WAIT, "DomainChanged");
        assertEquals(new DomainChanged(spec.id(), DomainState.RUNNING, false, "started outside havn"), c);
    }

    @Test
    void aPauseOutsideCarriesLibvirtsReason() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubjectWithOutside());
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        assertTrue(awaitDone(events, spec.id(), Op.START).ok());
        s.outside().pause(spec.id());
        DomainChanged c = events.await(DomainChanged.class, e -> e.vm().equals(spec.id()), WAIT, "DomainChanged");
        assertEquals(new DomainChanged(spec.id(), DomainState.PAUSED, false, "paused outside havn"), c,
                "the paused reason read through virDomainGetState");
    }

    @Test
    void aDomainPausedOutsideIsListedPausedNotPausedOnItsStorage() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubjectWithOutside());
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        assertTrue(awaitDone(events, spec.id(), Op.START).ok());
        s.outside().pause(spec.id());
        events.await(DomainChanged.class, e -> e.vm().equals(spec.id()), WAIT, "DomainChanged");
        events.forget(NodeEvent.DomainsListed.class);
        s.hypervisor().list();
        List<DomainInfo> listed = events.await(NodeEvent.DomainsListed.class, l -> true, WAIT, "DomainsListed").domains();
        assertEquals(DomainState.PAUSED, find(listed, spec.id()).state(), "the test driver pauses for the user");
    }

    // ---------------------------------------------------------------- guest agent and reset

    @Test
    void aGuestAgentPingTheTestDriverCannotSendIsNotJudged() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubject());
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        assertTrue(awaitDone(events, spec.id(), Op.START).ok());
        s.hypervisor().pingAgent(spec.id());
        NodeEvent.AgentPinged p = events.await(NodeEvent.AgentPinged.class, e -> e.vm().equals(spec.id()), WAIT,
                "AgentPinged");
        assertEquals(NodeEvent.AgentAnswer.NOT_CONFIGURED, p.answer(), p.toString());
        assertTrue(p.detail().contains("not supported"), "the test driver's own words: " + p.detail());
        events.expectNone(HypervisorDone.class, d -> d.vm().equals(spec.id()), QUIET,
                "a HypervisorDone for a ping, which changes nothing");
    }

    @Test
    void aPingOfADomainLibvirtDoesNotKnowSaysNotRunning() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubject());
        Events events = new Events(s.events());
        VmId vm = s.newSpec().id();
        s.hypervisor().pingAgent(vm);
        NodeEvent.AgentPinged p = events.await(NodeEvent.AgentPinged.class, e -> e.vm().equals(vm), WAIT,
                "AgentPinged");
        assertEquals(NodeEvent.AgentAnswer.NOT_RUNNING, p.answer(), p.toString());
    }

    @Test
    void aPingThatCannotReachLibvirtIsNotJudged() throws Exception {
        LibvirtSubject s = closeAfter(new LibvirtSubject("test:///nonexistent/havn/node.xml", CALL_TIMEOUT, 2,
                POLL, 64, new Gate(c -> false), false));
        Events events = new Events(s.events());
        VmId vm = s.newSpec().id();
        s.hypervisor().pingAgent(vm);
        NodeEvent.AgentPinged p = events.await(NodeEvent.AgentPinged.class, e -> e.vm().equals(vm), WAIT,
                "AgentPinged");
        assertEquals(NodeEvent.AgentAnswer.NOT_CONFIGURED, p.answer(), "havn's trouble is no miss of the guest: " + p);
        assertTrue(p.detail().startsWith("not judged: cannot connect to libvirt"), p.detail());
    }

    @Test
    void aResetIsAnOperationAfterWhichTheGuestRunsOnUnreported() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubject());
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        assertTrue(awaitDone(events, spec.id(), Op.START).ok());
        s.hypervisor().reset(spec.id());
        assertEquals(new HypervisorDone(spec.id(), Op.RESET, true, null), awaitDone(events, spec.id(), Op.RESET));
        events.forget(NodeEvent.DomainsListed.class);
        s.hypervisor().list();
        List<DomainInfo> listed = events.await(NodeEvent.DomainsListed.class, l -> true, WAIT, "DomainsListed").domains();
        assertEquals(DomainState.RUNNING, find(listed, spec.id()).state());
        events.expectNone(DomainChanged.class, c -> c.vm().equals(spec.id()), QUIET, "a DomainChanged for a reset");
    }

    @Test
    void aResetOfADomainLibvirtDoesNotKnowFails() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubject());
        Events events = new Events(s.events());
        VmId vm = s.newSpec().id();
        s.hypervisor().reset(vm);
        HypervisorDone done = awaitDone(events, vm, Op.RESET);
        assertFalse(done.ok(), done.toString());
        assertTrue(done.error().contains("no domain with UUID " + vm), done.error());
    }

    @Test
    void aFullQueueRejectsTheCallWithAFailureEvent() throws Exception {
        Gate gate = new Gate("destroy"::equals).shut();
        LibvirtSubject s = closeAfter(new LibvirtSubject(privateUri(), Duration.ofSeconds(30), 1,
                Duration.ofHours(1), 1, gate, false));
        Events events = new Events(s.events());
        VmId held = s.newSpec().id();
        VmId queued = s.newSpec().id();
        VmId rejected = s.newSpec().id();
        s.hypervisor().destroy(held);
        gate.awaitHeld("destroy", WAIT); // the only worker hangs; the first poll is over
        s.hypervisor().destroy(queued);
        s.hypervisor().destroy(rejected);
        HypervisorDone done = awaitDone(events, rejected, Op.DESTROY);
        assertFalse(done.ok(), done.toString());
        assertTrue(done.error().startsWith("rejected: all 1 libvirt workers are busy"), done.error());
    }

    @Test
    void anUnreachableLibvirtIsAFailureEvent() throws Exception {
        LibvirtSubject s = closeAfter(new LibvirtSubject("test:///nonexistent/havn/node.xml", CALL_TIMEOUT, 2,
                POLL, 64, new Gate(c -> false), false));
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        HypervisorDone done = awaitDone(events, spec.id(), Op.START);
        assertFalse(done.ok(), done.toString());
        assertTrue(done.error().startsWith("cannot connect to libvirt at test:///nonexistent/havn/node.xml"),
                done.error());
    }

    @Test
    void aRunningDomainOfAnotherPartyIsListedButNotReportedAsMigratedIn() throws Exception {
        // test:///default runs a domain named "test" before anyone asks
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubjectWithOutside());
        Events events = new Events(s.events());
        events.forget(NodeEvent.DomainsListed.class);
        s.hypervisor().list();
        List<DomainInfo> listed = events.await(NodeEvent.DomainsListed.class, l -> true, WAIT, "DomainsListed").domains();
        assertTrue(listed.stream().anyMatch(d -> d.name().equals("test") && d.state() == DomainState.RUNNING),
                "the driver's own domain: " + listed);
        events.expectNone(DomainChanged.class, c -> true, QUIET, "DomainChanged while nothing changes");
    }

    @Test
    void aStopOutsideCarriesLibvirtsReason() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubjectWithOutside());
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        assertTrue(awaitDone(events, spec.id(), Op.START).ok());
        s.outside().destroy(spec.id());
        DomainChanged c = events.await(DomainChanged.class, e -> e.vm().equals(spec.id()), WAIT, "DomainChanged");
        assertEquals(new DomainChanged(spec.id(), DomainState.SHUTOFF, false, "destroyed outside havn"), c,
                "the shutoff reason read through virDomainGetState");
    }

    @Test
    void aTransientDomainThatVanishesAsItStopsCountsAsStopped() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubjectWithOutside());
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.outsideConn.domainCreateXML(spec.domainXml(), 0); // transient: no definition outlives it
        s.hypervisor().shutdown(spec.id(), WAIT.toMillis() / 2);
        HypervisorDone done = awaitDone(events, spec.id(), Op.SHUTDOWN);
        assertTrue(done.ok(), done.toString());
        events.forget(NodeEvent.DomainsListed.class);
        s.hypervisor().list();
        List<DomainInfo> listed = events.await(NodeEvent.DomainsListed.class, l -> true, WAIT, "DomainsListed").domains();
        assertEquals(null, find(listed, spec.id()), "gone with its definition");
    }

    @Test
    void aBrokenConnectionIsReplacedByTheNextCall() throws Exception {
        LibvirtSubject s = closeAfter((LibvirtSubject) newSubjectWithOutside());
        Events events = new Events(s.events());
        VmSpec spec = s.newSpec();
        s.hypervisor().start(spec);
        assertTrue(awaitDone(events, spec.id(), Op.START).ok());

        s.gate.shut().awaitHeld("poll", WAIT); // no call is inside libvirt while the connection breaks
        NativeConnect old = s.hypervisor.connection().get();
        old.close();
        s.gate.open();

        events.forget(NodeEvent.DomainsListed.class);
        s.hypervisor().list(); // fails on the broken connection, or finds a new one; a failed list is retried
        List<DomainInfo> listed = events.await(NodeEvent.DomainsListed.class, l -> true, WAIT, "DomainsListed").domains();
        assertEquals(DomainState.RUNNING, find(listed, spec.id()).state(), "listed through a new connection");
        assertTrue(s.hypervisor.connection().get() != old, "a new connection");
    }

    @Test
    void startIsOnceAndCallsNeedIt() throws Exception {
        LibvirtHypervisor h = new LibvirtHypervisor(privateUri(), e -> { }, CALL_TIMEOUT, 1, POLL, x -> null);
        VmId vm = newTestSpec().id();
        assertThrows(IllegalStateException.class, () -> h.destroy(vm), "before start()");
        h.start();
        assertThrows(IllegalStateException.class, h::start, "a second start()");
        h.close();
        h.close();
        assertThrows(IllegalStateException.class, () -> h.destroy(vm), "after close()");
    }

    @Test
    void noEventIsPostedAfterClose() throws Exception {
        Gate gate = new Gate("destroy"::equals).shut();
        LibvirtSubject s = new LibvirtSubject(privateUri(), CALL_TIMEOUT, 2, POLL, 64, gate, false);
        Events events = new Events(s.events());
        VmId vm = s.newSpec().id();
        s.hypervisor().destroy(vm);
        gate.awaitHeld("destroy", WAIT);
        s.close(); // closes, then lets the held call return
        events.expectNone(NodeEvent.class, e -> e instanceof HypervisorDone d && d.vm().equals(vm), QUIET,
                "an event after close()");
    }

    @Test
    void badSettingsAreRefusedNamingTheSetting() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new LibvirtHypervisor(
                "qemu:///system", x -> { }, Duration.ZERO, 1, POLL, x -> null));
        assertTrue(e.getMessage().contains("callTimeout"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new LibvirtHypervisor(
                "qemu:///system", x -> { }, CALL_TIMEOUT, 0, POLL, x -> null));
        assertTrue(e.getMessage().contains("workers"), e.getMessage());
    }

    /** Lists, and checks that the domain is stopped or gone. */
    private static void assertStoppedOrGone(LibvirtSubject s, Events events, VmId vm) throws InterruptedException {
        events.forget(NodeEvent.DomainsListed.class);
        s.hypervisor().list();
        List<DomainInfo> listed = events.await(NodeEvent.DomainsListed.class, l -> true, WAIT, "DomainsListed").domains();
        DomainInfo d = find(listed, vm);
        assertTrue(d == null || d.state() == DomainState.SHUTOFF, "gone or shut off: " + d);
    }

    private static HypervisorDone awaitDone(Events events, VmId vm, Op op) throws InterruptedException {
        return events.await(HypervisorDone.class, d -> d.vm().equals(vm) && d.op() == op, WAIT,
                "HypervisorDone(" + vm + ", " + op + ")");
    }
}
