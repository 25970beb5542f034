package io.havn.common.place;

import static io.havn.common.place.StateBuilder.hid;
import static io.havn.common.place.StateBuilder.spec;
import static io.havn.common.place.StateBuilder.vm;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.ClusterState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Json;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link WhatIf}: the leader's recovery of some hosts' HA VMs, replayed on a snapshot. */
class WhatIfTest {
    private static final long DETECT = 1_000;
    private static final long PROOF = 10_000;
    private static final long RESTART = 200;
    /** When a VM of a failed host without a fence device needs a host. */
    private static final long NEED = DETECT + PROOF;

    /** h1, h2, h3 (16 cpus, 32 GiB each); h1 runs a (high, 8 GiB), b (4 GiB), c (2 GiB); h2 runs x (8 GiB). */
    private static StateBuilder threeHosts() {
        return new StateBuilder()
                .host("h1", 16, 32_768).host("h2", 16, 32_768).host("h3", 16, 32_768)
                .vm("a", "h1", 2, 8_192, Priority.HIGH).vm("b", "h1", 2, 4_096).vm("c", "h1", 1, 2_048)
                .vm("x", "h2", 2, 8_192);
    }

    private static WhatIf.Report whatIf(ClusterState s, String... failing) {
        List<HostId> hs = new ArrayList<>();
        for (String f : failing) {
            hs.add(hid(f));
        }
        return WhatIf.of(s, hs, DETECT, PROOF, RESTART);
    }

    private static Map<VmId, HostId> placements(WhatIf.Report r) {
        Map<VmId, HostId> out = new LinkedHashMap<>();
        r.entries().forEach(e -> out.put(e.vm(), e.to()));
        return out;
    }

    private static List<String> order(WhatIf.Report r) {
        return r.entries().stream().map(e -> e.vm().value()).toList();
    }

    // ------------------------------------------------------------------ where

    @Test
    void vmsGoWhereTheLeadersPlannerWouldPutThem() {
        ClusterState s = threeHosts().build();

        WhatIf.Report r = whatIf(s, "h1");

        // the planner itself, on the surviving hosts with what they have free
        StateView view = StateView.of(s);
        List<Placement.Host> hosts = new ArrayList<>();
        view.free(List.of(hid("h2"), hid("h3"))).forEach((h, c) -> hosts.add(new Placement.Host(h, c)));
        List<Placement.Request> requests = new ArrayList<>();
        for (VmRecord v : view.haVmsOf(List.of(hid("h1")))) {
            requests.add(new Placement.Request(v.id(), v.spec().priority(), v.spec().cpus(), v.spec().memoryMiB(),
                    Set.of(), null));
        }
        Planner.Plan plan = new Planner(RuleIndex.EMPTY).place(requests, hosts, view.locator());
        assertEquals(plan.placed(), placements(r), "the same placements as the planner's own pass");
        // a (high) first onto the emptiest h3; b ties h2 and h3 at 24576 MiB and 14 cpus: by name h2; c to h3
        assertEquals(Map.of(vm("a"), hid("h3"), vm("b"), hid("h2"), vm("c"), hid("h3")), placements(r));
        assertEquals(List.of("a", "b", "c"), order(r), "one wave, in service order (priority, then size)");
        for (WhatIf.Entry e : r.entries()) {
            assertEquals(hid("h1"), e.from());
            assertEquals(1, e.wave(), e.toString());
            assertEquals(0, e.startOffsetMs(), e.toString());
            assertEquals(NEED + RESTART, e.upAfterMs(), e.toString());
            assertNull(e.why(), e.toString());
        }
        assertEquals(NEED + RESTART, r.expectedRecoveryMs());
        assertEquals(List.of(hid("h1")), r.failing());
    }

