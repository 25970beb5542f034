package io.havn.sim.cluster;

import io.havn.common.node.Decision;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.Priority;

import org.junit.jupiter.api.Test;

class FailoverTest {

    @Test
    void crashWithFenceDeviceRestartsVmsElsewhereWithinSeconds() {
        TestCluster c = new TestCluster();
        c.addHost("node1", true);
        c.addHost("node2", true);
        c.addHost("node3", true);
        c.addRunningVm("a", "node2", Priority.MEDIUM);
        c.addRunningVm("b", "node2", Priority.HIGH);
        c.addRunningVm("c", "node3", Priority.MEDIUM);
        c.start();
        c.runMs(5_000);
        assertTrue(c.runsOn("a", "node2"), "a adopted on node2");
        c.crash("node2");
        long took = c.awaitMs(8_000, () -> c.runsNotOn("a", "node2") && c.runsNotOn("b", "node2"),
                "a and b run again elsewhere");
        assertTrue(took < 5_000, "restart after crash took " + took + " ms");
        assertTrue(c.decided("node1", Decision.Kind.FENCE_OFF), c.trail());
        assertTrue(c.runsOn("c", "node3"));
    }
}
