package io.havn.packaging.e2e;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The facts the harness wrote, one a line: a kind, then {@code key=value} or {@code key="a value"}
 * pairs, e.g. {@code recovered path=fence vm=vm5 on=host2 seconds=2.84}.
 */
final class Results {
    /** One line: its kind and its values by key. */
    record Fact(String kind, Map<String, String> values) {
        String get(String key) {
            String v = values.get(key);
            if (v == null) {
                throw new AssertionError("the harness wrote no " + key + " in: " + this);
            }
            return v;
        }

        double number(String key) {
            try {
                return Double.parseDouble(get(key));
            } catch (NumberFormatException e) {
                throw new AssertionError(key + " is not a number in: " + this, e);
            }
        }

        @Override
        public String toString() {
            return kind + " " + values;
        }
    }

    private static final Pattern PAIR = Pattern.compile("(\\w+)=(\"[^\"]*\"|\\S*)");

    private final List<Fact> facts;

    private Results(List<Fact> facts) {
        this.facts = List.copyOf(facts);
    }

    static Results parse(List<String> lines) {
        List<Fact> facts = new ArrayList<>();
        for (String line : lines) {
            String l = line.strip();
            if (l.isEmpty()) {
                continue;
            }
            int space = l.indexOf(' ');
            String kind = space < 0 ? l : l.substring(0, space);
            Map<String, String> values = new LinkedHashMap<>();
            Matcher m = PAIR.matcher(space < 0 ? "" : l.substring(space + 1));
            while (m.find()) {
                String v = m.group(2);
                values.put(m.group(1), v.startsWith("\"") ? v.substring(1, v.length() - 1) : v);
            }
            facts.add(new Fact(kind, values));
        }
        return new Results(facts);
    }

    /** The facts of {@code kind} whose values include every pair of {@code where} (key, value, key, value...). */
    List<Fact> all(String kind, String... where) {
        List<Fact> out = new ArrayList<>();
        for (Fact f : facts) {
            if (!f.kind().equals(kind)) {
                continue;
            }
            boolean match = true;
            for (int i = 0; i + 1 < where.length; i += 2) {
                match &= where[i + 1].equals(f.values().get(where[i]));
            }
            if (match) {
                out.add(f);
            }
        }
        return out;
    }

    /** The one fact of {@code kind} matching {@code where}. */
    Fact one(String kind, String... where) {
        List<Fact> found = all(kind, where);
        if (found.size() != 1) {
            throw new AssertionError("expected one '" + kind + "' fact matching " + List.of(where) + ", found "
                    + found.size() + " among: " + facts);
        }
        return found.get(0);
    }

    @Override
    public String toString() {
        return facts.toString();
    }
}
