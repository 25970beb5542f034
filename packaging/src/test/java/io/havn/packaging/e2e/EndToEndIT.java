package io.havn.packaging.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.packaging.e2e.Results.Fact;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * havn end to end on real libvirt and QEMU: three hosts made of namespaces on this machine, a
 * ZooKeeper server, six KVM (or TCG) guests and a havnd per host, built and torn down by the
 * harness {@code src/e2e/e2e.sh}, which drives the faults and writes what it saw. The harness runs
 * once; each test checks one step's facts. It fails with the harness's output when a step fails.
 * What the harness needs and the machine lacks (libvirt, QEMU, ...) it installs as root with
 * apt-get ({@link Prerequisites}); it is skipped, saying what to run, only where the machine cannot
 * run it at all: not root, no namespaces, or programs missing and no apt-get to install them.
 *
 * <p>The times are the harness's own: from the power cut or the isolation to each guest seen
 * running in {@code virsh list} on a survivor, polled every ~0.1 s. The guests' disks are LUNs of
 * a user-space iSCSI target; two steps fault it: the target stops serving its LUNs for 20 s, and
 * one host loses its path to it for 30 s.
 */
class EndToEndIT {
    /** zookeeper.sessionTimeoutMs of the harness's configs (the default). */
    private static final double SESSION_TIMEOUT_S = 10;
    /** settings.leaseMs + settings.watchdogMs: a host is without its guests by then. */
    private static final double LEASE_PLUS_WATCHDOG_S = 9;
    /** The guests' boot sector writes this at 0x7e04 ("HAVN"). */
    private static final String GUEST_MAGIC = "0x4e564148";

    private static Harness.Run run;

    @BeforeAll
    static void runTheHarness() throws Exception {
        String why = Harness.cannotRun();
        if (why == null) {
            why = Prerequisites.install(System.out::println);
        }
        if (why != null) {
            System.out.println("EndToEndIT skipped: " + why);
        }
        Assumptions.assumeTrue(why == null, why);
        Path module = Harness.moduleDir();
        run = new Harness(module, module.resolve("target/e2e")).run();
        assertEquals(0, run.exit(), () -> "the end-to-end harness failed (exit " + run.exit() + "); its output:\n"
                + run.output());
    }

    @Test
    void aStalledRestartedOrStarvedHavndCostsNoFenceAndNoGuestRestart() {
        for (String what : List.of("a 4 s stall", "a planned restart of 10 s", "every core busy for 30 s")) {
            List<Fact> kept = run.results().all("kept", "what", what);
            assertTrue(kept.size() >= 2, "host1's guests were checked after " + what + ": " + run.results());
            for (Fact k : kept) {
                assertEquals("host1", k.get("host"), "still on host1: " + k);
                assertTrue(k.number("counter_after") >= k.number("counter_before"),
                        "the guest's own uptime counter went on; a restart would have reset it: " + k);
            }
        }
    }

    @Test
    void maintenanceLiveMigratesEveryGuestOffTheHostWithoutRestartingIt() {
        List<Fact> migrated = run.results().all("migrated", "from", "host2");
        assertEquals(2, migrated.size(), "host2's two guests migrated: " + run.results());
        for (Fact m : migrated) {
            assertTrue(Set.of("host1", "host3").contains(m.get("to")), "to a host not in maintenance: " + m);
            // libvirt says "migrated" for a guest resumed by the migration itself and "unpaused"
            // for one resumed after it (havn migrates paused, then resumes once it has claimed
            // the VM); a guest started afresh says "booted"
            assertTrue(Set.of("running (migrated)", "running (unpaused)").contains(m.get("state")),
                    "the guest runs as a migrated one, not a booted one: " + m);
            assertEquals(GUEST_MAGIC, m.get("magic"), "the guest runs the test's boot sector: " + m);
            assertTrue(m.number("counter_after") >= m.number("counter_before"),
                    "the guest's own uptime counter went on; a restart would have reset it: " + m);
        }
        assertEquals(0, run.results().one("drained", "host", "host2").number("running"), "host2 ends empty");
    }

    @Test
    void powerLossWithFenceDevicesRestartsTheGuestsElsewhereBeforeAnySessionCouldExpire() {
        List<Fact> recovered = run.results().all("recovered", "path", "fence");
        assertTrue(recovered.size() >= 2, "host3's guests were timed: " + run.results());
        for (Fact r : recovered) {
            assertTrue(Set.of("host1", "host2").contains(r.get("on")), "on a survivor: " + r);
            assertTrue(r.number("seconds") < SESSION_TIMEOUT_S,
                    "the fence device's proof, not the session's expiry, let it restart: " + r);
        }
        assertNeverHeldTwice("power loss (fence path)");
    }

