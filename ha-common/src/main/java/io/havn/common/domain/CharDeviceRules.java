package io.havn.common.domain;

import java.util.Set;
import java.util.TreeSet;
import org.w3c.dom.Element;

/**
 * The rules of character devices ({@code <serial>}, {@code <parallel>}, {@code <console>},
 * {@code <channel>}, {@code <redirdev>}, a passthrough {@code <smartcard>}, an egd {@code <rng>}
 * backend): of a type that opens no host file, device or pipe; a {@code <source path>} is refused
 * (without one libvirt chooses its own, as for the guest agent's unix channel); {@code <log>} and any
 * child not listed are refused.
 */
final class CharDeviceRules {
    /** Character device types that name no host file, device, pipe or socket. */
    private static final Set<String> CHARDEV_TYPES = Set.of("pty", "null", "vc", "spicevmc", "spiceport", "tcp",
            "udp", "qemu-vdagent", "unix");
    private static final Set<String> CHARDEV_PLAIN = Set.of("target", "protocol", "address", "alias");

    private final Problems problems;

    CharDeviceRules(Problems problems) {
        this.problems = problems;
    }

    void chardev(Element c, String where) {
        String type = Dom.attribute(c, "type", "pty");
        if (!CHARDEV_TYPES.contains(type)) {
            problems.add(where + " type='" + type + "' is refused: it opens a host file, device or pipe (accepted: "
                    + String.join(", ", new TreeSet<>(CHARDEV_TYPES)) + ")");
        }
        for (Element e : Dom.children(c)) {
            if (!e.getLocalName().equals("source")) {
                problems.listed(e, where, CHARDEV_PLAIN);
            } else if (e.hasAttribute("path")) {
                problems.add(where + "<source path='" + DomainPolicy.printable(e.getAttribute("path"))
                        + "'> names a host path; leave the path out and libvirt chooses its own");
            } else {
                problems.plain(e, where + "<source>");
            }
        }
    }
}
