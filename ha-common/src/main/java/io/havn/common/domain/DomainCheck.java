package io.havn.common.domain;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.w3c.dom.Attr;
import org.w3c.dom.Element;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/**
 * One pass over a domain XML against a {@link DomainPolicy}. An allow-list: each element havn
 * accepts is listed with what it may say; anything else is refused, so an element a later libvirt
 * adds, and that may name a host path, is refused until it is listed here. Within the elements
 * that name no host path ("plain" ones) a second net refuses path-like attributes and elements.
 */
final class DomainCheck {
    private static final String XMLNS = "http://www.w3.org/2000/xmlns/";

    /** Direct children of {@code <domain>} that name no host path. */
    private static final Set<String> PLAIN_TOP = Set.of("name", "uuid", "genid", "title", "description",
            "maxMemory", "memory", "currentMemory", "memoryBacking", "memtune", "vcpu", "vcpus", "iothreads",
            "iothreadids", "cputune", "numatune", "features", "cpu", "clock", "on_poweroff", "on_reboot", "on_crash",
            "on_lockfailure", "pm", "perf", "keywrap");
    private static final Set<String> PLAIN_OS = Set.of("type", "boot", "bootmenu", "smbios", "bios", "cmdline",
            "firmware");
    /** Devices that name no host path. */
    private static final Set<String> PLAIN_DEVICES = Set.of("controller", "video", "sound", "watchdog",
            "memballoon", "panic", "hub", "vsock", "iommu", "crypto", "nvram");
    private static final Set<String> DISK_PLAIN = Set.of("driver", "target", "boot", "readonly", "shareable",
            "transient", "serial", "wwn", "vendor", "product", "address", "alias", "iotune", "geometry", "blockio",
            "encryption", "auth", "throttlefilters");
    private static final Set<String> DISK_SOURCE_PLAIN = Set.of("host", "auth", "encryption", "slices",
            "readahead", "timeout", "ssl", "cookies", "snapshot", "initiator", "reconnect");
    private static final Set<String> NETWORK_PROTOCOLS = Set.of("rbd", "iscsi", "nbd", "gluster");
    private static final Set<String> INTERFACE_TYPES = Set.of("network", "bridge", "direct", "user");
    private static final Set<String> INTERFACE_PLAIN = Set.of("mac", "model", "target", "driver", "address",
            "alias", "boot", "filterref", "bandwidth", "vlan", "virtualport", "link", "mtu", "coalesce", "tune",
            "guest", "teaming", "acpi", "port", "ip", "route");
    private static final Set<String> INTERFACE_SOURCE = Set.of("bridge", "network", "portgroup", "dev", "mode",
            "portid");
    private static final Set<String> FILESYSTEM_PLAIN = Set.of("driver", "target", "readonly", "address", "alias",
            "space_hard_limit", "space_soft_limit");
    /** Character device types that name no host file, device, pipe or socket. */
    private static final Set<String> CHARDEV_TYPES = Set.of("pty", "null", "vc", "spicevmc", "spiceport", "tcp",
            "udp", "qemu-vdagent", "unix");
    private static final Set<String> CHARDEV_PLAIN = Set.of("target", "protocol", "address", "alias");
    private static final Set<String> RANDOM_SOURCES = Set.of("/dev/urandom", "/dev/random");
    /** Attributes that name host paths or host resources wherever they appear. */
    private static final Set<String> PATH_ATTRIBUTES = Set.of("path", "file", "dir", "socket", "rendernode",
            "template", "evdev", "xauth", "tap", "vhost", "database");
    /** Elements whose text is a host path, or that run something on the host. */
    private static final Set<String> PATH_ELEMENTS = Set.of("path", "emulator", "loader", "nvram", "kernel",
            "initrd", "dtb", "script", "downscript", "backend", "binary", "log", "database", "block", "char",
            "seclabel", "reservations", "dataStore");

    private final DomainPolicy policy;
    private final List<String> problems = new ArrayList<>();

    DomainCheck(DomainPolicy policy) {
        this.policy = policy;
    }

