package io.havn.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class HavndTest {

    private record Run(int exit, String out, String err) { }

    private static Run havnd(String... args) {
        PrintStream out = System.out;
        PrintStream err = System.err;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
            int exit = new CommandLine(new Havnd()).execute(args);
            return new Run(exit, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(out);
            System.setErr(err);
        }
    }

    @Test
    void checkConfigPassesAValidFile(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384}
                zookeeper: {connect: "127.0.0.1:2181"}
                """);
        Run r = havnd("--config", f.toString(), "--check-config");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("valid (host node1, cluster prod)"), r.out());
    }

    @Test
    void aBadConfigExitsNonZeroNamingTheKeyAndStartsNothing(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("havn.yaml");
        Files.writeString(f, "cluster: prod\nhost: {name: node1, cpus: 8}\n");
        Run r = havnd("--config", f.toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("host.memoryMiB: required") && r.err().contains("zookeeper.connect: required"),
                r.err());
    }
}
