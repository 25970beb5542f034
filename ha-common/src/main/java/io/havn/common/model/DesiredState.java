package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/** What the operator wants of a VM. */
public enum DesiredState {
    @JsonProperty("running") RUNNING,
    @JsonProperty("stopped") STOPPED
}
