package io.havn.common.domain;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.w3c.dom.Element;

/**
 * The rules of a VM's storage, {@code <disk>} and {@code <filesystem>}:
 * <ul>
 *   <li>a disk is of type file, block, dir or network; {@code type='volume'} is refused (where a pool
 *       volume lies cannot be told from the XML); {@code type='nvme'} and {@code device='lun'} are
 *       passthrough;</li>
 *   <li>its source, and the source of every {@code <backingStore>} (file, block or network), lies on
 *       shared storage;</li>
 *   <li>a network disk uses rbd, iscsi, nbd or gluster, over tcp or rdma, and its {@code <config file>}
 *       lies on shared storage;</li>
 *   <li>a filesystem is of type mount, its source on shared storage, with no source socket.</li>
 * </ul>
 */
final class StorageRules {
    private static final Set<String> DISK_PLAIN = Set.of("driver", "target", "boot", "readonly", "shareable",
            "transient", "serial", "wwn", "vendor", "product", "address", "alias", "iotune", "geometry", "blockio",
            "encryption", "auth", "throttlefilters");
    private static final Set<String> DISK_SOURCE_PLAIN = Set.of("host", "auth", "encryption", "slices",
            "readahead", "timeout", "ssl", "cookies", "snapshot", "initiator", "reconnect");
    private static final Set<String> NETWORK_PROTOCOLS = Set.of("rbd", "iscsi", "nbd", "gluster");
    private static final Set<String> FILESYSTEM_PLAIN = Set.of("driver", "target", "readonly", "address", "alias",
            "space_hard_limit", "space_soft_limit");

    private final Problems problems;

    StorageRules(Problems problems) {
        this.problems = problems;
    }

    /** The {@code index}th disk of the domain, named by its target when it has one. */
    void disk(Element d, int index) {
        Element t = Dom.child(d, "target");
        String where = "<disk> " + (t != null && !t.getAttribute("dev").isEmpty()
                ? DomainPolicy.printable(t.getAttribute("dev")) : "#" + index) + ": ";
        String type = Dom.attribute(d, "type", "file");
        if ("lun".equals(d.getAttribute("device"))) {
            problems.passthrough(where + "device='lun'");
        }
        switch (type) {
            case "file", "block", "dir", "network" -> { }
            case "nvme" -> problems.passthrough(where + "type='nvme'");
            case "volume" -> problems.add(where + "a storage pool volume: where it lies cannot be told from the "
                    + "XML; name its file or device on shared storage instead");
            default -> problems.add(where + "type='" + type + "' is refused (only file, block, dir and network)");
        }
        storage(d, where, type);
    }

    /** The source and backing chain of a disk or backing store of {@code type}. */
    private void storage(Element d, String where, String type) {
        boolean backing = d.getLocalName().equals("backingStore");
        for (Element c : Dom.children(d)) {
            switch (c.getLocalName()) {
                case "source" -> diskSource(c, where + "<source>", type);
                case "backingStore" -> {
                    String bt = Dom.attribute(c, "type", "file");
                    if (!Set.of("file", "block", "network").contains(bt)) {
                        problems.add(where + "<backingStore type='" + bt + "'> is refused");
                    }
                    storage(c, where + "<backingStore>", bt);
                }
                case "format" -> problems.plain(c, where + "<format>");
                default -> problems.listed(c, where, backing ? Set.of() : DISK_PLAIN);
            }
        }
    }

    private void diskSource(Element s, String where, String type) {
        for (String a : List.of("file", "dev", "dir")) {
            problems.attributePath(s, a, where + " " + a);
        }
        if (type.equals("network") && !NETWORK_PROTOCOLS.contains(s.getAttribute("protocol"))) {
            problems.add(where + " protocol '" + DomainPolicy.printable(s.getAttribute("protocol"))
                    + "' is refused (only " + String.join(", ", new TreeSet<>(NETWORK_PROTOCOLS)) + ")");
        }
        for (Element c : Dom.children(s)) {
            String name = c.getLocalName();
            if (name.equals("config")) {
                problems.hostPath(where + "<config> file", c.getAttribute("file"));
            } else if (name.equals("host") && !Set.of("", "tcp", "rdma").contains(c.getAttribute("transport"))) {
                problems.add(where + "<host transport='" + DomainPolicy.printable(c.getAttribute("transport"))
                        + "'> is refused: only tcp and rdma reach storage over the network");
            } else {
                problems.listed(c, where, DISK_SOURCE_PLAIN);
            }
        }
    }

    void filesystem(Element f) {
        String where = "<devices><filesystem>";
        String type = Dom.attribute(f, "type", "mount");
        if (!type.equals("mount")) {
            problems.add(where + " type='" + type + "' is refused (only mount, of a directory on shared storage)");
        }
        for (Element c : Dom.children(f)) {
            if (c.getLocalName().equals("source")) {
                for (String a : List.of("dir", "file", "dev")) {
                    problems.attributePath(c, a, where + "<source> " + a);
                }
                if (c.hasAttribute("socket")) {
                    problems.add(where + "<source> socket names a host socket");
                }
            } else {
                problems.listed(c, where, FILESYSTEM_PLAIN);
            }
        }
    }
}