    /** Every problem of {@code domain}, each naming its element. */
    List<String> problems(Element domain) {
        foreign(domain, "<domain>");
        String type = domain.getAttribute("type");
        if (!Set.of("kvm", "qemu", "test").contains(type)) {
            problem("<domain type='" + type + "'>: only kvm, qemu and test domains are accepted");
        }
        for (Element c : children(domain)) {
            String name = c.getLocalName();
            String where = "<" + name + ">";
            if (c.getNamespaceURI() != null || name.equals("metadata")) {
                continue; // metadata is opaque to libvirt; foreign elements were reported above
            }
            switch (name) {
                case "os" -> os(c);
                case "devices" -> devices(c);
                case "seclabel" -> seclabel(c);
                case "sysinfo" -> {
                    if (!"smbios".equals(c.getAttribute("type"))) {
                        problem("<sysinfo type='" + c.getAttribute("type") + "'>: only smbios is accepted (fwcfg "
                                + "passes host files to the guest)");
                    } else {
                        plain(c, where);
                    }
                }
                default -> {
                    if (PLAIN_TOP.contains(name)) {
                        plain(c, where);
                    } else {
                        refused(where);
                    }
                }
            }
        }
        return problems;
    }

    /**
     * Elements and attributes of another namespace (e.g. qemu:commandline) can pass anything to
     * QEMU; the domain's {@code <metadata>} is opaque to libvirt and not looked into.
     */
    private void foreign(Element e, String where) {
        if (e.getNamespaceURI() != null) {
            problem("<" + e.getTagName() + "> (namespace " + e.getNamespaceURI() + ") is refused: elements "
                    + "outside libvirt's own schema can pass arbitrary arguments to the emulator");
            return;
        }
        NamedNodeMap attrs = e.getAttributes();
        for (int i = 0; i < attrs.getLength(); i++) {
            Attr a = (Attr) attrs.item(i);
            if (a.getNamespaceURI() != null && !XMLNS.equals(a.getNamespaceURI())) {
                problem(where + " attribute " + a.getName() + " (namespace " + a.getNamespaceURI() + ") is refused");
            }
        }
        boolean domain = where.equals("<domain>");
        for (Element c : children(e)) {
            if (!(domain && c.getNamespaceURI() == null && c.getLocalName().equals("metadata"))) {
                foreign(c, where + "<" + c.getLocalName() + ">");
            }
        }
    }

    private void os(Element os) {
        for (Element c : children(os)) {
            String name = c.getLocalName();
            String where = "<os><" + name + ">";
            switch (name) {
                case "loader", "kernel", "initrd", "dtb" -> {
                    attributesPlain(c, where);
                    textPath(c, where);
                }
                case "nvram" -> {
                    textPath(c, where);
                    if (c.hasAttribute("template")) {
                        hostPath(where + " template", c.getAttribute("template"));
                    }
                    for (Element s : children(c)) {
                        if (s.getLocalName().equals("source") && !"network".equals(c.getAttribute("type"))) {
                            hostPath(where + "<source> file", s.getAttribute("file"));
                        } else {
                            refused(where + "<" + s.getLocalName() + ">");
                        }
                    }
                }
                default -> {
                    if (PLAIN_OS.contains(name)) {
                        plain(c, where);
                    } else {
                        refused(where);
                    }
                }
            }
        }
    }

    private void seclabel(Element s) {
        String type = s.getAttribute("type").isEmpty() ? "dynamic" : s.getAttribute("type");
        if (!type.equals("dynamic")) {
            problem("<seclabel type='" + type + "'> is refused: only a dynamic label keeps the guest confined");
        }
        if ("no".equals(s.getAttribute("relabel"))) {
            problem("<seclabel relabel='no'> is refused: the guest's files must be labelled for it alone");
        }
        for (Element c : children(s)) {
            if (!Set.of("label", "imagelabel").contains(c.getLocalName())) {
                problem("<seclabel><" + c.getLocalName() + "> is refused: it chooses the guest's security context");
            }
        }
    }

