package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/** An operator's setting for a host. In maintenance a host gets no VMs and is drained. */
public enum HostAdminState {
    @JsonProperty("active") ACTIVE,
    @JsonProperty("maintenance") MAINTENANCE
}
