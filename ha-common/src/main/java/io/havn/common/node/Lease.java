package io.havn.common.node;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * This host's lease (rules 3 and 5): until when it may run its HA VMs, whether it has frozen or
 * self-fenced, and what it last published to the watchdog. It decides nothing and does no I/O: the
 * host agent asks it and moves it, and each move checks the state it starts from.
 *
 * <p>Whether the lease is valid is a matter of time ({@link #valid}); {@link State} is what the host
 * has done about a lapse since its last confirmation. Every confirmation brings it back to
 * {@link State#LIVE}. Threading: the node's thread only.
 */
final class Lease {
    /** What the host has done about its lease since the last confirmation. */
    enum State {
        /** Confirming; once the lease lapses the host may freeze (once) or self-fence. */
        LIVE,
        /** Lapsed while a strict majority of voters is freshly lost: keeps its VMs, changes nothing. */
        FROZEN,
        /** Frozen, but the majority is no longer lost: waits until {@link #thawUntil()} for a confirmation. */
        THAWING,
        /** Was frozen, then held no HA VM: it does not freeze again before a new confirmation. */
        SPENT,
        /** Destroys (or has destroyed) its HA VMs; runs none before a new confirmation. */
        SELF_FENCED
    }

    /** At most this many confirmations wait for their answer; a quorum that answers none gets no more. */
    private static final int MAX_CONFIRMS_IN_FLIGHT = 32;

    private final Settings settings;
    private State state = State.LIVE;

    /** The confirmations asked for in the current session (or without one) and not answered yet: token to send time. */
    private final Map<Long, Long> confirmsInFlight = new HashMap<>();
    /** When the latest confirmation was asked for; empty before the first. */
    private OptionalLong lastConfirmAsked = OptionalLong.empty();

    /** The lease the current session allows in ms (0: none fits); empty without a session. */
    private OptionalLong sessionLeaseMs = OptionalLong.empty();
    /** When the latest confirmation of the current session was sent; empty before the first. */
    private OptionalLong lastConfirmSent = OptionalLong.empty();
    /** The deadline a previous incarnation left armed on the watchdog, until this one confirms. */
    private OptionalLong inheritedUntil = OptionalLong.empty();
    /**
     * The deadline a previous incarnation left, kept after this one confirmed: the VMs still bound to
     * that incarnation's session may run until then and no longer, unless re-bound to this one.
     */
    private OptionalLong previousUntil = OptionalLong.empty();
    /** The end of the restart window this daemon announced before stopping; empty unless it did. */
    private OptionalLong restartUntil = OptionalLong.empty();
    /** The end of the wait for a confirmation, while {@link State#THAWING}. */
    private long thawUntil;
    /** The deadline last published to the watchdog; empty while released. */
    private OptionalLong armedUntil = OptionalLong.empty();

    /** What the watchdog last said was wrong with it (null: nothing), and since when. */
    private String watchdogProblem;
    private long watchdogProblemSince;

    Lease(Settings settings) {
        this.settings = Objects.requireNonNull(settings, "settings");
    }

    State state() {
        return state;
    }

    boolean frozen() {
        return state == State.FROZEN || state == State.THAWING;
    }

    boolean selfFenced() {
        return state == State.SELF_FENCED;
    }

    /** Whether a lapse may still freeze the host: it has not frozen since its last confirmation. */
    boolean mayFreeze() {
        return state == State.LIVE;
    }

    /** The end of the wait for a confirmation; only while {@link State#THAWING}. */
    long thawUntil() {
        require(State.THAWING);
        return thawUntil;
    }

    // ---------------------------------------------------------------- the session and confirmations

    /** A previous incarnation's deadline, still armed on the watchdog when this daemon starts. */
    void inherit(OptionalLong deadline) {
        inheritedUntil = deadline;
        previousUntil = deadline;
    }

    /**
     * Until when a VM still bound to a previous incarnation's session may run here: the deadline that
     * incarnation left on the watchdog (its lease, or the restart window it announced); empty if it
     * left none.
     */
    OptionalLong previousUntil() {
        return previousUntil;
    }

    /**
     * This daemon announced a planned restart, recorded in the cluster state: the watchdog may keep
     * the host until {@code untilNanos}, and so may its successor's VMs bound to this session.
     */
    void restartAnnounced(long untilNanos) {
        restartUntil = OptionalLong.of(untilNanos);
    }

    /** A new session began; its lease is {@code leaseMs} (0: none fits). Nothing of it is confirmed yet. */
    void sessionStarted(long leaseMs) {
        if (leaseMs < 0) {
            throw new IllegalArgumentException("leaseMs must be >= 0, got " + leaseMs);
        }
        sessionLeaseMs = OptionalLong.of(leaseMs);
        lastConfirmSent = OptionalLong.empty();
        confirmsInFlight.clear();
    }

    /** The session ended (a quorum expired or closed it): nothing of it confirms anything any more. */
    void sessionEnded() {
        sessionLeaseMs = OptionalLong.empty();
        lastConfirmSent = OptionalLong.empty();
        confirmsInFlight.clear();
    }

    /** Whether a confirmation may be asked for: fewer than the most that may wait for an answer. */
    boolean mayAskConfirmation() {
        return confirmsInFlight.size() < MAX_CONFIRMS_IN_FLIGHT;
    }

    /** Whether the confirmation interval has passed since the latest confirmation was asked for. */
    boolean confirmationDue(long now) {
        return lastConfirmAsked.isEmpty() || now - lastConfirmAsked.getAsLong() >= Peers.ms(settings.confirmIntervalMs());
    }

    /** Confirmation {@code token} was asked for at {@code now}. */
    void confirmationAsked(long token, long now) {
        confirmsInFlight.put(token, now);
        lastConfirmAsked = OptionalLong.of(now);
    }

    /**
     * Confirmation {@code token} was answered; returns whether it confirmed the current session
     * (then the lease is {@link #confirmed} from when it was asked). Answers of an ended session,
     * failed ones and unknown tokens confirm nothing.
     */
    boolean confirmationAnswered(long token, boolean ok) {
        Long sentNanos = confirmsInFlight.remove(token);
        if (sentNanos == null || sessionLeaseMs.isEmpty() || !ok) {
            return false;
        }
        confirmed(sentNanos);
        return true;
    }

    /**
     * A confirmation of the current session, sent at {@code sentNanos}, landed: the lease is credited
     * from when it was sent, never from when the answer came, and the host is {@link State#LIVE} again.
     */
    void confirmed(long sentNanos) {
        if (sessionLeaseMs.isEmpty()) {
            throw new IllegalStateException("a confirmation without a session");
        }
        long latest = lastConfirmSent.isPresent() ? Math.max(lastConfirmSent.getAsLong(), sentNanos) : sentNanos;
        lastConfirmSent = OptionalLong.of(latest);
        inheritedUntil = OptionalLong.empty();
        state = State.LIVE;
    }

    // ---------------------------------------------------------------- the watchdog's problems

    /** Takes what the watchdog says now; returns whether that changed (so it is reported once). */
    boolean watchdogSays(String problem, long now) {
        if (Objects.equals(problem, watchdogProblem)) {
            return false;
        }
        if (watchdogProblem == null) {
            watchdogProblemSince = now;
        }
        watchdogProblem = problem;
        return true;
    }

    /**
     * Whether the watchdog has said for W that it cannot guard this host. A petter that restarts
     * says so for a moment; while it is away, the hardware still counts down from its last pet and
     * resets the machine within W unless a petter comes back, so the host loses its lease only
     * once the problem has lasted W.
     */
    boolean watchdogDown(long now) {
        return watchdogProblem != null && now - watchdogProblemSince >= Peers.ms(settings.watchdogMs());
    }

    /** Whether this host may not hold a lease at all now (no working watchdog, or no lease fits the session). */
    boolean barred(long now) {
        return watchdogDown(now) || sessionLeaseMs.orElse(-1) == 0;
    }

    // ---------------------------------------------------------------- validity

    /**
     * End of the lease: F after the last confirmation's send, or what a previous incarnation left.
     * None while the watchdog cannot guard the host, or when the negotiated session timeout leaves
     * no room for a lease: such a host runs no HA VM.
     */
    OptionalLong end(long now) {
        if (watchdogDown(now)) {
            return OptionalLong.empty();
        }
        long leaseMs = sessionLeaseMs.orElse(0);
        OptionalLong own = lastConfirmSent.isPresent() && leaseMs > 0
                ? OptionalLong.of(lastConfirmSent.getAsLong() + Peers.ms(leaseMs)) : OptionalLong.empty();
        own = later(own, restartUntil);
        return later(own, inheritedUntil);
    }

    private static OptionalLong later(OptionalLong a, OptionalLong b) {
        if (a.isEmpty() || b.isEmpty()) {
            return a.isPresent() ? a : b;
        }
        return OptionalLong.of(Math.max(a.getAsLong(), b.getAsLong()));
    }

    boolean valid(long now) {
        OptionalLong end = end(now);
        return end.isPresent() && now < end.getAsLong();
    }

    /** Rule 5's x: time since the last confirmation, capped; {@link Heartbeat#NEVER} if none, or if barred. */
    int unconfirmedMs(long now) {
        if (lastConfirmSent.isEmpty() || barred(now)) {
            // a host that may hold no lease says so: its peers count it lost and place nothing on it
            return Heartbeat.NEVER;
        }
        return (int) Math.min(Heartbeat.NEVER - 1L, (now - lastConfirmSent.getAsLong()) / 1_000_000L);
    }

    /** Why the lease is not valid now, for the log. */
    String lapseReason(long now) {
        if (watchdogDown(now)) {
            return "the watchdog cannot guard this host";
        }
        if (sessionLeaseMs.isEmpty()) {
            return "no session" + inheritedNote();
        }
        if (sessionLeaseMs.getAsLong() == 0) {
            return "no lease fits the negotiated session timeout";
        }
        if (lastConfirmSent.isEmpty()) {
            return "no confirmation yet in this session" + inheritedNote();
        }
        return "no confirmation for " + unconfirmedMs(now) + " ms";
    }

    private String inheritedNote() {
        return inheritedUntil.isPresent() ? "; the lease left by the previous daemon ended" : "";
    }

    // ---------------------------------------------------------------- lapses (rule 5, then rule 3)

    /** The lease lapsed while a strict majority of voters is freshly lost: keep everything. */
    void freeze() {
        require(State.LIVE);
        state = State.FROZEN;
    }

    /** Frozen, and the majority is no longer lost: wait until {@code untilNanos} for a confirmation. */
    void thaw(long untilNanos) {
        require(State.FROZEN);
        state = State.THAWING;
        thawUntil = untilNanos;
    }

    /** The majority is freshly lost again: stay frozen, without a deadline. */
    void refreeze() {
        if (!frozen()) {
            throw new IllegalStateException("refreeze in state " + state);
        }
        state = State.FROZEN;
    }

    /** Past the lease with no HA VM to guard: a frozen host stops being frozen, and may not freeze again. */
    void nothingToGuard() {
        if (frozen()) {
            state = State.SPENT;
        }
    }

    /** The host destroys its HA VMs: it runs none before a new confirmation. */
    void selfFence() {
        if (state == State.SELF_FENCED) {
            throw new IllegalStateException("already self-fenced");
        }
        state = State.SELF_FENCED;
    }

    // ---------------------------------------------------------------- what the watchdog is told

    /**
     * Until when the watchdog may let this host hold its HA VMs: a frozen host at most a heartbeat
     * timeout ahead (or its thaw deadline), so a frozen host that hangs is reset; otherwise the end of
     * a valid lease. Empty when past the lease or self-fenced: the published deadline lapses and the
     * machine resets unless the host finishes self-fencing.
     */
    OptionalLong watchdogDeadline(long now) {
        return switch (state) {
            case FROZEN -> OptionalLong.of(now + Peers.ms(settings.heartbeatTimeoutMs()));
            case THAWING -> OptionalLong.of(thawUntil);
            case LIVE, SPENT -> valid(now) ? end(now) : OptionalLong.empty();
            case SELF_FENCED -> OptionalLong.empty();
        };
    }

    /** Records {@code untilNanos} as published; returns whether it must be (released before, or later). */
    boolean arm(long untilNanos) {
        if (armedUntil.isPresent() && untilNanos <= armedUntil.getAsLong()) {
            return false;
        }
        armedUntil = OptionalLong.of(untilNanos);
        return true;
    }

    /** The deadline last published to the watchdog; empty while released. */
    OptionalLong armedUntil() {
        return armedUntil;
    }

    /** Records the watchdog as released; returns whether it was armed (so it must be told). */
    boolean release() {
        if (armedUntil.isEmpty()) {
            return false;
        }
        armedUntil = OptionalLong.empty();
        return true;
    }

    private void require(State expected) {
        if (state != expected) {
            throw new IllegalStateException("expected " + expected + ", but the lease is " + state);
        }
    }
}
