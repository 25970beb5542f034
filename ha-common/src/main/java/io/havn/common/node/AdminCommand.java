package io.havn.common.node;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.Rule;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import java.util.List;
import java.util.Objects;

/**
 * What an operator can ask of any live host (through the admin socket or the simulator). A change
 * travels to the leader inside a {@link ChangeRequest}, as JSON named by its {@code command}.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "command")
@JsonSubTypes({
        @JsonSubTypes.Type(value = AdminCommand.Status.class, name = "status"),
        @JsonSubTypes.Type(value = AdminCommand.Migrate.class, name = "migrate"),
        @JsonSubTypes.Type(value = AdminCommand.Relocate.class, name = "relocate"),
        @JsonSubTypes.Type(value = AdminCommand.Maintenance.class, name = "maintenance"),
        @JsonSubTypes.Type(value = AdminCommand.FenceConfirm.class, name = "fence-confirm"),
        @JsonSubTypes.Type(value = AdminCommand.VmStop.class, name = "vm-stop"),
        @JsonSubTypes.Type(value = AdminCommand.VmStart.class, name = "vm-start"),
        @JsonSubTypes.Type(value = AdminCommand.VmEnable.class, name = "vm-enable"),
        @JsonSubTypes.Type(value = AdminCommand.VmDisable.class, name = "vm-disable"),
        @JsonSubTypes.Type(value = AdminCommand.VmAdd.class, name = "vm-add"),
        @JsonSubTypes.Type(value = AdminCommand.Disarm.class, name = "disarm"),
        @JsonSubTypes.Type(value = AdminCommand.Arm.class, name = "arm"),
        @JsonSubTypes.Type(value = AdminCommand.SetShutdownPolicy.class, name = "shutdown-policy"),
        @JsonSubTypes.Type(value = AdminCommand.RuleAdd.class, name = "rule-add"),
        @JsonSubTypes.Type(value = AdminCommand.RuleRemove.class, name = "rule-remove"),
        @JsonSubTypes.Type(value = AdminCommand.GroupSet.class, name = "group-set"),
        @JsonSubTypes.Type(value = AdminCommand.GroupRemove.class, name = "group-remove"),
        @JsonSubTypes.Type(value = AdminCommand.SetAdmission.class, name = "admission"),
        @JsonSubTypes.Type(value = AdminCommand.WhatIf.class, name = "what-if")})
public sealed interface AdminCommand {
    /** The role a caller needs for this command (see {@link Role}). */
    @JsonIgnore
    Role role();

    /** The command's name on the wire and in messages, e.g. {@code fence-confirm}. */
    @JsonIgnore
    default String name() {
        for (JsonSubTypes.Type t : AdminCommand.class.getAnnotation(JsonSubTypes.class).value()) {
            if (t.value() == getClass()) {
                return t.name();
            }
        }
        throw new IllegalStateException(getClass() + " is not listed in AdminCommand's subtypes");
    }

    record Status() implements AdminCommand {
        @Override
        public Role role() {
            return Role.READ_ONLY;
        }
    }

    record Migrate(VmId vm, HostId host) implements AdminCommand {
        public Migrate {
            Objects.requireNonNull(vm, "vm");
            Objects.requireNonNull(host, "host");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    record Relocate(VmId vm, HostId host) implements AdminCommand {
        public Relocate {
            Objects.requireNonNull(vm, "vm");
            Objects.requireNonNull(host, "host");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    record Maintenance(HostId host, boolean on) implements AdminCommand {
        public Maintenance {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    record FenceConfirm(HostId host) implements AdminCommand {
        public FenceConfirm {
            Objects.requireNonNull(host, "host");
        }

        @Override
        public Role role() {
            // a wrong confirmation runs a VM twice
            return Role.ADMIN;
        }
    }

    record VmStop(VmId vm) implements AdminCommand {
        public VmStop {
            Objects.requireNonNull(vm, "vm");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    record VmStart(VmId vm) implements AdminCommand {
        public VmStart {
            Objects.requireNonNull(vm, "vm");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    record VmEnable(VmId vm) implements AdminCommand {
        public VmEnable {
            Objects.requireNonNull(vm, "vm");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    record VmDisable(VmId vm) implements AdminCommand {
        public VmDisable {
            Objects.requireNonNull(vm, "vm");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    /** Puts a VM under HA; it runs on the host that receives the request, or is placed if it runs nowhere. */
    record VmAdd(VmSpec spec) implements AdminCommand {
        public VmAdd {
            Objects.requireNonNull(spec, "spec");
        }

        @Override
        public Role role() {
            // it starts what the domain XML says, on any host
            return Role.ADMIN;
        }
    }

    /**
     * Disarms the whole cluster for network or coordination work: until {@link Arm}, nothing is
     * fenced, self-fenced or restarted elsewhere, and each host's watchdog is kept or released as
     * {@code watchdogs} says.
     */
    record Disarm(ClusterRecord.Disarm watchdogs) implements AdminCommand {
        public Disarm {
            Objects.requireNonNull(watchdogs, "watchdogs");
        }

        @Override
        public Role role() {
            // it turns off every protection havn gives
            return Role.ADMIN;
        }
    }

    /** Arms the cluster again: each host binds its lease to the watchdog again and says so. */
    record Arm() implements AdminCommand {
        @Override
        public Role role() {
            return Role.ADMIN;
        }
    }

    /**
     * Sets what hosts do with their HA VMs on a clean host shutdown: the cluster's policy
     * ({@code host} null), or one host's own ({@code policy} null: it follows the cluster's again).
     */
    record SetShutdownPolicy(HostId host, ShutdownPolicy policy) implements AdminCommand {
        public SetShutdownPolicy {
            if (host == null && policy == null) {
                throw new IllegalArgumentException("the cluster's shutdown policy needs a policy");
            }
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    /** Adds a placement rule (checked against the others, the hosts and the VMs first). */
    record RuleAdd(Rule rule) implements AdminCommand {
        public RuleAdd {
            Objects.requireNonNull(rule, "rule");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    record RuleRemove(String id) implements AdminCommand {
        public RuleRemove {
            Objects.requireNonNull(id, "id");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    /** Creates host group {@code group}, or replaces its hosts. */
    record GroupSet(String group, List<HostId> hosts) implements AdminCommand {
        public GroupSet {
            Objects.requireNonNull(group, "group");
            hosts = hosts == null ? List.of() : List.copyOf(hosts);
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    record GroupRemove(String group) implements AdminCommand {
        public GroupRemove {
            Objects.requireNonNull(group, "group");
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    /**
     * Admission control: how many host failures the cluster should absorb, whether changes that
     * would break that are refused, and the failover hosts kept free for recoveries.
     */
    record SetAdmission(int tolerate, boolean strict, List<HostId> reserved) implements AdminCommand {
        public SetAdmission {
            reserved = reserved == null ? List.of() : List.copyOf(reserved);
        }

        @Override
        public Role role() {
            return Role.OPERATOR;
        }
    }

    /**
     * What would happen if {@code hosts} failed now: answered by the host that takes it, from its
     * view, with the leader's placement code; it changes nothing.
     */
    record WhatIf(List<HostId> hosts) implements AdminCommand {
        public WhatIf {
            if (hosts == null || hosts.isEmpty()) {
                throw new IllegalArgumentException("what-if needs at least one host");
            }
            hosts = List.copyOf(hosts);
        }

        @Override
        public Role role() {
            return Role.READ_ONLY;
        }
    }
}