    private void devices(Element devices) {
        int index = 0;
        for (Element c : children(devices)) {
            String name = c.getLocalName();
            String where = "<devices><" + name + ">";
            switch (name) {
                case "emulator" -> {
                    String path = c.getTextContent().trim();
                    if (!policy.emulators().contains(path)) {
                        problem("<emulator> " + DomainPolicy.printable(path) + " is not one of the known emulators "
                                + policy.emulators());
                    }
                }
                case "disk" -> disk(c, index++);
                case "filesystem" -> filesystem(c);
                case "interface" -> iface(c);
                case "hostdev" -> {
                    passthrough(where);
                    for (Element r : children(c)) {
                        if (r.getLocalName().equals("rom") && r.hasAttribute("file")) {
                            hostPath(where + "<rom> file", r.getAttribute("file"));
                        }
                    }
                }
                case "serial", "parallel", "console", "channel", "redirdev" -> chardev(c, where);
                case "smartcard" -> {
                    String mode = c.getAttribute("mode");
                    if (mode.equals("passthrough")) {
                        chardev(c, where);
                    } else {
                        passthrough(where + " mode='" + mode + "'");
                    }
                }
                case "input" -> {
                    String type = c.getAttribute("type");
                    if (type.equals("passthrough") || type.equals("evdev")) {
                        passthrough(where + " type='" + type + "'");
                    } else {
                        plain(c, where);
                    }
                }
                case "graphics" -> typed(c, where, Set.of("vnc", "spice"));
                case "audio" -> typed(c, where, Set.of("none", "spice"));
                case "rng" -> rng(c, where);
                case "tpm" -> tpm(c, where);
                case "memory" -> memory(c, where);
                case "lease" -> {
                    for (Element l : children(c)) {
                        if (l.getLocalName().equals("target")) {
                            hostPath(where + "<target> path", l.getAttribute("path"));
                        } else {
                            plain(l, where + "<" + l.getLocalName() + ">");
                        }
                    }
                }
                case "pstore" -> {
                    for (Element p : children(c)) {
                        if (p.getLocalName().equals("path")) {
                            textPath(p, where + "<path>");
                        } else {
                            plain(p, where + "<" + p.getLocalName() + ">");
                        }
                    }
                }
                default -> {
                    if (PLAIN_DEVICES.contains(name)) {
                        plain(c, where);
                    } else {
                        refused(where);
                    }
                }
            }
        }
    }

    private void disk(Element d, int index) {
        Element t = child(d, "target");
        String where = "<disk> " + (t != null && !t.getAttribute("dev").isEmpty()
                ? DomainPolicy.printable(t.getAttribute("dev")) : "#" + index) + ": ";
        String type = d.getAttribute("type").isEmpty() ? "file" : d.getAttribute("type");
        if ("lun".equals(d.getAttribute("device"))) {
            passthrough(where + "device='lun'");
        }
        switch (type) {
            case "file", "block", "dir", "network" -> { }
            case "nvme" -> passthrough(where + "type='nvme'");
            case "volume" -> problem(where + "a storage pool volume: where it lies cannot be told from the XML; "
                    + "name its file or device on shared storage instead");
            default -> problem(where + "type='" + type + "' is refused (only file, block, dir and network)");
        }
        storage(d, where, type);
    }

    /** The source and backing chain of a disk or backing store of {@code type}. */
    private void storage(Element d, String where, String type) {
        for (Element c : children(d)) {
            String name = c.getLocalName();
            switch (name) {
                case "source" -> diskSource(c, where + "<source>", type);
                case "backingStore" -> {
                    String bt = c.getAttribute("type").isEmpty() ? "file" : c.getAttribute("type");
                    if (!Set.of("file", "block", "network").contains(bt)) {
                        problem(where + "<backingStore type='" + bt + "'> is refused");
                    }
                    storage(c, where + "<backingStore>", bt);
                }
                case "format" -> plain(c, where + "<format>");
                default -> {
                    if (DISK_PLAIN.contains(name) && !d.getLocalName().equals("backingStore")) {
                        plain(c, where + "<" + name + ">");
                    } else {
                        refused(where + "<" + name + ">");
                    }
                }
            }
        }
    }

    private void diskSource(Element s, String where, String type) {
        for (String a : List.of("file", "dev", "dir")) {
            if (s.hasAttribute(a)) {
                hostPath(where + " " + a, s.getAttribute(a));
            }
        }
        if (type.equals("network") && !NETWORK_PROTOCOLS.contains(s.getAttribute("protocol"))) {
            problem(where + " protocol '" + DomainPolicy.printable(s.getAttribute("protocol"))
                    + "' is refused (only " + String.join(", ", new java.util.TreeSet<>(NETWORK_PROTOCOLS)) + ")");
        }
        for (Element c : children(s)) {
            String name = c.getLocalName();
            if (name.equals("config")) {
                hostPath(where + "<config> file", c.getAttribute("file"));
            } else if (name.equals("host") && !Set.of("", "tcp", "rdma").contains(c.getAttribute("transport"))) {
                problem(where + "<host transport='" + DomainPolicy.printable(c.getAttribute("transport"))
                        + "'> is refused: only tcp and rdma reach storage over the network");
            } else if (DISK_SOURCE_PLAIN.contains(name)) {
                plain(c, where + "<" + name + ">");
            } else {
                refused(where + "<" + name + ">");
            }
        }
    }

