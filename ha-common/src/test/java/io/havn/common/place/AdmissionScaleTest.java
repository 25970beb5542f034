package io.havn.common.place;

import static io.havn.common.place.StateBuilder.hid;
import static io.havn.common.place.StateBuilder.vm;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.Rule;
import io.havn.common.model.VmRecord;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Admission and what-if on 1,000 hosts with 50 HA VMs each: checks the answers and prints how long
 * they take, in CPU time of the test's thread (not asserted: machines differ), beside the floor: the
 * planner alone, one pass per host over the others. It takes a minute or two, so it runs only when
 * asked: {@code mvn -o -q -B -ntp -pl ha-common test -Dtest=AdmissionScaleTest -Dhavn.scale=true}.
 */
@EnabledIfSystemProperty(named = "havn.scale", matches = "true")
class AdmissionScaleTest {
    private static final int HOSTS = 1_000;
    private static final int VMS_PER_HOST = 50;

    /**
     * 64 cpus and 256 GiB per host, 50 VMs of 1 cpu and 4 GiB each (56 GiB left per host). With
     * {@code rules}: ten groups of 100 hosts; the first VM of each host confined to its host's group,
     * the second VMs of neighbouring hosts kept apart, each host's third VM waiting for its first.
     */
    private static StateBuilder cluster(boolean rules) {
        StateBuilder b = new StateBuilder();
        for (int h = 0; h < HOSTS; h++) {
            b.host(host(h), 64, 262_144);
        }
        for (int h = 0; h < HOSTS; h++) {
            for (int v = 0; v < VMS_PER_HOST; v++) {
                b.vm("vm-" + h + "-" + v, host(h), 1, 4_096, Priority.values()[v % 3]);
            }
        }
        if (rules) {
            for (int g = 0; g < 10; g++) {
                String[] members = new String[100];
                for (int i = 0; i < 100; i++) {
                    members[i] = host(g * 100 + i);
                }
                b.group("g" + g, members);
            }
            for (int h = 0; h < HOSTS; h++) {
                b.rule(new Rule.OnHosts("pin-" + h, List.of(vm("vm-" + h + "-0")), List.of("g" + (h / 100)), true,
                        false));
                b.rule(new Rule.After("dep-" + h, List.of(vm("vm-" + h + "-2")), List.of(vm("vm-" + h + "-0")), null,
                        60_000, null));
                if (h % 2 == 0) {
                    b.rule(new Rule.Apart("apart-" + h, List.of(vm("vm-" + h + "-1"), vm("vm-" + (h + 1) + "-1")),
                            true, null));
                }
            }
        }
        return b;
    }

    private static String host(int h) {
        return String.format("h%04d", h);
    }

    @Test
    void admissionAndWhatIfOnAThousandHostsWithFiftyVmsEach() {
        for (boolean rules : new boolean[] {false, true}) {
            ClusterState s = cluster(rules).admission(1, true).build();
            Admission.Report r = Admission.assess(s);
            assertEquals(2, r.tolerated(), "56 GiB free per host take any two hosts' 200 GiB: " + r);
            assertEquals(2, r.checked());
            assertEquals(r, Admission.assess(s, false), "the same without the shortcut");
            WhatIf.Report one = WhatIf.of(s, List.of(hid(host(0))), 1_000, 10_000, 200);
            assertEquals(VMS_PER_HOST, one.entries().size());
            assertEquals(0, one.entries().stream().filter(e -> e.to() == null).count(), one.toString());
            ClusterState more = cluster(rules).admission(5, true).build();
            Admission.Report five = Admission.assess(more);
            assertEquals(6, five.tolerated(), five.toString());
            assertEquals(6, five.checked());

            StateView view = StateView.of(s);
            Planner planner = new Planner(new RuleIndex(s.cluster().placement()));
            Runnable plannerAlone = () -> {
                for (int h = 0; h < HOSTS; h++) {
                    HostId failing = hid(host(h));
                    List<Placement.Host> hosts = new ArrayList<>(view.eligibleFree());
                    hosts.removeIf(x -> x.id().equals(failing));
                    List<Placement.Request> rq = new ArrayList<>();
                    for (VmRecord v : view.haVmsOf(List.of(failing))) {
                        rq.add(new Placement.Request(v.id(), v.spec().priority(), v.spec().cpus(), v.spec().memoryMiB(),
                                Set.of(), null));
                    }
                    planner.place(rq, hosts, view.locator());
                }
            };
            System.out.printf("%d hosts x %d VMs, %s (CPU time of this thread):%n"
                            + "  assess, tolerate 1 (k=1 exact over %d hosts, then k=2): %s%n"
                            + "  assess, tolerate 1, without the shortcut: %s%n"
                            + "  assess, tolerate 5 (k=1 exact, then k=2..6): %s%n"
                            + "  what-if of one host: %s%n"
                            + "  the planner alone, one pass per host: %s%n", HOSTS, VMS_PER_HOST,
                    rules ? "3,500 rules" : "no rules", HOSTS, timed(() -> Admission.assess(s)),
                    timed(() -> Admission.assess(s, false)), timed(() -> Admission.assess(more)),
                    timed(() -> WhatIf.of(s, List.of(hid(host(0))), 1_000, 10_000, 200)), timed(plannerAlone));
        }
    }

    /** The fastest and the median of five runs, after five to warm up (the JIT needs them). */
    private static String timed(Runnable r) {
        ThreadMXBean cpu = ManagementFactory.getThreadMXBean();
        for (int i = 0; i < 5; i++) {
            r.run();
        }
        long[] ms = new long[5];
        for (int i = 0; i < ms.length; i++) {
            long t = cpu.getCurrentThreadCpuTime();
            r.run();
            ms[i] = (cpu.getCurrentThreadCpuTime() - t) / 1_000_000;
        }
        Arrays.sort(ms);
        return "min " + ms[0] + " ms, median " + ms[2] + " ms";
    }
}
