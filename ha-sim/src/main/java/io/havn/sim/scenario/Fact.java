package io.havn.sim.scenario;

import io.havn.common.model.HostId;
import java.util.Objects;
import java.util.Set;

/** What an expectation asserts about the cluster. {@link #text()} is canonical and parses back to an equal fact. */
public sealed interface Fact {

    /** The canonical text, e.g. {@code web1 running not on node1|node2}. */
    String text();

    /** The VM runs somewhere. */
    record Running(String vm) implements Fact {
        public Running {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return vm + " running";
        }
    }

    /** The VM runs on one of the hosts. */
    record RunningOn(String vm, Set<HostId> hosts) implements Fact {
        public RunningOn {
            Names.vm(vm);
            hosts = Names.hostSet(hosts);
        }

        @Override
        public String text() {
            return vm + " running on " + Names.alternatives(hosts);
        }
    }

    /** The VM runs, on none of the hosts. */
    record RunningNotOn(String vm, Set<HostId> hosts) implements Fact {
        public RunningNotOn {
            Names.vm(vm);
            hosts = Names.hostSet(hosts);
        }

        @Override
        public String text() {
            return vm + " running not on " + Names.alternatives(hosts);
        }
    }

    /** The VM is stopped. */
    record Stopped(String vm) implements Fact {
        public Stopped {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return vm + " stopped";
        }
    }

    /** The VM is in the error state. */
    record InError(String vm) implements Fact {
        public InError {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return vm + " error";
        }
    }

    /** The VM is being recovered. */
    record Recovering(String vm) implements Fact {
        public Recovering {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return vm + " recovering";
        }
    }

    /** The VM's record says it is frozen on its host (shut down with the freeze policy). */
    record Frozen(String vm) implements Fact {
        public Frozen {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return vm + " frozen";
        }
    }

    /** The VM's total downtime is at most {@code maxMs}. */
    record Downtime(String vm, long maxMs) implements Fact {
        public Downtime {
            Names.vm(vm);
            if (maxMs < 0) {
                throw new IllegalArgumentException("negative downtime " + maxMs);
            }
        }

        @Override
        public String text() {
            return vm + " downtime <= " + Durations.format(maxMs);
        }
    }

    /** The two VMs do not run on one host (either may run nowhere). */
    record Apart(String vm, String other) implements Fact {
        public Apart {
            Names.vm(vm);
            Names.vm(other);
            if (vm.equals(other)) {
                throw new IllegalArgumentException("'" + vm + " apart " + other + "' names one VM twice");
            }
        }

        @Override
        public String text() {
            return vm + " apart " + other;
        }
    }

    /** The two VMs run, on one host. */
    record With(String vm, String other) implements Fact {
        public With {
            Names.vm(vm);
            Names.vm(other);
            if (vm.equals(other)) {
                throw new IllegalArgumentException("'" + vm + " with " + other + "' names one VM twice");
            }
        }

        @Override
        public String text() {
            return vm + " with " + other;
        }
    }

    /** The VM runs on a host of group {@code group}, as the cluster's placement policy has it at that moment. */
    record OnGroup(String vm, String group) implements Fact {
        public OnGroup {
            Names.vm(vm);
            RuleText.name(group, "group name");
        }

        @Override
        public String text() {
            return vm + " on-group " + group;
        }
    }

    /** The host is fenced. */
    record Fenced(HostId host) implements Fact {
        public Fenced {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return host + " fenced";
        }
    }

    /** The host is live. */
    record Live(HostId host) implements Fact {
        public Live {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return host + " live";
        }
    }

    /** The host is in maintenance. */
    record InMaintenance(HostId host) implements Fact {
        public InMaintenance {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return host + " maintenance";
        }
    }

    /** The host is the leader. */
    record Leader(HostId host) implements Fact {
        public Leader {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "leader " + host;
        }
    }

    /** The host is not the leader. */
    record LeaderNot(HostId host) implements Fact {
        public LeaderNot {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public String text() {
            return "leader not " + host;
        }
    }

    /** The VM is held paused on a storage error (a disk I/O error) on some host. */
    record Paused(String vm) implements Fact {
        public Paused {
            Names.vm(vm);
        }

        @Override
        public String text() {
            return vm + " paused";
        }
    }

    /** The guest booted exactly {@code count} times since the run began (starts anywhere, and resets). */
    record Boots(String vm, int count) implements Fact {
        public Boots {
            Names.vm(vm);
            if (count < 0) {
                throw new IllegalArgumentException("negative boot count " + count);
            }
        }

        @Override
        public String text() {
            return vm + " boots " + count;
        }
    }
}
