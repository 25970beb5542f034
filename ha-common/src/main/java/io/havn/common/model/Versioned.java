package io.havn.common.model;

import java.util.Objects;

/** A value as read from the coordination service, with the version a compare-and-set must name. */
public record Versioned<T>(T value, int version) {
    public Versioned {
        Objects.requireNonNull(value, "value");
    }
}
