package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.GuestMonitor;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.StorageErrorPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import io.havn.common.port.DomainState;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Guests and storage, one node driven by events: the storage heartbeat as a liveness signal apart
 * from the daemon (it withholds fences, never more), this host's reach of its datastores in its host
 * record and in placement, guests paused on storage errors by policy, and the guest agent monitor.
 */
class GuestsAndStorageTest {
    private static final HostId NODE1 = new HostId("node1");
    private static final HostId NODE2 = new HostId("node2");
    private static final HostId NODE3 = new HostId("node3");
    private static final VmId A = new VmId("a");
    private static final String DS = "vmstore";

    // ---------------------------------------------------------------- the storage heartbeat as liveness

    /**
     * A leader node1, node2 fenceable running a; node2's daemon (and its network) falls silent for
     * {@code silentMs} while its storage slot on vmstore is read every second, advancing when
     * {@code advancing}, saying its watchdog is armed for {@code remainingMs} (less as time passes).
     */
    private static OneNodeRig node2IsolatedWritingStorage(long silentMs, boolean advancing, int remainingMs) {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("a");
        long seq = 100;
        for (long t = 0; t < silentMs; t += 1_000) {
            if (advancing) {
                seq++;
            }
            int left = (int) (remainingMs - t); // past its deadline the petter stops: its watchdog lapsed
            rig.driver.handle(new NodeEvent.StorageRound(DS, true, null, List.of(
                    left > 0 ? new HostSignal(NODE2, 1, seq, HostSignal.Guard.ARMED, left)
                            : new HostSignal(NODE2, 1, seq, HostSignal.Guard.LAPSED, 0),
                    new HostSignal(NODE1, 1, t, HostSignal.Guard.RELEASED, 0))));
            rig.passMs(1_000, "node3");
        }
        return rig;
    }

