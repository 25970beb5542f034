package io.havn.daemon.ctl;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.HostId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;

/**
 * A what-if answer as an operator reads it: for each VM of the failed hosts, where it would go (or
 * why it would stay down), in which wave and how long after the recovery starts, and the rules
 * that decided; then the expected recovery time and what that figure rests on.
 *
 * <p>It reads the JSON of the answer's {@code whatIf} field, the report of
 * {@code io.havn.common.place.WhatIf}; the field names are the ones below. A field a daemon leaves
 * out shows as "-", and fields it adds are skipped.
 */
final class WhatIfView {
    /** The report's VMs: an array of entries, or an object of entries by VM id. */
    static final String VMS = "entries";
    static final String VM = "vm";
    static final String NAME = "name";
    static final String FROM = "from";
    static final String TO = "to";
    static final String WAVE = "wave";
    static final String START_OFFSET_MS = "startOffsetMs";
    static final String RULES = "rules";
    static final String WHY_NOT = "why";
    static final String EXPECTED_RECOVERY_MS = "expectedRecoveryMs";
    static final String BASIS = "basis";

    private static final String NONE = "-";

    private WhatIfView() {
    }

    /** The VM entries of {@code report}, each with its VM id (from the entry, or its key). */
    static List<JsonNode> entries(JsonNode report) {
        JsonNode vms = report.path(VMS);
        List<JsonNode> out = new ArrayList<>();
        if (vms.isArray()) {
            vms.forEach(out::add);
        } else if (vms.isObject()) {
            for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) vms::fields) {
                if (e.getValue().isObject() && !e.getValue().has(VM)) {
                    out.add(((ObjectNode) e.getValue().deepCopy()).put(VM, e.getKey()));
                } else {
                    out.add(e.getValue());
                }
            }
        }
        return out;
    }

    /** Whether some entry of {@code report} has no name of its own, so names must be looked up. */
    static boolean needsNames(JsonNode report) {
        return entries(report).stream().anyMatch(e -> !e.path(NAME).isTextual());
    }

    /**
     * The report as text: a heading naming {@code hosts}, a table of the VMs, and the expected
     * recovery time with its basis. {@code nameOf} names a VM by id when its entry carries no name.
     */
    static String render(List<HostId> hosts, JsonNode report, Function<String, String> nameOf) {
        StringBuilder b = new StringBuilder("If ").append(sentence(hosts)).append(hosts.size() == 1 ? " fails" : " fail")
                .append(" now:\n");
        List<JsonNode> entries = entries(report);
        if (entries.isEmpty()) {
            b.append("  no HA VM runs there: nothing to recover\n");
        } else {
            Table t = new Table("VM", "FROM", "TO", "WAVE", "STARTS AFTER", "RULES / WHY NOT");
            for (JsonNode e : entries) {
                String id = text(e, VM);
                String name = e.path(NAME).isTextual() ? e.get(NAME).asText() : id.equals(NONE) ? NONE : nameOf.apply(id);
                boolean placed = e.path(TO).isTextual();
                t.row(name, text(e, FROM), placed ? e.get(TO).asText() : NONE,
                        placed && e.path(WAVE).isNumber() ? e.get(WAVE).asText() : NONE,
                        placed && e.path(START_OFFSET_MS).isNumber() ? seconds(e.get(START_OFFSET_MS).asLong()) : NONE,
                        why(e, placed));
            }
            b.append(t.render("  "));
            long down = entries.stream().filter(e -> !e.path(TO).isTextual()).count();
            b.append("  ").append(entries.size() - down).append(" of ").append(entries.size())
                    .append(entries.size() == 1 ? " VM restarts elsewhere" : " VMs restart elsewhere")
                    .append(down == 0 ? "" : "; " + down + " stay" + (down == 1 ? "s" : "") + " down").append('\n');
        }
        b.append("Expected recovery: ");
        JsonNode ms = report.path(EXPECTED_RECOVERY_MS);
        b.append(ms.isNumber() ? seconds(ms.asLong()) : "not given");
        if (report.path(BASIS).isTextual()) {
            b.append(" (").append(DomainPolicy.printable(report.get(BASIS).asText())).append(')');
        }
        return b.append('\n').toString();
    }

    private static String why(JsonNode e, boolean placed) {
        List<String> rules = new ArrayList<>();
        e.path(RULES).forEach(r -> rules.add(r.asText()));
        String names = String.join(", ", rules);
        if (placed) {
            return rules.isEmpty() ? NONE : names;
        }
        String why = e.path(WHY_NOT).isTextual() ? "stays down: " + e.get(WHY_NOT).asText() : "stays down";
        return rules.isEmpty() ? why : why + " (rules " + names + ")";
    }

    private static String text(JsonNode e, String field) {
        JsonNode n = e.path(field);
        return n.isTextual() ? n.asText() : NONE;
    }

    /** "0 s", "30 s", "1.5 s", "250 ms", "2 min 5 s". */
    static String seconds(long ms) {
        if (ms < 1000 && ms != 0) {
            return ms + " ms";
        }
        if (ms < 60_000) {
            return ms % 1000 == 0 ? ms / 1000 + " s" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
        }
        long s = Math.round(ms / 1000.0);
        return s / 60 + " min" + (s % 60 == 0 ? "" : " " + s % 60 + " s");
    }

    private static String sentence(List<HostId> hosts) {
        List<String> n = hosts.stream().map(HostId::value).toList();
        return n.size() == 1 ? n.get(0)
                : String.join(", ", n.subList(0, n.size() - 1)) + " and " + n.get(n.size() - 1);
    }
}
