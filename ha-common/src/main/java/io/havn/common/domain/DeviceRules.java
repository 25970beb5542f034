package io.havn.common.domain;

import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.w3c.dom.Element;

/**
 * The rules of {@code <devices>}: which devices are accepted, and for the devices that have no
 * class of their own:
 * <ul>
 *   <li>{@code <emulator>}: one of the policy's emulators;</li>
 *   <li>{@code <hostdev>}, {@code <input type='passthrough'|'evdev'>}, {@code <smartcard>} other than
 *       {@code mode='passthrough'}, a TPM {@code passthrough} backend: passthrough; a hostdev's
 *       {@code <rom file>} on shared storage;</li>
 *   <li>{@code <graphics>}: vnc or spice; {@code <audio>}: none or spice;</li>
 *   <li>{@code <rng>}: {@code /dev/urandom} or {@code /dev/random}, an egd character device, or builtin;</li>
 *   <li>{@code <memory>} (nvdimm, virtio-pmem), {@code <lease>}, {@code <pstore>}: their paths on shared
 *       storage.</li>
 * </ul>
 * Disks and filesystems are {@link StorageRules}', interfaces {@link InterfaceRules}', serial ports,
 * consoles, channels and the like {@link CharDeviceRules}'.
 */
final class DeviceRules {
    /** Devices that name no host path. */
    private static final Set<String> PLAIN_DEVICES = Set.of("controller", "video", "sound", "watchdog",
            "memballoon", "panic", "hub", "vsock", "iommu", "crypto", "nvram");
    private static final Set<String> RANDOM_SOURCES = Set.of("/dev/urandom", "/dev/random");

    private final Problems problems;
    private final StorageRules storage;
    private final InterfaceRules interfaces;
    private final CharDeviceRules chardevs;

    DeviceRules(Problems problems) {
        this.problems = problems;
        this.storage = new StorageRules(problems);
        this.interfaces = new InterfaceRules(problems);
        this.chardevs = new CharDeviceRules(problems);
    }

    void devices(Element devices) {
        int index = 0;
        for (Element c : Dom.children(devices)) {
            String name = c.getLocalName();
            String where = "<devices><" + name + ">";
            switch (name) {
                case "emulator" -> emulator(c);
                case "disk" -> storage.disk(c, index++);
                case "filesystem" -> storage.filesystem(c);
                case "interface" -> interfaces.iface(c);
                case "hostdev" -> {
                    problems.passthrough(where);
                    for (Element r : Dom.children(c)) {
                        if (r.getLocalName().equals("rom")) {
                            problems.attributePath(r, "file", where + "<rom> file");
                        }
                    }
                }
                case "serial", "parallel", "console", "channel", "redirdev" -> chardevs.chardev(c, where);
                case "smartcard" -> {
                    String mode = c.getAttribute("mode");
                    if (mode.equals("passthrough")) {
                        chardevs.chardev(c, where);
                    } else {
                        problems.passthrough(where + " mode='" + mode + "'");
                    }
                }
                case "input" -> {
                    String type = c.getAttribute("type");
                    if (type.equals("passthrough") || type.equals("evdev")) {
                        problems.passthrough(where + " type='" + type + "'");
                    } else {
                        problems.plain(c, where);
                    }
                }
                case "graphics" -> typed(c, where, Set.of("vnc", "spice"));
                case "audio" -> typed(c, where, Set.of("none", "spice"));
                case "rng" -> rng(c, where);
                case "tpm" -> tpm(c, where);
                case "memory" -> memory(c, where);
                case "lease" -> specialChild(c, where, "target", l -> problems.hostPath(where + "<target> path",
                        l.getAttribute("path")));
                case "pstore" -> specialChild(c, where, "path", p -> problems.textPath(p, where + "<path>"));
                default -> problems.listed(c, "<devices>", PLAIN_DEVICES);
            }
        }
    }

    private void emulator(Element e) {
        String path = e.getTextContent().trim();
        if (!problems.policy.emulators().contains(path)) {
            problems.add("<emulator> " + DomainPolicy.printable(path) + " is not one of the known emulators "
                    + problems.policy.emulators());
        }
    }

    /** Each child of {@code e} named {@code tag} checked by {@code special}, every other child as plain. */
    private void specialChild(Element e, String where, String tag, Consumer<Element> special) {
        for (Element c : Dom.children(e)) {
            if (c.getLocalName().equals(tag)) {
                special.accept(c);
            } else {
                problems.plain(c, where + "<" + c.getLocalName() + ">");
            }
        }
    }

    private void typed(Element c, String where, Set<String> types) {
        if (!types.contains(c.getAttribute("type"))) {
            problems.add(where + " type='" + c.getAttribute("type") + "' is refused (only "
                    + String.join(", ", new TreeSet<>(types)) + ")");
        }
        problems.plain(c, where);
    }

    private void rng(Element r, String where) {
        specialChild(r, where, "backend", c -> {
            switch (c.getAttribute("model")) {
                case "random" -> {
                    String src = c.getTextContent().trim();
                    if (!src.isEmpty() && !RANDOM_SOURCES.contains(src)) {
                        problems.add(where + "<backend> " + DomainPolicy.printable(src) + " is refused (only "
                                + RANDOM_SOURCES + ")");
                    }
                }
                case "egd" -> chardevs.chardev(c, where + "<backend>");
                case "builtin" -> problems.plain(c, where + "<backend>");
                default -> problems.add(where + "<backend model='" + c.getAttribute("model") + "'> is refused");
            }
        });
    }

    private void tpm(Element t, String where) {
        specialChild(t, where, "backend", c -> {
            switch (c.getAttribute("type")) {
                case "emulator" -> problems.plain(c, where + "<backend>");
                case "passthrough" -> problems.passthrough(where + "<backend type='passthrough'>");
                default -> problems.add(where + "<backend type='" + c.getAttribute("type") + "'> is refused");
            }
        });
    }

    private void memory(Element m, String where) {
        specialChild(m, where, "source", s -> specialChild(s, where + "<source>", "path",
                p -> problems.textPath(p, where + "<source><path>")));
    }
}