    private void filesystem(Element f) {
        String where = "<devices><filesystem>";
        String type = f.getAttribute("type").isEmpty() ? "mount" : f.getAttribute("type");
        if (!type.equals("mount")) {
            problem(where + " type='" + type + "' is refused (only mount, of a directory on shared storage)");
        }
        for (Element c : children(f)) {
            String name = c.getLocalName();
            if (name.equals("source")) {
                for (String a : List.of("dir", "file", "dev")) {
                    if (c.hasAttribute(a)) {
                        hostPath(where + "<source> " + a, c.getAttribute(a));
                    }
                }
                if (c.hasAttribute("socket")) {
                    problem(where + "<source> socket names a host socket");
                }
            } else if (FILESYSTEM_PLAIN.contains(name)) {
                plain(c, where + "<" + name + ">");
            } else {
                refused(where + "<" + name + ">");
            }
        }
    }

    private void iface(Element i) {
        String where = "<devices><interface>";
        String type = i.getAttribute("type");
        if (type.equals("hostdev")) {
            passthrough(where + " type='hostdev'");
        } else if (!INTERFACE_TYPES.contains(type)) {
            problem(where + " type='" + type + "' is refused (only network, bridge, direct and user; ethernet runs "
                    + "host scripts and vhost-user opens host sockets)");
        }
        for (Element c : children(i)) {
            String name = c.getLocalName();
            if (name.equals("source")) {
                if (type.equals("hostdev")) {
                    continue; // a host device's address: passthrough, reported above when not allowed
                }
                NamedNodeMap attrs = c.getAttributes();
                for (int k = 0; k < attrs.getLength(); k++) {
                    Node a = attrs.item(k);
                    String an = a.getLocalName() == null ? a.getNodeName() : a.getLocalName();
                    if (!INTERFACE_SOURCE.contains(an)) {
                        problem(where + "<source> attribute " + an + " is refused");
                    }
                }
                for (Element x : children(c)) {
                    refused(where + "<source><" + x.getLocalName() + ">");
                }
            } else if (name.equals("rom")) {
                if (c.hasAttribute("file")) {
                    hostPath(where + "<rom> file", c.getAttribute("file"));
                }
            } else if (INTERFACE_PLAIN.contains(name)) {
                plain(c, where + "<" + name + ">");
            } else {
                refused(where + "<" + name + ">");
            }
        }
    }

    private void chardev(Element c, String where) {
        String type = c.getAttribute("type").isEmpty() ? "pty" : c.getAttribute("type");
        if (!CHARDEV_TYPES.contains(type)) {
            problem(where + " type='" + type + "' is refused: it opens a host file, device or pipe (accepted: "
                    + String.join(", ", new java.util.TreeSet<>(CHARDEV_TYPES)) + ")");
        }
        for (Element e : children(c)) {
            String name = e.getLocalName();
            if (name.equals("source")) {
                if (e.hasAttribute("path")) {
                    problem(where + "<source path='" + DomainPolicy.printable(e.getAttribute("path"))
                            + "'> names a host path; leave the path out and libvirt chooses its own");
                } else {
                    plain(e, where + "<source>");
                }
            } else if (CHARDEV_PLAIN.contains(name)) {
                plain(e, where + "<" + name + ">");
            } else {
                refused(where + "<" + name + ">");
            }
        }
    }

    private void typed(Element c, String where, Set<String> types) {
        if (!types.contains(c.getAttribute("type"))) {
            problem(where + " type='" + c.getAttribute("type") + "' is refused (only "
                    + String.join(", ", new java.util.TreeSet<>(types)) + ")");
        }
        plain(c, where);
    }

