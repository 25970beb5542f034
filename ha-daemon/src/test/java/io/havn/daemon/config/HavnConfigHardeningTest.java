package io.havn.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the config refuses so that a mistake cannot reach the daemon: paths, sizes, shapes, addresses. */
class HavnConfigHardeningTest {
    private static final String BASE = """
            cluster: prod
            host: {name: node1, cpus: 8, memoryMiB: 16384, address: "10.0.0.1:7405"}
            zookeeper: {connect: "zk1:2181", allowInsecure: true}
            """;

    private static String refused(String yaml) {
        return assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(yaml, "havn.yaml")).getMessage();
    }

    @Test
    void heartbeatsAreReceivedOnTheHostsOwnAddressUnlessToldOtherwise() {
        HavnConfig c = HavnConfig.parse(BASE, "havn.yaml");
        assertEquals("10.0.0.1", c.heartbeat().bind().getHostString(), "not 0.0.0.0: only where peers send");
        assertEquals(7405, c.heartbeat().bind().getPort());
        HavnConfig wildcard = HavnConfig.parse(BASE + "heartbeat: {bind: \"0.0.0.0:7405\"}\n", "havn.yaml");
        assertEquals("0.0.0.0", wildcard.heartbeat().bind().getHostString(), "a wildcard is still allowed when asked for");
        assertEquals("10.0.0.1", wildcard.host().address().getHostString());
    }

    @Test
    void withoutAnAddressPeersCanSendTo() {
        String noAddress = BASE.replace(", address: \"10.0.0.1:7405\"", "");
        String m = refused(noAddress);
        assertTrue(m.contains("host.address: required"), m);
        String w = refused(noAddress + "heartbeat: {bind: \"0.0.0.0:7405\"}\n");
        assertTrue(w.contains("host.address: required when heartbeat.bind is a wildcard address (0.0.0.0)"), w);
        String v6 = refused(noAddress + "heartbeat: {bind: \"[::]:7405\"}\n");
        assertTrue(v6.contains("host.address: required when heartbeat.bind is a wildcard address"), v6);
        HavnConfig bound = HavnConfig.parse(noAddress + "heartbeat: {bind: \"10.0.0.7:7405\"}\n", "havn.yaml");
        assertEquals("10.0.0.7", bound.host().address().getHostString(), "peers send where it listens");
    }

    @Test
    void filesTheDaemonUsesMustBeGivenByAbsolutePath() {
        String m = refused(BASE + """
                heartbeat: {keyFile: cluster.key}
                watchdog: {stateFile: run/watchdog.state}
                admin: {socket: admin.sock}
                fence:
                  devices:
                    pdu: {agent: bin/fence_apc, options: {ip: 10.0.1.1}}
                """);
        for (String key : new String[] {"heartbeat.keyFile: must be an absolute path, got 'cluster.key'",
                "watchdog.stateFile: must be an absolute path, got 'run/watchdog.state'",
                "admin.socket: must be an absolute path, got 'admin.sock'",
                "fence.devices.pdu.agent: must be an absolute path (or a program name in /usr/sbin), got 'bin/fence_apc'"}) {
            assertTrue(m.contains(key), key + " in " + m);
        }
    }

    @Test
    void aBareAgentNameMeansTheFenceAgentsDirectoryNeverThePath() {
        HavnConfig c = HavnConfig.parse(BASE + """
                fence:
                  devices:
                    pdu: {agent: fence_apc, options: {ip: 10.0.1.1}}
                    ipmi: {agent: "/usr/sbin/../sbin/fence_ipmilan"}
                """, "havn.yaml");
        assertEquals("/usr/sbin/fence_apc", c.fence().devices().get("pdu").agent());
        assertEquals("/usr/sbin/fence_ipmilan", c.fence().devices().get("ipmi").agent());
    }

    @Test
    void aFenceOptionMustBeOneValue() {
        String m = refused(BASE + """
                fence:
                  devices:
                    pdu: {agent: /usr/sbin/fence_apc, options: {ip: 10.0.1.1, a: {b: c}, list: [1, 2], empty: null}}
                """);
        assertTrue(m.contains("fence.devices.pdu.options.a: must be a string, number or true/false, got a mapping"), m);
        assertTrue(m.contains("fence.devices.pdu.options.list: must be a string, number or true/false, got a list"), m);
        assertTrue(m.contains("fence.devices.pdu.options.empty: must be a string, number or true/false, got no value"), m);
        assertFalse(m.contains("options.ip"), m);
        HavnConfig c = HavnConfig.parse(BASE + """
                fence:
                  devices:
                    pdu: {agent: /usr/sbin/fence_apc, options: {ip: 10.0.1.1, ipport: 161, ssl: true, login: ""}}
                """, "havn.yaml");
        assertEquals("161", c.fence().devices().get("pdu").options().get("ipport"));
        assertEquals("true", c.fence().devices().get("pdu").options().get("ssl"));
    }

    @Test
    void aFenceOptionIsPassedAsWrittenNotAsYamlReadsIt() {
        HavnConfig c = HavnConfig.parse(BASE + """
                fence:
                  devices:
                    scsi: {agent: /usr/sbin/fence_scsi, options: {key: 0x5ec7e7a1, password: 0123, plug: 007, ssl: yes, delay: 1.50, e: 1e3}}
                """, "havn.yaml");
        assertEquals(java.util.Map.of("key", "0x5ec7e7a1", "password", "0123", "plug", "007", "ssl", "yes", "delay", "1.50",
                "e", "1e3"), c.fence().devices().get("scsi").options(), "not 1590159265, 83, 7, true, 1.5, 1000.0");
    }

    @Test
    void theReceiveBufferIsFourMiBByDefaultAndBounded() {
        assertEquals(4 * 1024 * 1024, HavnConfig.parse(BASE, "havn.yaml").heartbeat().receiveBufferBytes());
        assertEquals(16 * 1024 * 1024, HavnConfig.parse(BASE + "heartbeat: {receiveBufferBytes: 16777216}\n",
                "havn.yaml").heartbeat().receiveBufferBytes());
        String m = refused(BASE + "heartbeat: {receiveBufferBytes: 1024}\n");
        assertTrue(m.contains("heartbeat.receiveBufferBytes: must be between 65536 and 268435456, got 1024"), m);
    }

    @Test
    void aFileLargerThanOneMiBIsRefusedBeforeItIsParsed(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("havn.yaml");
        try (OutputStream out = Files.newOutputStream(f)) {
            out.write(BASE.getBytes(StandardCharsets.UTF_8));
            out.write("# padding\n".repeat(HavnConfig.MAX_FILE_BYTES / 10).getBytes(StandardCharsets.UTF_8));
        }
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.load(f));
        assertTrue(e.getMessage().startsWith(f + ": larger than 1048576 bytes (1 MiB)"), e.getMessage());
        // what is read is bounded too: an endless source is refused, not read to its end
        HavnConfig.ConfigException z = assertThrows(HavnConfig.ConfigException.class,
                () -> HavnConfig.load(Path.of("/dev/zero")));
        assertTrue(z.getMessage().contains("larger than 1048576 bytes"), z.getMessage());
        Files.writeString(f, BASE);
        assertEquals("prod", HavnConfig.load(f).cluster(), "a file of normal size still loads");
    }
}
