package io.havn.daemon.watchdog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.port.Watchdog;
import io.havn.daemon.PortContract;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Watchdog} adapter must do, whatever guards the machine: the petter process on a
 * watchdog device, or the simulator's model of one. The node (LeaseKeeper, rule 3 of DESIGN.md)
 * relies on it as follows:
 * <ul>
 * <li>{@code armUntil(d)} keeps the machine alive until {@code d} on the node's clock, and no
 * longer: once {@code d} has passed and nothing newer was published, the guard gives the machine
 * up, so the hardware resets it within W. Arming again before {@code d} (the node's "pet") moves
 * the deadline.</li>
 * <li>{@code release()} guards nothing: no reset, however long the daemon stays silent.</li>
 * <li>A daemon that restarts within the lease finds the deadline it published in
 * {@code inheritedDeadline()}, and the guard keeps the machine alive meanwhile; a deadline
 * released, passed, or published before a reboot is not inherited.</li>
 * <li>{@code problem()} is empty exactly while a guard runs that resets within W; otherwise it
 * says why. Its answer may be up to {@link #STALE_MS} old on the node's clock.</li>
 * </ul>
 *
 * <p>Time is the subject's: a test moves the node's monotonic clock with
 * {@link Subject#advanceMs}; nothing sleeps.
 */
public abstract class WatchdogContract extends PortContract<WatchdogContract.Subject> {
    /** How old an answer of {@link Watchdog#problem} may be, on the node's clock. */
    protected static final long STALE_MS = 1_000;
    /**
     * How late after its reason a guard may act: it looks at the published state once an
     * interval (a second), not continuously.
     */
    protected static final long GUARD_INTERVAL_MS = 1_000;

    /** One host: its daemon's watchdog, the guard beside it, and the node's clock. */
    public interface Subject extends AutoCloseable {
        /** The watchdog of the daemon running now. */
        Watchdog watchdog();

        /** The daemon restarts (a new incarnation, same boot): the new daemon's watchdog. */
        Watchdog restartDaemon();

        /** The machine reboots: a new boot, its monotonic clock begun again, no guard running. */
        void reboot();

        /** The node's monotonic clock, in nanoseconds. */
        long nowNanos();

        void advanceMs(long ms);

        /** W: the reset time the node's lease assumes ({@code settings.watchdogMs}). */
        long watchdogMs();

        /** The guard starts, on a device verified to reset within W. */
        void startGuard();

        /** The guard starts, on a device that resets only after more than W. */
        void startGuardSlowerThanW();

        /** The guard stops (its process exits). */
        void stopGuard();

        /**
         * Whether the running guard keeps the machine alive at {@link #nowNanos()}; false once it
         * has given the machine up to the hardware reset.
         */
        boolean guardKeepsAlive();

        @Override
        void close();
    }


    private long inMs(long ms) {
        return subject().nowNanos() + ms * 1_000_000L;
    }

    /** Past {@code deadlineNanos} by W and one guard interval: a guard must have given up by then. */
    private void passBeyondReset(long deadlineNanos) {
        long leftMs = Math.max(0, (deadlineNanos - subject().nowNanos()) / 1_000_000L);
        subject().advanceMs(leftMs + subject().watchdogMs() + GUARD_INTERVAL_MS);
    }

    // ---------------------------------------------------------------- inheritance

    @Test
    void aHostWhereNothingWasPublishedInheritsNothing() {
        assertEquals(OptionalLong.empty(), subject().watchdog().inheritedDeadline());
    }

    @Test
    void aRestartedDaemonInheritsTheDeadlineStillAhead() {
        long deadline = inMs(5_000);
        subject().watchdog().armUntil(deadline);
        subject().advanceMs(1_000);

        assertEquals(OptionalLong.of(deadline), subject().restartDaemon().inheritedDeadline());
    }

    @Test
    void theLatestArmIsWhatARestartedDaemonInherits() {
        subject().watchdog().armUntil(inMs(2_000));
        long later = inMs(4_000);
        subject().watchdog().armUntil(later);
        assertEquals(OptionalLong.of(later), subject().restartDaemon().inheritedDeadline(), "after two arms");

        subject().watchdog().release();
        long again = inMs(3_000);
        subject().watchdog().armUntil(again);
        assertEquals(OptionalLong.of(again), subject().restartDaemon().inheritedDeadline(), "armed after a release");
    }

    @Test
    void aReleaseLeavesNothingToInherit() {
        subject().watchdog().armUntil(inMs(5_000));
        subject().watchdog().release();

        assertEquals(OptionalLong.empty(), subject().restartDaemon().inheritedDeadline());
    }

    @Test
    void aDeadlineThatPassedIsNotInherited() {
        subject().watchdog().armUntil(inMs(1_000));
        subject().advanceMs(1_000);

        assertEquals(OptionalLong.empty(), subject().restartDaemon().inheritedDeadline(),
                "a deadline equal to now is no longer ahead");
    }

    @Test
    void aDeadlineFromBeforeARebootIsNotInherited() {
        subject().watchdog().armUntil(inMs(60_000));
        subject().reboot();

        assertEquals(OptionalLong.empty(), subject().restartDaemon().inheritedDeadline(),
                "another boot's monotonic clock: its deadline means nothing now");
    }

    // ---------------------------------------------------------------- what the guard does

    @Test
    void anArmedHostIsKeptAliveUntilItsDeadlineAndGivenUpAfter() {
        subject().startGuard();
        long deadline = inMs(2_000);
        subject().watchdog().armUntil(deadline);
        assertTrue(subject().guardKeepsAlive(), "just armed");

        subject().advanceMs(1_999);
        assertTrue(subject().guardKeepsAlive(), "a millisecond before the deadline");

        passBeyondReset(deadline);
        assertFalse(subject().guardKeepsAlive(), "W and an interval past the deadline, nothing newer published");
    }

    @Test
    void armingAgainBeforeTheDeadlineMovesIt() {
        subject().startGuard();
        long first = inMs(2_000);
        subject().watchdog().armUntil(first);
        subject().advanceMs(1_500);
        long moved = inMs(subject().watchdogMs() + 2 * GUARD_INTERVAL_MS);
        subject().watchdog().armUntil(moved);

        passBeyondReset(first);
        assertTrue(subject().nowNanos() < moved, "the test's arithmetic: still before the moved deadline");
        assertTrue(subject().guardKeepsAlive(), "past the first deadline and its reset, before the moved one");

        passBeyondReset(moved);
        assertFalse(subject().guardKeepsAlive(), "past the moved deadline and its reset");
    }

    @Test
    void aReleasedHostIsNeverGivenUp() {
        subject().startGuard();
        long deadline = inMs(1_000);
        subject().watchdog().armUntil(deadline);
        subject().watchdog().release();

        passBeyondReset(deadline);
        subject().advanceMs(600_000);
        assertTrue(subject().guardKeepsAlive(), "released ten minutes ago, and still alive");
    }

    @Test
    void aDaemonRestartWithinTheLeaseDoesNotCostTheMachine() {
        subject().startGuard();
        long deadline = inMs(3_000);
        subject().watchdog().armUntil(deadline);

        Watchdog next = subject().restartDaemon();
        subject().advanceMs(2_000);
        assertTrue(subject().guardKeepsAlive(), "restarted within the lease, nothing published yet");

        long extended = inMs(6_000);
        next.armUntil(extended);
        passBeyondReset(deadline);
        assertTrue(subject().nowNanos() < extended, "the test's arithmetic: still before the new deadline");
        assertTrue(subject().guardKeepsAlive(), "the new daemon's deadline holds");
    }

    // ---------------------------------------------------------------- problem()

    @Test
    void withoutAGuardThereIsAProblemThatSaysWhy() {
        Optional<String> problem = subject().watchdog().problem();

        assertTrue(problem.isPresent(), "no guard runs, yet the watchdog claims to guard the host");
        assertFalse(problem.get().isBlank(), "a problem must say what is wrong");
    }

    @Test
    void aProblemLastsExactlyWhileNoGuardRuns() {
        subject().startGuard();
        subject().advanceMs(STALE_MS);
        assertEquals(Optional.empty(), subject().watchdog().problem(), "a guard runs");

        subject().stopGuard();
        subject().advanceMs(STALE_MS);
        assertTrue(subject().watchdog().problem().isPresent(), "the guard stopped");

        subject().startGuard();
        subject().advanceMs(STALE_MS);
        assertEquals(Optional.empty(), subject().watchdog().problem(), "the guard is back");
    }

    @Test
    void aGuardThatResetsLaterThanWIsAProblem() {
        subject().startGuardSlowerThanW();
        subject().advanceMs(STALE_MS);

        Optional<String> problem = subject().watchdog().problem();
        assertTrue(problem.isPresent(), "a reset later than W breaks the lease's arithmetic");
        assertFalse(problem.get().isBlank());
    }

    @Test
    void aRestartedDaemonSeesTheGuardThatRuns() {
        subject().startGuard();
        subject().advanceMs(STALE_MS);

        assertEquals(Optional.empty(), subject().restartDaemon().problem(), "the guard outlives the daemon");
    }
}
