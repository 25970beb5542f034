package io.havn.common.port;

import io.havn.common.model.VmId;

/**
 * A domain the local hypervisor has. {@code autostart}: libvirt would start it when its daemon starts
 * (at boot), with no claim; havn clears it on every HA domain.
 */
public record DomainInfo(VmId vm, String name, DomainState state, boolean autostart) {
    /** A domain without autostart. */
    public DomainInfo(VmId vm, String name, DomainState state) {
        this(vm, name, state, false);
    }
}
