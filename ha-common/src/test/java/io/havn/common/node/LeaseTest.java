package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The lease's states and what it answers, with the defaults (F 6 s, W 3 s, heartbeat timeout 1 s). */
class LeaseTest {
    private static final long MS = 1_000_000L;
    private static final Settings SETTINGS = Settings.defaults();

    /** A lease confirmed at 1 s in a session of F, then moved into {@code state}. */
    private static Lease in(Lease.State state) {
        Lease lease = new Lease(SETTINGS);
        lease.sessionStarted(SETTINGS.leaseMs());
        lease.confirmed(1_000 * MS);
        switch (state) {
            case LIVE -> { }
            case FROZEN -> lease.freeze();
            case THAWING -> {
                lease.freeze();
                lease.thaw(9_000 * MS);
            }
            case SPENT -> {
                lease.freeze();
                lease.nothingToGuard();
            }
            case SELF_FENCED -> lease.selfFence();
        }
        assertEquals(state, lease.state(), "the lease under test");
        return lease;
    }

    private static Map<String, Consumer<Lease>> transitions() {
        Map<String, Consumer<Lease>> t = new LinkedHashMap<>();
        t.put("freeze", Lease::freeze);
        t.put("thaw", l -> l.thaw(9_500 * MS));
        t.put("refreeze", Lease::refreeze);
        t.put("nothingToGuard", Lease::nothingToGuard);
        t.put("selfFence", Lease::selfFence);
        t.put("confirmed", l -> l.confirmed(2_000 * MS));
        return t;
    }

    @ParameterizedTest(name = "from {0}: freeze {1}, thaw {2}, refreeze {3}, nothingToGuard {4}, selfFence {5}, confirmed {6}")
    @CsvSource(delimiter = '|', textBlock = """
            LIVE        | FROZEN  | refused | refused | LIVE        | SELF_FENCED | LIVE
            FROZEN      | refused | THAWING | FROZEN  | SPENT       | SELF_FENCED | LIVE
            THAWING     | refused | refused | FROZEN  | SPENT       | SELF_FENCED | LIVE
            SPENT       | refused | refused | refused | SPENT       | SELF_FENCED | LIVE
            SELF_FENCED | refused | refused | refused | SELF_FENCED | refused     | LIVE
            """)
    void eachTransitionMovesFromTheStatesItAllowsAndIsRefusedInTheOthers(Lease.State from, String freeze,
            String thaw, String refreeze, String nothingToGuard, String selfFence, String confirmed) {
        String[] expected = {freeze, thaw, refreeze, nothingToGuard, selfFence, confirmed};
        int i = 0;
        for (Map.Entry<String, Consumer<Lease>> t : transitions().entrySet()) {
            Lease lease = in(from);
            String want = expected[i++];
            if (want.equals("refused")) {
                assertThrows(IllegalStateException.class, () -> t.getValue().accept(lease),
                        t.getKey() + " from " + from);
                assertEquals(from, lease.state(), t.getKey() + " refused changes nothing");
            } else {
                t.getValue().accept(lease);
                assertEquals(Lease.State.valueOf(want), lease.state(), t.getKey() + " from " + from);
            }
        }
    }

    @ParameterizedTest(name = "{0}: frozen {1}, self-fenced {2}, may freeze {3}")
    @CsvSource({
        "LIVE,        false, false, true",
        "FROZEN,      true,  false, false",
        "THAWING,     true,  false, false",
        "SPENT,       false, false, false",
        "SELF_FENCED, false, true,  false",
    })
    void whatEachStateSays(Lease.State state, boolean frozen, boolean selfFenced, boolean mayFreeze) {
        Lease lease = in(state);
        assertEquals(frozen, lease.frozen(), "frozen");
        assertEquals(selfFenced, lease.selfFenced(), "self-fenced");
        assertEquals(mayFreeze, lease.mayFreeze(), "may freeze");
    }

