package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import io.havn.common.port.CoordOp;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The leader of four hosts heartbeating two monitors each (SAFETY.md, "Monitors and gossiped
 * health"): node1 heartbeats node3 and node4 only, and hears of node2, which runs VM a under a
 * fence device, only through what they pass on.
 */
class GossipedHealthTest {
    private static final long MS = OneNodeRig.MS;
    private static final Settings SETTINGS = Settings.defaults().with(Map.of("monitors", 2));
    private static final HostId NODE2 = new HostId("node2");
    private static final List<String> MEMBERS = List.of("node1", "node2", "node3", "node4"); // name order

    private final OneNodeRig rig = new OneNodeRig("node1", DomainPolicy.none(), SETTINGS);
    private long sequence;

    GossipedHealthTest() {
        assertEquals(List.of(new HostId("node3"), new HostId("node4")),
                Monitors.of(MEMBERS.stream().map(HostId::new).toList(), new HostId("node1"), 2));
        rig.host("node1", null, false, 0);
        rig.host("node2", "ipmi-node2", false, 0);
        rig.host("node3", null, false, 0);
        rig.host("node4", null, false, 0);
        rig.vm(VmRecord.running(new VmSpec(new VmId("a"), "a", 1, 512, io.havn.common.model.Priority.MEDIUM, true,
                "<domain type='kvm'><name>a</name></domain>"), NODE2, 5), 0);
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.live("node4", 11L);
        rig.lead(1);
    }

    /**
     * node3 and node4 answer node1's last heartbeats, passing on node2's statement {@code node2AgeMs}
     * old (-1: none) and a sign of it alive apart from its daemon {@code apartAgeMs} old (-1: none).
     */
    private void monitorsAnswer(int node2AgeMs, int apartAgeMs) {
        for (String p : List.of("node3", "node4")) {
            byte[] e = new byte[2 * MEMBERS.size()];
            for (int i = 0; i < MEMBERS.size(); i++) {
                String h = MEMBERS.get(i);
                e[2 * i] = h.equals("node2") ? (node2AgeMs < 0 ? HealthDigest.NONE
                        : HealthDigest.statementOf(true, node2AgeMs * MS)) : HealthDigest.statementOf(true, 0);
                e[2 * i + 1] = h.equals("node2") && apartAgeMs >= 0 ? HealthDigest.apartOf(apartAgeMs * MS)
                        : HealthDigest.NONE;
            }
            HealthDigest d = new HealthDigest(Monitors.membersHash(MEMBERS.stream().map(HostId::new).toList()), e);
            Heartbeat ours = rig.sent.get(new HostId(p));
            rig.driver.handle(new NodeEvent.HeartbeatReceived(new Heartbeat(new HostId(p), 1, ++sequence, 1,
                    rig.clock.nanos(), ours == null ? Heartbeat.NO_ECHO : ours.sentNanos(), 0, false, d),
                    rig.clock.nanos()));
        }
    }

    private void passMs(long ms, int node2AgeMs, int apartAgeMs) {
        for (long t = 0; t < ms; t += 100) {
            rig.clock.advance(100 * MS);
            if (t % 200 == 0) {
                monitorsAnswer(node2AgeMs, apartAgeMs);
            }
        }
    }

    /** Settled with node2 heard of through the monitors; then node2 falls silent until node1 fences it. */
    private void node2FallsSilentAndIsFenced() {
        passMs(SETTINGS.settleMs(true) + 1_000, 300, -1);
        assertFalse(rig.called("fence node2"), "node2 is heard of through node3 and node4\n" + rig.trail());
        passMs(SETTINGS.gossipTimeoutMs() + 500, -1, -1);
        assertTrue(rig.called("fence node2"), "nothing said by node2 for the gossip timeout: fenced\n" + rig.trail());
    }

    private boolean recordedOff() {
        return rig.accepted().stream().flatMap(List::stream).anyMatch(op -> op instanceof CoordOp.PutHost p
                && p.record().id().equals(NODE2) && p.record().offConfirmed());
    }

    @Test
    void aHostThatIsNotAMonitorIsFencedOnceNothingItSaidIsPassedOnAndTheDeviceIsProof() {
        node2FallsSilentAndIsFenced();
        rig.driver.handle(new NodeEvent.FenceDone(NODE2, true, null));
        passMs(1_000, -1, -1);
        assertTrue(recordedOff(), "the device's off is proof\n" + rig.trail());
    }

    @Test
    void aFenceDevicesOffIsNoProofWhenAPeerPassedOnThatTheHostSpokeAfterFencingBegan() {
        node2FallsSilentAndIsFenced();
        rig.clock.advance(100 * MS);
        monitorsAnswer(0, -1); // node2 spoke again, after fencing began, and its monitors pass it on
        rig.driver.handle(new NodeEvent.FenceDone(NODE2, true, null));
        passMs(1_000, -1, -1);
        assertFalse(recordedOff(), "contradicted by what node2 said after fencing began\n" + rig.trail());
        assertTrue(rig.decided(Decision.Kind.ALARM), rig.trail());
    }

    @Test
    void aFenceDevicesOffIsNoProofWhileAPeerPassesOnThatTheHostsSignalShowsItAlive() {
        node2FallsSilentAndIsFenced();
        rig.clock.advance(100 * MS);
        monitorsAnswer(-1, 0); // node2's signal sender, heard by its monitors after fencing began
        rig.driver.handle(new NodeEvent.FenceDone(NODE2, true, null));
        passMs(1_000, -1, -1);
        assertFalse(recordedOff(), "contradicted by node2's signal, passed on\n" + rig.trail());
        assertTrue(rig.decided(Decision.Kind.ALARM), rig.trail());
    }

    @Test
    void aSilentDaemonWhoseSignalAPeerPassesOnIsNotFenced() {
        passMs(SETTINGS.settleMs(true) + 1_000, 300, -1);
        passMs(5_000, -1, 100); // its daemon silent, its signal sender heard by its monitors
        assertTrue(rig.decided(Decision.Kind.SUSPECT), rig.trail());
        assertFalse(rig.called("fence node2"), "its host is alive by its signal, passed on\n" + rig.trail());
        assertTrue(rig.decided(Decision.Kind.HOLD_OFF), rig.trail());
    }

    @Test
    void aHealthyStreakBegunWithGossipedHealthLastsTheLongerSettleTimeOnceTheClusterHeartbeatsAllToAll() {
        OneNodeRig r = new OneNodeRig("node1", DomainPolicy.none(), SETTINGS);
        r.host("node1", null, false, 0);
        r.host("node2", null, false, 0);
        r.host("node3", null, false, 0);
        r.host("node4", "ipmi-node4", false, 0);
        r.vm(VmRecord.running(new VmSpec(new VmId("b"), "b", 1, 512, io.havn.common.model.Priority.MEDIUM, true,
                "<domain type='kvm'><name>b</name></domain>"), new HostId("node4"), 11), 0);
        r.start(7);
        r.live("node2", 5L);
        r.live("node3", 9L);
        r.live("node4", 11L);
        r.lead(1);
        // four hosts, two monitors each: node1 hears node3 and node4, and of node2 through them
        long begun = r.clock.nanos();
        for (int t = 0; t < 3; t++) {
            r.clock.advance(100 * MS);
            byte[] e = new byte[2 * MEMBERS.size()];
            for (int i = 0; i < MEMBERS.size(); i++) {
                e[2 * i] = HealthDigest.statementOf(true, 0);
                e[2 * i + 1] = HealthDigest.NONE;
            }
            HealthDigest d = new HealthDigest(Monitors.membersHash(MEMBERS.stream().map(HostId::new).toList()), e);
            for (String p : List.of("node3", "node4")) {
                Heartbeat ours = r.sent.get(new HostId(p));
                // incarnation 0, as the rig's own heartbeats that follow
                r.driver.handle(new NodeEvent.HeartbeatReceived(new Heartbeat(new HostId(p), 0, ++sequence, 1,
                        r.clock.nanos(), ours == null ? Heartbeat.NO_ECHO : ours.sentNanos(), 0, false, d),
                        r.clock.nanos()));
            }
        }
        // node2 leaves the cluster: three hosts heartbeat all to all from now on, node4 falls silent
        r.driver.handle(new NodeEvent.HostChanged(new HostId("node2"), null));
        long checked = begun + (SETTINGS.settleMs(true) - 500) * MS;
        while (r.clock.nanos() < checked) {
            r.passMs(100, "node3");
        }
        assertFalse(r.called("fence node4"), "the streak began with gossiped health: it must last two gossip "
                + "timeouts plus W, not two heartbeat timeouts plus W\n" + r.trail());
        r.passMs(2_000, "node3");
        assertTrue(r.called("fence node4"), "and then node4 is fenced\n" + r.trail());
    }
}
