package io.havn.sim.scenario;

import io.havn.common.model.HostId;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/** Name rules shared by the scenario types. */
final class Names {
    private static final Pattern VM = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    /** The coordination servers' endpoint names. */
    static final Set<String> ZK_SERVERS = Set.of("zk1", "zk2", "zk3");

    private Names() { }

    /** Returns {@code name} if it is a valid VM name, else throws IllegalArgumentException. */
    static String vm(String name) {
        Objects.requireNonNull(name, "vm name");
        if (!VM.matcher(name).matches()) {
            throw new IllegalArgumentException("invalid VM name '" + name
                    + "': use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        return name;
    }

    /** An unmodifiable, ordered, non-empty copy of a set of hosts. */
    static Set<HostId> hostSet(Collection<HostId> hosts) {
        Objects.requireNonNull(hosts, "hosts");
        if (hosts.isEmpty()) {
            throw new IllegalArgumentException("at least one host needed");
        }
        Set<HostId> copy = new LinkedHashSet<>();
        for (HostId h : hosts) {
            copy.add(Objects.requireNonNull(h, "host"));
        }
        return java.util.Collections.unmodifiableSet(copy);
    }

    /** Hosts joined by '|'. */
    static String alternatives(Set<HostId> hosts) {
        return hosts.stream().map(HostId::value).collect(Collectors.joining("|"));
    }
}
