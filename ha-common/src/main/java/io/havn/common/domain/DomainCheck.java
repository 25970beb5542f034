package io.havn.common.domain;

import java.util.List;
import java.util.Set;
import org.w3c.dom.Attr;
import org.w3c.dom.Element;
import org.w3c.dom.NamedNodeMap;

/**
 * One pass over a domain XML against a {@link DomainPolicy}. An allow-list: each element havn
 * accepts is listed with what it may say; anything else is refused, so an element a later libvirt
 * adds, and that may name a host path, is refused until it is listed. Within the elements that name
 * no host path ("plain" ones) a second net refuses path-like attributes and elements ({@link Problems}).
 *
 * <p>This class holds the rules of the document and its top level:
 * <ul>
 *   <li>{@code <domain type>}: kvm, qemu or test only;</li>
 *   <li>no element or attribute of another namespace (e.g. {@code qemu:commandline}) outside
 *       {@code <metadata>}, which is not looked into;</li>
 *   <li>the direct children of {@code <domain>} that are accepted;</li>
 *   <li>{@code <os>}: loader, kernel, initrd, dtb and nvram (its template and source) on shared storage;</li>
 *   <li>{@code <seclabel>}: dynamic, relabelled, choosing no context;</li>
 *   <li>{@code <sysinfo>}: smbios only.</li>
 * </ul>
 * Devices are {@link DeviceRules}'.
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

    private final Problems problems;
    private final DeviceRules devices;

    DomainCheck(DomainPolicy policy) {
        this.problems = new Problems(policy);
        this.devices = new DeviceRules(problems);
    }

    /** Every problem of {@code domain}, each naming its element. */
    List<String> problems(Element domain) {
        foreign(domain, "<domain>");
        String type = domain.getAttribute("type");
        if (!Set.of("kvm", "qemu", "test").contains(type)) {
            problems.add("<domain type='" + type + "'>: only kvm, qemu and test domains are accepted");
        }
        for (Element c : Dom.children(domain)) {
            String name = c.getLocalName();
            if (c.getNamespaceURI() != null || name.equals("metadata")) {
                continue; // metadata is opaque to libvirt; foreign elements were reported above
            }
            switch (name) {
                case "os" -> os(c);
                case "devices" -> devices.devices(c);
                case "seclabel" -> seclabel(c);
                case "sysinfo" -> sysinfo(c);
                default -> problems.listed(c, "", PLAIN_TOP);
            }
        }
        return problems.all();
    }

    /**
     * Elements and attributes of another namespace (e.g. qemu:commandline) can pass anything to
     * QEMU; the domain's {@code <metadata>} is opaque to libvirt and not looked into.
     */
    private void foreign(Element e, String where) {
        if (e.getNamespaceURI() != null) {
            problems.add("<" + e.getTagName() + "> (namespace " + e.getNamespaceURI() + ") is refused: elements "
                    + "outside libvirt's own schema can pass arbitrary arguments to the emulator");
            return;
        }
        NamedNodeMap attrs = e.getAttributes();
        for (int i = 0; i < attrs.getLength(); i++) {
            Attr a = (Attr) attrs.item(i);
            if (a.getNamespaceURI() != null && !XMLNS.equals(a.getNamespaceURI())) {
                problems.add(where + " attribute " + a.getName() + " (namespace " + a.getNamespaceURI()
                        + ") is refused");
            }
        }
        boolean domain = where.equals("<domain>");
        for (Element c : Dom.children(e)) {
            if (!(domain && c.getNamespaceURI() == null && c.getLocalName().equals("metadata"))) {
                foreign(c, where + "<" + c.getLocalName() + ">");
            }
        }
    }

    private void os(Element os) {
        for (Element c : Dom.children(os)) {
            String name = c.getLocalName();
            String where = "<os><" + name + ">";
            switch (name) {
                case "loader", "kernel", "initrd", "dtb" -> {
                    problems.attributesPlain(c, where);
                    problems.textPath(c, where);
                }
                case "nvram" -> nvram(c, where);
                default -> problems.listed(c, "<os>", PLAIN_OS);
            }
        }
    }

    /** Its text, its template and a file source on shared storage; a network nvram takes no {@code <source>}. */
    private void nvram(Element nvram, String where) {
        problems.textPath(nvram, where);
        problems.attributePath(nvram, "template", where + " template");
        for (Element s : Dom.children(nvram)) {
            if (s.getLocalName().equals("source") && !"network".equals(nvram.getAttribute("type"))) {
                problems.hostPath(where + "<source> file", s.getAttribute("file"));
            } else {
                problems.refused(where + "<" + s.getLocalName() + ">");
            }
        }
    }

    private void seclabel(Element s) {
        String type = Dom.attribute(s, "type", "dynamic");
        if (!type.equals("dynamic")) {
            problems.add("<seclabel type='" + type + "'> is refused: only a dynamic label keeps the guest confined");
        }
        if ("no".equals(s.getAttribute("relabel"))) {
            problems.add("<seclabel relabel='no'> is refused: the guest's files must be labelled for it alone");
        }
        for (Element c : Dom.children(s)) {
            if (!Set.of("label", "imagelabel").contains(c.getLocalName())) {
                problems.add("<seclabel><" + c.getLocalName() + "> is refused: it chooses the guest's security "
                        + "context");
            }
        }
    }

    private void sysinfo(Element s) {
        if (!"smbios".equals(s.getAttribute("type"))) {
            problems.add("<sysinfo type='" + s.getAttribute("type") + "'>: only smbios is accepted (fwcfg "
                    + "passes host files to the guest)");
        } else {
            problems.plain(s, "<sysinfo>");
        }
    }
}
