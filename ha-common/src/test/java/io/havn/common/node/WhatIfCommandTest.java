package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostId;
import io.havn.common.model.Json;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.place.WhatIf;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The what-if command and the status answer's admission, at the host that takes them: read-only. */
class WhatIfCommandTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final Caller BOB = new Caller("bob", 1002, Role.READ_ONLY);

    /** node1 (the node), node2 (session 5, running {@code web}) and node3, none fenceable, no leader. */
    private static OneNodeRig threeHostsWithWebOnNode2() {
        OneNodeRig rig = OneNodeRig.threeHosts(DomainPolicy.none());
        rig.vm(VmRecord.running(new VmSpec(new VmId("web"), "web", 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>web</name></domain>"), NODE2, 5), 0);
        return rig;
    }

    private static AdminReply ask(OneNodeRig rig, AdminCommand cmd) {
        rig.driver.handle(new NodeEvent.AdminRequest(1, cmd, BOB));
        AdminReply r = rig.replies.get(1L);
        assertNotNull(r, "answered at once\n" + rig.trail());
        return r;
    }

    @Test
    void whatIfIsAnsweredFromTheViewWithTheSettingsTimingsAndWritesNothing() {
        OneNodeRig rig = threeHostsWithWebOnNode2();
        int writes = rig.writes.size();

        AdminReply r = ask(rig, new AdminCommand.WhatIf(List.of(NODE2)));

        assertTrue(r.ok(), r.toString());
        assertEquals(NODE1, r.from());
        WhatIf.Entry web = r.whatIf().entryOf(new VmId("web"));
        assertEquals(NODE2, web.from());
        assertEquals(NODE1, web.to(), "node1 and node3 tie on free capacity: by name");
        Settings s = OneNodeRig.settings();
        long expected = s.heartbeatTimeoutMs() + s.sessionTimeoutMs() + WhatIf.RESTART_ESTIMATE_MS;
        assertEquals(expected, web.upAfterMs(), "detection + session expiry (no fence device) + restart");
        assertEquals(expected, r.whatIf().expectedRecoveryMs());
        assertNull(r.state(), "no cluster state in a what-if answer");
        assertEquals(writes, rig.writes.size(), "nothing written");
        assertTrue(rig.decisions.stream().noneMatch(d -> d.kind() == Decision.Kind.PLACE), "nothing placed");
    }

    @Test
    void aHostWithAFenceDeviceIsCountedWithTheFenceEstimate() {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("web");
        AdminReply r = ask(rig, new AdminCommand.WhatIf(List.of(NODE2)));
        assertEquals(OneNodeRig.settings().heartbeatTimeoutMs() + WhatIf.FENCE_PROOF_ESTIMATE_MS
                + WhatIf.RESTART_ESTIMATE_MS, r.whatIf().expectedRecoveryMs(), r.whatIf().basis());
        assertTrue(r.whatIf().basis().contains("(fence device)"), r.whatIf().basis());
    }

    @Test
    void anUnknownHostIsRefusedByNameAndNothingChanges() {
        OneNodeRig rig = threeHostsWithWebOnNode2();
        int writes = rig.writes.size();
        AdminReply r = ask(rig, new AdminCommand.WhatIf(List.of(NODE2, new HostId("node9"))));
        assertFalse(r.ok());
        assertEquals("unknown-host", r.code());
        assertEquals("what-if: no host node9 in the cluster", r.message());
        assertNull(r.whatIf());
        assertEquals(writes, rig.writes.size(), "nothing written");
    }

    @Test
    void statusLeavesTheCostlyReserveToTheDaemonAndItsStateIsWhatTheAssessmentReads() {
        OneNodeRig rig = threeHostsWithWebOnNode2();
        AdminReply r = ask(rig, new AdminCommand.Status());
        assertTrue(r.ok());
        assertNotNull(r.state());
        assertNull(r.admission(), "not assessed on the node's thread: " + r);
        io.havn.common.place.Admission.Report a = io.havn.common.place.Admission.assess(r.state());
        assertEquals(1, a.tolerated(), "web fits on node1 or node3: " + a);
        assertEquals(0, a.wanted());
        assertEquals(1, a.checked());
    }

    @Test
    void bothAnswersRoundTripThroughJsonAndAnOldAnswerStillReads() {
        OneNodeRig rig = threeHostsWithWebOnNode2();
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.WhatIf(List.of(NODE2)), BOB));
        rig.driver.handle(new NodeEvent.AdminRequest(2, new AdminCommand.Status(), BOB));
        for (long id : new long[] {1, 2}) {
            AdminReply r = rig.replies.get(id);
            String json = Json.toJson(r);
            assertEquals(r, Json.fromJson(json.getBytes(java.nio.charset.StandardCharsets.UTF_8), AdminReply.class),
                    json);
        }
        assertTrue(Json.toJson(rig.replies.get(1L)).contains("\"whatIf\":{"));
        AdminReply withReserve = new AdminReply(true, null, null, rig.replies.get(2L).state(), NODE1, null, null,
                io.havn.common.place.Admission.assess(rig.replies.get(2L).state()));
        String json = Json.toJson(withReserve);
        assertTrue(json.contains("\"admission\":{\"tolerated\":1,"), json);
        assertEquals(withReserve, Json.fromJson(json.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                AdminReply.class));
        assertFalse(Json.toJson(AdminReply.ok("done")).contains("whatIf"), "absent fields stay out");
        assertEquals(AdminReply.error("unknown-vm", "no HA VM x"),
                Json.fromJson("{\"ok\":false,\"code\":\"unknown-vm\",\"message\":\"no HA VM x\"}".getBytes(
                        java.nio.charset.StandardCharsets.UTF_8), AdminReply.class));
    }
}
