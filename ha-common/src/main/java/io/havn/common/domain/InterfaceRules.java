package io.havn.common.domain;

import java.util.Set;
import org.w3c.dom.Element;
import org.w3c.dom.NamedNodeMap;

/**
 * The rules of {@code <interface>}: of type network, bridge, direct or user (ethernet runs host
 * scripts, vhost-user opens host sockets); {@code type='hostdev'} is passthrough; its {@code <source>}
 * only names a bridge, network, port group or host interface; its {@code <rom file>} lies on shared
 * storage; {@code <script>}, {@code <backend>} and any child not listed are refused.
 */
final class InterfaceRules {
    private static final Set<String> INTERFACE_TYPES = Set.of("network", "bridge", "direct", "user");
    private static final Set<String> INTERFACE_PLAIN = Set.of("mac", "model", "target", "driver", "address",
            "alias", "boot", "filterref", "bandwidth", "vlan", "virtualport", "link", "mtu", "coalesce", "tune",
            "guest", "teaming", "acpi", "port", "ip", "route");
    private static final Set<String> INTERFACE_SOURCE = Set.of("bridge", "network", "portgroup", "dev", "mode",
            "portid");

    private final Problems problems;

    InterfaceRules(Problems problems) {
        this.problems = problems;
    }

    void iface(Element i) {
        String where = "<devices><interface>";
        String type = i.getAttribute("type");
        if (type.equals("hostdev")) {
            problems.passthrough(where + " type='hostdev'");
        } else if (!INTERFACE_TYPES.contains(type)) {
            problems.add(where + " type='" + type + "' is refused (only network, bridge, direct and user; ethernet "
                    + "runs host scripts and vhost-user opens host sockets)");
        }
        for (Element c : Dom.children(i)) {
            String name = c.getLocalName();
            if (name.equals("source")) {
                if (!type.equals("hostdev")) { // a host device's address: passthrough, reported above
                    source(c, where + "<source>");
                }
            } else if (name.equals("rom")) {
                problems.attributePath(c, "file", where + "<rom> file");
            } else {
                problems.listed(c, where, INTERFACE_PLAIN);
            }
        }
    }

    private void source(Element s, String where) {
        NamedNodeMap attrs = s.getAttributes();
        for (int k = 0; k < attrs.getLength(); k++) {
            String an = Dom.name(attrs.item(k));
            if (!INTERFACE_SOURCE.contains(an)) {
                problems.add(where + " attribute " + an + " is refused");
            }
        }
        for (Element x : Dom.children(s)) {
            problems.refused(where + "<" + x.getLocalName() + ">");
        }
    }
}
