package io.havn.common.port;

import io.havn.common.model.VmId;

/** A domain the local hypervisor has. */
public record DomainInfo(VmId vm, String name, DomainState state) { }
