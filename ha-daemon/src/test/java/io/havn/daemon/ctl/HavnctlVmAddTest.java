package io.havn.daemon.ctl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.GuestMonitor;
import io.havn.common.model.Priority;
import io.havn.common.model.StorageErrorPolicy;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.AdminCommand;
import io.havn.daemon.admin.DomainXml;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code havnctl vm add} against libvirt's test driver: a private hypervisor defined by a node XML
 * with two domains, one whose disks lie on the configured shared storage and one with a disk
 * elsewhere, and a real admin socket in front of a stand-in node.
 */
class HavnctlVmAddTest {
    private static final String INSIDE = "5b0c7b1e-8d5a-4c7e-9f41-2a6e0d3c9b11";
    private static final String OUTSIDE = "5b0c7b1e-8d5a-4c7e-9f41-2a6e0d3c9b22";

    @TempDir
    Path dir;

    private FakeDaemon daemon;
    private Path config;
    private Path shared;

    private static String domain(String name, String uuid, String disks) {
        return """
                <domain type='test'>
                  <name>%s</name>
                  <uuid>%s</uuid>
                  <memory unit='MiB'>1536</memory>
                  <vcpu>2</vcpu>
                  <os><type>hvm</type></os>
                  <devices>%s</devices>
                </domain>
                """.formatted(name, uuid, disks);
    }

    private static String disk(String type, String attr, String path, String dev) {
        return "<disk type='" + type + "' device='disk'><source " + attr + "='" + path + "'/><target dev='" + dev
                + "' bus='virtio'/></disk>";
    }

    @BeforeEach
    void setUp() throws Exception {
        daemon = new FakeDaemon(dir);
        shared = dir.resolve("shared");
        Path node = dir.resolve("node.xml");
        Files.writeString(node, "<node>"
                + domain("app1", INSIDE, disk("file", "file", shared + "/vms/app1.qcow2", "vda")
                        + disk("block", "dev", "/dev/mapper/san-app1", "vdb"))
                + domain("app2", OUTSIDE, disk("file", "file", shared + "/vms/app2.qcow2", "vda")
                        + disk("file", "file", shared + "/../local/app2-scratch.img", "vdb"))
                + "</node>");
        config = dir.resolve("havn.yaml");
        Files.writeString(config, """
                cluster: prod
                host: {name: node1, cpus: 8, memoryMiB: 16384, address: "127.0.0.1:7405"}
                zookeeper: {connect: "127.0.0.1:2181", allowInsecure: true}
                libvirt: {uri: "test://%s", sharedStorage: ["%s", /dev/mapper]}
                """.formatted(node, shared));
    }

    @AfterEach
    void tearDown() {
        daemon.close();
    }

    /** {@code havnctl vm add ARGS} with the test's socket and {@code cfg}. */
    private HavnctlTest.Result add(Path cfg, String... args) {
        List<String> line = new java.util.ArrayList<>(List.of("vm", "add", "--socket", daemon.socket.toString(),
                "--config", cfg.toString()));
        line.addAll(List.of(args));
        return HavnctlTest.run(Map.of(), line.toArray(String[]::new));
    }

    private HavnctlTest.Result havnctl(String... args) {
        return add(config, args);
    }

    @Test
    void aDomainOnSharedStorageIsSentWithItsSpecAndXml() {
        HavnctlTest.Result r = havnctl("app1", "--priority", "high");
        assertEquals(0, r.code(), r.toString());
        assertEquals("accepted\n", r.out());
        assertEquals(1, daemon.seen.size(), daemon.seen.toString());
        VmSpec s = ((AdminCommand.VmAdd) daemon.seen.get(0)).spec();
        assertEquals(new VmId(INSIDE), s.id());
        assertEquals("app1", s.name());
        assertEquals(2, s.cpus());
        assertEquals(1536, s.memoryMiB());
        assertEquals(Priority.HIGH, s.priority());
        assertTrue(s.ha());
        DomainXml xml = DomainXml.parse(s.domainXml());
        assertEquals("app1", xml.name());
        assertEquals(List.of(shared + "/vms/app1.qcow2", "/dev/mapper/san-app1"),
                xml.disks().stream().map(DomainXml.Disk::path).toList(), "the XML libvirt gave, disks and all");
    }

    /** The test's config, with a storage heartbeat on vmstore and lun2. */
    private Path storageConfig() throws Exception {
        Path c = dir.resolve("storage.yaml");
        Files.writeString(c, Files.readString(config) + """
                storage:
                  hosts: [node1, node2]
                  datastores:
                    - {name: vmstore, path: /dev/disk/by-id/dm-uuid-mpath-3600a0b8}
                    - {name: lun2, url: "iscsi://10.88.0.1:3260/iqn.2026-12.io.havn:e2e/7"}
                """);
        return c;
    }

