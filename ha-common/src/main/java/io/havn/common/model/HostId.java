package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Objects;
import java.util.regex.Pattern;

/** The name of a hypervisor host, unique in its cluster. Letters, digits, '.', '_' and '-'. */
public record HostId(String value) implements Comparable<HostId> {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    public HostId {
        Objects.requireNonNull(value, "host name");
        if (!NAME.matcher(value).matches()) {
            throw new IllegalArgumentException("invalid host name '" + value
                    + "': use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    @JsonCreator
    public static HostId of(String value) {
        return new HostId(value);
    }

    @JsonValue
    @Override
    public String value() {
        return value;
    }

    @Override
    public int compareTo(HostId o) {
        return value.compareTo(o.value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HostId other && value.equals(other.value);
    }

    @Override
    public int hashCode() {
        return value.hashCode();
    }

    @Override
    public String toString() {
        return value;
    }
}