    /** "-" in a column: none (no session, no confirmation, nothing inherited, no watchdog problem, no end). */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            a fresh daemon                                  | -    | -    | -     | -  | 1000  | false | -     | NEVER | no session
            a lease left by the previous daemon             | -    | -    | 5000  | -  | 1000  | true  | 5000  | NEVER | -
            the inherited lease ended, still no session     | -    | -    | 5000  | -  | 6000  | false | 5000  | NEVER | no session; the lease left by the previous daemon ended
            a session, its first confirmation not back      | 6000 | -    | -     | -  | 1000  | false | -     | NEVER | no confirmation yet in this session
            confirmed 1.5 s ago                             | 6000 | 1000 | -     | -  | 2500  | true  | 7000  | 1500  | -
            confirmed F ago                                 | 6000 | 1000 | -     | -  | 7000  | false | 7000  | 6000  | no confirmation for 6000 ms
            a confirmation ends the inherited lease         | 4500 | 1000 | 9000  | -  | 6000  | false | 5500  | 5000  | no confirmation for 5000 ms
            no lease fits the negotiated session timeout    | 0    | 1000 | -     | -  | 2000  | false | -     | NEVER | no lease fits the negotiated session timeout
            a watchdog problem for less than W              | 6000 | 1000 | -     | 0  | 2000  | true  | 7000  | 1000  | -
            a watchdog problem for W                        | 6000 | 1000 | -     | 0  | 3000  | false | -     | NEVER | the watchdog cannot guard this host
            """)
    void validityEndUnconfirmedTimeAndWhy(String situation, String sessionLeaseMs, String confirmedAtMs,
            String inheritedUntilMs, String watchdogProblemAtMs, long nowMs, boolean valid, String endMs,
            String unconfirmedMs, String reason) {
        Lease lease = new Lease(SETTINGS);
        if (!inheritedUntilMs.equals("-")) {
            lease.inherit(OptionalLong.of(Long.parseLong(inheritedUntilMs) * MS));
        }
        if (!watchdogProblemAtMs.equals("-")) {
            lease.watchdogSays("no watchdog device", Long.parseLong(watchdogProblemAtMs) * MS);
        }
        if (!sessionLeaseMs.equals("-")) {
            lease.sessionStarted(Long.parseLong(sessionLeaseMs));
        }
        if (!confirmedAtMs.equals("-")) {
            lease.confirmed(Long.parseLong(confirmedAtMs) * MS);
        }
        long now = nowMs * MS;
        assertEquals(valid, lease.valid(now), "valid");
        assertEquals(endMs.equals("-") ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(endMs) * MS),
                lease.end(now), "end");
        assertEquals(unconfirmedMs.equals("NEVER") ? Heartbeat.NEVER : Integer.parseInt(unconfirmedMs),
                lease.unconfirmedMs(now), "unconfirmed ms");
        if (!valid) {
            assertEquals(reason, lease.lapseReason(now), "why");
        }
    }

    @ParameterizedTest(name = "{0}, at 8 s: publish {1}")
    @CsvSource({
        "LIVE,        7000", // the lease's end
        "FROZEN,      9000", // a heartbeat timeout ahead, no more
        "THAWING,     9000", // the thaw deadline
        "SPENT,       -",    // past the lease
        "SELF_FENCED, -",
    })
    void theDeadlinePublishedToTheWatchdog(Lease.State state, String deadlineMs) {
        Lease lease = in(state);
        long now = (state == Lease.State.LIVE ? 6_000 : 8_000) * MS;
        assertEquals(deadlineMs.equals("-") ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(deadlineMs) * MS),
                lease.watchdogDeadline(now));
    }

    @ParameterizedTest(name = "{0}: credited {2}")
    @CsvSource(delimiter = '|', textBlock = """
            answered                          | ask ok                | true
            answered with a failure           | ask fail              | false
            an answer to another token        | ask ok-other          | false
            the session ended meanwhile       | ask end ok            | false
            a new session began meanwhile     | ask end start ok      | false
            asked without a session           | end ask ok            | false
            """)
    void onlyAnAnsweredConfirmationOfTheCurrentSessionCreditsTheLease(String situation, String steps,
            boolean credited) {
        Lease lease = new Lease(SETTINGS);
        lease.sessionStarted(SETTINGS.leaseMs());
        boolean last = false;
        for (String step : steps.split(" ")) {
            switch (step) {
                case "ask" -> lease.confirmationAsked(1, 1_000 * MS);
                case "ok" -> last = lease.confirmationAnswered(1, true);
                case "fail" -> last = lease.confirmationAnswered(1, false);
                case "ok-other" -> last = lease.confirmationAnswered(2, true);
                case "end" -> lease.sessionEnded();
                case "start" -> lease.sessionStarted(SETTINGS.leaseMs());
                default -> throw new IllegalArgumentException("no step " + step);
            }
        }
        assertEquals(credited, last, "the last answer credited the lease");
        assertEquals(credited, lease.valid(2_000 * MS), "valid");
    }

    @Test
    void confirmationsAreAskedForEveryIntervalWithABoundedNumberInFlight() {
        Lease lease = new Lease(SETTINGS);
        lease.sessionStarted(SETTINGS.leaseMs());
        assertEquals(true, lease.confirmationDue(0), "the first one is due at once");
        long asked = 0;
        for (long token = 1; lease.mayAskConfirmation(); token++) {
            lease.confirmationAsked(token, asked * MS);
            asked++;
        }
        assertEquals(32, asked, "at most 32 wait for an answer");
        long lastAskedMs = asked - 1;
        assertEquals(false, lease.confirmationDue((lastAskedMs + SETTINGS.confirmIntervalMs() - 1) * MS));
        assertEquals(true, lease.confirmationDue((lastAskedMs + SETTINGS.confirmIntervalMs()) * MS));
        assertEquals(true, lease.confirmationAnswered(5, true));
        assertEquals(true, lease.mayAskConfirmation(), "an answer makes room");
        assertEquals(false, lease.confirmationAnswered(5, true), "a second answer to one token counts nothing");
        lease.sessionEnded();
        for (long token = 100; token < 131; token++) {
            lease.confirmationAsked(token, 0);
        }
        assertEquals(true, lease.mayAskConfirmation(), "an ended session's confirmations no longer count");
    }

    @Test
    void aLeaseWhoseSessionEndedIsNotValidAndSaysSo() {
        Lease lease = in(Lease.State.LIVE);
        lease.sessionEnded();
        assertEquals(false, lease.valid(2_000 * MS), "a quorum ended the session: no lease");
        assertEquals(Heartbeat.NEVER, lease.unconfirmedMs(2_000 * MS));
        assertEquals("no session", lease.lapseReason(2_000 * MS));
        assertThrows(IllegalStateException.class, () -> lease.confirmed(1_500 * MS),
                "a confirmation without a session is refused");
    }

    @Test
    void theWatchdogIsToldOnlyALaterDeadlineOrThatItIsReleased() {
        Lease lease = new Lease(SETTINGS);
        // each step: what is asked, and whether the watchdog must be told
        Object[][] steps = {
            {"release", -1L, false}, // released from the start
            {"arm", 5_000L, true},
            {"arm", 5_000L, false},
            {"arm", 4_000L, false},  // an earlier deadline is never published over a later one
            {"arm", 6_000L, true},
            {"release", -1L, true},
            {"release", -1L, false},
            {"arm", 4_000L, true},   // after a release, any deadline is published
        };
        int i = 0;
        for (Object[] s : steps) {
            boolean told = s[0].equals("arm") ? lease.arm((Long) s[1] * MS) : lease.release();
            assertEquals(s[2], told, "step " + i++ + ": " + s[0] + " " + s[1]);
        }
    }

    @Test
    void aWatchdogProblemIsReportedOnceAndItsStartIsKeptWhileItChangesWording() {
        Lease lease = new Lease(SETTINGS);
        lease.sessionStarted(SETTINGS.leaseMs());
        lease.confirmed(0);
        assertEquals(true, lease.watchdogSays("no device", 1_000 * MS));
        assertEquals(false, lease.watchdogSays("no device", 1_500 * MS), "the same problem again: nothing new");
        assertEquals(true, lease.watchdogSays("device timeout too long", 2_000 * MS), "another wording is news");
        assertEquals(true, lease.watchdogDown(4_000 * MS), "down W after the first report, not after the second");
        assertEquals(true, lease.watchdogSays(null, 4_100 * MS));
        assertEquals(false, lease.watchdogDown(4_100 * MS), "guarded again");
    }
}
