package io.havn.common.domain;

import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.w3c.dom.Element;

/** The rules of {@code <interface>}. */
class InterfaceRulesTest extends RuleTable {
    @Override
    Stream<Arguments> rows() {
        return Stream.of(
                ok("<interface type='network'><mac address='52:54:00:00:00:01'/><source network='default' "
                        + "portgroup='p'/><model type='virtio'/><driver><host csum='off'/></driver></interface>"),
                ok("<interface type='bridge'><source bridge='br0'/><target dev='vnet0'/><mtu size='9000'/>"
                        + "</interface>"),
                ok("<interface type='direct'><source dev='eno1' mode='bridge'/></interface>"),
                ok("<interface type='user'><ip address='10.0.0.2' family='ipv4'/></interface>"),
                bad("<interface type='ethernet'/>", "<devices><interface> type='ethernet' is refused (only network, "
                        + "bridge, direct and user"),
                bad("<interface type='vhostuser'/>", "type='vhostuser' is refused"),
                bad("<interface/>", "type='' is refused"),
                bad("<interface type='hostdev'/>", "<devices><interface> type='hostdev' passes a host device"),
                okWithPassthrough("<interface type='hostdev'><source><address type='pci' bus='1'/></source>"
                        + "</interface>"),
                bad("<interface type='network'><source network='n' path='/run/x'/></interface>", "<devices><interface>"
                        + "<source> attribute path is refused"),
                bad("<interface type='direct'><source dev='e' type='unix'/></interface>", "<source> attribute type"),
                bad("<interface type='network'><source network='n'><reconnect/></source></interface>",
                        "<devices><interface><source><reconnect> is refused"),
                ok("<interface type='network'><rom bar='off'/><rom file='/srv/shared/r.rom'/></interface>"),
                bad("<interface type='network'><rom file='/etc/r.rom'/></interface>", "<devices><interface><rom> file "
                        + "/etc/r.rom is not on shared storage"),
                bad("<interface type='network'><script path='/x'/></interface>", "<devices><interface><script> is "
                        + "refused"),
                bad("<interface type='network'><backend tap='/dev/net/tun'/></interface>", "<interface><backend> is "
                        + "refused"),
                bad("<interface type='network'><model type='virtio' file='/x'/></interface>", "<interface><model> "
                        + "attribute file"));
    }

    @Override
    void check(Problems problems, Element root) {
        new InterfaceRules(problems).iface(root);
    }
}
