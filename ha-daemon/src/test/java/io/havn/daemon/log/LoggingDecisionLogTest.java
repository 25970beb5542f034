package io.havn.daemon.log;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.node.Decision;
import org.junit.jupiter.api.Test;

class LoggingDecisionLogTest {

    @Test
    void aDecisionIsOneLineWithHostVmEpochAndReason() {
        Decision d = new Decision(0, new HostId("node1"), Decision.Kind.PLACE, new VmId("web1"), new HostId("node2"), 7,
                "from node3 \"running\"");
        assertEquals("decision=place host=node1 vm=web1 subject=node2 epoch=7 reason=\"from node3 \\\"running\\\"\"",
                LoggingDecisionLog.format(d));
        assertEquals("decision=leader-elected host=node1 epoch=2",
                LoggingDecisionLog.format(new Decision(0, new HostId("node1"), Decision.Kind.LEADER_ELECTED, null, null,
                        2, null)));
    }
}
