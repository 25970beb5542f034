package io.havn.sim.scenario;

import io.havn.common.model.HostId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * Parses expectations: {@code WHEN: FACT}, WHEN one of {@code at T}, {@code by T}, {@code end},
 * {@code always}, {@code never}. A fact starting with the word {@code leader} is always a leader fact.
 * The placement facts: {@code A apart B} (no host runs both), {@code A with B} (both run, on one
 * host), {@code A on-group G} (A runs on a host of group G, as the cluster record has it then).
 */
public final class Expectations {
    private static final String FACTS = "V running | V running on H1|H2 | V running not on H1|H2 | V stopped | V error"
            + " | V recovering | V frozen | V downtime <= DURATION | V apart V2 | V with V2 | V on-group G | H fenced | H live"
            + " | H maintenance | leader H | leader not H | V paused | V boots N";

    private Expectations() { }

    /** Parses one expectation; throws IllegalArgumentException naming the problem. */
    public static Expectation parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty expectation: expected WHEN: FACT, e.g. 'by 50s: web1 running'");
        }
        String trimmed = text.strip();
        int colon = trimmed.indexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("no ':' in '" + trimmed + "': expected WHEN: FACT, e.g. 'by 50s: web1 running'");
        }
        String[] when = trimmed.substring(0, colon).strip().split("\\s+");
        When w;
        long atMs = 0;
        switch (when[0]) {
            case "at", "by" -> {
                w = when[0].equals("at") ? When.AT : When.BY;
                if (when.length != 2) {
                    throw new IllegalArgumentException("'" + when[0] + "' needs one time, e.g. '" + when[0] + " 50s:'");
                }
                atMs = Durations.parseMs(when[1]);
            }
            case "end", "always", "never" -> {
                w = When.valueOf(when[0].toUpperCase(java.util.Locale.ROOT));
                if (when.length != 1) {
                    throw new IllegalArgumentException("'" + when[0] + "' takes no time");
                }
            }
            default -> throw new IllegalArgumentException("unknown WHEN '" + trimmed.substring(0, colon).strip()
                    + "': expected at T, by T, end, always or never");
        }
        Fact fact = fact(trimmed.substring(colon + 1).strip());
        return new Expectation(w, atMs, fact, trimmed);
    }

    /** Parses the FACT part of an expectation. */
    static Fact fact(String text) {
        String[] t = text.isEmpty() ? new String[0] : text.split("\\s+");
        if (t.length < 2) {
            throw bad(text);
        }
        if (t[0].equals("leader")) {
            if (t.length == 2) {
                return new Fact.Leader(HostId.of(t[1]));
            }
            if (t.length == 3 && t[1].equals("not")) {
                return new Fact.LeaderNot(HostId.of(t[2]));
            }
            throw bad(text);
        }
        String subject = t[0];
        switch (t[1]) {
            case "running":
                if (t.length == 2) {
                    return new Fact.Running(subject);
                }
                if (t.length >= 4 && t[2].equals("on")) {
                    return new Fact.RunningOn(subject, new LinkedHashSet<>(hosts(t, 3)));
                }
                if (t.length >= 5 && t[2].equals("not") && t[3].equals("on")) {
                    return new Fact.RunningNotOn(subject, new LinkedHashSet<>(hosts(t, 4)));
                }
                throw bad(text);
            case "apart", "with", "on-group":
                if (t.length != 3) {
                    throw bad(text);
                }
                return switch (t[1]) {
                    case "apart" -> new Fact.Apart(subject, t[2]);
                    case "with" -> new Fact.With(subject, t[2]);
                    default -> new Fact.OnGroup(subject, t[2]);
                };
            case "boots":
                if (t.length == 3 && t[2].matches("[0-9]{1,6}")) {
                    return new Fact.Boots(subject, Integer.parseInt(t[2]));
                }
                throw bad(text);
            case "downtime":
                if (t.length == 4 && t[2].equals("<=")) {
                    return new Fact.Downtime(subject, Durations.parseMs(t[3]));
                }
                throw bad(text);
            default:
                break;
        }
        if (t.length != 2) {
            throw bad(text);
        }
        return switch (t[1]) {
            case "stopped" -> new Fact.Stopped(subject);
            case "error" -> new Fact.InError(subject);
            case "recovering" -> new Fact.Recovering(subject);
            case "frozen" -> new Fact.Frozen(subject);
            case "paused" -> new Fact.Paused(subject);
            case "fenced" -> new Fact.Fenced(HostId.of(subject));
            case "live" -> new Fact.Live(HostId.of(subject));
            case "maintenance" -> new Fact.InMaintenance(HostId.of(subject));
            default -> throw bad(text);
        };
    }

    private static List<HostId> hosts(String[] t, int from) {
        String joined = String.join(" ", Arrays.asList(t).subList(from, t.length));
        List<HostId> hosts = new ArrayList<>();
        for (String part : joined.split("\\|", -1)) {
            String h = part.strip();
            if (h.isEmpty()) {
                throw new IllegalArgumentException("empty host name in '" + joined + "'");
            }
            HostId id = HostId.of(h);
            if (hosts.contains(id)) {
                throw new IllegalArgumentException("host '" + h + "' listed twice in '" + joined + "'");
            }
            hosts.add(id);
        }
        return hosts;
    }

    private static IllegalArgumentException bad(String fact) {
        return new IllegalArgumentException("unknown fact '" + fact + "': expected one of " + FACTS);
    }
}
