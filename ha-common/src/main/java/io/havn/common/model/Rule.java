package io.havn.common.model;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * An operator's placement rule, kept in the cluster record ({@link PlacementPolicy}) and honoured by
 * every placement the leader makes (recovery, drains, operator moves). A rule's own shape is checked
 * here; how it stands with the other rules, the hosts and the VMs is checked by
 * {@code io.havn.common.place.PolicyCheck} before anything is written.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "kind")
@JsonSubTypes({
        @JsonSubTypes.Type(value = Rule.Together.class, name = "together"),
        @JsonSubTypes.Type(value = Rule.Apart.class, name = "apart"),
        @JsonSubTypes.Type(value = Rule.OnHosts.class, name = "hosts"),
        @JsonSubTypes.Type(value = Rule.After.class, name = "after"),
        @JsonSubTypes.Type(value = Rule.StartDelay.class, name = "delay")})
@JsonInclude(JsonInclude.Include.NON_NULL)
public sealed interface Rule {
    /** Rule ids and group names: as VM ids. */
    Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    /** The largest weight of a soft rule. */
    int MAX_WEIGHT = 1000;
    /** The longest wait a dependency or a start delay may ask for: one hour. */
    long MAX_WAIT_MS = 3_600_000L;

    /** The rule's name, unique in the cluster. */
    String id();

    /** The VMs the rule places (for {@link After}: the VMs that wait). */
    List<VmId> vms();

    /** Whether a placement may never break it ({@code together}, {@code apart}, strict {@code hosts}). */
    boolean hard();

    /** The rule's kind, as on the wire: together, apart, hosts, after, delay. */
    @JsonIgnore
    default String kind() {
        for (JsonSubTypes.Type t : Rule.class.getAnnotation(JsonSubTypes.class).value()) {
            if (t.value() == getClass()) {
                return t.name();
            }
        }
        throw new IllegalStateException(getClass() + " is not listed in Rule's subtypes");
    }

    /**
     * The VMs run on one host. Hard: a VM of the rule goes only where the others run (or, when none
     * runs, where all of them fit), else it stays recovering. Soft: a host that runs others of the
     * rule scores {@code weight} for each of them.
     */
    record Together(String id, List<VmId> vms, boolean hard, Integer weight) implements Rule {
        public Together {
            vms = checkVms(id, vms, 2);
            weight = checkWeight(id, hard, weight);
        }
    }

    /**
     * No two of the VMs run on one host. Hard: never placed together, a VM stays recovering rather
     * than join another. Soft: a host that runs others of the rule loses {@code weight} for each.
     */
    record Apart(String id, List<VmId> vms, boolean hard, Integer weight) implements Rule {
        public Apart {
            vms = checkVms(id, vms, 2);
            weight = checkWeight(id, hard, weight);
        }
    }

    /**
     * The VMs run on the hosts of {@code groups}, the first group preferred over the second and so
     * on. Strict: never on another host (a VM stays recovering rather than go elsewhere). Not strict:
     * elsewhere only when no host of the groups has room. With {@code failback}, a VM that runs on
     * a less preferred host is migrated back once a host of a more preferred group has room.
     */
    record OnHosts(String id, List<VmId> vms, List<String> groups, boolean strict, boolean failback)
            implements Rule {
        public OnHosts {
            vms = checkVms(id, vms, 1);
            if (groups == null || groups.isEmpty()) {
                throw new IllegalArgumentException("rule " + id + ": names no host group");
            }
            groups = List.copyOf(groups);
            Set<String> seen = new HashSet<>();
            for (String g : groups) {
                if (g == null || !NAME.matcher(g).matches()) {
                    throw new IllegalArgumentException("rule " + id + ": invalid group name '" + g + "'");
                }
                if (!seen.add(g)) {
                    throw new IllegalArgumentException("rule " + id + ": group " + g + " is named twice");
                }
            }
        }

        @Override
        @JsonIgnore
        public boolean hard() {
            return strict;
        }
    }

    /** What a VM that waits for others needs of them. */
    enum Ready {
        /** Their records say running (started by their host). */
        @JsonProperty("running") RUNNING,
        /** Their guest agent answers (needs guest monitoring). */
        @JsonProperty("agent") AGENT
    }

    /** What a waiting VM does when its dependencies are not ready in time. */
    enum OnTimeout {
        @JsonProperty("start") START,
        @JsonProperty("stay-down") STAY_DOWN
    }

    /**
     * Restart order: each of {@code vms} is started (placed) only once every VM of {@code after}
     * that is under HA and wanted running is {@code ready}; after {@code timeoutMs} of waiting it
     * starts anyway ({@code start}) or keeps waiting ({@code stay-down}).
     */
    record After(String id, List<VmId> vms, List<VmId> after, Ready ready, long timeoutMs, OnTimeout onTimeout)
            implements Rule {
        public After {
            vms = checkVms(id, vms, 1);
            after = checkVms(id, after, 1);
            for (VmId v : vms) {
                if (after.contains(v)) {
                    throw new IllegalArgumentException("rule " + id + ": VM " + v + " cannot wait for itself");
                }
            }
            ready = ready == null ? Ready.RUNNING : ready;
            onTimeout = onTimeout == null ? OnTimeout.START : onTimeout;
            if (timeoutMs <= 0 || timeoutMs > MAX_WAIT_MS) {
                throw new IllegalArgumentException("rule " + id + ": timeout must be between 1 ms and "
                        + MAX_WAIT_MS + " ms, got " + timeoutMs);
            }
        }

        @Override
        @JsonIgnore
        public boolean hard() {
            return false;
        }
    }

    /** Each of {@code vms} is started (placed) no sooner than {@code delayMs} after it needs a host. */
    record StartDelay(String id, List<VmId> vms, long delayMs) implements Rule {
        public StartDelay {
            vms = checkVms(id, vms, 1);
            if (delayMs <= 0 || delayMs > MAX_WAIT_MS) {
                throw new IllegalArgumentException("rule " + id + ": delay must be between 1 ms and "
                        + MAX_WAIT_MS + " ms, got " + delayMs);
            }
        }

        @Override
        @JsonIgnore
        public boolean hard() {
            return false;
        }
    }

    private static List<VmId> checkVms(String id, List<VmId> vms, int min) {
        if (id == null || !NAME.matcher(id).matches()) {
            throw new IllegalArgumentException("invalid rule id '" + id + "': letters, digits, '.', '_' and '-', "
                    + "up to 64, starting with a letter or digit");
        }
        if (vms == null || vms.size() < min) {
            throw new IllegalArgumentException("rule " + id + ": needs at least " + min + (min == 1 ? " VM" : " VMs"));
        }
        Set<VmId> seen = new HashSet<>();
        for (VmId v : vms) {
            Objects.requireNonNull(v, "rule " + id + ": a VM is null");
            if (!seen.add(v)) {
                throw new IllegalArgumentException("rule " + id + ": VM " + v + " is named twice");
            }
        }
        return List.copyOf(vms);
    }

    private static Integer checkWeight(String id, boolean hard, Integer weight) {
        if (hard) {
            if (weight != null) {
                throw new IllegalArgumentException("rule " + id + ": a hard rule has no weight");
            }
            return null;
        }
        int w = weight == null ? 10 : weight;
        if (w < 1 || w > MAX_WEIGHT) {
            throw new IllegalArgumentException("rule " + id + ": weight must be between 1 and " + MAX_WEIGHT
                    + ", got " + w);
        }
        return w;
    }
}
