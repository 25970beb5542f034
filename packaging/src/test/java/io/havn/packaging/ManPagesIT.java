package io.havn.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The man pages: groff renders them without a warning, they have the sections a man page has,
 * and they document every command and option the programs themselves list in their help.
 */
class ManPagesIT {
    private static final List<String> SECTIONS = List.of("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "ENVIRONMENT",
            "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO");
    private static final Pattern OPTION = Pattern.compile("^\\s+(?:-\\w, )?(--[a-z][a-z-]*)", Pattern.MULTILINE);
    private static final Pattern COMMAND = Pattern.compile("^  ([a-z][a-z-]*)  ", Pattern.MULTILINE);

    @TempDir
    static Path unpacked;
    static Path top;

    @BeforeAll
    static void unpack() {
        top = Artifacts.extractTarball(unpacked);
    }

    @Test
    void groffRendersBothWithoutAWarning() {
        Assumptions.assumeTrue(Run.onPath("groff"), "groff is not installed (Debian: groff-base)");
        for (String page : List.of("havnd.8", "havnctl.8")) {
            Run.Result r = Run.run(null, env -> env.put("LC_ALL", "C.UTF-8"), "groff", "-man", "-Tutf8", "-wall",
                    top.resolve("man").resolve(page).toString()).ok();
            assertEquals("", r.err(), page + ": groff's warnings");
            assertTrue(r.out().contains("havn"), r.describe());
        }
    }

    @Test
    void bothHaveTheSectionsOfAManPage() throws IOException {
        for (String page : List.of("havnd.8", "havnctl.8")) {
            List<String> found = new ArrayList<>();
            for (String l : Files.readAllLines(top.resolve("man").resolve(page))) {
                if (l.startsWith(".SH ")) {
                    found.add(l.substring(4).replace("\"", ""));
                }
            }
            assertTrue(found.containsAll(SECTIONS), page + " has " + SECTIONS + " among its sections " + found);
        }
        assertTrue(sectionsOf("havnctl.8").contains("COMMANDS"), "havnctl.8 lists the commands");
    }

    @Test
    void havnctlsPageDocumentsEveryCommandAndOption() throws IOException {
        Set<String> entries = entries("havnctl.8");
        String help = help("bin/havnctl", "--help");
        Set<String> commands = new TreeSet<>();
        Set<String> options = new TreeSet<>(matches(OPTION, help));
        for (String c : commands(help)) {
            String sub = help("bin/havnctl", c, "--help");
            Set<String> subs = commands(sub);
            if (subs.isEmpty()) {
                commands.add(c);
                options.addAll(matches(OPTION, sub));
            }
            for (String s : subs) {
                commands.add(c + " " + s);
                options.addAll(matches(OPTION, help("bin/havnctl", c, s, "--help")));
            }
        }
        assertTrue(commands.contains("vm add") && commands.contains("status"), "havnctl's commands: " + commands);
        for (String c : commands) {
            assertTrue(entries.stream().anyMatch(e -> e.equals(c) || e.startsWith(c + " ")),
                    "havnctl.8 has an entry for '" + c + "'; its entries: " + entries);
        }
        String text = unescaped(Files.readString(top.resolve("man/havnctl.8")));
        for (String o : options) {
            assertTrue(text.contains(o), "havnctl.8 documents " + o);
        }
    }

    @Test
    void havndsPageDocumentsEveryOptionOfTheDaemonThePetterAndTheSignalSender() throws IOException {
        Set<String> entries = entries("havnd.8");
        Set<String> options = new TreeSet<>(matches(OPTION, help("bin/havnd", "--help")));
        options.addAll(matches(OPTION, help("bin/havn-watchdog", "--help")));
        options.addAll(matches(OPTION, help("bin/havn-signal", "--help")));
        assertTrue(options.containsAll(Set.of("--check-config", "--config", "--device", "--state")),
                "the options the programs list: " + options);
        for (String o : options) {
            assertTrue(entries.stream().anyMatch(e -> Set.of(e.split("[ ,\"]+")).contains(o)),
                    "havnd.8 has an entry for " + o + "; its entries: " + entries);
        }
    }

    private static String help(String program, String... args) {
        List<String> cmd = new ArrayList<>(List.of(top.resolve(program).toString()));
        cmd.addAll(List.of(args));
        return Run.run(cmd.toArray(String[]::new)).ok().out();
    }

    /** The commands a help text lists under "Commands:", none if it has no such list. */
    private static Set<String> commands(String help) {
        int list = help.indexOf("\nCommands:\n");
        return list < 0 ? Set.of() : matches(COMMAND, help.substring(list));
    }

    private static Set<String> matches(Pattern p, String text) {
        Set<String> out = new TreeSet<>();
        Matcher m = p.matcher(text);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    private static List<String> sectionsOf(String page) throws IOException {
        return Files.readAllLines(top.resolve("man").resolve(page)).stream().filter(l -> l.startsWith(".SH "))
                .map(l -> l.substring(4)).toList();
    }

    /** What each .TP paragraph describes: the line after .TP, as text. */
    private static Set<String> entries(String page) throws IOException {
        List<String> lines = Files.readAllLines(top.resolve("man").resolve(page));
        Set<String> out = new TreeSet<>();
        for (int i = 0; i + 1 < lines.size(); i++) {
            if (lines.get(i).equals(".TP")) {
                out.add(unescaped(lines.get(i + 1).replaceFirst("^\\.[A-Z]{1,2} ", "")).replace("\"", "").strip());
            }
        }
        return out;
    }

    private static String unescaped(String roff) {
        return roff.replace("\\-", "-").replace("\\fR", "").replace("\\fB", "").replace("\\fI", "");
    }
}