    @Test
    void powerLossWithoutFenceDevicesRestartsTheGuestsOnlyAfterTheSessionExpired() {
        List<Fact> recovered = run.results().all("recovered", "path", "expiry");
        assertTrue(recovered.size() >= 2, "host3's guests were timed: " + run.results());
        for (Fact r : recovered) {
            assertTrue(Set.of("host1", "host2").contains(r.get("on")), "on a survivor: " + r);
            assertTrue(r.number("seconds") >= SESSION_TIMEOUT_S,
                    "without a fence device nothing may restart before host3's session expired: " + r);
        }
        assertNeverHeldTwice("power loss (expiry path)");
        Fact summary = run.results().one("summary");
        assertTrue(summary.number("fence_median") < summary.number("expiry_median"), summary.toString());
        assertTrue(run.output().contains("e2e: power loss -> VM running: fence path median "),
                "the summary line is printed: " + run.output());
    }

    @Test
    void anIsolatedHostDestroysItsGuestsItselfBeforeTheyRunElsewhere() {
        double selfFenced = run.results().one("selffenced", "host", "host1").number("seconds");
        assertTrue(selfFenced < LEASE_PLUS_WATCHDOG_S, "host1 destroyed its guests within lease + watchdog: "
                + selfFenced + " s");
        List<Fact> recovered = run.results().all("recovered", "path", "isolation");
        assertTrue(recovered.size() >= 2, "host1's guests were timed: " + run.results());
        for (Fact r : recovered) {
            assertTrue(Set.of("host2", "host3").contains(r.get("on")), "on another host: " + r);
            assertTrue(r.number("seconds") > selfFenced, "restarted only after host1 destroyed its copy: " + r);
            assertTrue(r.number("seconds") >= SESSION_TIMEOUT_S, "restarted only after host1's session expired: " + r);
        }
        assertNeverHeldTwice("isolation");
        assertTrue(run.results().one("rejoined", "host", "host1").number("self_fences_total") >= 1,
                "host1's havnd counts its self-fencing, and rejoined in a new session: " + run.results());
    }

    @Test
    void aStorageOutagePausesEveryGuestOnAnIoErrorAndEachRunsOnWhereItWasOnceItIsOver() {
        List<Fact> guests = run.results().all("storage-outage");
        assertEquals(6, guests.size(), "every guest was followed through the outage: " + run.results());
        for (Fact g : guests) {
            assertEquals("yes", g.get("paused"), "its disk's error policy paused it while its LUN was gone: " + g);
            assertTrue(g.get("pause_reason").isEmpty() || g.get("pause_reason").equals("paused (I/O error)"),
                    "libvirt's reason for the pause: " + g);
            assertTrue(g.get("state_after").startsWith("running"), "it runs after the outage: " + g);
            assertEquals(GUEST_MAGIC, g.get("magic"), "the guest runs the test's boot sector: " + g);
            assertEquals("yes", g.get("continued"), "on the host it was on, its own uptime counter went on: " + g);
            assertTrue(g.number("counter_after") >= g.number("counter_before"), g.toString());
            assertTrue(g.number("io_again_after") >= 0, "it does disk I/O again: " + g);
            assertEquals(0, g.number("io_errors"), "no I/O error reached the guest: QEMU paused it instead: " + g);
        }
        assertEquals(6, run.results().one("storage-outage-summary").number("continued"));
        assertNeverHeldTwice("storage outage");
    }

    @Test
    void aHostThatLosesItsStoragePathRunsNothingTwiceAndEveryGuestRunsAfterwards() {
        Fact summary = run.results().one("storage-path-loss-summary");
        List<Fact> guests = run.results().all("storage-path-loss", "host", summary.get("host"));
        assertTrue(guests.size() >= 1, "the guests of the host that lost its path were followed: " + run.results());
        assertEquals(guests.size(), summary.number("guests"), summary.toString());
        for (Fact g : guests) {
            assertTrue(Set.of("paused", "hung", "running").contains(g.get("during")), "what it did meanwhile: " + g);
            assertTrue(g.get("state_after").startsWith("running"), "it runs once the path is back: " + g);
            assertTrue(g.number("io_again_after") >= 0, "it does disk I/O again: " + g);
        }
        assertEquals(6, summary.number("running_everywhere"), "every guest runs at the end: " + summary);
        assertNeverHeldTwice("storage path loss");
    }

    @Test
    void theLeadersMetricsCountTheFailoversByTheirProof() {
        for (String proof : List.of("fence_device", "session_expired")) {
            Fact m = run.results().one("metrics", "proof", proof);
            assertTrue(m.number("failovers_total") > 0, "havn_failovers_total{proof=" + proof + "}: " + m);
            assertTrue(m.number("phase_seconds_count") > 0, "havn_failover_phase_seconds_count{proof=" + proof + "}: "
                    + m);
        }
    }

    /** No sample of the QEMU processes' command lines, every ~0.1 s, showed one disk open twice. */
    private static void assertNeverHeldTwice(String step) {
        Fact d = run.results().one("disk-holders", "step", step);
        assertTrue(d.number("samples") > 10, "the sampler ran through the step: " + d);
        assertEquals(0, d.number("violations"), "no disk was held by two QEMU processes at once: " + d);
    }
}
