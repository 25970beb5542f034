package io.havn.common.domain;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.w3c.dom.Element;
import org.w3c.dom.NamedNodeMap;
import org.w3c.dom.Node;

/**
 * The problems one check of a domain XML finds, and the rules every part of the check applies:
 * <ul>
 *   <li>a host path must be absolute, hold no {@code ..} and lie strictly under a shared storage
 *       root ({@link #hostPath}, {@link #textPath});</li>
 *   <li>a host device is passed through only when the policy allows passthrough ({@link #passthrough});</li>
 *   <li>below an element that names no host path ("plain"), path-like attributes and elements are
 *       refused ({@link #plain}, {@link #attributesPlain});</li>
 *   <li>an element that is not listed is refused ({@link #refused}, {@link #listed}).</li>
 * </ul>
 */
final class Problems {
    /** Attributes that name host paths or host resources wherever they appear. */
    private static final Set<String> PATH_ATTRIBUTES = Set.of("path", "file", "dir", "socket", "rendernode",
            "template", "evdev", "xauth", "tap", "vhost", "database");
    /** Elements whose text is a host path, or that run something on the host. */
    private static final Set<String> PATH_ELEMENTS = Set.of("path", "emulator", "loader", "nvram", "kernel",
            "initrd", "dtb", "script", "downscript", "backend", "binary", "log", "database", "block", "char",
            "seclabel", "reservations", "dataStore");

    final DomainPolicy policy;
    private final List<String> found = new ArrayList<>();

    Problems(DomainPolicy policy) {
        this.policy = policy;
    }

    /** Every problem so far, in the order found. */
    List<String> all() {
        return found;
    }

    void add(String problem) {
        found.add(problem);
    }

    /**
     * {@code c}, a child of the element at {@code parent}: checked as plain when its name is one of
     * {@code plain}, refused otherwise.
     */
    void listed(Element c, String parent, Set<String> plain) {
        String where = parent + "<" + c.getLocalName() + ">";
        if (plain.contains(c.getLocalName())) {
            plain(c, where);
        } else {
            refused(where);
        }
    }

    /** An element naming no host path: refuses path-like attributes and elements anywhere below it. */
    void plain(Element e, String where) {
        attributesPlain(e, where);
        for (Element c : Dom.children(e)) {
            String name = c.getLocalName();
            if (PATH_ELEMENTS.contains(name)) {
                add(where + "<" + name + "> is refused here: it names a host path or resource");
            } else {
                plain(c, where + "<" + name + ">");
            }
        }
    }

    /** Refuses {@code e}'s path-like attributes, and {@code dev} on a {@code <source>} or {@code <device>}. */
    void attributesPlain(Element e, String where) {
        NamedNodeMap attrs = e.getAttributes();
        for (int i = 0; i < attrs.getLength(); i++) {
            Node a = attrs.item(i);
            String name = Dom.name(a);
            boolean device = name.equals("dev") && Set.of("source", "device").contains(e.getLocalName());
            if (PATH_ATTRIBUTES.contains(name) || device) {
                add(where + " attribute " + name + "='" + DomainPolicy.printable(a.getNodeValue())
                        + "' is refused: it names a host path or resource");
            }
        }
    }

    /** {@code e}'s text, when there is any, as a host path. */
    void textPath(Element e, String where) {
        String text = e.getTextContent().trim();
        if (!text.isEmpty()) {
            hostPath(where, text);
        }
    }

    /** {@code e}'s attribute {@code attribute}, when it has one, as a host path. */
    void attributePath(Element e, String attribute, String where) {
        if (e.hasAttribute(attribute)) {
            hostPath(where, e.getAttribute(attribute));
        }
    }

    /** A host path: absolute, without '..', strictly under a shared storage root. */
    void hostPath(String where, String value) {
        String n = DomainPolicy.normalise(value);
        if (n == null) {
            add(where + " '" + DomainPolicy.printable(value) + "' is refused: a host path must be absolute, "
                    + "without '..'");
        } else if (!policy.shared(n)) {
            add(where + " " + n + " is not on shared storage (" + (policy.sharedStorage().isEmpty()
                    ? "none configured" : String.join(", ", policy.sharedStorage())) + ")");
        }
    }

    /** A host device passed through, refused unless the policy allows passthrough. */
    void passthrough(String where) {
        if (!policy.passthrough()) {
            add(where + " passes a host device through, which this host does not allow "
                    + "(libvirt.allowPassthrough)");
        }
    }

    /** An element havn does not list. */
    void refused(String where) {
        add(where + " is refused: havn accepts only the domain XML elements it knows to name no host path "
                + "outside shared storage");
    }
}
