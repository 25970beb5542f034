package io.havn.common.node;

import io.havn.common.model.GuestMonitor;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.Versioned;
import io.havn.common.node.Decision.Kind;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Guest health through the QEMU guest agent, for the VMs that opted in ({@link GuestMonitor}). The
 * owner of a running guest pings its agent every interval once the boot grace has passed; after
 * {@code misses} pings in a row go unanswered it resets the guest (the same domain, on this host:
 * nothing else may run it meanwhile), at most {@code maxResets} times within the window; past that
 * it gives the VM up: the copy is destroyed first, then the record says {@code ERROR} with the reason
 * ({@link Reconciler#leave}), so no second copy can start before this one is gone.
 *
 * <p>A guest is not judged while it boots (the grace, counted again after every start, reset,
 * resume or pause), while it is paused, while a call for it is in flight, without a valid lease, nor
 * when its domain has no agent channel at all (said once). It changes nothing the safety rules rely
 * on: a reset keeps the guest where its record says it runs, and giving up goes through the owner's
 * own report like any guest it lost.
 */
final class GuestHealth {
    /** One monitored guest that runs here now. */
    private static final class Watch {
        /** Since when it has run here without a break (the grace counts from here). */
        long since;
        long lastPing = Long.MIN_VALUE;
        boolean pingInFlight;
        int misses;
        boolean noChannel;

        Watch(long since) {
            this.since = since;
        }
    }

    private final NodeContext n;
    private final LocalDomains local;
    private final LeaseKeeper lease;
    private final Reconciler reconciler;
    private final Map<VmId, Watch> watches = new HashMap<>();
    /** When each VM was reset here, within its window; kept across pauses, dropped when the VM leaves. */
    private final Map<VmId, ArrayDeque<Long>> resets = new HashMap<>();

    GuestHealth(NodeContext context, LocalDomains local, LeaseKeeper lease, Reconciler reconciler) {
        this.n = context;
        this.local = local;
        this.lease = lease;
        this.reconciler = reconciler;
    }

    /** The monitor of {@code vm} if this host owns it, runs it and it is monitored; null otherwise. */
    private GuestMonitor monitored(VmId vm) {
        Versioned<VmRecord> vr = n.vm(vm);
        if (vr == null) {
            return null;
        }
        VmRecord r = vr.value();
        if (!r.spec().ha() || r.spec().guestMonitor() == null || r.phase() != VmPhase.RUNNING
                || !r.names(n.self(), lease.session()) || !n.self().equals(r.owner())) {
            return null;
        }
        return r.spec().guestMonitor();
    }

    /** The periodic pass: pings each monitored guest that is due. */
    void tick(long now) {
        boolean mayAct = lease.registered() && lease.leaseValid(now) && !lease.selfFenced();
        for (Iterator<Map.Entry<VmId, Watch>> it = watches.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<VmId, Watch> e = it.next();
            VmId vm = e.getKey();
            if (local.inFlight(vm) == null && (local.state(vm) != DomainState.RUNNING || monitored(vm) == null)) {
                it.remove(); // stopped, paused, gone or no longer ours: judged afresh when it runs again
            }
        }
        resets.keySet().removeIf(vm -> {
            Versioned<VmRecord> vr = n.vm(vm);
            return vr == null || !n.self().equals(vr.value().owner());
        });
        for (Map.Entry<VmId, DomainState> d : local.domains().entrySet()) {
            VmId vm = d.getKey();
            if (d.getValue() != DomainState.RUNNING || local.inFlight(vm) != null) {
                continue;
            }
            GuestMonitor m = monitored(vm);
            if (m == null) {
                continue;
            }
            Watch w = watches.computeIfAbsent(vm, k -> new Watch(now));
            if (!mayAct || w.noChannel || w.pingInFlight || now - w.since < Peers.ms(m.graceMs())) {
                continue;
            }
            if (w.lastPing == Long.MIN_VALUE || now - w.lastPing >= Peers.ms(m.intervalMs())) {
                w.lastPing = now;
                w.pingInFlight = true;
                n.emit(new Effect.PingAgent(vm));
            }
        }
    }

    /** A ping's answer. */
    void onPinged(NodeEvent.AgentPinged e) {
        VmId vm = e.vm();
        Watch w = watches.get(vm);
        if (w == null || !w.pingInFlight) {
            return; // no longer judged (stopped, paused, reset meanwhile)
        }
        w.pingInFlight = false;
        GuestMonitor m = monitored(vm);
        if (m == null || local.state(vm) != DomainState.RUNNING || local.inFlight(vm) != null) {
            return;
        }
        switch (e.answer()) {
            case OK -> {
                if (w.misses > 0) {
                    n.decide(Kind.GUEST_HEALTHY, vm, null, "the guest agent answers again after " + w.misses
                            + " missed ping(s)");
                }
                w.misses = 0;
            }
            case NOT_CONFIGURED -> {
                w.noChannel = true;
                n.decide(Kind.ALARM, vm, null, "guest monitoring is on, but the domain has no guest agent channel: "
                        + "the guest is not judged (" + e.detail() + ")");
            }
            case NOT_RUNNING -> { }
            case NO_ANSWER -> {
                w.misses++;
                n.decide(Kind.GUEST_UNHEALTHY, vm, null, "the guest agent did not answer (" + w.misses + " of "
                        + m.misses() + "): " + e.detail());
                if (w.misses >= m.misses()) {
                    act(vm, w, m);
                }
            }
        }
    }

    /** Too many misses: reset the guest, or, past the resets allowed in the window, give it up. */
    private void act(VmId vm, Watch w, GuestMonitor m) {
        long now = n.now();
        ArrayDeque<Long> times = resets.computeIfAbsent(vm, k -> new ArrayDeque<>());
        while (!times.isEmpty() && now - times.peekFirst() >= Peers.ms(m.windowMs())) {
            times.removeFirst();
        }
        w.misses = 0;
        if (times.size() < m.maxResets()) {
            times.addLast(now);
            w.since = now; // it boots again: the grace starts over
            w.lastPing = Long.MIN_VALUE;
            n.decide(Kind.GUEST_RESET, vm, null, "the guest agent missed " + m.misses() + " pings in a row: reset "
                    + times.size() + " of at most " + m.maxResets() + " within " + m.windowMs() + " ms");
            local.op(vm, Hypervisor.Op.RESET, new Effect.Reset(vm));
            return;
        }
        String why = "guest agent silent after " + times.size() + " reset(s) within " + m.windowMs()
                + " ms: given up (vm start to try again)";
        watches.remove(vm);
        reconciler.leave(vm, VmPhase.ERROR, why);
    }

    /** How many pings in a row the agent of {@code vm} missed, -1 if it is not judged now (status). */
    int misses(VmId vm) {
        Watch w = watches.get(vm);
        return w == null ? -1 : w.misses;
    }
}