    @Test
    void onlyHaVmsWantedRunningOfTheFailingHostsAreListed() {
        ClusterState s = threeHosts()
                .vm(VmRecord.running(spec("plain", 1, 512, Priority.MEDIUM).withHa(false), hid("h1"), 100))
                .vm(VmRecord.running(spec("halted", 1, 512, Priority.MEDIUM), hid("h1"), 100)
                        .withDesired(io.havn.common.model.DesiredState.STOPPED))
                .build();
        assertEquals(List.of("a", "b", "c"), order(whatIf(s, "h1")), "not x (h2), not the non-HA or stopped ones");
        WhatIf.Report none = whatIf(s, "h3");
        assertEquals(List.of(), none.entries());
        assertEquals(0, none.expectedRecoveryMs());
        assertEquals("no HA VM of [h3] needs a new host", none.basis());
    }

    @Test
    void aHardApartRuleKeepsAVmOffTheHostItsPartnerRunsOn() {
        ClusterState s = threeHosts().vm("y", "h3", 1, 1_024)
                .rule(new Rule.Apart("a-from-y", List.of(vm("a"), vm("y")), true, null)).build();
        WhatIf.Report r = whatIf(s, "h1");
        assertEquals(hid("h2"), r.entryOf(vm("a")).to(), "h3 has the most free memory but runs y: " + r);
    }

    @Test
    void aStrictHostRuleSendsItsVmToItsGroupAndIsNamed() {
        ClusterState s = threeHosts().group("edge", "h2")
                .rule(new Rule.OnHosts("a-on-edge", List.of(vm("a")), List.of("edge"), true, false)).build();
        WhatIf.Entry a = whatIf(s, "h1").entryOf(vm("a"));
        assertEquals(hid("h2"), a.to(), "only h2 is allowed, though h3 has more free: " + a);
        assertEquals(List.of("a-on-edge"), a.rules());
    }

    @Test
    void aVmThatHardRulesKeepFromEveryHostWithRoomIsReportedWithTheRule() {
        ClusterState s = threeHosts().group("only-h1", "h1")
                .rule(new Rule.OnHosts("a-pinned", List.of(vm("a")), List.of("only-h1"), true, false)).build();
        WhatIf.Report r = whatIf(s, "h1");
        WhatIf.Entry a = r.entryOf(vm("a"));
        assertNull(a.to(), a.toString());
        assertEquals(0, a.wave());
        assertNull(a.upAfterMs());
        assertEquals(List.of("a-pinned"), a.rules());
        assertTrue(a.why().contains("excluded by hard rule a-pinned"), a.why());
        assertEquals(List.of("b", "c", "a"), order(r), "placed ones first, then the one left out");
        assertEquals(NEED + RESTART, r.expectedRecoveryMs(), "the placed ones' time");
    }

    // ------------------------------------------------------------------ when

    @Test
    void dependenciesAndDelaysMakeLaterWavesAndTheRecoveryTimeCountsTheLongestWait() {
        ClusterState s = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768)
                .vm("db", "h1", 2, 4_096).vm("app", "h1", 2, 4_096).vm("web", "h1", 1, 1_024)
                .rule(new Rule.After("app-after-db", List.of(vm("app")), List.of(vm("db")), null, 60_000, null))
                .rule(new Rule.StartDelay("web-delay", List.of(vm("web")), 5_000))
                .build();

        WhatIf.Report r = whatIf(s, "h1");

