package io.havn.daemon.admin;

import io.havn.common.domain.SafeXml;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * What havn reads from a libvirt domain XML: the domain's identity, its size and its disks. The
 * admin socket checks a {@code vm-add} spec against it (a VM's id is its domain's UUID); havnctl
 * builds the spec from it and checks that the disks lie on shared storage.
 *
 * @param name       the domain's name
 * @param uuid       its UUID as the XML spells it
 * @param vcpus      its maximum number of virtual CPUs ({@code <vcpu>}, 1 when absent, as in libvirt)
 * @param memoryMiB  its maximum memory ({@code <memory>}), rounded up to whole MiB
 * @param disks      its disks, in document order
 */
public record DomainXml(String name, String uuid, int vcpus, long memoryMiB, List<Disk> disks) {

    /**
     * One {@code <disk>}.
     *
     * @param target  the guest's device name ({@code <target dev>}), e.g. vda; "disk N" when absent
     * @param type    libvirt's disk type: file, block, dir, network, volume...
     * @param path    the host path of a file, block or dir disk; null without a source
     * @param source  the source as text for messages: the path, "pool/volume" or "protocol:name"
     */
    public record Disk(String target, String type, String path, String source) { }

    /** libvirt's scaled-integer units (docs: formatdomain, "Memory Allocation"), in bytes. */
    private static final Map<String, Long> UNITS = Map.ofEntries(
            Map.entry("b", 1L), Map.entry("bytes", 1L),
            Map.entry("kb", 1_000L), Map.entry("k", 1L << 10), Map.entry("kib", 1L << 10),
            Map.entry("mb", 1_000_000L), Map.entry("m", 1L << 20), Map.entry("mib", 1L << 20),
            Map.entry("gb", 1_000_000_000L), Map.entry("g", 1L << 30), Map.entry("gib", 1L << 30),
            Map.entry("tb", 1_000_000_000_000L), Map.entry("t", 1L << 40), Map.entry("tib", 1L << 40));

    private static final long MIB = 1L << 20;

    public DomainXml {
        disks = List.copyOf(disks);
    }

    /** Reads {@code xml}; an IllegalArgumentException names what is missing or malformed. */
    public static DomainXml parse(String xml) {
        Element domain = SafeXml.root(xml);
        if (!"domain".equals(domain.getTagName())) {
            throw new IllegalArgumentException("the root element is <" + domain.getTagName() + ">, not <domain>");
        }
        String name = requiredText(domain, "name");
        String uuid = requiredText(domain, "uuid");
        Element vcpu = child(domain, "vcpu");
        int vcpus = vcpu == null ? 1 : positiveInt(vcpu.getTextContent().trim(), "<vcpu>");
        Element memory = child(domain, "memory");
        if (memory == null) {
            throw new IllegalArgumentException("no <memory> element");
        }
        long memoryMiB = mebibytes(memory);
        List<Disk> disks = new ArrayList<>();
        Element devices = child(domain, "devices");
        if (devices != null) {
            for (Element d : children(devices, "disk")) {
                disks.add(disk(d, disks.size()));
            }
        }
        return new DomainXml(name, uuid, vcpus, memoryMiB, disks);
    }

    /** The UUID without dashes, lower case: libvirt accepts both spellings of the same UUID. */
    public static String canonicalUuid(String uuid) {
        return io.havn.common.domain.DomainPolicy.canonicalUuid(uuid);
    }

    private static Disk disk(Element d, int index) {
        Element t = child(d, "target");
        String target = t != null && !t.getAttribute("dev").isEmpty() ? t.getAttribute("dev") : "disk " + index;
        String type = d.getAttribute("type").isEmpty() ? "file" : d.getAttribute("type");
        Element s = child(d, "source");
        if (s == null) {
            return new Disk(target, type, null, null); // e.g. an empty CD-ROM drive
        }
        String path = switch (type) {
            case "file" -> s.getAttribute("file");
            case "block" -> s.getAttribute("dev");
            case "dir" -> s.getAttribute("dir");
            default -> "";
        };
        String source = switch (type) {
            case "volume" -> s.getAttribute("pool") + "/" + s.getAttribute("volume");
            case "network" -> s.getAttribute("protocol") + ":" + s.getAttribute("name");
            default -> path;
        };
        return new Disk(target, type, path.isEmpty() ? null : path, source);
    }

    private static long mebibytes(Element memory) {
        String unit = memory.getAttribute("unit").isEmpty() ? "kib" : memory.getAttribute("unit").toLowerCase(Locale.ROOT);
        Long scale = UNITS.get(unit);
        if (scale == null) {
            throw new IllegalArgumentException("<memory> has an unknown unit '" + memory.getAttribute("unit") + "'");
        }
        long value;
        try {
            value = Long.parseLong(memory.getTextContent().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("<memory> must be a whole number, got '"
                    + memory.getTextContent().trim() + "'");
        }
        if (value < 1 || value > Long.MAX_VALUE / scale) {
            throw new IllegalArgumentException("<memory> out of range: " + value + " " + unit);
        }
        long bytes = value * scale;
        return bytes / MIB + (bytes % MIB == 0 ? 0 : 1);
    }

    private static int positiveInt(String text, String what) {
        try {
            int v = Integer.parseInt(text);
            if (v >= 1) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new IllegalArgumentException(what + " must be a whole number >= 1, got '" + text + "'");
    }

    private static String requiredText(Element parent, String tag) {
        Element e = child(parent, tag);
        if (e == null || e.getTextContent().isBlank()) {
            throw new IllegalArgumentException("no <" + tag + "> element");
        }
        return e.getTextContent().trim();
    }

    private static Element child(Element parent, String tag) {
        List<Element> all = children(parent, tag);
        return all.isEmpty() ? null : all.get(0);
    }

    private static List<Element> children(Element parent, String tag) {
        List<Element> out = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            Node n = nodes.item(i);
            if (n instanceof Element e && e.getTagName().equals(tag)) {
                out.add(e);
            }
        }
        return out;
    }
}
