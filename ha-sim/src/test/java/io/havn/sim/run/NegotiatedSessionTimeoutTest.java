package io.havn.sim.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.node.Decision;
import io.havn.sim.scenario.ScenarioParser;
import io.havn.sim.world.SimWorld;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** An ensemble that negotiates every session down below what the lease and the watchdog need. */
class NegotiatedSessionTimeoutTest {
    @Test
    void withNoRoomForALeaseNoHostRunsAnHaVmAndEachSaysWhy() {
        ScenarioRunner runner = new ScenarioRunner(ScenarioParser.parse("""
                name: no-room
                hosts: {node1: {}, node2: {}, node3: {}}
                vms: {c: {host: node3}}
                zkMaxSessionTimeout: 4s
                runFor: 30s
                """, "no-room.yaml"));
        SimWorld world = runner.world();
        List<Decision> alarms = new ArrayList<>();
        world.listen(new SimWorld.Listener() {
            @Override
            public void decision(Decision d) {
                if (d.kind() == Decision.Kind.ALARM && d.detail().contains("negotiated a session timeout of 4000 ms")) {
                    alarms.add(d);
                }
            }
        });
        RunResult r = runner.run();
        assertNull(r.violation(), "no invariant broken: " + r.violation());
        assertNotNull(r.settleFailure(), "the cluster cannot settle: nobody may run HA VMs");
        assertTrue(world.runningOn(new VmId("c")).isEmpty(), "c was destroyed on node3: " + world.runningOn(new VmId("c")));
        assertEquals(3, alarms.stream().map(Decision::host).distinct().count(), "every host says why: " + alarms);
        for (String h : List.of("node1", "node2", "node3")) {
            assertFalse(world.host(new HostId(h)).node().isReady(), h + " takes no work");
        }
        assertEquals(4_000, world.coordination.negotiatedTimeoutMs());
    }
}
