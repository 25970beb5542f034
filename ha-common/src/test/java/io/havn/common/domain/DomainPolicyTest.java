package io.havn.common.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DomainPolicyTest {
    private static final String UUID = "6f1c5c2e-2f6b-4a55-9c39-3d1d2d6f0a01";
    private static final DomainPolicy SHARED = new DomainPolicy(List.of("/srv/shared/", "/dev/mapper"), false,
            DomainPolicy.DEFAULT_EMULATORS);

    /** A domain as {@code virsh dumpxml --inactive} prints it, with {@code devices} inside its devices. */
    private static String domain(String devices) {
        return domain("", devices, "");
    }

    private static String domain(String attrs, String devices, String top) {
        return """
                <domain type='kvm'%s>
                  <name>web1</name>
                  <uuid>%s</uuid>
                  <metadata><libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">\
                <libosinfo:os id="http://debian.org/debian/12"/></libosinfo:libosinfo></metadata>
                  <memory unit='KiB'>2097152</memory>
                  <vcpu placement='static'>2</vcpu>
                  <os firmware='efi'><type arch='x86_64' machine='pc-q35-8.2'>hvm</type><boot dev='hd'/></os>
                  <features><acpi/><apic/><vmport state='off'/></features>
                  <cpu mode='host-passthrough' check='none' migratable='on'/>
                  <clock offset='utc'><timer name='rtc' tickpolicy='catchup'/></clock>
                  <on_crash>destroy</on_crash>
                  <pm><suspend-to-mem enabled='no'/></pm>
                  %s
                  <devices>
                    <emulator>/usr/bin/qemu-system-x86_64</emulator>
                    %s
                  </devices>
                </domain>
                """.formatted(attrs, UUID, top, devices);
    }

    private static final String TYPICAL_DEVICES = """
            <disk type='file' device='disk'>
              <driver name='qemu' type='qcow2' discard='unmap'/>
              <source file='/srv/shared/images/web1.qcow2'/>
              <backingStore type='file'><format type='qcow2'/><source file='/srv/shared/base/debian.qcow2'/>\
            </backingStore>
              <target dev='vda' bus='virtio'/>
              <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
            </disk>
            <disk type='block' device='disk'><source dev='/dev/mapper/mpatha'/><target dev='vdb' bus='virtio'/></disk>
            <disk type='network' device='disk'><driver name='qemu' type='raw'/>
              <auth username='libvirt'><secret type='ceph' uuid='2ec115d7-3a88-3ceb-bc12-0ac909a6fd87'/></auth>
              <source protocol='rbd' name='pool/web1-data'><host name='ceph1' port='6789'/></source>
              <target dev='vdc' bus='virtio'/></disk>
            <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='sda' bus='sata'/>\
            <readonly/></disk>
            <controller type='usb' index='0' model='qemu-xhci' ports='15'/>
            <controller type='pci' index='0' model='pcie-root'/>
            <interface type='network'><mac address='52:54:00:12:34:56'/><source network='default'/>\
            <model type='virtio'/></interface>
            <interface type='bridge'><source bridge='br0'/><model type='virtio'/></interface>
            <interface type='direct'><source dev='eno1' mode='bridge'/><model type='virtio'/></interface>
            <serial type='pty'><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>
            <console type='pty'><target type='serial' port='0'/></console>
            <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
            <channel type='spicevmc'><target type='virtio' name='com.redhat.spice.0'/></channel>
            <input type='tablet' bus='usb'/>
            <graphics type='spice' autoport='yes'><listen type='address'/><image compression='off'/></graphics>
            <video><model type='virtio' heads='1' primary='yes'/></video>
            <sound model='ich9'/>
            <audio id='1' type='spice'/>
            <memballoon model='virtio'/>
            <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
            <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
            <watchdog model='i6300esb' action='reset'/>
            """;

    private static VmSpec spec(String xml) {
        return new VmSpec(new VmId(UUID), "web1", 2, 2048, Priority.MEDIUM, true, xml);
    }

    @Test
    void aTypicalDomainOnSharedStorageIsAccepted() {
        assertNull(SHARED.refusal(spec(domain(TYPICAL_DEVICES))));
    }

    @Test
    void sharedStorageRootsAreNormalisedAndNeverTheWholeFilesystem() {
        assertEquals(List.of("/srv/shared", "/dev/mapper"), SHARED.sharedStorage());
        assertThrows(IllegalArgumentException.class, () -> new DomainPolicy(List.of("/"), false, java.util.Set.of()));
        assertThrows(IllegalArgumentException.class, () -> new DomainPolicy(List.of("/srv/../etc"), false,
                DomainPolicy.DEFAULT_EMULATORS));
        assertThrows(IllegalArgumentException.class, () -> new DomainPolicy(List.of("srv"), false,
                DomainPolicy.DEFAULT_EMULATORS));
    }

    static Stream<Arguments> attacks() {
        return Stream.of(
                Arguments.of("a block disk on a local device", devices(
                        "<disk type='block'><source dev='/dev/sda'/><target dev='vdb'/></disk>"), "/dev/sda"),
                Arguments.of("a file disk on a host file", devices(
                        "<disk type='file'><source file='/etc/shadow'/><target dev='vdb'/></disk>"), "/etc/shadow"),
                Arguments.of("a disk escaping shared storage with '..'", devices(
                        "<disk type='file'><source file='/srv/shared/../../etc/shadow'/><target dev='vdb'/></disk>"),
                        "'..'"),
                Arguments.of("the shared root itself as a directory disk", devices(
                        "<disk type='dir'><source dir='/srv/sharedX/a'/><target dev='vdb'/></disk>"),
                        "/srv/sharedX/a"),
                Arguments.of("a relative path", devices(
                        "<disk type='file'><source file='etc/shadow'/><target dev='vdb'/></disk>"), "absolute"),
                Arguments.of("a backing file on the host", devices(
                        "<disk type='file'><source file='/srv/shared/a.qcow2'/><backingStore type='file'>"
                                + "<source file='/etc/shadow'/></backingStore><target dev='vdb'/></disk>"), "/etc/shadow"),
                Arguments.of("a storage pool volume", devices(
                        "<disk type='volume'><source pool='default' volume='x'/><target dev='vdb'/></disk>"),
                        "volume"),
                Arguments.of("an nbd disk over a host socket", devices(
                        "<disk type='network'><source protocol='nbd'><host transport='unix' socket='/run/x.sock'/>"
                                + "</source><target dev='vdb'/></disk>"), "transport='unix'"),
                Arguments.of("an http disk", devices(
                        "<disk type='network'><source protocol='http' name='/x'><host name='10.0.0.1'/></source>"
                                + "<target dev='vdb'/></disk>"), "protocol 'http'"),
                Arguments.of("a ceph config file on the host", devices(
                        "<disk type='network'><source protocol='rbd' name='p/i'><config file='/etc/shadow'/>"
                                + "</source><target dev='vdb'/></disk>"), "<config> file /etc/shadow"),
                Arguments.of("a SCSI LUN", devices(
                        "<disk type='block' device='lun'><source dev='/dev/mapper/a'/><target dev='sdb'/></disk>"),
                        "device='lun'"),
                Arguments.of("an unlabelled disk", devices(
                        "<disk type='file'><source file='/srv/shared/a'><seclabel model='selinux' relabel='no'/>"
                                + "</source><target dev='vdb'/></disk>"), "<seclabel>"),
                Arguments.of("a PCI host device", devices(
                        "<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' "
                                + "slot='0' function='0'/></source></hostdev>"), "allowPassthrough"),
                Arguments.of("a host block device as hostdev", devices(
                        "<hostdev mode='capabilities' type='storage'><source><block>/dev/sdb</block></source>"
                                + "</hostdev>"), "allowPassthrough"),
                Arguments.of("a host directory passthrough", devices(
                        "<filesystem type='mount'><source dir='/root'/><target dir='r'/></filesystem>"), "/root"),
                Arguments.of("a virtiofs daemon of our choosing", devices(
                        "<filesystem type='mount'><driver type='virtiofs'/><binary path='/bin/sh'/>"
                                + "<source dir='/srv/shared/d'/><target dir='d'/></filesystem>"), "<binary>"),
                Arguments.of("a serial port writing a host file", devices(
                        "<serial type='file'><source path='/etc/cron.d/x'/></serial>"), "type='file'"),
                Arguments.of("a console on a host device", devices(
                        "<console type='dev'><source path='/dev/sda'/></console>"), "type='dev'"),
                Arguments.of("a channel on a host socket", devices(
                        "<channel type='unix'><source mode='bind' path='/run/libvirt/x'/><target type='virtio'/>"
                                + "</channel>"), "names a host path"),
                Arguments.of("a parallel port on a pipe", devices(
                        "<parallel type='pipe'><source path='/tmp/p'/></parallel>"), "type='pipe'"),
                Arguments.of("a serial log file", devices(
                        "<serial type='pty'><log file='/etc/passwd'/></serial>"), "<log>"),
                Arguments.of("an ethernet interface with a script", devices(
                        "<interface type='ethernet'><script path='/tmp/x.sh'/></interface>"), "type='ethernet'"),
                Arguments.of("a vhost-user interface", devices(
                        "<interface type='vhostuser'><source type='unix' path='/run/x' mode='client'/></interface>"),
                        "type='vhostuser'"),
                Arguments.of("an interface ROM from the host", devices(
                        "<interface type='network'><source network='default'/><rom file='/etc/shadow'/></interface>"),
                        "<rom> file /etc/shadow"),
                Arguments.of("an emulator of our choosing", domain("", "", "").replace(
                        "/usr/bin/qemu-system-x86_64", "/tmp/evil"), "/tmp/evil"),
                Arguments.of("a QEMU command line", domain(" xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'",
                        "", "<qemu:commandline><qemu:arg value='-set'/></qemu:commandline>"), "qemu:commandline"),
                Arguments.of("QEMU capabilities", domain(" xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'",
                        "", "<qemu:capabilities><qemu:del capability='sandbox'/></qemu:capabilities>"),
                        "qemu:capabilities"),
                Arguments.of("a kernel from the host", domain("", "", "").replace("<boot dev='hd'/>",
                        "<kernel>/boot/vmlinuz</kernel><initrd>/etc/shadow</initrd>"), "<os><initrd> /etc/shadow"),
                Arguments.of("a loader from the host", domain("", "", "").replace("<boot dev='hd'/>",
                        "<loader readonly='yes' type='rom'>/etc/shadow</loader>"), "<os><loader> /etc/shadow"),
                Arguments.of("NVRAM on the host", domain("", "", "").replace("<boot dev='hd'/>",
                        "<nvram template='/etc/shadow'>/srv/shared/nvram/web1.fd</nvram>"), "template /etc/shadow"),
                Arguments.of("ACPI tables from the host", domain("", "", "").replace("<boot dev='hd'/>",
                        "<acpi><table type='slic'>/etc/shadow</table></acpi>"), "<os><acpi>"),
                Arguments.of("confinement off", domain("", "", "<seclabel type='none'/>"), "type='none'"),
                Arguments.of("a static label", domain("", "", "<seclabel type='static' model='dac'>"
                        + "<label>+0:+0</label></seclabel>"), "type='static'"),
                Arguments.of("no relabelling", domain("", "", "<seclabel type='dynamic' relabel='no'/>"),
                        "relabel='no'"),
                Arguments.of("host files as firmware config", domain("", "", "<sysinfo type='fwcfg'>"
                        + "<entry name='opt/x' file='/etc/shadow'/></sysinfo>"), "fwcfg"),
                Arguments.of("block I/O tuning naming host devices", domain("", "", "<blkiotune><device>"
                        + "<path>/dev/sda</path><weight>500</weight></device></blkiotune>"), "<blkiotune>"),
                Arguments.of("an unknown element", domain("", "", "<frobnicate path='/x'/>"), "<frobnicate>"),
                Arguments.of("an unknown device", devices("<shmem name='x'><server path='/tmp/s'/></shmem>"),
                        "<shmem>"),
                Arguments.of("an evdev input", devices("<input type='evdev'><source dev='/dev/input/event0'/>"
                        + "</input>"), "allowPassthrough"),
                Arguments.of("a passthrough TPM", devices("<tpm model='tpm-tis'><backend type='passthrough'>"
                        + "<device path='/dev/tpm0'/></backend></tpm>"), "allowPassthrough"),
                Arguments.of("a random source of our choosing", devices("<rng model='virtio'>"
                        + "<backend model='random'>/dev/sda</backend></rng>"), "/dev/sda"),
                Arguments.of("an nvdimm backed by a host file", devices("<memory model='nvdimm'><source>"
                        + "<path>/etc/shadow</path></source><target><size unit='KiB'>524288</size></target></memory>"),
                        "<path> /etc/shadow"),
                Arguments.of("a vhost-user GPU", devices("<video><model type='virtio'/><driver name='vhostuser'/>"
                        + "<source type='unix' path='/run/x'/></video>"), "path='/run/x'"),
                Arguments.of("a graphics socket", devices("<graphics type='vnc' socket='/etc/x'/>"), "socket"),
                Arguments.of("an SDL display", devices("<graphics type='sdl' display=':0' xauth='/root/.Xauthority'/>"),
                        "type='sdl'"),
                Arguments.of("a file audio backend", devices("<audio id='1' type='file' path='/etc/x'/>"),
                        "type='file'"),
                Arguments.of("a lxc domain", domain("", "", "").replace("type='kvm'", "type='lxc'"), "lxc"),
                Arguments.of("a disk source with a control character", devices(
                        "<disk type='file'><source file='/srv/shared/a&#10;b'/><target dev='vdb'/></disk>"),
                        "\\u000a"));
    }

    private static String devices(String devices) {
        return domain(devices);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("attacks")
    void aDomainThatReachesTheHostIsRefusedNamingWhat(String what, String xml, String named) {
        String refusal = SHARED.refusal(spec(xml));
        assertNotNull(refusal, what + " was accepted");
        assertTrue(refusal.contains(named), what + ": the refusal should name " + named + ": " + refusal);
    }

    @Test
    void passthroughIsAcceptedWhenTheHostAllowsIt() {
        DomainPolicy allowing = new DomainPolicy(List.of("/srv/shared"), true, DomainPolicy.DEFAULT_EMULATORS);
        String xml = domain("<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' "
                + "bus='1' slot='0' function='0'/></source></hostdev>");
        assertNull(allowing.refusal(spec(xml)));
        assertNotNull(SHARED.refusal(spec(xml)));
    }

    @Test
    void entitiesAndDoctypesAreNeverResolved() {
        String xml = "<?xml version='1.0'?><!DOCTYPE domain [<!ENTITY x SYSTEM 'file:///etc/shadow'>]>"
                + domain("").replace("<name>web1</name>", "<name>&x;</name>");
        String refusal = SHARED.refusal(spec(xml));
        assertNotNull(refusal);
        assertTrue(refusal.contains("DOCTYPE"), refusal);
    }

    @Test
    void theDomainMustBeTheOneTheSpecNames() {
        String other = domain("").replace("<name>web1</name>", "<name>db1</name>");
        assertTrue(SHARED.refusal(spec(other)).contains("<name> is 'db1'"), SHARED.refusal(spec(other)));
        String otherUuid = domain("").replace(UUID, "11111111-2f6b-4a55-9c39-3d1d2d6f0a01");
        assertTrue(SHARED.refusal(spec(otherUuid)).contains("<uuid>"), SHARED.refusal(spec(otherUuid)));
        assertTrue(SHARED.refusal(new VmSpec(new VmId(UUID), "web1", 1, 1, Priority.LOW, true, null))
                .contains("no domain XML"));
    }

    @Test
    void vmNamesThatCouldForgeOutputAreRefused() {
        for (String bad : List.of("web\nvm2 running", "web\u001b[2J", "web 1", "", "-x", "a".repeat(101),
                "web\u2028x")) {
            assertNotNull(DomainPolicy.nameProblem(bad), "'" + bad + "' was accepted");
        }
        for (String good : List.of("web1", "db.prod-2", "a_b+c:d@e", "a".repeat(100))) {
            assertNull(DomainPolicy.nameProblem(good), good);
        }
        assertTrue(DomainPolicy.nameProblem("web\nx").contains("web\\u000ax"), "shown without the newline");
    }
}