    private void rng(Element r, String where) {
        for (Element c : children(r)) {
            String name = c.getLocalName();
            if (!name.equals("backend")) {
                plain(c, where + "<" + name + ">");
                continue;
            }
            switch (c.getAttribute("model")) {
                case "random" -> {
                    String src = c.getTextContent().trim();
                    if (!src.isEmpty() && !RANDOM_SOURCES.contains(src)) {
                        problem(where + "<backend> " + DomainPolicy.printable(src) + " is refused (only "
                                + RANDOM_SOURCES + ")");
                    }
                }
                case "egd" -> chardev(c, where + "<backend>");
                case "builtin" -> plain(c, where + "<backend>");
                default -> problem(where + "<backend model='" + c.getAttribute("model") + "'> is refused");
            }
        }
    }

    private void tpm(Element t, String where) {
        for (Element c : children(t)) {
            if (!c.getLocalName().equals("backend")) {
                plain(c, where + "<" + c.getLocalName() + ">");
                continue;
            }
            switch (c.getAttribute("type")) {
                case "emulator" -> plain(c, where + "<backend>");
                case "passthrough" -> passthrough(where + "<backend type='passthrough'>");
                default -> problem(where + "<backend type='" + c.getAttribute("type") + "'> is refused");
            }
        }
    }

    private void memory(Element m, String where) {
        for (Element c : children(m)) {
            if (!c.getLocalName().equals("source")) {
                plain(c, where + "<" + c.getLocalName() + ">");
                continue;
            }
            for (Element s : children(c)) {
                if (s.getLocalName().equals("path")) {
                    textPath(s, where + "<source><path>");
                } else {
                    plain(s, where + "<source><" + s.getLocalName() + ">");
                }
            }
        }
    }

    /** An element naming no host path: refuses path-like attributes and elements anywhere below it. */
    private void plain(Element e, String where) {
        attributesPlain(e, where);
        for (Element c : children(e)) {
            String name = c.getLocalName();
            if (PATH_ELEMENTS.contains(name)) {
                problem(where + "<" + name + "> is refused here: it names a host path or resource");
            } else {
                plain(c, where + "<" + name + ">");
            }
        }
    }

    private void attributesPlain(Element e, String where) {
        NamedNodeMap attrs = e.getAttributes();
        for (int i = 0; i < attrs.getLength(); i++) {
            Node a = attrs.item(i);
            String name = a.getLocalName() == null ? a.getNodeName() : a.getLocalName();
            boolean device = name.equals("dev") && Set.of("source", "device").contains(e.getLocalName());
            if (PATH_ATTRIBUTES.contains(name) || device) {
                problem(where + " attribute " + name + "='" + DomainPolicy.printable(a.getNodeValue())
                        + "' is refused: it names a host path or resource");
            }
        }
    }

    private void textPath(Element e, String where) {
        String text = e.getTextContent().trim();
        if (!text.isEmpty()) {
            hostPath(where, text);
        }
    }

    private void hostPath(String where, String value) {
        String n = DomainPolicy.normalise(value);
        if (n == null) {
            problem(where + " '" + DomainPolicy.printable(value) + "' is refused: a host path must be absolute, "
                    + "without '..'");
        } else if (!policy.shared(n)) {
            problem(where + " " + n + " is not on shared storage (" + (policy.sharedStorage().isEmpty()
                    ? "none configured" : String.join(", ", policy.sharedStorage())) + ")");
        }
    }

    private void passthrough(String where) {
        if (!policy.passthrough()) {
            problem(where + " passes a host device through, which this host does not allow "
                    + "(libvirt.allowPassthrough)");
        }
    }

    private void refused(String where) {
        problem(where + " is refused: havn accepts only the domain XML elements it knows to name no host path "
                + "outside shared storage");
    }

    private void problem(String p) {
        problems.add(p);
    }

    /** The trimmed text of {@code parent}'s first child {@code tag}, or null. */
    static String text(Element parent, String tag) {
        Element e = child(parent, tag);
        return e == null ? null : e.getTextContent().trim();
    }

    private static Element child(Element parent, String tag) {
        for (Element e : children(parent)) {
            if (e.getNamespaceURI() == null && e.getLocalName().equals(tag)) {
                return e;
            }
        }
        return null;
    }

    private static List<Element> children(Element parent) {
        List<Element> out = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i) instanceof Element e) {
                out.add(e);
            }
        }
        return out;
    }
}
