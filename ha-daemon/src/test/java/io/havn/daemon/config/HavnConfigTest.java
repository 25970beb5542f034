package io.havn.daemon.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.node.Role;
import io.havn.daemon.coord.RecordSeal;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class HavnConfigTest {
    private static final String GOOD = """
            cluster: prod
            host: {name: node1, cpus: 32, memoryMiB: 131072, address: "10.0.0.1:7405"}
            zookeeper:
              connect: "zk1:2281,zk2:2281,zk3:2281"
              sessionTimeoutMs: 10000
              tls: {keyStore: /etc/havn/zk/host.p12, keyStorePasswordFile: /etc/havn/zk/host.password,
                    trustStore: /etc/havn/zk/ca.p12, trustStorePasswordFile: /etc/havn/zk/ca.password}
            heartbeat: {bind: "0.0.0.0:7405", keyFile: /etc/havn/cluster.key}
            libvirt: {uri: "qemu:///system"}
            fence:
              devices:
                ipmi-node1: {agent: /usr/sbin/fence_ipmilan, options: {ip: 10.0.1.1, username: admin, password: secret}}
              device: ipmi-node1
            settings: {graceMs: 2000}
            """;

    @Test
    void aCompleteFileIsReadWithItsValuesAndDefaults() {
        HavnConfig c = HavnConfig.parse(GOOD, "havn.yaml");
        assertEquals("prod", c.cluster());
        assertEquals(new HostId("node1"), c.host().name());
        assertEquals(32, c.host().capacity().cpus());
        assertEquals("zk1:2281,zk2:2281,zk3:2281", c.zookeeper().connect());
        assertEquals(new HavnConfig.ZooKeeper.Tls(Path.of("/etc/havn/zk/host.p12"), Path.of("/etc/havn/zk/host.password"),
                Path.of("/etc/havn/zk/ca.p12"), Path.of("/etc/havn/zk/ca.password")), c.zookeeper().tls());
        assertFalse(c.zookeeper().allowInsecure(), "secure by default");
        assertEquals(2000, c.settings().graceMs());
        assertEquals(10_000, c.settings().sessionTimeoutMs());
        assertEquals("/usr/sbin/fence_ipmilan", c.fence().devices().get("ipmi-node1").agent());
        assertEquals("ipmi-node1", c.fence().device());
        assertEquals(30_000, c.libvirt().callTimeoutMs(), "default");
        assertEquals(Path.of("/run/havn/watchdog.state"), c.watchdog().stateFile(), "default");
        assertNull(c.zookeeper().digest());
        assertTrue(!c.toString().contains("secret"), "no password in the config's text: " + c);
        assertEquals(Path.of("/run/havn/admin.sock"), c.admin().socket(), "default");
        assertEquals(java.util.Map.of(), c.admin().users(), "only root by default");
        assertEquals(java.util.Map.of(), c.admin().groups(), "only root by default");
        assertEquals("havn", c.admin().socketGroup(), "default");
        assertFalse(c.libvirt().allowPassthrough(), "no passthrough by default");
        assertTrue(c.libvirt().emulators().contains("/usr/bin/qemu-system-x86_64"), "the usual emulators by default");
    }

    @Test
    void theStorageHeartbeatsDatastoresAndHostsAreReadInOrder() {
        HavnConfig c = HavnConfig.parse(GOOD.replace("settings: {graceMs: 2000}\n", "") + """
                storage:
                  hosts: [node3, node1, node2]
                  datastores:
                    - {name: vmstore, path: /dev/disk/by-id/dm-uuid-mpath-3600a0b80001}
                    - {name: lun2, url: "iscsi://10.88.0.1:3260/iqn.2026-12.io.havn:e2e/7"}
                    - {name: nfs1, path: /mnt/vmstore//havn.heartbeat}
                settings: {storageIntervalMs: 2000, storageTimeoutMs: 8000, storageResumeRetryMs: 10000}
                """, "h.yaml");
        HavnConfig.Storage s = c.storage();
        assertEquals(java.util.List.of(new HostId("node3"), new HostId("node1"), new HostId("node2")), s.hosts());
        assertEquals(java.util.List.of(new HavnConfig.Storage.Datastore("vmstore",
                        Path.of("/dev/disk/by-id/dm-uuid-mpath-3600a0b80001"), null),
                new HavnConfig.Storage.Datastore("lun2", null,
                        java.net.URI.create("iscsi://10.88.0.1:3260/iqn.2026-12.io.havn:e2e/7")),
                new HavnConfig.Storage.Datastore("nfs1", Path.of("/mnt/vmstore/havn.heartbeat"), null)),
                s.datastores());
        assertEquals(java.util.List.of(new HostId("node1"), new HostId("node2"), new HostId("node3")),
                s.members(new HostId("node1")), "sorted by name, this host among them");
        assertEquals(2000, c.settings().storageIntervalMs());
        assertEquals(8000, c.settings().storageTimeoutMs());
        assertEquals(10000, c.settings().storageResumeRetryMs());
        HavnConfig none = HavnConfig.parse(GOOD, "h.yaml");
        assertEquals(HavnConfig.Storage.NONE, none.storage(), "no storage heartbeat by default");
        assertEquals(1000, none.settings().storageIntervalMs());
        assertEquals(5000, none.settings().storageTimeoutMs());
        assertEquals(5000, none.settings().storageResumeRetryMs());
    }

    @Test
    void badDatastoresAreRefusedNamingEachKey() {
        String[][] cases = {
            {"storage: {hosts: [node2], datastores: [{name: a, path: /srv/a}], bogus: 1}",
                "storage.bogus: unknown key (known: datastores, hosts)"},
            {"storage: {datastores: [{name: a, path: /srv/a}]}", "storage.hosts: required with storage.datastores"},
            {"storage: {hosts: node2}", "storage.hosts: must be a list of host names"},
            {"storage: {hosts: [node2, 'bad host!']}", "storage.hosts[1]: "},
            {"storage: {hosts: [node2, node2]}", "storage.hosts[1]: 'node2' is listed twice"},
            {"storage: {hosts: [node2], datastores: {a: /srv/a}}", "storage.datastores: must be a list"},
            {"storage: {hosts: [node2], datastores: [/srv/a]}", "storage.datastores[0]: must be a mapping"},
            {"storage: {hosts: [node2], datastores: [{path: /srv/a}]}", "storage.datastores[0].name: required"},
            {"storage: {hosts: [node2], datastores: [{name: '-a', path: /srv/a}]}",
                "storage.datastores[0].name: '-a' is not a datastore name"},
            {"storage: {hosts: [node2], datastores: [{name: a}]}", "storage.datastores[0]: needs path"},
            {"storage: {hosts: [node2], datastores: [{name: a, path: /srv/a, url: 'nfs://f/e/x'}]}",
                "storage.datastores[0]: give path or url, not both"},
            {"storage: {hosts: [node2], datastores: [{name: a, path: srv/a}]}",
                "storage.datastores[0].path: must be an absolute path without '..'"},
            {"storage: {hosts: [node2], datastores: [{name: a, path: /srv/../etc/a}]}",
                "storage.datastores[0].path: must be an absolute path without '..'"},
            {"storage: {hosts: [node2], datastores: [{name: a, url: 'rbd://pool/x'}]}",
                "storage.datastores[0].url: must be an iscsi:// or nfs:// URL"},
            {"storage: {hosts: [node2], datastores: [{name: a, url: 'iscsi://10.0.0.1/iqn.x'}]}",
                "storage.datastores[0].url: must be iscsi://HOST[:PORT]/TARGET-IQN/LUN"},
            {"storage: {hosts: [node2], datastores: [{name: a, path: /srv/a}, {name: a, path: /srv/b}]}",
                "storage.datastores[1].name: 'a' names two datastores"},
            {"storage: {hosts: [node2], datastores: [{name: a, path: /srv/a}, {name: b, path: /srv/a}]}",
                "storage.datastores[1]: /srv/a is also another datastore's"},
            {"storage: {hosts: [node2], datastores: [{name: a, path: /srv/a, colour: red}]}",
                "storage.datastores[0].colour: unknown key (known: name, path, url)"},
            {"storage: {hosts: [node2]}\nsettings: {storageIntervalMs: 3000}",
                "storageTimeoutMs (5000) must be at least twice storageIntervalMs (3000)"},
        };
        for (String[] c : cases) {
            String text = GOOD.replace("settings: {graceMs: 2000}\n", "") + c[0] + "\n";
            HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class,
                    () -> HavnConfig.parse(text, "h.yaml"), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
        }
    }

    @Test
    void rolesComeFromUsersAndGroups() {
        HavnConfig c = HavnConfig.parse(GOOD + "admin: {socketGroup: havn-ops, users: {alice: operator, bob: admin},"
                + " groups: {havn-ro: read-only, havn-admins: admin}}\n", "h.yaml");
        assertEquals(java.util.Map.of("alice", Role.OPERATOR, "bob", Role.ADMIN), c.admin().users());
        assertEquals(java.util.Map.of("havn-ro", Role.READ_ONLY, "havn-admins", Role.ADMIN), c.admin().groups());
        assertEquals("havn-ops", c.admin().socketGroup());
    }

    @Test
    void allowedUsersIsRefusedNamingItsReplacementWhateverItHolds() {
        for (String v : java.util.List.of("[ops]", "[{a: b}, 12, '']", "[]")) {
            HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class,
                    () -> HavnConfig.parse(GOOD + "admin: {allowedUsers: " + v + "}\n", "h.yaml"), v);
            assertTrue(e.getMessage().contains("admin.allowedUsers: replaced by roles")
                    && e.getMessage().contains("admin.users"), e.getMessage());
        }
    }

    @Test
    void badRoleMappingsAreRefusedNamingTheKey() {
        String bad = GOOD + """
                admin:
                  socketGroup: "bad group"
                  users: {alice: superuser, bob: 12, carol: [admin], root: read-only, "ev il": admin}
                  groups: [havn-ops]
                """;
        String m = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(bad, "h.yaml")).getMessage();
        for (String key : java.util.List.of("admin.socketGroup: 'bad group' is not a valid group name",
                "admin.users.alice: unknown role 'superuser'", "admin.users.bob: must be read-only, operator or admin",
                "admin.users.carol: must be read-only, operator or admin", "admin.users.root: root is always admin",
                "admin.users: 'ev il' is not a valid name", "admin.groups: must be a mapping of names to roles")) {
            assertTrue(m.contains(key), "should say " + key + ": " + m);
        }
    }

    @Test
    void theDomainPolicyComesFromTheLibvirtSection() {
        HavnConfig c = HavnConfig.parse(GOOD.replace("libvirt: {uri: \"qemu:///system\"}", "libvirt: "
                + "{sharedStorage: [/srv/vms/], allowPassthrough: true, emulators: [/opt/qemu/bin/qemu-system-x86_64]}"),
                "h.yaml");
        io.havn.common.domain.DomainPolicy p = c.libvirt().domainPolicy();
        assertEquals(java.util.List.of("/srv/vms"), p.sharedStorage());
        assertTrue(p.passthrough());
        assertEquals(java.util.Set.of("/opt/qemu/bin/qemu-system-x86_64"), p.emulators());
        String m = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(GOOD.replace(
                "libvirt: {uri: \"qemu:///system\"}", "libvirt: {sharedStorage: [/, /a/../etc, 12], "
                + "allowPassthrough: maybe}"), "h.yaml")).getMessage();
        for (String key : java.util.List.of("libvirt.sharedStorage: '/' would let", "libvirt.sharedStorage[1]: "
                + "must be an absolute path without '..'", "libvirt.sharedStorage[2]: must be an absolute path without "
                + "'..', got number 12", "libvirt.allowPassthrough: must be true or false")) {
            assertTrue(m.contains(key), "should say " + key + ": " + m);
        }
    }

    @Test
    void unsignedRecordsAreRefusedUnlessTheConfigSaysOtherwiseForAnUpgrade() {
        assertEquals(RecordSeal.Unsigned.REFUSE, HavnConfig.parse(GOOD, "h.yaml").zookeeper().unsignedRecords());
        String accept = GOOD.replace("  sessionTimeoutMs: 10000\n", "  sessionTimeoutMs: 10000\n  unsignedRecords: accept\n");
        assertEquals(RecordSeal.Unsigned.ACCEPT, HavnConfig.parse(accept, "h.yaml").zookeeper().unsignedRecords());
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class,
                () -> HavnConfig.parse(accept.replace("unsignedRecords: accept", "unsignedRecords: yes"), "h.yaml"));
        assertTrue(e.getMessage().contains("zookeeper.unsignedRecords: must be one of accept, refuse, write"),
                e.getMessage());
    }

    @Test
    void everyProblemIsReportedWithItsKey() {
        String bad = """
                cluster: "bad name!"
                host: {name: node1, cpus: -1, memoryMiB: 1024, colour: blue}
                zookeeper: {sessionTimeoutMs: 10}
                heartbeat: {bind: "nohostport"}
                fence: {device: missing}
                settings: {leasMs: 5}
                extra: 1
                """;
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class,
                () -> HavnConfig.parse(bad, "havn.yaml"));
        String m = e.getMessage();
        for (String key : new String[] {"havn.yaml", "cluster:", "host.cpus", "host.colour", "zookeeper.connect: required",
                "zookeeper.sessionTimeoutMs", "heartbeat.bind", "fence.device", "settings", "leasMs", "extra"}) {
            assertTrue(m.contains(key), "names " + key + ": " + m);
        }
    }

    /** GOOD with its zookeeper section replaced by {@code zookeeper}. */
    private static String withZooKeeper(String zookeeper) {
        return GOOD.replaceFirst("(?s)zookeeper:.*?(?=heartbeat:)", java.util.regex.Matcher.quoteReplacement(zookeeper));
    }

    @Test
    void aZooKeeperWithoutTlsIsRefusedUnlessTheFileAcceptsItInSoManyWords() {
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class,
                () -> HavnConfig.parse(withZooKeeper("zookeeper: {connect: \"zk1:2181\"}\n"), "havn.yaml"));
        assertTrue(e.getMessage().contains("zookeeper.tls: required"), e.getMessage());
        assertTrue(e.getMessage().contains("zookeeper.allowInsecure: true"), "says how to accept it: " + e.getMessage());
        HavnConfig.ConfigException no = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                withZooKeeper("zookeeper: {connect: \"zk1:2181\", allowInsecure: false}\n"), "havn.yaml"));
        assertTrue(no.getMessage().contains("zookeeper.tls: required"), no.getMessage());
        HavnConfig.ConfigException empty = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                withZooKeeper("zookeeper: {connect: \"zk1:2181\", tls: null}\n"), "havn.yaml"));
        assertTrue(empty.getMessage().contains("zookeeper.tls: required"), "tls: null is no tls: " + empty.getMessage());
        HavnConfig.ConfigException vague = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                withZooKeeper("zookeeper: {connect: \"zk1:2181\", allowInsecure: yes please}\n"), "havn.yaml"));
        assertTrue(vague.getMessage().contains("zookeeper.allowInsecure: must be true or false"), vague.getMessage());

        HavnConfig insecure = HavnConfig.parse(
                withZooKeeper("zookeeper: {connect: \"zk1:2181\", allowInsecure: true}\n"), "havn.yaml");
        assertNull(insecure.zookeeper().tls());
        assertTrue(insecure.zookeeper().allowInsecure());
    }

    @Test
    void aDigestWithoutTlsIsRefusedSinceItsPasswordWouldCrossTheNetworkInClearText() {
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                withZooKeeper("zookeeper: {connect: \"zk1:2181\", digest: \"havn:s3cret\"}\n"), "havn.yaml"));
        assertTrue(e.getMessage().contains("zookeeper.digest: without zookeeper.tls its password crosses the network "
                + "in clear text"), e.getMessage());
        assertFalse(e.getMessage().contains("s3cret"), "no password in the message: " + e.getMessage());
        assertEquals("havn:s3cret", HavnConfig.parse(withZooKeeper(
                "zookeeper: {connect: \"zk1:2181\", digest: \"havn:s3cret\", allowInsecure: true}\n"), "h.yaml")
                .zookeeper().digest(), "accepted in so many words");
        assertEquals("havn:s3cret", HavnConfig.parse(GOOD.replace("sessionTimeoutMs: 10000",
                "sessionTimeoutMs: 10000\n  digest: \"havn:s3cret\""), "h.yaml").zookeeper().digest(), "inside TLS");
    }

    @Test
    void theTlsStoresAndTheirPasswordFilesAreAbsolutePathsAllRequiredAndNoPasswordIsInline() {
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                withZooKeeper("""
                        zookeeper:
                          connect: "zk1:2281"
                          tls: {keyStore: host.p12, keyStorePassword: s3cret, trustStorePasswordFile: /etc/havn/ca.pw}
                        """), "havn.yaml"));
        String m = e.getMessage();
        for (String expected : new String[] {"zookeeper.tls.keyStore: must be an absolute path, got 'host.p12'",
                "zookeeper.tls.keyStorePassword: unknown key", "zookeeper.tls.keyStorePasswordFile: required",
                "zookeeper.tls.trustStore: required"}) {
            assertTrue(m.contains(expected), "names " + expected + ": " + m);
        }
        assertFalse(m.contains("zookeeper.tls: required"), "the section is there, with its faults: " + m);
        HavnConfig.ConfigException notMapping = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                withZooKeeper("zookeeper: {connect: \"zk1:2281\", tls: true}\n"), "havn.yaml"));
        assertTrue(notMapping.getMessage().contains("zookeeper.tls: must be a mapping"), notMapping.getMessage());
    }

    @Test
    void aVerifiedWatchdogIsRequiredUnlessTheFileSaysOtherwise() {
        assertTrue(HavnConfig.parse(GOOD, "havn.yaml").watchdog().required(), "HA VMs need a verified petter");
        assertFalse(HavnConfig.parse(GOOD + "watchdog: {required: false}\n", "h.yaml").watchdog().required());
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class,
                () -> HavnConfig.parse(GOOD + "watchdog: {required: maybe}\n", "havn.yaml"));
        assertTrue(e.getMessage().contains("watchdog.required: must be true or false, got 'maybe'"), e.getMessage());
    }

    @Test
    void theStateDirIsOnTheDiskByDefaultAndAnAbsolutePath() {
        assertEquals(Path.of("/var/lib/havn"), HavnConfig.parse(GOOD, "havn.yaml").host().stateDir(), "not /run");
        assertEquals(Path.of("/srv/state"), HavnConfig.parse(GOOD.replace("address: \"10.0.0.1:7405\"}",
                "address: \"10.0.0.1:7405\", stateDir: /srv/havn/../state}"), "h.yaml").host().stateDir());
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                GOOD.replace("address: \"10.0.0.1:7405\"}", "address: \"10.0.0.1:7405\", stateDir: var/lib/havn}"),
                "havn.yaml"));
        assertTrue(e.getMessage().contains("host.stateDir: must be an absolute path, got 'var/lib/havn'"), e.getMessage());
    }

    @Test
    void unsafeTimingIsRefused() {
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                GOOD.replace("settings: {graceMs: 2000}", "settings: {leaseMs: 9000}"), "havn.yaml"));
        assertTrue(e.getMessage().contains("leaseMs + watchdogMs"), e.getMessage());
    }

    @Test
    void theSessionTimeoutIsSetOnceInTheZooKeeperSection() {
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                GOOD.replace("settings: {graceMs: 2000}", "settings: {sessionTimeoutMs: 20000}"), "havn.yaml"));
        assertTrue(e.getMessage().contains("settings.sessionTimeoutMs"), e.getMessage());
    }

    @Test
    void metricsAndLoggingHaveSafeDefaultsAndCanBeSet() {
        HavnConfig d = HavnConfig.parse(GOOD, "havn.yaml");
        assertTrue(d.metrics().enabled(), "metrics on by default");
        assertEquals("127.0.0.1:9464", d.metrics().bind().getHostString() + ":" + d.metrics().bind().getPort(),
                "on loopback by default");
        assertEquals(HavnConfig.Logging.Format.CONSOLE, d.logging().format(), "plain lines for journald by default");
        assertEquals("info", d.logging().level());
        HavnConfig c = HavnConfig.parse(GOOD + """
                metrics: {enabled: false, bind: "10.0.0.1:9100"}
                logging: {format: json, level: debug}
                """, "havn.yaml");
        assertFalse(c.metrics().enabled());
        assertEquals(9100, c.metrics().bind().getPort());
        assertEquals(HavnConfig.Logging.Format.JSON, c.logging().format());
        assertEquals("debug", c.logging().level());
    }

    @Test
    void badMetricsAndLoggingValuesAreNamed() {
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(GOOD + """
                metrics: {enabled: "yes please", bind: "9464", port: 1}
                logging: {format: xml, level: loud}
                """, "havn.yaml"));
        String m = e.getMessage();
        for (String expected : new String[] {"metrics.enabled: must be true or false", "metrics.bind: must be host:port",
                "metrics.port: unknown key", "logging.format: must be one of console, json, got 'xml'",
                "logging.level: must be one of debug, error, info, trace, warn, got 'loud'"}) {
            assertTrue(m.contains(expected), "names " + expected + ": " + m);
        }
        HavnConfig.ConfigException n = assertThrows(HavnConfig.ConfigException.class,
                () -> HavnConfig.parse(GOOD + "metrics: on\nlogging: [json]\n", "havn.yaml"));
        assertTrue(n.getMessage().contains("metrics: must be a mapping"), n.getMessage());
        assertTrue(n.getMessage().contains("logging: must be a mapping"), n.getMessage());
    }

    @Test
    void notYamlOrMissingFileIsAClearError() {
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class,
                () -> HavnConfig.parse("cluster: [unclosed", "havn.yaml"));
        assertTrue(e.getMessage().startsWith("havn.yaml: not valid YAML"), e.getMessage());
        HavnConfig.ConfigException f = assertThrows(HavnConfig.ConfigException.class,
                () -> HavnConfig.load(Path.of("/nonexistent/havn.yaml")));
        assertTrue(f.getMessage().contains("/nonexistent/havn.yaml: cannot read"), f.getMessage());
    }

    @Test
    void sharedStorageIsAListOfAbsolutePathsAndNoneByDefault() {
        assertEquals(java.util.List.of(), HavnConfig.parse(GOOD, "havn.yaml").libvirt().sharedStorage());
        HavnConfig c = HavnConfig.parse(GOOD.replace("libvirt: {uri: \"qemu:///system\"}",
                "libvirt: {uri: \"qemu:///system\", sharedStorage: [/mnt/vms, \"/srv//san/\"]}"), "havn.yaml");
        assertEquals(java.util.List.of(Path.of("/mnt/vms"), Path.of("/srv/san")), c.libvirt().sharedStorage());
        HavnConfig.ConfigException e = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                GOOD.replace("libvirt: {uri: \"qemu:///system\"}",
                        "libvirt: {sharedStorage: [/mnt/vms, images/shared, {a: 1}]}"), "havn.yaml"));
        assertTrue(e.getMessage().contains("libvirt.sharedStorage[1]: must be an absolute path without '..', got "
                + "'images/shared'"),
                e.getMessage());
        assertTrue(e.getMessage().contains("libvirt.sharedStorage[2]"), e.getMessage());
        assertTrue(!e.getMessage().contains("sharedStorage[0]"), e.getMessage());
        HavnConfig.ConfigException f = assertThrows(HavnConfig.ConfigException.class, () -> HavnConfig.parse(
                GOOD.replace("libvirt: {uri: \"qemu:///system\"}", "libvirt: {sharedStorage: /mnt/vms}"), "havn.yaml"));
        assertTrue(f.getMessage().contains("libvirt.sharedStorage: must be a list of absolute paths"), f.getMessage());
    }
}
