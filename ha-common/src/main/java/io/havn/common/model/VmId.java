package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Objects;
import java.util.regex.Pattern;

/** The identity of a VM: its libvirt domain UUID (or, in tests and scenarios, any stable token). */
public record VmId(String value) implements Comparable<VmId> {
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    public VmId {
        Objects.requireNonNull(value, "vm id");
        if (!ID.matcher(value).matches()) {
            throw new IllegalArgumentException("invalid VM id '" + value
                    + "': use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
    }

    @JsonCreator
    public static VmId of(String value) {
        return new VmId(value);
    }

    @JsonValue
    @Override
    public String value() {
        return value;
    }

    @Override
    public int compareTo(VmId o) {
        return value.compareTo(o.value);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VmId other && value.equals(other.value);
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
