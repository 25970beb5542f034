package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.DesiredState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.Versioned;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.model.VmSpec;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The leader starts a VM whose start failed again only after a wait that doubles with each failed
 * start, capped at 30 s and spread per VM; the number of starts before ERROR is unchanged
 * (1 + maxRestart on each of 1 + maxRelocate hosts). On a manual clock: node1 leads from
 * maintenance (so it takes no VM itself), its peers' failed starts are written into the quorum as
 * the peers would write them.
 */
class StartRetryTest {
    private static final VmId A = new VmId("a");
    private static final String[] PEERS = {"node2", "node3", "node4"};

    @ParameterizedTest(name = "after {0} failed starts: {1} ms plus up to a quarter")
    @CsvSource({"1, 1000", "2, 2000", "3, 4000", "4, 8000", "5, 16000", "6, 30000", "7, 30000", "1000, 30000"})
    void theWaitDoublesFromASecondUpToThirtySecondsAndIsSpreadByAtMostAQuarter(int failures, long baseMs) {
        for (String name : new String[] {"a", "web1", "db-primary", "6f1c5c2e-2f6b-4a55-9c39-3d1d2d6f0a01"}) {
            long w = Recovery.startRetryWaitMs(new VmId(name), failures);
            assertTrue(w >= baseMs && w <= baseMs + baseMs / 4, name + ": " + w + " ms");
        }
    }

    @Test
    void twoVmsThatFailedTogetherDoNotRetryInStep() {
        assertNotEquals(Recovery.startRetryWaitMs(new VmId("web1"), 2), Recovery.startRetryWaitMs(new VmId("web2"), 2));
    }

    @Test
    void aVmThatCannotStartAnywhereIsRetriedLaterEachTimeAndEndsInErrorAfterTheSameNumberOfStarts() {
        OneNodeRig rig = leaderInMaintenance(Settings.defaults());
        Attempts a = failEveryStart(rig, 60_000);

        assertEquals(VmPhase.ERROR, rig.vms.get(A).value().phase(), rig.trail());
        assertEquals(6, a.failures, "1 + maxRestart starts on each of 1 + maxRelocate hosts, as before\n"
                + rig.trail());
        assertEquals(3, a.hosts.size(), "three hosts tried: " + a.hosts + "\n" + rig.trail());
        assertEquals(5, a.waited.size(), "a wait before each of the five retries\n" + rig.trail());
        List<Long> said = waitsSaid(rig);
        assertEquals(5, said.size(), "each wait is said in a START_RETRY decision\n" + rig.trail());
        for (int i = 0; i < said.size(); i++) {
            long base = 1_000L << i;
            assertTrue(said.get(i) >= base && said.get(i) <= base + base / 4, "wait " + (i + 1) + ": " + said);
            // the retry is written once the wait has passed (the next round, 100 ms), not before
            assertTrue(a.waited.get(i) >= said.get(i) && a.waited.get(i) <= said.get(i) + 200,
                    "retry " + (i + 1) + " after " + a.waited.get(i) + " ms, said " + said.get(i) + "\n" + rig.trail());
        }
        assertTrue(a.toError <= 200, "giving up is not delayed: " + a.toError + " ms\n" + rig.trail());
    }

    @Test
    void manyRetriesOnOneHostWaitNoLongerThanTheCap() {
        OneNodeRig rig = leaderInMaintenance(Settings.defaults().with(Map.of("maxRestart", 8, "maxRelocate", 0)));
        Attempts a = failEveryStart(rig, 400_000);

        assertEquals(VmPhase.ERROR, rig.vms.get(A).value().phase(), rig.trail());
        assertEquals(9, a.failures, "1 + maxRestart starts on the one host allowed\n" + rig.trail());
        assertEquals(1, a.hosts.size(), rig.trail());
        List<Long> said = waitsSaid(rig);
        assertEquals(8, said.size(), rig.trail());
        for (int i = 0; i < said.size(); i++) {
            long base = Math.min(30_000, 1_000L << i);
            assertTrue(said.get(i) >= base && said.get(i) <= base + base / 4, "wait " + (i + 1) + ": " + said);
            assertTrue(a.waited.get(i) >= said.get(i) && a.waited.get(i) <= said.get(i) + 200,
                    "retry " + (i + 1) + " after " + a.waited.get(i) + " ms, said " + said.get(i) + "\n" + rig.trail());
        }
        assertTrue(said.stream().allMatch(w -> w <= 30_000 + 30_000 / 4), "bounded: " + said);
    }

    // ---------------------------------------------------------------- the rig

    /** node1 leads epoch 1 from maintenance; node2 (session 5), node3 (9) and node4 (11) take VMs. */
    private static OneNodeRig leaderInMaintenance(Settings settings) {
        OneNodeRig rig = new OneNodeRig("node1", DomainPolicy.none(), settings);
        rig.host("node1", null, HostAdminState.MAINTENANCE, false, 0);
        for (String p : PEERS) {
            rig.host(p, null, false, 0);
        }
        rig.start(7);
        rig.live("node2", 5L);
        rig.live("node3", 9L);
        rig.live("node4", 11L);
        rig.lead(1);
        rig.passMs(settings.settleMs() + 1_000, PEERS);
        return rig;
    }

    /** What happened to VM a while every start of it failed. */
    private static final class Attempts {
        int failures;
        final Set<HostId> hosts = new LinkedHashSet<>();
        /** From each failed start to the leader's next placement of the VM, in ms. */
        final List<Long> waited = new ArrayList<>();
        /** From the last failed start to ERROR, in ms. */
        long toError = -1;
    }

    /**
     * Puts VM a on node2 (placed there, in session 5), then fails every start of it as its owner
     * would report it ({@link VmRecord#startFailed}), timing the leader's answers, for at most
     * {@code budgetMs}.
     */
    private static Attempts failEveryStart(OneNodeRig rig, long budgetMs) {
        VmSpec spec = new VmSpec(A, "a", 1, 512, Priority.MEDIUM, true, "<domain type='kvm'><name>a</name></domain>");
        rig.vm(new VmRecord(spec, DesiredState.RUNNING, VmPhase.PLACED, new HostId("node2"), 5, 2, null, 0, null, 0,
                List.of(), null), 3);
        Attempts a = new Attempts();
        long failedAt = fail(rig, a);
        for (long t = 0; t < budgetMs; t += 100) {
            rig.passMs(100, PEERS);
            VmRecord r = rig.vms.get(A).value();
            long ms = (rig.clock.nanos() - failedAt) / OneNodeRig.MS;
            if (r.phase() == VmPhase.ERROR) {
                a.toError = ms;
                return a;
            }
            if (r.phase() == VmPhase.PLACED) {
                a.waited.add(ms);
                failedAt = fail(rig, a);
            }
        }
        return a;
    }

    /** The owner's report that the start failed, written into the quorum; returns when. */
    private static long fail(OneNodeRig rig, Attempts a) {
        Versioned<VmRecord> vr = rig.vms.get(A);
        a.failures++;
        a.hosts.add(vr.value().owner());
        rig.vm(vr.value().startFailed("START failed: no such disk"), vr.version() + 1);
        return rig.clock.nanos();
    }

    /** The waits the leader announced, in order. */
    private static List<Long> waitsSaid(OneNodeRig rig) {
        return rig.decisions.stream().filter(d -> d.kind() == Decision.Kind.START_RETRY)
                .map(d -> Long.parseLong(d.detail().replaceAll("^.*; next attempt in (\\d+) ms.*$", "$1"))).toList();
    }
}
