package io.havn.common.place;

import static io.havn.common.place.StateBuilder.hid;
import static io.havn.common.place.StateBuilder.vm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.ClusterState;
import io.havn.common.model.Json;
import io.havn.common.model.Rule;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link Admission}: how many host failures the cluster can absorb under its rules. */
class AdmissionTest {

    /** h1, h2, h3 (16 cpus, 32 GiB each), each running two 8 GiB VMs: one host's VMs fit on the other two. */
    private static StateBuilder roomForOne() {
        return new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768).host("h3", 16, 32_768)
                .vm("a1", "h1", 2, 8_192).vm("a2", "h1", 2, 8_192)
                .vm("b1", "h2", 2, 8_192).vm("b2", "h2", 2, 8_192)
                .vm("c1", "h3", 2, 8_192).vm("c2", "h3", 2, 8_192);
    }

    /** h1, h2, h3 (16 cpus, 32 GiB each), each full with four 8 GiB VMs. */
    private static StateBuilder full() {
        StateBuilder b = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768).host("h3", 16, 32_768);
        for (String h : List.of("h1", "h2", "h3")) {
            for (int i = 1; i <= 4; i++) {
                b.vm(h + "-v" + i, h, 2, 8_192);
            }
        }
        return b;
    }

    @Test
    void aClusterWithRoomForOneFailureAbsorbsOne() {
        Admission.Report r = Admission.assess(roomForOne().admission(1, false).build());
        assertEquals(1, r.tolerated(), r.toString());
        assertEquals(1, r.wanted());
        assertEquals(2, r.checked(), "up to tolerate + 1");
        // two failures: h1 and h2 (most HA memory, then name) leave 32 GiB of VMs for h3's 16 GiB free
        assertEquals(List.of(hid("h1"), hid("h2")), r.worst());
        assertNull(r.shortfall(), "no shortfall: it absorbs what is wanted");
    }

    @Test
    void aFullClusterAbsorbsNoneAndSaysWhichVmsCouldNotRestart() {
        Admission.Report r = Admission.assess(full().admission(1, true).build());
        assertEquals(0, r.tolerated(), r.toString());
        assertEquals(1, r.checked());
        assertEquals(List.of(hid("h1")), r.worst(), "the first host whose failure is not absorbed");
        assertTrue(r.strict());
        assertEquals("if host h1 failed, 4 HA VMs could not restart: h1-v1 (no eligible host has 2 cpus and 8192 MiB"
                + " free); h1-v2 (no eligible host has 2 cpus and 8192 MiB free); h1-v3 (no eligible host has 2 cpus"
                + " and 8192 MiB free); and 1 more", r.shortfall());
    }

    @Test
    void withNothingWantedTheCountStillShowsButNoShortfall() {
        Admission.Report r = Admission.assess(full().build());
        assertEquals(0, r.tolerated());
        assertEquals(0, r.wanted());
        assertNull(r.shortfall(), "nothing is short when nothing is wanted");
        Admission.Report ok = Admission.assess(roomForOne().build());
        assertEquals(1, ok.tolerated(), "at least 1 is always checked");
        assertEquals(1, ok.checked());
        assertNull(ok.worst());
    }

    @Test
    void aStrictHostRuleWhoseOnlyGroupHostFailsLowersIt() {
        ClusterState s = roomForOne().group("only-h1", "h1")
                .rule(new Rule.OnHosts("a1-pinned", List.of(vm("a1")), List.of("only-h1"), true, false))
                .admission(1, false).build();
        Admission.Report r = Admission.assess(s);
        assertEquals(0, r.tolerated(), r.toString());
        assertEquals(List.of(hid("h1")), r.worst());
        assertTrue(r.shortfall().startsWith("if host h1 failed, 1 HA VM could not restart: a1 (")
                && r.shortfall().contains("a1-pinned"), r.shortfall());
    }

    @Test
    void aReservedFailoverHostRaisesIt() {
        ClusterState reserved = full().host("spare", 16, 32_768).admission(1, true, "spare").build();
        Admission.Report r = Admission.assess(reserved);
        assertEquals(1, r.tolerated(), "the spare takes one host's VMs: " + r);
        assertNull(r.shortfall());
    }

    @Test
    void twoOrMoreFailuresTakeTheHostsWithTheMostHaMemory() {
        // four hosts with 20 GiB free each; h4 holds the most, then h1..h3 tie and go by name
        StateBuilder b = new StateBuilder();
        for (String h : List.of("h1", "h2", "h3", "h4")) {
            b.host(h, 16, 32_768).vm(h + "-v", h, 2, 12_288);
        }
        b.vm("h4-small", "h4", 1, 512);
        Admission.Report two = Admission.assess(b.admission(2, false).build());
        assertEquals(2, two.tolerated(), two.toString());
        assertEquals(3, two.checked());
        assertEquals(List.of(hid("h1"), hid("h2"), hid("h4")), two.worst(), "h4 first, then h1, h2 by name");
        assertNull(two.shortfall());

        Admission.Report three = Admission.assess(b.admission(3, false).build());
        assertEquals(2, three.tolerated());
        assertTrue(three.shortfall().startsWith("if hosts h1, h2, h4 failed, "), three.shortfall());
    }

    @Test
    void aChangeIsRefusedOnlyInStrictModeAndOnlyWhenItLowersTheCountBelowWanted() {
        // h1 and h2 run 16 GiB each, h3 nothing: any one failure is absorbed, and h1 and h2 together too
        StateBuilder before = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768).host("h3", 16, 32_768)
                .vm("a", "h1", 2, 16_384).vm("b", "h2", 2, 16_384);
        // a 24 GiB VM added on h3 fits on neither other host if h3 fails
        StateBuilder after = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768).host("h3", 16, 32_768)
                .vm("a", "h1", 2, 16_384).vm("b", "h2", 2, 16_384).vm("e", "h3", 4, 24_576);

        String refusal = Admission.refusal(before.admission(1, true).build(), after.admission(1, true).build());
        assertEquals("admission control (strict): after this change the cluster could absorb 0 host failures"
                + " (at least 2 now, 1 wanted): if host h3 failed, 1 HA VM could not restart: e (no eligible host has"
                + " 4 cpus and 24576 MiB free)", refusal);

        assertNull(Admission.refusal(before.admission(1, false).build(), after.admission(1, false).build()),
                "not strict: allowed");
        assertNull(Admission.refusal(before.admission(0, true).build(), after.admission(0, true).build()),
                "nothing wanted: allowed");
        assertNull(Admission.refusal(after.admission(1, true).build(), after.admission(1, true).build()),
                "already short, and no worse: allowed");
        assertNull(Admission.refusal(before.admission(1, true).build(), before.admission(1, true).build()),
                "still absorbs what is wanted: allowed");
    }

    @Test
    void theShortcutForVmsNoRuleNamesNeverChangesTheAnswer() {
        java.util.Random random = new java.util.Random(14);
        int shortfalls = 0;
        for (int round = 0; round < 400; round++) {
            StateBuilder b = new StateBuilder();
            int hosts = 3 + random.nextInt(4);
            for (int h = 1; h <= hosts; h++) {
                b.host("h" + h, 4 + random.nextInt(13), 8_192L * (1 + random.nextInt(4)));
            }
            int vms = random.nextInt(4 * hosts);
            for (int v = 0; v < vms; v++) {
                b.vm("v" + v, "h" + (1 + random.nextInt(hosts)), 1 + random.nextInt(4),
                        1_024L * (1 + random.nextInt(12)), io.havn.common.model.Priority.values()[random.nextInt(3)]);
            }
            if (vms >= 2 && random.nextBoolean()) {
                b.rule(new Rule.Apart("apart", List.of(vm("v0"), vm("v1")), true, null));
            }
            if (vms >= 3 && random.nextBoolean()) {
                b.group("g", "h1").rule(new Rule.OnHosts("pin", List.of(vm("v2")), List.of("g"), random.nextBoolean(),
                        false));
            }
            if (random.nextBoolean()) {
                b.host("spare", 16, 32_768).admission(random.nextInt(3), true, "spare");
            } else {
                b.admission(random.nextInt(4), false);
            }
            ClusterState s = b.build();
            Admission.Report fast = Admission.assess(s, true);
            assertEquals(Admission.assess(s, false), fast, "round " + round + ": " + s);
            shortfalls += fast.shortfall() == null ? 0 : 1;
        }
        assertTrue(shortfalls > 20, "the rounds cover clusters that fall short too: " + shortfalls);
    }

    @Test
    void itsJsonRoundTrips() {
        Admission.Report r = Admission.assess(full().admission(1, true).build());
        assertEquals(r, Json.fromJson(Json.toBytes(r), Admission.Report.class));
        Admission.Report ok = Admission.assess(roomForOne().build());
        assertEquals(ok, Json.fromJson(Json.toBytes(ok), Admission.Report.class));
    }
}
