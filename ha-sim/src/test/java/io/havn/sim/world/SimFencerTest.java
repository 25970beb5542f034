package io.havn.sim.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.NodeEvent.FenceDone;
import io.havn.common.node.Settings;
import io.havn.common.port.Fencer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The simulated fence devices answer as a real fencer does. */
class SimFencerTest {
    private static final HostId N1 = new HostId("node1");
    private static final HostId N2 = new HostId("node2");

    private final SimWorld w = new SimWorld(1, Settings.defaults());
    private final List<NodeEvent> answers = new ArrayList<>();

    private Fencer fencer() {
        w.addHost(N1, new HostCapacity(32, 131072), true);
        w.addHost(N2, new HostCapacity(32, 131072), true);
        return w.fencer(N1, answers::add);
    }

    private void runFor(long ms) {
        long until = w.clock.nanos() + ms * SimWorld.MS;
        while (w.clock.runNext(until)) {
            // each due event runs in turn
        }
        w.clock.advanceTo(until);
    }

    @Test
    void theTargetsOwnDevicePowersItOffAndSaysSo() {
        fencer().powerOff(N2, w.host(N2).fenceDevice);
        runFor(SimWorld.FENCE_FAIL_MS + 1);
        assertEquals(List.of(new FenceDone(N2, true, null)), answers);
        assertFalse(w.host(N2).powered(), "powered off");
    }

    @Test
    void aDeviceThatIsNotTheTargetsPowersNothingOffAndFailsNamingIt() {
        Fencer f = fencer();
        f.powerOff(N2, "no-such-device");
        f.powerOff(N2, w.host(N1).fenceDevice);
        runFor(SimWorld.FENCE_FAIL_MS + 1);
        assertEquals(2, answers.size(), "one answer per call: " + answers);
        for (NodeEvent e : answers) {
            FenceDone d = (FenceDone) e;
            assertFalse(d.off(), "reported off by a device that is not node2's: " + d);
            assertTrue(d.error().contains("is not node2's"), d.error());
        }
        assertTrue(w.host(N2).powered(), "node2 still runs");
    }
}
