package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.DesiredState;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What the node itself enforces on operators' requests, whatever the client checked: the caller's
 * role, and the domain policy (on vm-add at the origin and at the leader, and before any start).
 */
class NodeAdminGuardsTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final DomainPolicy SHARED = new DomainPolicy(List.of("/srv/shared"), false,
            DomainPolicy.DEFAULT_EMULATORS);

    private static VmSpec spec(String name, String disk) {
        return new VmSpec(new VmId(name), name, 1, 512, Priority.MEDIUM, true, "<domain type='kvm'><name>" + name
                + "</name><devices><disk type='" + (disk.startsWith("/dev/") ? "block' ><source dev='" : "file'>"
                + "<source file='") + disk + "'/><target dev='vda'/></disk></devices></domain>");
    }

    private static VmRecord placed(VmSpec spec, HostId host, long session) {
        return new VmRecord(spec, DesiredState.RUNNING, VmPhase.PLACED, host, session, 2, null, 0, null, 0,
                List.of(), null);
    }

    /** node1 (the node, with {@code policy}), node2 and node3; node1 registered in session 7; node2 leads. */
    private static OneNodeRig threeHosts(DomainPolicy policy) {
        OneNodeRig rig = OneNodeRig.threeHosts(policy);
        rig.driver.handle(new NodeEvent.EpochChanged(1, NODE2));
        rig.passMs(1_000, "node2", "node3");
        return rig;
    }

    private static boolean requestWritten(OneNodeRig rig) {
        return rig.writes.stream().flatMap(List::stream).anyMatch(op -> op instanceof CoordOp.PutRequest);
    }

    @Test
    void aHostHandedAVmWhoseDiskIsOutsideSharedStorageNeverStartsItAndReportsWhy() {
        OneNodeRig rig = threeHosts(SHARED);
        rig.vm(placed(spec("bad", "/dev/sda"), NODE1, 7), 3);
        rig.vm(placed(spec("good", "/srv/shared/good.qcow2"), NODE1, 7), 3);
        rig.passMs(1_000, "node2", "node3");
        assertFalse(rig.called("start bad"), "a spec the host's policy refuses is never started\n" + rig.trail());
        assertTrue(rig.called("start good"), "a spec on shared storage is\n" + rig.trail());
        VmRecord bad = rig.vms.get(new VmId("bad")).value();
        assertEquals(VmPhase.START_FAILED, bad.phase(), "reported as a failed start, so the leader retries elsewhere "
                + "and gives up after its limits\n" + rig.trail());
        assertEquals(1, bad.startFailures());
        assertTrue(bad.reason().contains("/dev/sda") && bad.reason().contains("refused by node1"), bad.reason());
        assertTrue(rig.writes.stream().flatMap(List::stream).noneMatch(op -> op instanceof CoordOp.PutVm p
                && p.record().id().value().equals("bad") && p.record().phase() == VmPhase.RUNNING),
                "no claim for a VM the host will not start\n" + rig.trail());
    }

    @Test
    void vmAddOfADomainReachingHostFilesIsRefusedByTheHostThatTakesItAndNothingIsWritten() {
        OneNodeRig rig = threeHosts(SHARED);
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.VmAdd(spec("bad", "/etc/shadow"))));
        AdminReply r = rig.replies.get(1L);
        assertNotNull(r, "answered at once");
        assertEquals("refused-domain", r.code(), r.toString());
        assertTrue(r.message().contains("/etc/shadow") && r.message().contains("not on shared storage"), r.message());
        assertFalse(requestWritten(rig), "nothing written");
    }

    @Test
    void vmAddWithANameThatWouldForgeOutputLinesIsRefused() {
        OneNodeRig rig = threeHosts(SHARED);
        VmSpec forged = new VmSpec(new VmId("x"), "x\nvm2 running node3", 1, 512, Priority.MEDIUM, true,
                "<domain type='kvm'><name>x&#10;vm2 running node3</name></domain>");
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.VmAdd(forged)));
        assertEquals("refused-domain", rig.replies.get(1L).code());
        assertTrue(rig.replies.get(1L).message().contains("invalid VM name 'x\\u000avm2"),
                rig.replies.get(1L).message());
        assertFalse(requestWritten(rig));
    }

    @Test
    void theLeaderRefusesAVmAddWhoseDomainItsPolicyRefusesWhateverTheOriginAccepted() {
        OneNodeRig rig = threeHosts(SHARED);
        rig.lead(2);
        ChangeRequest req = ChangeRequest.pending("node2.5.1", NODE2, 5,
                new AdminCommand.VmAdd(spec("bad", "/dev/sda")), false);
        rig.driver.handle(new NodeEvent.RequestChanged(req.id(), new Versioned<>(req, 0)));
        rig.passMs(500, "node2", "node3");
        List<CoordOp> verdict = rig.writes.stream().filter(w -> w.stream().anyMatch(op ->
                op instanceof CoordOp.PutRequest p && !p.record().pending())).findFirst().orElseThrow(() ->
                new AssertionError("the leader wrote no verdict\n" + rig.trail()));
        CoordOp.PutRequest p = (CoordOp.PutRequest) verdict.stream().filter(op -> op instanceof CoordOp.PutRequest)
                .findFirst().orElseThrow();
        assertEquals(ChangeRequest.Verdict.REFUSED, p.record().verdict());
        assertTrue(p.record().message().contains("/dev/sda"), p.record().message());
        assertTrue(verdict.stream().noneMatch(op -> op instanceof CoordOp.PutVm), "no VM written: " + verdict);
    }

    @Test
    void aRoleThatDoesNotCoverTheCommandIsDeniedNamingBothAndNothingIsWritten() {
        OneNodeRig rig = threeHosts(SHARED);
        Caller alice = new Caller("alice", 1001, Role.OPERATOR);
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.FenceConfirm(new HostId("node3")), alice));
        rig.driver.handle(new NodeEvent.AdminRequest(2, new AdminCommand.VmAdd(spec("ok", "/srv/shared/a")), alice));
        Caller bob = new Caller("bob", 1002, Role.READ_ONLY);
        rig.driver.handle(new NodeEvent.AdminRequest(3, new AdminCommand.Migrate(new VmId("ok"), NODE2), bob));
        rig.driver.handle(new NodeEvent.AdminRequest(4, new AdminCommand.Status(), bob));
        assertEquals("denied: fence-confirm needs role admin; alice has operator", rig.replies.get(1L).message());
        assertEquals("denied", rig.replies.get(1L).code());
        assertEquals("denied: vm-add needs role admin; alice has operator", rig.replies.get(2L).message());
        assertEquals("denied: migrate needs role operator; bob has read-only", rig.replies.get(3L).message());
        assertTrue(rig.replies.get(4L).ok(), "read-only may look");
        assertFalse(requestWritten(rig), "nothing written");
    }

    /** node1 (the node) and node3 live; node2 silent with its session gone: a fence confirm would pass but for {@code setup}. */
    private static OneNodeRig fenceConfirmOfSilentNode2(java.util.function.Consumer<OneNodeRig> setup) {
        OneNodeRig rig = new OneNodeRig("node1");
        rig.host("node1", null, false, 0);
        rig.host("node2", null, false, 0);
        rig.host("node3", null, false, 0);
        rig.start(7);
        rig.live("node3", 9L);
        rig.lead(1);
        rig.passMs(1_000, "node3");
        setup.accept(rig);
        Caller root = new Caller("root", 0, Role.ADMIN);
        rig.driver.handle(new NodeEvent.AdminRequest(1, new AdminCommand.FenceConfirm(NODE2), root));
        rig.passMs(200, "node3");
        return rig;
    }

    @Test
    void aFenceConfirmIsRefusedWhileTheHostsSignalShowsItAlive() {
        OneNodeRig rig = fenceConfirmOfSilentNode2(x -> x.driver.handle(new NodeEvent.SignalReceived(
                new HostSignal(NODE2, 1, 1, HostSignal.Guard.ARMED, 5_000))));
        AdminReply r = rig.replies.get(1L);
        assertNotNull(r);
        assertFalse(requestWritten(rig), "nothing written");
        assertFalse(r.ok(), r.message());
        assertEquals("host-alive", r.code());
        assertTrue(r.message().startsWith("host node2 is not off: its signal says it runs"), r.message());
    }

    @Test
    void aFenceConfirmIsRefusedWithinAPlannedRestartOfTheHostsDaemon() {
        OneNodeRig rig = fenceConfirmOfSilentNode2(x -> {
            io.havn.common.model.HostRecord announced = x.hosts.get(NODE2).value().withRestart(5, 60_000);
            x.hosts.put(NODE2, new Versioned<>(announced, 1));
            x.driver.handle(new NodeEvent.HostChanged(NODE2, x.hosts.get(NODE2)));
        });
        AdminReply r = rig.replies.get(1L);
        assertNotNull(r);
        assertFalse(requestWritten(rig), "nothing written");
        assertFalse(r.ok(), r.message());
        assertEquals("host-alive", r.code());
        assertTrue(r.message().contains("announced a planned restart"), r.message());
    }

    @Test
    void aFenceConfirmOfASilentHostWithNeitherIsTakenToTheLeader() {
        OneNodeRig rig = fenceConfirmOfSilentNode2(x -> { });
        assertTrue(requestWritten(rig), "the origin's checks pass: the request goes to the leader\n" + rig.trail());
    }

    @Test
    void everyCommandNeedsTheRoleItsRiskCalls() {
        assertEquals(Role.READ_ONLY, new AdminCommand.Status().role());
        for (AdminCommand c : List.of(new AdminCommand.Migrate(new VmId("a"), NODE1),
                new AdminCommand.Relocate(new VmId("a"), NODE1), new AdminCommand.Maintenance(NODE1, true),
                new AdminCommand.VmStop(new VmId("a")), new AdminCommand.VmStart(new VmId("a")),
                new AdminCommand.VmEnable(new VmId("a")), new AdminCommand.VmDisable(new VmId("a")))) {
            assertEquals(Role.OPERATOR, c.role(), c.name());
        }
        assertEquals(Role.ADMIN, new AdminCommand.FenceConfirm(NODE1).role());
        assertEquals(Role.ADMIN, new AdminCommand.VmAdd(spec("a", "/srv/shared/a")).role());
        assertEquals("fence-confirm", new AdminCommand.FenceConfirm(NODE1).name());
    }
}