    @Test
    void anIsolatedHostWhoseStorageHeartbeatAdvancesIsNotFenced() {
        OneNodeRig rig = node2IsolatedWritingStorage(5_000, true, 30_000);
        assertTrue(rig.decided(Decision.Kind.SUSPECT), "its daemon is suspected\n" + rig.trail());
        assertFalse(rig.called("fence node2"), "its host still writes its storage slot under its lease: isolated, "
                + "not dead\n" + rig.trail());
        assertTrue(rig.decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.HOLD_OFF
                && d.detail().contains("storage heartbeat on vmstore")), rig.trail());
    }

    @Test
    void aStorageSlotThatNeverAdvancesShowsNothingAlive() {
        // the same record read over and over: a host long dead left it there
        OneNodeRig rig = node2IsolatedWritingStorage(5_000, false, 30_000);
        assertTrue(rig.called("fence node2"), "a still slot proves no life: fenced as before\n" + rig.trail());
        assertFalse(rig.decided(Decision.Kind.HOLD_OFF), rig.trail());
    }

    @Test
    void anIsolatedHostIsFencedOnceTheDeadlineItsStorageSlotStatedHasPassed() {
        OneNodeRig rig = node2IsolatedWritingStorage(6_000, true, 3_000);
        assertTrue(rig.called("fence node2"), "past the deadline its watchdog enforces, it is fenced\n" + rig.trail());
    }

    @Test
    void aHostThatLostPowerIsFencedAboutAsFastAsWithoutAStorageHeartbeat() {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("a");
        long seq = 1;
        for (int i = 0; i < 5; i++) { // node2 is well and writes its slot, its lease far ahead
            rig.driver.handle(new NodeEvent.StorageRound(DS, true, null, List.of(
                    new HostSignal(NODE2, 1, ++seq, HostSignal.Guard.ARMED, 6_000))));
            rig.passMs(1_000, "node2", "node3");
        }
        // power loss: its heartbeats and its slot stop at once; only node3 is heard, and the rounds
        // find node2's slot where it was
        long lossAt = rig.clock.nanos();
        for (int i = 0; i < 40 && !rig.called("fence node2"); i++) {
            if (i % 10 == 0) {
                rig.driver.handle(new NodeEvent.StorageRound(DS, true, null, List.of(
                        new HostSignal(NODE2, 1, seq, HostSignal.Guard.ARMED, 6_000))));
            }
            rig.passMs(100, "node3");
        }
        assertTrue(rig.called("fence node2"), rig.trail());
        long afterMs = (rig.clock.nanos() - lossAt) / 1_000_000L;
        assertTrue(afterMs <= 2_600, "a still slot holds off a fence two intervals at most: fenced " + afterMs
                + " ms after the power loss, its last slot saying 6 s of lease left\n" + rig.trail());
    }

    @Test
    void aFenceDevicesOffIsNoProofWhileTheStorageHeartbeatStillAdvances() {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("a");
        rig.passMs(5_000, "node3"); // node2 falls silent: fenced
        assertTrue(rig.called("fence node2"), rig.trail());
        // the device says off, yet node2's slot advances (twice: the first read is only the baseline)
        rig.driver.handle(new NodeEvent.StorageRound(DS, true, null, List.of(
                new HostSignal(NODE2, 1, 1, HostSignal.Guard.ARMED, 20_000))));
        rig.passMs(1_000, "node3");
        rig.driver.handle(new NodeEvent.StorageRound(DS, true, null, List.of(
                new HostSignal(NODE2, 1, 2, HostSignal.Guard.ARMED, 19_000))));
        rig.driver.handle(new NodeEvent.FenceDone(NODE2, true, null));
        rig.passMs(1_000, "node3");
        assertTrue(rig.accepted().stream().flatMap(List::stream).noneMatch(op -> op instanceof CoordOp.PutHost p
                && p.record().id().equals(NODE2) && p.record().offConfirmed()),
                "a device's off contradicted by the host's storage heartbeat is no proof\n" + rig.trail());
        assertTrue(rig.decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.ALARM
                && d.detail().contains("storage heartbeat")), rig.trail());
    }

    // ---------------------------------------------------------------- this host's reach

    /** node1 (the node) in a cluster of three, running {@code spec} as its owner, all settled. */
    private static OneNodeRig node1Running(VmSpec spec) {
        OneNodeRig rig = new OneNodeRig("node1", DomainPolicy.none());
        rig.host("node1", null, false, 0);
        rig.host("node2", null, false, 0);
        rig.host("node3", null, false, 0);
        rig.vm(VmRecord.running(spec, NODE1, 7), 0);
        rig.domains.put(spec.id(), DomainState.RUNNING);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.passMs(1_000, "node2", "node3");
        return rig;
    }

    private static VmSpec spec(List<String> datastores, StorageErrorPolicy policy, GuestMonitor monitor) {
        return new VmSpec(A, "a", 1, 512, Priority.MEDIUM, true, "<domain type='kvm'><name>a</name></domain>",
                datastores, policy, monitor);
    }

    private static void round(OneNodeRig rig, boolean ok) {
        rig.driver.handle(new NodeEvent.StorageRound(DS, ok, ok ? null : "I/O error", List.of()));
    }

    private static Map<String, Boolean> recordedReach(OneNodeRig rig) {
        return rig.hosts.get(NODE1).value().datastores();
    }

    @Test
    void theHostRecordSaysWhichDatastoresTheHostReachesAndLosesThemOnlyAfterTheTimeout() {
        OneNodeRig rig = node1Running(spec(List.of(), null, null));
        round(rig, true);
        rig.passMs(500, "node2", "node3");
        assertEquals(Map.of(DS, true), recordedReach(rig), rig.trail());
        // failed rounds for less than storageTimeoutMs: still reached (a slow round is no loss)
        for (int i = 0; i < 4; i++) {
            round(rig, false);
            rig.passMs(1_000, "node2", "node3");
        }
        round(rig, false); // 4.5 s after the last good round
        rig.passMs(1_000, "node2", "node3");
        assertEquals(Map.of(DS, true), recordedReach(rig), rig.trail());
        round(rig, false); // 5.5 s
        rig.passMs(500, "node2", "node3");
        assertEquals(Map.of(DS, false), recordedReach(rig), "lost after storageTimeoutMs\n" + rig.trail());
        assertTrue(rig.decided(Decision.Kind.STORAGE_LOST), rig.trail());
        round(rig, true);
        rig.passMs(500, "node2", "node3");
        assertEquals(Map.of(DS, true), recordedReach(rig), "back at the first good round\n" + rig.trail());
        assertTrue(rig.decided(Decision.Kind.STORAGE_BACK), rig.trail());
    }

    @Test
    void theLeaderPlacesAVmOnlyOnAHostThatReachesItsDatastores() {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("x");
        // node3 lost vmstore; node1 (the leader) reaches it
        rig.host(new HostRecord(NODE3, OneNodeRig.CAPACITY, null, null, HostAdminState.ACTIVE, false)
                .withDatastores(Map.of(DS, false)), 1);
        round(rig, true);
        rig.passMs(500, "node2", "node3");
        VmSpec s = spec(List.of(DS), null, null);
        rig.vm(new VmRecord(s, io.havn.common.model.DesiredState.RUNNING, VmPhase.RECOVERING, null, 0, 0, null, 0,
                null, 0, List.of(), "added"), 0);
        rig.passMs(1_000, "node2", "node3");
        VmRecord placed = rig.vms.get(A).value();
        assertTrue(placed.phase() == VmPhase.PLACED || placed.phase() == VmPhase.RUNNING, rig.trail());
        assertTrue(placed.owner().equals(NODE1) || placed.owner().equals(NODE2),
                "node3 does not reach vmstore: never chosen, got " + placed.owner() + "\n" + rig.trail());
    }

    @Test
    void aPlacementChecksTheTargetsHostRecordSoAReachLostMeanwhileVoidsIt() {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("x");
        // only node3 reaches vmstore, as the leader sees it
        for (HostId h : List.of(NODE1, NODE2)) {
            rig.host(new HostRecord(h, OneNodeRig.CAPACITY, null, h.equals(NODE2) ? "ipmi-node2" : null,
                    HostAdminState.ACTIVE, false).withDatastores(Map.of(DS, false)), 1);
        }
        rig.host(new HostRecord(NODE3, OneNodeRig.CAPACITY, null, null, HostAdminState.ACTIVE, false)
                .withDatastores(Map.of(DS, true)), 1);
        rig.passMs(500, "node2", "node3");
        // node3 has just written that it lost vmstore: the quorum has it, the leader's view does not yet
        rig.hosts.put(NODE3, new io.havn.common.model.Versioned<>(new HostRecord(NODE3, OneNodeRig.CAPACITY, null,
                null, HostAdminState.ACTIVE, false).withDatastores(Map.of(DS, false)), 2));
        rig.vm(new VmRecord(spec(List.of(DS), null, null), io.havn.common.model.DesiredState.RUNNING,
                VmPhase.RECOVERING, null, 0, 0, null, 0, null, 0, List.of(), "added"), 0);
        rig.passMs(1_000, "node2", "node3");
        assertTrue(rig.writes.stream().anyMatch(w -> w.stream().anyMatch(op -> op instanceof CoordOp.PutVm p
                && p.record().phase() == VmPhase.PLACED && NODE3.equals(p.record().owner()))),
                "the leader tried node3, by its view\n" + rig.trail());
        assertEquals(VmPhase.RECOVERING, rig.vms.get(A).value().phase(), "the quorum refused it: node3's record "
                + "changed since the leader judged it\n" + rig.trail());
    }

    @Test
    void aVmWhoseDatastoreNoHostReachesStaysRecoveringAndTheLeaderSaysWhy() {
        OneNodeRig rig = OneNodeRig.leadingWithFenceableNode2Running("x");
        for (HostId h : List.of(NODE2, NODE3)) {
            rig.host(new HostRecord(h, OneNodeRig.CAPACITY, null, h.equals(NODE2) ? "ipmi-node2" : null,
                    HostAdminState.ACTIVE, false).withDatastores(Map.of(DS, false)), 1);
        }
        round(rig, false);
        rig.passMs(1_000, "node2", "node3");
        rig.vm(new VmRecord(spec(List.of(DS), null, null), io.havn.common.model.DesiredState.RUNNING,
                VmPhase.RECOVERING, null, 0, 0, null, 0, null, 0, List.of(), "added"), 0);
        rig.passMs(1_000, "node2", "node3");
        assertEquals(VmPhase.RECOVERING, rig.vms.get(A).value().phase(), rig.trail());
        assertTrue(rig.decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.ALARM
                && d.detail().contains("reached by no host")), rig.trail());
        assertFalse(rig.calls.stream().anyMatch(c -> c.startsWith("fence")), "nothing is fenced for it\n" + rig.trail());
    }

    @Test
    void aPeerThatSaysItWritesADatastoreThisHostNeverSeesIsANotSharedAlarm() {
        OneNodeRig rig = node1Running(spec(List.of(), null, null));
        rig.host(new HostRecord(NODE2, OneNodeRig.CAPACITY, null, null, HostAdminState.ACTIVE, false)
                .withDatastores(Map.of(DS, true)), 1);
        for (int i = 0; i < 20; i++) {
            round(rig, true); // node1 reads the datastore fine, but never finds node2's slot there
            rig.passMs(1_000, "node2", "node3");
        }
        assertEquals(1, rig.decisions.stream().filter(d -> d.kind() == Decision.Kind.ALARM
                && d.detail().contains("is not shared")).count(), "said once, loudly\n" + rig.trail());
        assertFalse(rig.calls.stream().anyMatch(c -> c.startsWith("fence")), rig.trail());
    }

    // ---------------------------------------------------------------- guests paused on storage errors

    private static void pausedOnStorage(OneNodeRig rig) {
        rig.domains.put(A, DomainState.PAUSED_STORAGE);
        rig.driver.handle(new NodeEvent.DomainChanged(A, DomainState.PAUSED_STORAGE, false, "paused on a disk I/O error"));
    }

    @Test
    void resumeWaitsForItsStorageToAnswerThenResumes() {
        OneNodeRig rig = node1Running(spec(List.of(DS), StorageErrorPolicy.RESUME, null));
        round(rig, true);
        rig.passMs(500, "node2", "node3");
        pausedOnStorage(rig);
        for (int i = 0; i < 6; i++) {
            round(rig, false);
            rig.passMs(1_000, "node2", "node3");
        }
        assertFalse(rig.called("resume a"), "its storage does not answer: it stays paused\n" + rig.trail());
        assertTrue(rig.decided(Decision.Kind.STORAGE_PAUSED), rig.trail());
        round(rig, true);
        rig.passMs(500, "node2", "node3");
        assertTrue(rig.called("resume a"), "its storage answers again: resumed\n" + rig.trail());
        assertEquals(DomainState.RUNNING, rig.domains.get(A));
    }

    @Test
    void resumeWithoutADatastoreKnownTriesAgainEveryRetryInterval() {
        OneNodeRig rig = node1Running(spec(List.of(), null, null));
        pausedOnStorage(rig);
        rig.passMs(200, "node2", "node3");
        assertEquals(1, rig.calls.stream().filter("resume a"::equals).count(), rig.trail());
        pausedOnStorage(rig); // still failing: paused again at its next I/O
        rig.passMs(OneNodeRig.settings().storageResumeRetryMs() - 1_000, "node2", "node3");
        assertEquals(1, rig.calls.stream().filter("resume a"::equals).count(), "not before the retry interval\n"
                + rig.trail());
        rig.passMs(1_500, "node2", "node3");
        assertEquals(2, rig.calls.stream().filter("resume a"::equals).count(), rig.trail());
    }

    @Test
    void leavePausedNeverResumes() {
        OneNodeRig rig = node1Running(spec(List.of(DS), StorageErrorPolicy.LEAVE_PAUSED, null));
        round(rig, true);
        pausedOnStorage(rig);
        for (int i = 0; i < 10; i++) {
            round(rig, true);
            rig.passMs(1_000, "node2", "node3");
        }
        assertFalse(rig.called("resume a"), rig.trail());
        assertFalse(rig.called("destroy a"), rig.trail());
        assertEquals(VmPhase.RUNNING, rig.vms.get(A).value().phase(), rig.trail());
    }

    @Test
    void restartElsewhereDestroysTheCopyFirstThenLetsTheRecordGo() {
        OneNodeRig rig = node1Running(spec(List.of(DS), StorageErrorPolicy.RESTART_ELSEWHERE, null));
        round(rig, false);
        rig.passMs(200, "node2", "node3");
        pausedOnStorage(rig);
        rig.passMs(1_000, "node2", "node3");
        assertFalse(rig.called("destroy a"), "no other host is known to reach vmstore: kept here\n" + rig.trail());
        rig.host(new HostRecord(NODE2, OneNodeRig.CAPACITY, null, null, HostAdminState.ACTIVE, false)
                .withDatastores(Map.of(DS, true)), 1);
        rig.passMs(4_000, "node2", "node3");
        assertFalse(rig.called("destroy a"), "not before a storage timeout and two intervals since the pause: "
                + "node2's record may lag a loss it shares\n" + rig.trail());
        for (int i = 0; i < 400 && !rig.called("destroy a"); i++) {
            rig.clock.advance(10 * OneNodeRig.MS); // in small steps: the destroy takes 100 ms to complete
        }
        assertTrue(rig.called("destroy a"), "node2 reaches vmstore: the copy here goes\n" + rig.trail());
        assertTrue(rig.domains.containsKey(A), "the destroy has not completed yet");
        assertTrue(rig.writes.stream().noneMatch(w -> w.stream().anyMatch(op -> op instanceof CoordOp.PutVm p
                && p.record().phase() == VmPhase.NOT_RUNNING)),
                "the record says nothing while the copy is still here\n" + rig.trail());
        rig.passMs(1_000, "node2", "node3");
        assertFalse(rig.domains.containsKey(A), rig.trail());
        assertEquals(VmPhase.NOT_RUNNING, rig.vms.get(A).value().phase(), "then the owner reports it not running, "
                + "for the leader to restart it elsewhere\n" + rig.trail());
    }

    @Test
    void restartElsewhereWritesNothingWhileADestroyThatFailedLeftTheCopyAndDestroysItAgain() {
        OneNodeRig rig = node1Running(spec(List.of(DS), StorageErrorPolicy.RESTART_ELSEWHERE, null));
        rig.host(new HostRecord(NODE2, OneNodeRig.CAPACITY, null, null, HostAdminState.ACTIVE, false)
                .withDatastores(Map.of(DS, true)), 1);
        round(rig, false);
        pausedOnStorage(rig);
        rig.failDestroy.add(A);
        rig.passMs(10_000, "node2", "node3");
        assertTrue(rig.calls.stream().filter("destroy a"::equals).count() >= 2, "the failed destroy is tried again\n"
                + rig.trail());
        assertFalse(rig.domains.containsKey(A), rig.trail());
        assertEquals(VmPhase.NOT_RUNNING, rig.vms.get(A).value().phase(), rig.trail());
        // every write that let the record go was sent once the copy was gone
        for (int i = 0; i < rig.writes.size(); i++) {
            boolean letsGo = rig.writes.get(i).stream().anyMatch(op -> op instanceof CoordOp.PutVm p
                    && p.record().phase() == VmPhase.NOT_RUNNING);
            assertFalse(letsGo && rig.domainsAtWrite.get(i).contains(A), "write " + i + " let the record go while the "
                    + "copy was still here\n" + rig.trail());
        }
    }

    // ---------------------------------------------------------------- the guest agent monitor

    private static final GuestMonitor MONITOR = new GuestMonitor(1_000, 2, 3_000, 2, 600_000);

    @Test
    void aGuestWhoseAgentStopsAnsweringIsResetAtMostMaxResetsTimesThenGivenUp() {
        OneNodeRig rig = node1Running(spec(List.of(), null, MONITOR));
        rig.agent.put(A, NodeEvent.AgentAnswer.OK);
        rig.passMs(10_000, "node2", "node3");
        assertTrue(rig.called("ping a"), rig.trail());
        assertFalse(rig.called("reset a"), "a guest that answers is left alone\n" + rig.trail());
        rig.agent.put(A, NodeEvent.AgentAnswer.NO_ANSWER); // the guest hangs
        rig.passMs(60_000, "node2", "node3");
        assertEquals(2, rig.calls.stream().filter("reset a"::equals).count(), "two resets, its maximum\n" + rig.trail());
        assertTrue(rig.called("destroy a"), "then given up: its copy destroyed first\n" + rig.trail());
        assertEquals(VmPhase.ERROR, rig.vms.get(A).value().phase(), rig.trail());
        assertTrue(rig.vms.get(A).value().reason().contains("guest agent silent"), rig.trail());
        assertTrue(rig.calls.indexOf("destroy a") < rig.calls.size(), rig.trail());
    }

    @Test
    void noPingBeforeTheBootGraceAndAGuestThatAnswersAgainIsNotReset() {
        OneNodeRig rig = node1Running(spec(List.of(), null, MONITOR));
        rig.agent.put(A, NodeEvent.AgentAnswer.NO_ANSWER);
        rig.passMs(1_500, "node2", "node3"); // 2.5 s since the node first saw it run, of 3 s of grace
        assertFalse(rig.called("ping a"), "not judged while it boots\n" + rig.trail());
        rig.passMs(1_200, "node2", "node3");
        assertTrue(rig.called("ping a"), rig.trail());
        rig.agent.put(A, NodeEvent.AgentAnswer.OK); // one miss, then it answers
        rig.passMs(10_000, "node2", "node3");
        assertFalse(rig.called("reset a"), rig.trail());
        assertTrue(rig.decided(Decision.Kind.GUEST_HEALTHY), rig.trail());
    }

    @Test
    void aDomainWithoutAnAgentChannelIsNotJudged() {
        OneNodeRig rig = node1Running(spec(List.of(), null, MONITOR)); // the rig's default: no channel
        rig.passMs(30_000, "node2", "node3");
        assertEquals(1, rig.calls.stream().filter("ping a"::equals).count(), "asked once, then left alone\n"
                + rig.trail());
        assertFalse(rig.called("reset a"), rig.trail());
        assertTrue(rig.decisions.stream().anyMatch(d -> d.kind() == Decision.Kind.ALARM
                && d.detail().contains("no guest agent channel")), rig.trail());
    }

    @Test
    void anUnmonitoredGuestIsNeverPinged() {
        OneNodeRig rig = node1Running(spec(List.of(), null, null));
        rig.agent.put(A, NodeEvent.AgentAnswer.NO_ANSWER);
        rig.passMs(30_000, "node2", "node3");
        assertFalse(rig.called("ping a"), rig.trail());
    }
}
