package io.havn.daemon.ctl;

import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.daemon.admin.DomainXml;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.LibvirtException;
import org.libvirt.jna.Libvirt;

/**
 * The spec of a VM as this host's libvirt defines it, for {@code havnctl vm add}: name, UUID,
 * size and the persistent domain XML. Every disk must lie on shared storage, or no other host
 * could start the VM after this one dies; the first disk elsewhere is named and nothing is added.
 * Network disks (Ceph, iSCSI...) are shared by nature; a storage-pool volume is refused, since
 * where it lies cannot be told from the XML. Then the whole domain XML is checked against the
 * daemon's domain policy, as the daemon will check it (SECURITY.md).
 */
final class LocalDomain {
    /** virDomainXMLFlags: the persistent definition, not the running instance's. */
    private static final int VIR_DOMAIN_XML_INACTIVE = 2;
    private static final Pattern UUID = Pattern.compile("(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?"
            + "[0-9a-f]{12}");
    /** libvirt prints every error to stderr unless told otherwise; havnctl says what went wrong itself. */
    private static final Libvirt.VirErrorCallback QUIET = (userData, error) -> { };

    private LocalDomain() {
    }

    /**
     * The spec of domain {@code vm} (name or UUID) in the libvirt at {@code uri}, with HA on.
     *
     * @param shared  the shared storage paths; {@code sharedSource} names where they come from in messages
     */
    static VmSpec spec(String uri, String vm, DomainPolicy policy, String sharedSource, Priority priority) {
        List<Path> shared = policy.sharedStorage().stream().map(Path::of).toList();
        String xml = domainXml(uri, vm);
        DomainXml d;
        try {
            d = DomainXml.parse(xml);
        } catch (IllegalArgumentException e) {
            throw Failure.usage("the domain XML of " + vm + " cannot be read: " + e.getMessage());
        }
        for (DomainXml.Disk disk : d.disks()) {
            check(d.name(), disk, shared, sharedSource);
        }
        VmSpec spec = new VmSpec(new VmId(d.uuid()), d.name(), d.vcpus(), d.memoryMiB(), priority, true, xml);
        String refusal = policy.refusal(spec); // what the daemon checks too: say it before asking
        if (refusal != null) {
            throw Failure.usage(refusal + " (libvirt.sharedStorage, allowPassthrough and emulators in the daemon's "
                    + "config; the daemon would refuse it too)");
        }
        return spec;
    }

    private static void check(String vm, DomainXml.Disk disk, List<Path> shared, String sharedSource) {
        if (disk.source() == null || disk.type().equals("network")) {
            return; // an empty drive, or storage every host reaches over the network
        }
        if (disk.path() == null) {
            throw Failure.usage("disk " + disk.target() + " of " + vm + " is a " + disk.type() + " disk ("
                    + disk.source() + "); havnctl can only check file and block disks on shared storage");
        }
        Path p;
        try {
            p = Path.of(disk.path()).normalize();
        } catch (InvalidPathException e) {
            p = null;
        }
        if (p == null || !p.isAbsolute() || shared.stream().noneMatch(p::startsWith)) {
            throw Failure.usage("disk " + disk.target() + " of " + vm + " (" + disk.path() + ") is not on shared "
                    + "storage (" + sharedSource + ": " + (shared.isEmpty() ? "none configured" : shared.toString())
                    + "); no other host could start " + vm);
        }
    }

    private static String domainXml(String uri, String vm) {
        try {
            Connect.setErrorCallback(QUIET);
        } catch (LibvirtException e) {
            // libvirt's own messages on stderr then; harmless
        }
        Connect c;
        try {
            c = new Connect(uri, true);
        } catch (LibvirtException e) {
            throw Failure.unreachable("cannot connect to libvirt at " + uri + ": " + e.getMessage());
        }
        try {
            Domain d = UUID.matcher(vm).matches() ? c.domainLookupByUUIDString(vm) : c.domainLookupByName(vm);
            try {
                return d.getXMLDesc(VIR_DOMAIN_XML_INACTIVE);
            } finally {
                d.free();
            }
        } catch (LibvirtException e) {
            if (e.getError() != null && e.getError().getCode() == ErrorNumber.VIR_ERR_NO_DOMAIN) {
                throw Failure.usage("no domain '" + vm + "' in libvirt at " + uri);
            }
            throw Failure.unreachable("libvirt at " + uri + " cannot give the domain " + vm + ": " + e.getMessage());
        } finally {
            try {
                c.close();
            } catch (LibvirtException e) {
                // closing a read-only connection we are done with
            }
        }
    }
}
