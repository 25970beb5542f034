package io.havn.sim.world;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.node.Decision;
import io.havn.common.node.NodeEvent.WriteOutcome;
import io.havn.common.node.Settings;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The invariant checks can fail: each is shown a world that breaks it. */
class InvariantsTest {
    private static final HostId N1 = new HostId("node1");
    private static final HostId N2 = new HostId("node2");
    private static final VmId A = new VmId("a");

    private static SimWorld world() {
        SimWorld w = new SimWorld(1, Settings.defaults());
        w.addHost(N1, new HostCapacity(32, 131072), false);
        w.addHost(N2, new HostCapacity(32, 131072), false);
        w.addVm(new VmSpec(A, "a", 1, 1024, Priority.MEDIUM, true, "<domain type='kvm'><name>a</name></domain>"), N1);
        return w;
    }

    @Test
    void aVmOnTwoHostsIsAViolation() {
        SimWorld w = world();
        assertNull(w.violation());
        w.setDomainForTest(N2, A, DomainState.PAUSED);
        assertNull(w.violation(), "a paused copy beside the running one is a migration, not a second run");
        w.setDomainForTest(N2, A, DomainState.RUNNING);
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("runs on two hosts"), w.violation());
    }

    @Test
    void killingAVmItsRecordGivesToTheHostWithoutFencingIsANeedlessKill() {
        SimWorld w = world();
        w.destroyForTest(N1, A);
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("needless kill"), w.violation());
    }

    @Test
    void aVmDisappearingFromTheClusterStateIsAViolation() {
        SimWorld w = world();
        w.coordination.apply(List.of(new CoordOp.DeleteVm(A, 0)));
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("disappeared"), w.violation());
    }

    @Test
    void twoLeadersForOneEpochOrAnEpochGoingBackIsAViolation() {
        SimWorld w = world();
        w.onDecision(new Decision(0, N1, Decision.Kind.LEADER_ELECTED, null, null, 2, "epoch 2"));
        assertNull(w.violation());
        w.onDecision(new Decision(0, N2, Decision.Kind.LEADER_ELECTED, null, null, 2, "epoch 2"));
        assertTrue(w.violation() != null && w.violation().contains("two leaders"), String.valueOf(w.violation()));
        SimWorld v = world();
        v.onDecision(new Decision(0, N1, Decision.Kind.LEADER_ELECTED, null, null, 3, "epoch 3"));
        v.onDecision(new Decision(0, N2, Decision.Kind.LEADER_ELECTED, null, null, 2, "epoch 2"));
        assertTrue(v.violation() != null && v.violation().contains("went back"), String.valueOf(v.violation()));
    }

    @Test
    void aRecordWriteThatJumpsPhasesIsAViolationWhereAStepOfThePhaseTableIsNot() {
        SimWorld w = world();
        VmRecord running = w.record(A);
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(
                List.of(new CoordOp.PutVm(running.migratingTo(N2, 0), 0))));
        assertNull(w.violation(), "running to migrating is the leader's live migration");
        SimWorld v = world();
        // released without a migration or a relocation: the owner let go of a VM nobody took over
        assertEquals(WriteOutcome.OK, v.coordination.writeAsOutsider(
                List.of(new CoordOp.PutVm(running.withPhase(VmPhase.RELEASED, "jumped"), 0))));
        assertNotNull(v.violation());
        assertTrue(v.violation().contains("VM a went from phase running to released"), v.violation());
    }

    @Test
    void aRecordCreatedInAPhaseThePhaseTableDoesNotCreateIsAViolation() {
        SimWorld w = world();
        VmSpec b = new VmSpec(new VmId("b"), "b", 1, 1024, Priority.MEDIUM, true,
                "<domain type='kvm'><name>b</name></domain>");
        VmRecord placed = VmRecord.running(b, N2, 0).withPhase(VmPhase.PLACED, null);
        assertEquals(WriteOutcome.OK, w.coordination.writeAsOutsider(List.of(new CoordOp.PutVm(placed, CoordOp.NEW))));
        assertNotNull(w.violation());
        assertTrue(w.violation().contains("VM b was created in phase placed"), w.violation());
    }
}
