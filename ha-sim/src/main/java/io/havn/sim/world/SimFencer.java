package io.havn.sim.world;

import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.Fencer;
import java.util.function.Consumer;

/**
 * The fence devices as one host's daemon reaches them: a device powers its host off after
 * {@link SimWorld#FENCE_MS}; a host without a device, or with a broken one, fails after
 * {@link SimWorld#FENCE_FAIL_MS}, and so does a device that is not the target's own (an unknown
 * name powers nothing off). The answer goes to the asking daemon's inbox.
 */
final class SimFencer implements Fencer {
    private final SimWorld world;
    private final Consumer<NodeEvent> inbox;

    SimFencer(SimWorld world, Consumer<NodeEvent> inbox) {
        this.world = world;
        this.inbox = inbox;
    }

    @Override
    public void powerOff(HostId target, String device) {
        SimHost t = world.host(target);
        if (t != null && t.fenceDevice != null && !t.fenceDevice.equals(device)) {
            // as a real fencer: a device it does not know (or that is not this host's) powers nothing off
            world.clock.schedule(SimWorld.FENCE_FAIL_MS * SimWorld.MS, () -> inbox.accept(new NodeEvent.FenceDone(
                    target, false, "fence device " + device + " is not " + target + "'s (" + t.fenceDevice + ")")));
            return;
        }
        if (t == null || t.fenceDevice == null || t.fenceBroken) {
            world.clock.schedule(SimWorld.FENCE_FAIL_MS * SimWorld.MS, () -> inbox.accept(new NodeEvent.FenceDone(
                    target, false, "fence device " + device + " did not answer")));
            return;
        }
        world.clock.schedule(SimWorld.FENCE_MS * SimWorld.MS, () -> {
            if (t.fenceBroken) {
                inbox.accept(new NodeEvent.FenceDone(target, false, "fence device " + device + " failed"));
                return;
            }
            world.fencedByDevice(t);
            inbox.accept(new NodeEvent.FenceDone(target, true, null));
        });
    }
}
