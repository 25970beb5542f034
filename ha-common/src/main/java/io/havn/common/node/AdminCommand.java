package io.havn.common.node;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import java.util.Objects;

/** What an operator can ask of any live host (through the admin socket or the simulator). */
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

    record VmStop(VmId vm) implements AdminCommand { }

    record VmStart(VmId vm) implements AdminCommand { }

    record VmEnable(VmId vm) implements AdminCommand { }

    record VmDisable(VmId vm) implements AdminCommand { }

    /** Puts a VM under HA; it runs on the host that receives the request, or is placed if it runs nowhere. */
    record VmAdd(VmSpec spec) implements AdminCommand {
        public VmAdd {
            Objects.requireNonNull(spec, "spec");
        }
    }
}
