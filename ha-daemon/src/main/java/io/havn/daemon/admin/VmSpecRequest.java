package io.havn.daemon.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code spec} of a {@code vm-add} request, checked field by field before anything reaches the
 * node; each error names its field. The domain XML must define the domain the spec names (same
 * UUID and name), or no host could start it as this VM.
 */
final class VmSpecRequest {
    private static final Set<String> FIELDS = new TreeSet<>(Set.of("id", "name", "cpus", "memoryMiB", "priority",
            "ha", "domainXml"));

    private VmSpecRequest() {
    }

    /** The spec {@code spec} describes; an IllegalArgumentException names the first bad field. */
    static VmSpec read(JsonNode spec) {
        if (spec == null || !spec.isObject()) {
            throw new IllegalArgumentException("vm-add needs \"spec\": an object with " + String.join(", ", FIELDS));
        }
        for (Iterator<String> it = spec.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!FIELDS.contains(f)) {
                throw new IllegalArgumentException("spec." + f + ": unknown field (known: " + String.join(", ", FIELDS)
                        + ")");
            }
        }
        VmId id;
        try {
            id = new VmId(text(spec, "id"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("spec.id: " + e.getMessage());
        }
        String name = text(spec, "name");
        String badName = DomainPolicy.nameProblem(name);
        if (badName != null) {
            throw new IllegalArgumentException("spec.name: " + badName);
        }
        int cpus = (int) whole(spec, "cpus", Integer.MAX_VALUE);
        long memoryMiB = whole(spec, "memoryMiB", Long.MAX_VALUE);
        Priority priority = Priority.MEDIUM;
        if (spec.hasNonNull("priority")) {
            try {
                priority = Priority.parse(spec.get("priority").asText());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("spec.priority: " + e.getMessage());
            }
        }
        boolean ha = true;
        if (spec.hasNonNull("ha")) {
            if (!spec.get("ha").isBoolean()) {
                throw new IllegalArgumentException("spec.ha: must be true or false");
            }
            ha = spec.get("ha").booleanValue();
        }
        String xml = text(spec, "domainXml");
        DomainXml domain;
        try {
            domain = DomainXml.parse(xml);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("spec.domainXml: " + e.getMessage());
        }
        if (!DomainXml.canonicalUuid(domain.uuid()).equals(DomainXml.canonicalUuid(id.value()))) {
            throw new IllegalArgumentException("spec.domainXml: defines UUID " + domain.uuid() + ", but spec.id is "
                    + id + " (a VM's id is its domain's UUID)");
        }
        if (!domain.name().equals(name)) {
            throw new IllegalArgumentException("spec.domainXml: names the domain '" + domain.name()
                    + "', but spec.name is '" + name + "'");
        }
        return new VmSpec(id, name, cpus, memoryMiB, priority, ha, xml);
    }

    private static String text(JsonNode spec, String field) {
        JsonNode n = spec.get(field);
        if (n == null || !n.isTextual() || n.asText().isBlank()) {
            throw new IllegalArgumentException("spec." + field + ": required, a non-empty string");
        }
        return n.asText();
    }

    private static long whole(JsonNode spec, String field, long max) {
        JsonNode n = spec.get(field);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 1 || n.longValue() > max) {
            throw new IllegalArgumentException("spec." + field + ": required, a whole number from 1 to " + max
                    + (n == null ? "" : ", got " + n));
        }
        return n.longValue();
    }
}
