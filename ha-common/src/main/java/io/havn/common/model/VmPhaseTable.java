package io.havn.common.model;

import static io.havn.common.model.VmPhase.ERROR;
import static io.havn.common.model.VmPhase.FROZEN;
import static io.havn.common.model.VmPhase.MIGRATING;
import static io.havn.common.model.VmPhase.NOT_RUNNING;
import static io.havn.common.model.VmPhase.PLACED;
import static io.havn.common.model.VmPhase.RECOVERING;
import static io.havn.common.model.VmPhase.RELEASED;
import static io.havn.common.model.VmPhase.RELOCATING;
import static io.havn.common.model.VmPhase.RUNNING;
import static io.havn.common.model.VmPhase.START_FAILED;
import static io.havn.common.model.VmPhase.STOPPED;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Which phase a VM record may move to from which, as the node writes them. Each row lists the
 * phases that may follow one phase, and says who writes each step: the leader (epoch-checked),
 * the owner or the migration target (bound to its live session), or an operator's request.
 *
 * <p>A write that keeps the phase is always allowed: an operator's edits (desired state, HA
 * setting, a move request), a host re-binding the record to its new session, and the leader
 * placing a VM again afresh. A record is created only in {@link #creatable() RUNNING or
 * RECOVERING}. The simulator holds every write to this table; a step the node starts making
 * belongs here first, with the writer that makes it.
 */
public final class VmPhaseTable {
    private static final Map<VmPhase, Set<VmPhase>> NEXT = new EnumMap<>(VmPhase.class);

    static {
        // owner: claims it, reports its start failed (a policy refusal, or a failure a listing
        // confirmed), or stops it on request; leader: re-places it once its owner is proven dead
        row(PLACED, RUNNING, START_FAILED, RECOVERING, STOPPED);
        // leader: moves it (live or cold), or re-places it once its owner is proven dead;
        // owner: reports it crashed or failed to start, stops it on request, or freezes it (or gives
        // it up) as its host shuts down; destroyed its copy paused on a storage error for another host
        // to run it (not running), or gave up a guest its agent monitor reset too often (error)
        row(RUNNING, MIGRATING, RELOCATING, PLACED, RECOVERING, NOT_RUNNING, START_FAILED, STOPPED, FROZEN, ERROR);
        // owner: claims it again in its new session; leader: re-places it once its owner is recorded
        // off, or stops it on request
        row(FROZEN, RUNNING, PLACED, RECOVERING, STOPPED);
        // owner: aborts or releases it; target: claims the migrated copy; leader: the source is dead;
        // owner: a failed start confirmed after the leader began the move
        row(MIGRATING, RUNNING, RELEASED, PLACED, RECOVERING, START_FAILED, STOPPED);
        // owner: releases it once shut down; leader: its owner is dead; owner: as for MIGRATING
        row(RELOCATING, RELEASED, PLACED, RECOVERING, START_FAILED, STOPPED);
        // target: claims the migrated copy; leader: places it (on the target if it never claimed)
        row(RELEASED, RUNNING, PLACED, RECOVERING, STOPPED);
        // leader: retries on the same host or elsewhere, or gives up
        row(START_FAILED, PLACED, RECOVERING, ERROR, STOPPED);
        // leader: places it, finds no room for it, or stops it on request
        row(NOT_RUNNING, PLACED, RECOVERING, STOPPED);
        row(RECOVERING, PLACED, STOPPED);
        row(STOPPED, PLACED, RECOVERING);
        // operator: starts it again (a fresh start); leader: stops it on request
        row(ERROR, RECOVERING, STOPPED);
    }

    private static final Set<VmPhase> CREATABLE = Collections.unmodifiableSet(EnumSet.of(RUNNING, RECOVERING));

    private VmPhaseTable() {
    }

    private static void row(VmPhase from, VmPhase... to) {
        EnumSet<VmPhase> next = EnumSet.of(from, to);
        NEXT.put(from, Collections.unmodifiableSet(next));
    }

    /** Whether a record in phase {@code from} may be written in phase {@code to}. */
    public static boolean allows(VmPhase from, VmPhase to) {
        return NEXT.get(from).contains(to);
    }

    /** The phases a record in {@code from} may be written in, {@code from} itself included. */
    public static Set<VmPhase> next(VmPhase from) {
        return NEXT.get(from);
    }

    /** The phases a new record may be created in: running where an operator added it, or waiting for a host. */
    public static Set<VmPhase> creatable() {
        return CREATABLE;
    }
}