        assertEquals(List.of("db", "app", "web"), order(r));
        WhatIf.Entry db = r.entryOf(vm("db"));
        WhatIf.Entry app = r.entryOf(vm("app"));
        WhatIf.Entry web = r.entryOf(vm("web"));
        assertEquals(1, db.wave());
        assertEquals(0, db.startOffsetMs());
        assertEquals(2, app.wave(), "once db's record says running: " + app);
        assertEquals(RESTART, app.startOffsetMs(), "db's restart: " + app);
        assertEquals(List.of("app-after-db"), app.waits());
        assertEquals(3, web.wave());
        assertEquals(5_000, web.startOffsetMs(), "its start delay: " + web);
        assertEquals(List.of("web-delay"), web.waits());
        assertEquals(NEED + 5_000 + RESTART, r.expectedRecoveryMs(), r.basis());
        assertEquals("the last VM, web, runs after 16200 ms: detection 1000 + proof of death 10000 (session expiry)"
                + " + wait 5000 (rules web-delay) + restart 200", r.basis());
    }

    @Test
    void aRoundBeforeTheDependencyRunsDoesNotReleaseTheVmThatWaits() {
        // a round 100 ms after db is placed (for quick's delay) comes before db's record says running
        ClusterState s = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768)
                .vm("db", "h1", 2, 4_096).vm("app", "h1", 2, 4_096).vm("quick", "h1", 1, 1_024)
                .rule(new Rule.After("app-after-db", List.of(vm("app")), List.of(vm("db")), null, 60_000, null))
                .rule(new Rule.StartDelay("quick-delay", List.of(vm("quick")), 100))
                .build();
        WhatIf.Report r = whatIf(s, "h1");
        assertEquals(List.of("db", "quick", "app"), order(r));
        assertEquals(100, r.entryOf(vm("quick")).startOffsetMs());
        assertEquals(RESTART, r.entryOf(vm("app")).startOffsetMs(), "not at quick's round: " + r);
        assertEquals(3, r.entryOf(vm("app")).wave());
    }

    @Test
    void capacityTakenByAnEarlierWaveIsGoneForTheNext() {
        // one pass would serve the larger app first; the dependency makes db go first and take the room
        ClusterState s = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 8_192)
                .vm("db", "h1", 2, 4_096).vm("app", "h1", 2, 6_144)
                .rule(new Rule.After("app-after-db", List.of(vm("app")), List.of(vm("db")), null, 60_000, null))
                .build();
        WhatIf.Report r = whatIf(s, "h1");
        assertEquals(hid("h2"), r.entryOf(vm("db")).to());
        WhatIf.Entry app = r.entryOf(vm("app"));
        assertNull(app.to(), app.toString());
        assertEquals("no eligible host has 2 cpus and 6144 MiB free", app.why());
    }

    @Test
    void aDependencyThatNeverRestartsKeepsAStayDownVmDown() {
        ClusterState s = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768).group("g1", "h1")
                .vm("db", "h1", 2, 4_096).vm("app", "h1", 2, 4_096)
                .rule(new Rule.OnHosts("db-on-g1", List.of(vm("db")), List.of("g1"), true, false))
                .rule(new Rule.After("app-after-db", List.of(vm("app")), List.of(vm("db")), null, 30_000,
                        Rule.OnTimeout.STAY_DOWN))
                .build();
        WhatIf.Entry app = whatIf(s, "h1").entryOf(vm("app"));
        assertNull(app.to(), app.toString());
        assertEquals("waits for db (rule app-after-db), stay-down: db does not restart", app.why());
        assertEquals(List.of("app-after-db"), app.waits());
    }

    @Test
    void aDependencyThatNeverRestartsLetsAStartOnTimeoutVmGoAfterTheTimeout() {
        ClusterState s = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768).group("g1", "h1")
                .vm("db", "h1", 2, 4_096).vm("app", "h1", 2, 4_096)
                .rule(new Rule.OnHosts("db-on-g1", List.of(vm("db")), List.of("g1"), true, false))
                .rule(new Rule.After("app-after-db", List.of(vm("app")), List.of(vm("db")), null, 30_000,
                        Rule.OnTimeout.START))
                .build();
        WhatIf.Report r = whatIf(s, "h1");
        WhatIf.Entry app = r.entryOf(vm("app"));
        assertEquals(hid("h2"), app.to(), app.toString());
        assertEquals(1, app.wave(), "the first wave that places anything");
        assertEquals(30_000, app.startOffsetMs());
        assertEquals(NEED + 30_000 + RESTART, r.expectedRecoveryMs());
        assertNull(r.entryOf(vm("db")).to());
    }

    @Test
    void aDependencyRunningOnASurvivingHostIsReadyAtOnce() {
        ClusterState s = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768)
                .vm("db", "h2", 2, 4_096).vm("app", "h1", 2, 4_096)
                .rule(new Rule.After("app-after-db", List.of(vm("app")), List.of(vm("db")), null, 60_000,
                        Rule.OnTimeout.STAY_DOWN))
                .build();
        WhatIf.Entry app = whatIf(s, "h1").entryOf(vm("app"));
        assertEquals(1, app.wave());
        assertEquals(0, app.startOffsetMs());
        assertEquals(List.of(), app.waits());
    }

    @Test
    void aHostWithAFenceDeviceIsProvenDeadSooner() {
        ClusterState s = new StateBuilder()
                .host(new HostRecord(hid("h1"), new HostCapacity(16, 32_768), null, "ipmi-h1", HostAdminState.ACTIVE,
                        false), true)
                .host("h2", 16, 32_768).vm("a", "h1", 1, 1_024).build();
        WhatIf.Report r = WhatIf.of(s, List.of(hid("h1")), new WhatIf.Timing(DETECT, PROOF, 2_000, RESTART));
        assertEquals(DETECT + 2_000 + RESTART, r.expectedRecoveryMs());
        assertTrue(r.basis().contains("proof of death 2000 (fence device)"), r.basis());
    }

    @Test
    void aMigrationTargetTakesTheVmWhoseSourceFailsAndASourceKeepsOneWhoseTargetFails() {
        StateBuilder b = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768).host("h3", 16, 32_768);
        VmSpec out = spec("out", 1, 1_024, Priority.MEDIUM);
        VmSpec in = spec("in", 1, 1_024, Priority.MEDIUM);
        ClusterState s = b.vm(VmRecord.running(out, hid("h1"), b.session(hid("h1")))
                        .migratingTo(hid("h2"), b.session(hid("h2"))))
                .vm(VmRecord.running(in, hid("h3"), b.session(hid("h3"))).migratingTo(hid("h1"), b.session(hid("h1"))))
                .build();
        WhatIf.Report r = whatIf(s, "h1");
        assertEquals(List.of("out"), order(r), "'in' stays on its source h3");
        assertEquals(hid("h2"), r.entryOf(vm("out")).to(), "its migration target takes it");
    }

    @Test
    void aVmFrozenOnAHostWithoutAFenceDeviceWaitsForAnOperator() {
        StateBuilder b = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768)
                .host(new HostRecord(hid("h3"), new HostCapacity(16, 32_768), null, "ipmi-h3", HostAdminState.ACTIVE,
                        false), true);
        ClusterState s = b.vm(VmRecord.running(spec("cold", 1, 1_024, Priority.MEDIUM), hid("h1"), b.session(hid("h1")))
                        .withPhase(io.havn.common.model.VmPhase.FROZEN, "host shutting down"))
                .vm(VmRecord.running(spec("fenced", 1, 1_024, Priority.MEDIUM), hid("h3"), b.session(hid("h3")))
                        .withPhase(io.havn.common.model.VmPhase.FROZEN, "host shutting down"))
                .build();
        WhatIf.Report r = whatIf(s, "h1", "h3");
        WhatIf.Entry cold = r.entryOf(vm("cold"));
        assertNull(cold.to(), cold.toString());
        assertTrue(cold.why().startsWith("frozen on h1"), cold.why());
        assertEquals(hid("h2"), r.entryOf(vm("fenced")).to(), "its fence device proves h3 off");
    }

    // ------------------------------------------------------------------ input and output

    @Test
    void anUnknownHostIsRefusedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> whatIf(threeHosts().build(), "h1", "nosuch"));
        assertEquals("what-if: no host nosuch in the cluster", e.getMessage());
    }

    @Test
    void theSameStateGivesTheSameReportAndItsJsonRoundTrips() {
        ClusterState s = threeHosts().group("only-h1", "h1")
                .rule(new Rule.OnHosts("a-pinned", List.of(vm("a")), List.of("only-h1"), true, false)).build();
        WhatIf.Report r = whatIf(s, "h1");
        assertEquals(r, whatIf(s, "h1"));
        WhatIf.Report back = Json.fromJson(Json.toBytes(r), WhatIf.Report.class);
        assertEquals(r, back);
        assertNotNull(back.entryOf(vm("a")).why());
    }
}