    @Test
    void theDatastoresTheStorageErrorPolicyAndTheGuestMonitorAreSentWithTheSpec() throws Exception {
        HavnctlTest.Result r = add(storageConfig(), "app1", "--datastore", "vmstore", "--datastore", "lun2",
                "--on-storage-error", "restart-elsewhere", "--agent-misses", "5", "--agent-window-ms", "7200000");
        assertEquals(0, r.code(), r.toString());
        VmSpec s = ((AdminCommand.VmAdd) daemon.seen.get(0)).spec();
        assertEquals(List.of("vmstore", "lun2"), s.datastores());
        assertEquals(StorageErrorPolicy.RESTART_ELSEWHERE, s.onStorageError());
        assertEquals(new GuestMonitor(GuestMonitor.DEFAULT_INTERVAL_MS, 5, GuestMonitor.DEFAULT_GRACE_MS,
                GuestMonitor.DEFAULT_MAX_RESETS, 7_200_000), s.guestMonitor(), "an --agent-* option turns it on");
    }

    @Test
    void guestAgentAloneIsTheUsualMonitorAndNoOptionIsNone() throws Exception {
        assertEquals(0, add(storageConfig(), "app1", "--guest-agent").code());
        VmSpec monitored = ((AdminCommand.VmAdd) daemon.seen.get(0)).spec();
        assertEquals(GuestMonitor.defaults(), monitored.guestMonitor());
        assertEquals(List.of(), monitored.datastores());
        assertEquals(null, monitored.onStorageError(), "the default policy, resume, is not written");
        assertEquals(0, add(storageConfig(), "app1").code());
        assertEquals(null, ((AdminCommand.VmAdd) daemon.seen.get(1)).spec().guestMonitor(), "not monitored");
    }

    @Test
    void badStorageAndAgentOptionsAreNamedAndNothingIsSent() throws Exception {
        Path cfg = storageConfig();
        String[][] cases = {
            {"--datastore", "lun9", "is not one of storage.datastores in " + cfg + " (vmstore, lun2)"},
            {"--datastore", "bad name", "--datastore 'bad name' is not a datastore name"},
            {"--on-storage-error", "reboot", "unknown storage error policy 'reboot': expected resume, leave-paused or "
                    + "restart-elsewhere"},
            {"--agent-interval-ms", "5", "--agent-interval-ms must be 1000-3600000, got 5"},
            {"--agent-misses", "0", "--agent-misses must be 1-100, got 0"},
            {"--agent-grace-ms", "-1", "--agent-grace-ms must be 0-3600000, got -1"},
            {"--agent-max-resets", "101", "--agent-max-resets must be 0-100, got 101"},
            {"--agent-window-ms", "1000", "--agent-window-ms must be at least intervalMs (10000)"},
            {"--agent-misses", "three", "--agent-misses"},
        };
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("app1"));
            args.addAll(List.of(c).subList(0, c.length - 1));
            HavnctlTest.Result r = add(cfg, args.toArray(String[]::new));
            assertEquals(2, r.code(), args + ": " + r);
            assertTrue(r.err().contains(c[c.length - 1]), args + ": " + r.err());
        }
        HavnctlTest.Result twice = add(cfg, "app1", "--datastore", "vmstore", "--datastore", "vmstore");
        assertEquals(2, twice.code(), twice.toString());
        assertTrue(twice.err().contains("--datastore vmstore is given twice"), twice.err());
        assertEquals(List.of(), daemon.seen, "nothing sent");
    }

    @Test
    void aDatastoreIsNotCheckedAgainstAConfigWithoutAStorageHeartbeat() {
        HavnctlTest.Result r = havnctl("app1", "--datastore", "vmstore");
        assertEquals(0, r.code(), r.toString());
        assertEquals(List.of("vmstore"), ((AdminCommand.VmAdd) daemon.seen.get(0)).spec().datastores());
    }

    @Test
    void byUuidWithTheDefaultPriority() {
        HavnctlTest.Result r = havnctl(INSIDE);
        assertEquals(0, r.code(), r.toString());
        VmSpec s = ((AdminCommand.VmAdd) daemon.seen.get(0)).spec();
        assertEquals("app1", s.name());
        assertEquals(Priority.MEDIUM, s.priority());
    }

    @Test
    void aDiskOutsideTheSharedStorageIsNamedAndNothingIsSent() {
        HavnctlTest.Result r = havnctl("app2");
        assertEquals(2, r.code(), r.toString());
        assertTrue(r.err().contains("disk vdb of app2 (" + shared + "/../local/app2-scratch.img) is not on shared "
                + "storage (libvirt.sharedStorage in " + config + ": [" + shared + ", /dev/mapper])"), r.err());
        assertEquals(List.of(), daemon.seen);
    }

    @Test
    void anUnknownDomainOrNoLibvirtOrNoConfigIsSaidSo() {
        HavnctlTest.Result ghost = havnctl("ghost");
        assertEquals(2, ghost.code(), ghost.toString());
        assertTrue(ghost.err().contains("no domain 'ghost' in libvirt at test://"), ghost.err());
        HavnctlTest.Result noLibvirt = havnctl("app1", "--libvirt-uri", "test:///nonexistent/node.xml");
        assertEquals(3, noLibvirt.code(), noLibvirt.toString());
        assertTrue(noLibvirt.err().contains("cannot connect to libvirt at test:///nonexistent/node.xml"),
                noLibvirt.err());
        HavnctlTest.Result noConfig = add(dir.resolve("none.yaml"), "app1");
        assertEquals(2, noConfig.code(), noConfig.toString());
        assertTrue(noConfig.err().contains("vm add needs libvirt.sharedStorage from the daemon's config"),
                noConfig.err());
        assertEquals(List.of(), daemon.seen);
    }
}
