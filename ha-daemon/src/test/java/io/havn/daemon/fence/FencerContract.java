package io.havn.daemon.fence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.havn.common.model.HostId;
import io.havn.daemon.PortContract;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.FenceDone;
import io.havn.common.port.Fencer;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Fencer} adapter must do, whatever powers hosts off: fence agents, or the
 * simulator's devices. The node (Manager, rule 4 of DESIGN.md) restarts a fenced host's VMs on a
 * {@code FenceDone(host, true, null)}, so that answer may come only when the device confirmed the
 * host off; and it keeps a fence "in flight" until an answer comes, so every call must end in
 * exactly one {@code FenceDone} for its host, a failure with a reason whenever it is not a
 * confirmed off.
 *
 * <p>Every wait is bounded and on the subject's events; nothing sleeps. A subject that cannot be
 * closed returns false from {@link Subject#closeFencer()} and that test is skipped.
 */
public abstract class FencerContract extends PortContract<FencerContract.Subject> {
    /** The bound of every wait for an answer that must come; above every subject's attempt deadline. */
    protected static final Duration WAIT = Duration.ofSeconds(20);
    /** How long a test watches for an answer that must not come. */
    protected static final Duration QUIET = Duration.ofMillis(300);

    protected static final HostId H1 = new HostId("kvm-1");
    protected static final HostId H2 = new HostId("kvm-2");
    protected static final HostId H3 = new HostId("kvm-3");

    /** How a subject's device behaves; each host has one device of each kind. */
    public enum Kind {
        /** Powers its host off and, asked, says it is off. */
        CONFIRMS,
        /** Says it powered its host off, but asked, keeps saying the host is on. */
        CLAIMS_BUT_STAYS_ON,
        /** Cannot power its host off and says why: {@link Subject#failureWords()}. */
        FAILS,
        /** Never answers. */
        HANGS
    }

    /** A fencer with devices for {@link #H1}, {@link #H2} and {@link #H3}, and the events it posts. */
    public interface Subject extends AutoCloseable {
        Fencer fencer();

        /** The name under which {@code host}'s device of {@code kind} is known to the fencer. */
        String device(HostId host, Kind kind);

        /** The next event the fencer posted, waiting at most {@code within}; null if none. */
        NodeEvent next(Duration within) throws InterruptedException;

        /** Whether {@code host} is powered off now, as its power supply sees it. */
        boolean poweredOff(HostId host) throws Exception;

        /** Words a {@link Kind#FAILS} device gives as its reason. */
        String failureWords();

        /**
         * How long one attempt may take before it is given up, in ms: a {@link Kind#HANGS} device
         * or a {@link Kind#CLAIMS_BUT_STAYS_ON} one is reported failed within it (plus little).
         */
        long attemptDeadlineMs();

        /**
         * Closes the fencer as a stopping daemon does, returning once it has; false if the
         * adapter cannot be closed.
         */
        boolean closeFencer();

        /** Releases what the subject holds; closes the fencer if the test did not. */
        @Override
        void close();
    }


    private void fence(HostId host, Kind kind) {
        subject().fencer().powerOff(host, subject().device(host, kind));
    }

    private FenceDone answer() throws InterruptedException {
        NodeEvent e = subject().next(WAIT);
        assertNotNull(e, "no FenceDone within " + WAIT.toMillis() + " ms");
        return assertInstanceOf(FenceDone.class, e, "the fencer posts only FenceDone events");
    }

    /** The answer for {@code host}, a failure that says why; and nothing else follows. */
    private FenceDone failure(HostId host) throws InterruptedException {
        FenceDone done = answer();
        assertEquals(host, done.host(), "the answer names the host fenced");
        assertFalse(done.off(), "not confirmed off, yet reported off: " + done);
        assertNotNull(done.error(), "a failure must say why: " + done);
        assertFalse(done.error().isBlank(), "a failure must say why: " + done);
        assertNoMoreAnswers();
        return done;
    }

    private void assertNoMoreAnswers() throws InterruptedException {
        NodeEvent extra = subject().next(QUIET);
        assertNull(extra, "one call, a second answer: " + extra);
    }

    // ---------------------------------------------------------------- confirmed off

    @Test
    void offIsReportedOnceTheDeviceConfirmedTheHostOff() throws Exception {
        assertFalse(subject().poweredOff(H1), "the host starts powered on");
        fence(H1, Kind.CONFIRMS);

        assertEquals(new FenceDone(H1, true, null), answer(), "a confirmed off, with no error");
        assertTrue(subject().poweredOff(H1), "reported off, so the host must be off");
        assertNoMoreAnswers();
    }

    @Test
    void aDeviceThatSaysDoneButNeverConfirmsOffIsAFailure() throws Exception {
        fence(H1, Kind.CLAIMS_BUT_STAYS_ON);

        failure(H1);
        assertFalse(subject().poweredOff(H1), "the host stayed on");
    }

    @Test
    void aSecondRequestAfterAnAnswerIsAnsweredAgain() throws Exception {
        fence(H1, Kind.CONFIRMS);
        assertTrue(answer().off());
        fence(H1, Kind.CONFIRMS);
        assertEquals(new FenceDone(H1, true, null), answer(), "a host already off is confirmed off again");
        assertNoMoreAnswers();
    }

    @Test
    void severalHostsEachGetTheirOwnAnswer() throws Exception {
        fence(H1, Kind.CONFIRMS);
        fence(H2, Kind.FAILS);
        fence(H3, Kind.CONFIRMS);

        Map<HostId, FenceDone> byHost = new HashMap<>();
        for (int i = 0; i < 3; i++) {
            FenceDone d = answer();
            assertNull(byHost.put(d.host(), d), "two answers for " + d.host());
        }
        assertTrue(byHost.get(H1).off(), "H1: " + byHost.get(H1));
        assertFalse(byHost.get(H2).off(), "H2: " + byHost.get(H2));
        assertTrue(byHost.get(H3).off(), "H3: " + byHost.get(H3));
        assertFalse(subject().poweredOff(H2), "the host whose device failed is still on");
        assertNoMoreAnswers();
    }

    // ---------------------------------------------------------------- failures

    @Test
    void aDeviceThatFailsIsReportedWithItsReason() throws Exception {
        fence(H1, Kind.FAILS);

        FenceDone done = failure(H1);
        assertTrue(done.error().contains(subject().failureWords()),
                "the device's own reason, '" + subject().failureWords() + "', in: " + done.error());
        assertFalse(subject().poweredOff(H1));
    }

    @Test
    void anUnknownDeviceIsAFailureThatNamesIt() throws Exception {
        subject().fencer().powerOff(H1, "no-such-device");

        FenceDone done = failure(H1);
        assertTrue(done.error().contains("no-such-device"), "the unknown device is named: " + done.error());
        assertFalse(subject().poweredOff(H1), "no device of that name, so nothing may have powered the host off");
    }

    @Test
    void aDeviceThatNeverAnswersIsAFailureAtTheDeadline() throws Exception {
        assertTrue(subject().attemptDeadlineMs() < WAIT.toMillis() / 2,
                "the subject's attempt deadline must leave room within the wait for its answer");
        fence(H1, Kind.HANGS);

        failure(H1);
        assertFalse(subject().poweredOff(H1));
    }

    // ---------------------------------------------------------------- closing

    @Test
    void closeAnswersACallInFlightWithAFailureBeforeItsDeadline() throws Exception {
        long t0 = System.nanoTime();
        fence(H1, Kind.HANGS);
        assumeTrue(subject().closeFencer(), "this fencer cannot be closed");
        long tookMs = Duration.ofNanos(System.nanoTime() - t0).toMillis();

        FenceDone done = subject().next(Duration.ZERO) instanceof FenceDone d ? d : null;
        assertNotNull(done, "close returned, and the call in flight has no answer yet");
        assertEquals(H1, done.host());
        assertFalse(done.off(), "an interrupted attempt confirmed nothing: " + done);
        assertNotNull(done.error(), "a failure must say why: " + done);
        assertTrue(tookMs < subject().attemptDeadlineMs(),
                "close took " + tookMs + " ms: it must interrupt the attempt, not wait for its deadline");
        assertNoMoreAnswers();
    }

    @Test
    void aCallAfterCloseIsAnsweredWithAFailure() throws Exception {
        assumeTrue(subject().closeFencer(), "this fencer cannot be closed");
        fence(H1, Kind.CONFIRMS);

        failure(H1);
        assertFalse(subject().poweredOff(H1), "a closed fencer powered a host off");
    }
}
