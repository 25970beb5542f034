package io.havn.common.node;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
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
        @JsonSubTypes.Type(value = AdminCommand.VmAdd.class, name = "vm-add")})
public sealed interface AdminCommand {
    record Status() implements AdminCommand { }

    record Migrate(VmId vm, HostId host) implements AdminCommand {
        public Migrate {
            Objects.requireNonNull(vm, "vm");
            Objects.requireNonNull(host, "host");
        }
    }

    record Relocate(VmId vm, HostId host) implements AdminCommand {
        public Relocate {
            Objects.requireNonNull(vm, "vm");
            Objects.requireNonNull(host, "host");
        }
    }

    record Maintenance(HostId host, boolean on) implements AdminCommand {
        public Maintenance {
            Objects.requireNonNull(host, "host");
        }
    }

    record FenceConfirm(HostId host) implements AdminCommand {
        public FenceConfirm {
            Objects.requireNonNull(host, "host");
        }
    }

    record VmStop(VmId vm) implements AdminCommand {
        public VmStop {
            Objects.requireNonNull(vm, "vm");
        }
    }

    record VmStart(VmId vm) implements AdminCommand {
        public VmStart {
            Objects.requireNonNull(vm, "vm");
        }
    }

    record VmEnable(VmId vm) implements AdminCommand {
        public VmEnable {
            Objects.requireNonNull(vm, "vm");
        }
    }

    record VmDisable(VmId vm) implements AdminCommand {
        public VmDisable {
            Objects.requireNonNull(vm, "vm");
        }
    }

    /** Puts a VM under HA; it runs on the host that receives the request, or is placed if it runs nowhere. */
    record VmAdd(VmSpec spec) implements AdminCommand {
        public VmAdd {
            Objects.requireNonNull(spec, "spec");
        }
    }
}
