package io.havn.common.domain;

import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.w3c.dom.Element;

/** The rules of the document and its top level: domain type, namespaces, top elements, os, seclabel, sysinfo. */
class DomainCheckTest extends RuleTable {
    private static final String NS = " xmlns:x='urn:x'";

    @Override
    Stream<Arguments> rows() {
        return Stream.of(
                ok("<domain type='kvm'><name>a</name><memory unit='KiB'>1</memory></domain>"),
                ok("<domain type='qemu'/>"),
                ok("<domain type='test'/>"),
                bad("<domain type='lxc'/>", "<domain type='lxc'>: only kvm, qemu and test domains are accepted"),
                bad("<domain/>", "<domain type=''>"),
                // another namespace
                ok("<domain type='kvm'" + NS + "><metadata><x:y path='/etc/shadow'/></metadata></domain>"),
                ok("<domain type='kvm'><metadata><frob path='/etc/shadow'/></metadata></domain>"),
                bad("<domain type='kvm'" + NS + "><x:commandline/></domain>", "<x:commandline> (namespace urn:x) is "
                        + "refused: elements outside libvirt's own schema"),
                bad("<domain type='kvm'" + NS + "><devices><x:override/></devices></domain>", "<x:override>"),
                bad("<domain type='kvm'" + NS + "><name x:a='1'>a</name></domain>", "<domain><name> attribute x:a "
                        + "(namespace urn:x) is refused"),
                // top-level elements
                ok("<domain type='kvm'><features><acpi/><apic/></features><cpu mode='host-model'/></domain>"),
                bad("<domain type='kvm'><features><x path='/etc/x'/></features></domain>", "<features><x> attribute "
                        + "path"),
                bad("<domain type='kvm'><blkiotune/></domain>", "<blkiotune> is refused: havn accepts only"),
                bad("<domain type='kvm'><idmap/></domain>", "<idmap> is refused"),
                // os
                ok("<domain type='kvm'><os firmware='efi'><type>hvm</type><boot dev='hd'/><bootmenu enable='no'/>"
                        + "<smbios mode='sysinfo'/><cmdline>console=ttyS0</cmdline></os></domain>"),
                ok("<domain type='kvm'><os><loader readonly='yes' type='pflash'>/srv/shared/l.fd</loader>"
                        + "<kernel>/srv/shared/k</kernel><initrd>/srv/shared/i</initrd><dtb>/srv/shared/d</dtb>"
                        + "<nvram template='/srv/shared/t.fd'>/srv/shared/n.fd</nvram></os></domain>"),
                bad("<domain type='kvm'><os><kernel>/boot/vmlinuz</kernel></os></domain>", "<os><kernel> /boot/vmlinuz "
                        + "is not on shared storage"),
                bad("<domain type='kvm'><os><dtb>/etc/d</dtb></os></domain>", "<os><dtb> /etc/d"),
                bad("<domain type='kvm'><os><loader path='/srv/shared/x'>/srv/shared/l</loader></os></domain>",
                        "<os><loader> attribute path"),
                bad("<domain type='kvm'><os><nvram>/etc/n.fd</nvram></os></domain>", "<os><nvram> /etc/n.fd"),
                bad("<domain type='kvm'><os><nvram template='/etc/t'/></os></domain>", "<os><nvram> template /etc/t"),
                ok("<domain type='kvm'><os><nvram type='file'><source file='/srv/shared/n.fd'/></nvram></os></domain>"),
                bad("<domain type='kvm'><os><nvram type='file'><source file='/etc/n'/></nvram></os></domain>",
                        "<os><nvram><source> file /etc/n"),
                bad("<domain type='kvm'><os><nvram type='network'><source protocol='iscsi' name='x'/></nvram></os>"
                        + "</domain>", "<os><nvram><source> is refused"),
                bad("<domain type='kvm'><os><nvram><frob/></nvram></os></domain>", "<os><nvram><frob> is refused"),
                bad("<domain type='kvm'><os><acpi><table type='slic'>/srv/shared/t</table></acpi></os></domain>",
                        "<os><acpi> is refused"),
                bad("<domain type='kvm'><os><type><x file='/x'/></type></os></domain>", "<os><type><x> attribute file"),
                // seclabel
                ok("<domain type='kvm'><seclabel/></domain>"),
                ok("<domain type='kvm'><seclabel type='dynamic' relabel='yes'><label>x</label><imagelabel>y"
                        + "</imagelabel></seclabel></domain>"),
                bad("<domain type='kvm'><seclabel type='none'/></domain>", "<seclabel type='none'> is refused"),
                bad("<domain type='kvm'><seclabel relabel='no'/></domain>", "<seclabel relabel='no'> is refused"),
                bad("<domain type='kvm'><seclabel><baselabel>x</baselabel></seclabel></domain>", "<seclabel>"
                        + "<baselabel> is refused: it chooses the guest's security context"),
                // sysinfo
                ok("<domain type='kvm'><sysinfo type='smbios'><system><entry name='vendor'>v</entry></system>"
                        + "</sysinfo></domain>"),
                bad("<domain type='kvm'><sysinfo type='smbios'><oem><entry file='/etc/x'/></oem></sysinfo></domain>",
                        "<sysinfo><oem><entry> attribute file"),
                bad("<domain type='kvm'><sysinfo type='fwcfg'/></domain>", "<sysinfo type='fwcfg'>: only smbios"),
                // devices reach DeviceRules
                bad("<domain type='kvm'><devices><shmem/></devices></domain>", "<devices><shmem> is refused"));
    }

    @Override
    void check(Problems problems, Element root) {
        problems.all().addAll(new DomainCheck(problems.policy).problems(root));
    }
}
