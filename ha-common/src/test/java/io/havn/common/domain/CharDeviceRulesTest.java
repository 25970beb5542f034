package io.havn.common.domain;

import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.w3c.dom.Element;

/** The rules of character devices. */
class CharDeviceRulesTest extends RuleTable {
    @Override
    Stream<Arguments> rows() {
        return Stream.of(
                ok("<serial><target port='0'/></serial>"),
                ok("<channel type='unix'><source mode='bind'/><target type='virtio' name='org.qemu.guest_agent.0'/>"
                        + "</channel>"),
                ok("<serial type='tcp'><source mode='connect' host='h' service='1'/><protocol type='raw'/>"
                        + "<alias name='a'/><address type='isa'/></serial>"),
                ok("<channel type='qemu-vdagent'/>"),
                bad("<serial type='file'/>", "<x> type='file' is refused: it opens a host file, device or pipe "
                        + "(accepted: null, pty, qemu-vdagent, spiceport, spicevmc, tcp, udp, unix, vc)"),
                bad("<serial type='stdio'/>", "<x> type='stdio' is refused"),
                bad("<channel type='unix'><source mode='bind' path='/run/x'/></channel>", "<x><source path='/run/x'> "
                        + "names a host path; leave the path out"),
                bad("<serial type='pty'><source mode='bind' file='/x'/></serial>", "<x><source> attribute file"),
                bad("<serial type='pty'><log file='/etc/passwd'/></serial>", "<x><log> is refused: havn accepts"),
                bad("<serial type='pty'><target><x path='/p'/></target></serial>", "<x><target><x> attribute path"));
    }

    @Override
    void check(Problems problems, Element root) {
        new CharDeviceRules(problems).chardev(root, "<x>");
    }
}
