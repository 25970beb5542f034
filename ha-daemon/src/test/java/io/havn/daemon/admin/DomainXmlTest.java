package io.havn.daemon.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class DomainXmlTest {
    private static final String XML = """
            <domain type='kvm'>
              <name>db1</name>
              <uuid>0b9e6a4c-1d2e-4f3a-8b5c-6d7e8f9a0b1c</uuid>
              <memory unit='GiB'>4</memory>
              <currentMemory unit='GiB'>2</currentMemory>
              <vcpu placement='static' current='2'>4</vcpu>
              <devices>
                <disk type='file' device='disk'><source file='/mnt/vms/db1.qcow2'/><target dev='vda'/></disk>
                <disk type='block' device='disk'><source dev='/dev/mapper/san-db1'/><target dev='vdb'/></disk>
                <disk type='network' device='disk'><source protocol='rbd' name='pool/db1-data'/><target dev='vdc'/></disk>
                <disk type='volume' device='disk'><source pool='default' volume='db1-log'/><target dev='vdd'/></disk>
                <disk type='file' device='cdrom'><target dev='sda'/></disk>
              </devices>
            </domain>
            """;

    @Test
    void identitySizeAndDisksAreRead() {
        DomainXml d = DomainXml.parse(XML);
        assertEquals("db1", d.name());
        assertEquals("0b9e6a4c-1d2e-4f3a-8b5c-6d7e8f9a0b1c", d.uuid());
        assertEquals(4, d.vcpus(), "the maximum, not the current count");
        assertEquals(4096, d.memoryMiB(), "the maximum memory, not the current");
        assertEquals(List.of(
                new DomainXml.Disk("vda", "file", "/mnt/vms/db1.qcow2", "/mnt/vms/db1.qcow2"),
                new DomainXml.Disk("vdb", "block", "/dev/mapper/san-db1", "/dev/mapper/san-db1"),
                new DomainXml.Disk("vdc", "network", null, "rbd:pool/db1-data"),
                new DomainXml.Disk("vdd", "volume", null, "default/db1-log"),
                new DomainXml.Disk("sda", "file", null, null)), d.disks());
    }

    @Test
    void memoryIsInKibibytesUnlessAUnitSaysOtherwiseAndRoundsUpToWholeMebibytes() {
        String base = "<domain><name>a</name><uuid>0b9e6a4c-1d2e-4f3a-8b5c-6d7e8f9a0b1c</uuid>%s</domain>";
        assertEquals(512, DomainXml.parse(base.formatted("<memory>524288</memory>")).memoryMiB());
        assertEquals(2, DomainXml.parse(base.formatted("<memory unit='KiB'>1025</memory>")).memoryMiB());
        assertEquals(954, DomainXml.parse(base.formatted("<memory unit='MB'>1000</memory>")).memoryMiB());
        assertEquals(1, DomainXml.parse(base.formatted("<memory unit='b'>1</memory>")).memoryMiB());
        assertEquals(1, DomainXml.parse(base.formatted("<memory>1024</memory>")).vcpus(), "one vcpu without <vcpu>");
    }

    @Test
    void whatIsMissingOrMalformedIsNamed() {
        String[][] cases = {
            {"", "empty domain XML"},
            {"<domain><name>a", "not well-formed XML"},
            {"<node/>", "the root element is <node>, not <domain>"},
            {"<domain><uuid>u</uuid><memory>1</memory></domain>", "no <name> element"},
            {"<domain><name>a</name><memory>1</memory></domain>", "no <uuid> element"},
            {"<domain><name>a</name><uuid>u</uuid></domain>", "no <memory> element"},
            {"<domain><name>a</name><uuid>u</uuid><memory unit='parsecs'>1</memory></domain>", "unknown unit 'parsecs'"},
            {"<domain><name>a</name><uuid>u</uuid><memory>lots</memory></domain>", "<memory> must be a whole number"},
            {"<domain><name>a</name><uuid>u</uuid><memory>1</memory><vcpu>0</vcpu></domain>", "<vcpu> must be"},
            {"<!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><domain><name>&x;</name></domain>",
                "not well-formed XML"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DomainXml.parse(c[0]), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
        }
    }
}
