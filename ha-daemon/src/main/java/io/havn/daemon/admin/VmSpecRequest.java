package io.havn.daemon.admin;

import com.fasterxml.jackson.databind.JsonNode;
import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.GuestMonitor;
import io.havn.common.model.Priority;
import io.havn.common.model.StorageErrorPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The {@code spec} of a {@code vm-add} request, checked field by field before anything reaches the
 * node; each error names its field. Besides the VM's identity, size and domain XML: the datastores
 * its disks live on, what to do when it pauses on a disk I/O error, and its guest monitor, each
 * optional. The domain XML must define the domain the spec names (same
 * UUID and name), or no host could start it as this VM.
 */
final class VmSpecRequest {
    private static final Set<String> FIELDS = new TreeSet<>(Set.of("id", "name", "cpus", "memoryMiB", "priority",
            "ha", "domainXml", "datastores", "onStorageError", "guestMonitor"));
    private static final Set<String> MONITOR_FIELDS = new TreeSet<>(Set.of("intervalMs", "misses", "graceMs",
            "maxResets", "windowMs"));

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
        return new VmSpec(id, name, cpus, memoryMiB, priority, ha, xml)
                .withStorage(datastores(spec.get("datastores")), storageErrorPolicy(spec.get("onStorageError")),
                        guestMonitor(spec.get("guestMonitor")));
    }

    /** {@code spec.datastores}: a list of distinct datastore names (none when absent). */
    private static List<String> datastores(JsonNode n) {
        if (n == null || n.isNull()) {
            return List.of();
        }
        if (!n.isArray()) {
            throw new IllegalArgumentException("spec.datastores: must be a list of datastore names, got " + n);
        }
        if (n.size() > VmSpec.MAX_DATASTORES) {
            throw new IllegalArgumentException("spec.datastores: at most " + VmSpec.MAX_DATASTORES + " datastores, got "
                    + n.size());
        }
        List<String> out = new ArrayList<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode d = n.get(i);
            if (!d.isTextual() || !VmSpec.DATASTORE_NAME.matcher(d.asText()).matches()) {
                throw new IllegalArgumentException("spec.datastores[" + i + "]: " + (d.isTextual()
                        ? "'" + DomainPolicy.printable(d.asText()) + "'" : d.toString()) + " is not a datastore name "
                        + "(1-63 letters, digits, '.', '_', '-', starting with a letter or digit)");
            }
            if (out.contains(d.asText())) {
                throw new IllegalArgumentException("spec.datastores[" + i + "]: '" + d.asText() + "' is named twice");
            }
            out.add(d.asText());
        }
        return out;
    }

    /** {@code spec.onStorageError}: resume, leave-paused or restart-elsewhere (null when absent: resume). */
    private static StorageErrorPolicy storageErrorPolicy(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isTextual()) {
            throw new IllegalArgumentException("spec.onStorageError: must be resume, leave-paused or restart-elsewhere, "
                    + "got " + n);
        }
        try {
            return StorageErrorPolicy.of(n.asText());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("spec.onStorageError: " + DomainPolicy.printable(e.getMessage()));
        }
    }

    /**
     * {@code spec.guestMonitor}: every one of intervalMs, misses, graceMs, maxResets and windowMs, in
     * the bounds {@link GuestMonitor} sets (null when absent: not monitored).
     */
    private static GuestMonitor guestMonitor(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException("spec.guestMonitor: must be an object with " + String.join(", ",
                    MONITOR_FIELDS) + ", got " + n);
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!MONITOR_FIELDS.contains(f)) {
                throw new IllegalArgumentException("spec.guestMonitor." + f + ": unknown field (known: "
                        + String.join(", ", MONITOR_FIELDS) + ")");
            }
        }
        long intervalMs = monitorField(n, "intervalMs");
        long misses = monitorField(n, "misses");
        long graceMs = monitorField(n, "graceMs");
        long maxResets = monitorField(n, "maxResets");
        long windowMs = monitorField(n, "windowMs");
        try {
            return new GuestMonitor(intervalMs, (int) misses, graceMs, (int) maxResets, windowMs);
        } catch (IllegalArgumentException e) {
            // its message names the field first: "guest monitor intervalMs must be ..."
            String m = e.getMessage() == null ? "" : e.getMessage();
            String prefix = "guest monitor ";
            if (m.startsWith(prefix) && m.indexOf(' ', prefix.length()) > 0) {
                int end = m.indexOf(' ', prefix.length());
                throw new IllegalArgumentException("spec.guestMonitor." + m.substring(prefix.length(), end) + ":"
                        + m.substring(end));
            }
            throw new IllegalArgumentException("spec.guestMonitor: " + m);
        }
    }

    /** A whole number field of {@code spec.guestMonitor}, required, within an int. */
    private static long monitorField(JsonNode monitor, String field) {
        JsonNode v = monitor.get(field);
        if (v == null || !v.isIntegralNumber() || !v.canConvertToInt()) {
            throw new IllegalArgumentException("spec.guestMonitor." + field + ": required, a whole number"
                    + (v == null ? "" : ", got " + v));
        }
        return v.intValue();
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
