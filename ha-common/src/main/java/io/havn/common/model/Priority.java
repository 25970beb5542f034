package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Restart order when capacity is short: high first. */
public enum Priority {
    @JsonProperty("high") HIGH,
    @JsonProperty("medium") MEDIUM,
    @JsonProperty("low") LOW;

    /** Parses "high", "medium" or "low" (any case); names the bad value otherwise. */
    public static Priority parse(String text) {
        for (Priority p : values()) {
            if (p.name().equalsIgnoreCase(text)) {
                return p;
            }
        }
        throw new IllegalArgumentException("invalid priority '" + text + "': expected high, medium or low");
    }
}
