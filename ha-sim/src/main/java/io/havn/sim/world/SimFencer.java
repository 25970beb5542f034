package io.havn.sim.world;

import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.FenceDone;
import io.havn.common.port.Fencer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The fence devices as one host's daemon reaches them: a device powers its host off after
 * {@link SimWorld#FENCE_MS}; a host without a device, or with a broken one, fails after
 * {@link SimWorld#FENCE_FAIL_MS}, and so does a device that is not the target's own (an unknown
 * name powers nothing off). A host may have further devices that misbehave as real ones do
 * ({@link SimHost#addFenceDevice}). The answer goes to the asking daemon's inbox, one per call.
 *
 * <p>Like the fence-agent adapter it stands for, it can be closed: a call in flight is answered
 * at once with a failure, and a call after close fails.
 */
public final class SimFencer implements Fencer, AutoCloseable {
    /** How long one attempt may take before the fencer gives it up, as the real adapter's deadline. */
    public static final long ATTEMPT_DEADLINE_MS = SimWorld.FENCE_FAIL_MS;
    /** What a {@link Behaviour#FAILS} device gives as its reason. */
    public static final String REFUSAL = "the device refused to power the host off";

    /** How a further fence device of a host behaves. */
    public enum Behaviour {
        /** Powers its host off and, asked, says it is off. */
        CONFIRMS,
        /** Says it powered its host off, but its status keeps saying on: failed at the deadline. */
        CLAIMS_BUT_STAYS_ON,
        /** Cannot power its host off and says why: {@link #REFUSAL}. */
        FAILS,
        /** Never answers: failed at the deadline. */
        HANGS
    }

    /** One call waiting for its answer, which close may give early. */
    private static final class Attempt {
        final HostId target;
        final String device;
        Runnable cancel;

        Attempt(HostId target, String device) {
            this.target = target;
            this.device = device;
        }
    }

    private final SimWorld world;
    private final Consumer<NodeEvent> inbox;
    private final List<Attempt> inFlight = new ArrayList<>();
    private boolean closed;

    SimFencer(SimWorld world, Consumer<NodeEvent> inbox) {
        this.world = world;
        this.inbox = inbox;
    }

    @Override
    public void powerOff(HostId target, String device) {
        Attempt a = new Attempt(target, device);
        SimHost t = world.host(target);
        if (closed) {
            answer(a, 0, () -> failed(target, "fencer is closed"));
            return;
        }
        Behaviour extra = t == null ? null : t.fenceDevices.get(device);
        if (extra != null && !device.equals(t.fenceDevice)) {
            powerOff(a, t, extra);
            return;
        }
        if (t != null && t.fenceDevice != null && !t.fenceDevice.equals(device)) {
            // as a real fencer: a device it does not know (or that is not this host's) powers nothing off
            answer(a, SimWorld.FENCE_FAIL_MS, () -> failed(target,
                    "fence device " + device + " is not " + target + "'s (" + t.fenceDevice + ")"));
            return;
        }
        if (t == null || t.fenceDevice == null || t.fenceBroken) {
            answer(a, SimWorld.FENCE_FAIL_MS, () -> failed(target, "fence device " + device + " did not answer"));
            return;
        }
        answer(a, SimWorld.FENCE_MS, () -> t.fenceBroken
                ? failed(target, "fence device " + device + " failed") : off(t));
    }

    /** A further device of {@code t}, behaving as it was made to. */
    private void powerOff(Attempt a, SimHost t, Behaviour b) {
        String device = a.device;
        switch (b) {
            case CONFIRMS -> answer(a, SimWorld.FENCE_MS, () -> off(t));
            case FAILS -> answer(a, SimWorld.FENCE_MS, () -> failed(t.id, "fence device " + device + " failed: " + REFUSAL));
            case CLAIMS_BUT_STAYS_ON -> answer(a, ATTEMPT_DEADLINE_MS, () -> failed(t.id, "fence device " + device
                    + " said it powered the host off, but its status still says on after " + ATTEMPT_DEADLINE_MS + " ms"));
            case HANGS -> answer(a, ATTEMPT_DEADLINE_MS, () -> failed(t.id,
                    "fence device " + device + " did not answer within " + ATTEMPT_DEADLINE_MS + " ms"));
        }
    }

    private FenceDone off(SimHost t) {
        world.fencedByDevice(t);
        return new FenceDone(t.id, true, null);
    }

    private static FenceDone failed(HostId target, String why) {
        return new FenceDone(target, false, why);
    }

    /** Answers {@code a} after {@code ms} with what {@code outcome} does then, unless close answers it first. */
    private void answer(Attempt a, long ms, Supplier<FenceDone> outcome) {
        inFlight.add(a);
        a.cancel = world.clock.schedule(ms * SimWorld.MS, () -> {
            inFlight.remove(a);
            inbox.accept(outcome.get());
        });
    }

    /**
     * Closes as a stopping daemon closes the real fencer: every attempt in flight is interrupted
     * and answered now with a failure; later calls fail. A second call does nothing.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Attempt a : new ArrayList<>(inFlight)) {
            a.cancel.run();
            inbox.accept(failed(a.target, "fencer closed: the attempt with " + a.device + " was interrupted"));
        }
        inFlight.clear();
    }
}
