package io.havn.common.domain;

import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.w3c.dom.Element;

/** The rules of {@code <devices>} and of the devices that have no class of their own. */
class DeviceRulesTest extends RuleTable {
    private static Stream<Arguments> devices() {
        return Stream.of(
                ok("<emulator>/usr/bin/qemu-system-x86_64</emulator>"),
                bad("<emulator>/usr/bin/kvm</emulator>", "<emulator> /usr/bin/kvm is not one of the known emulators "
                        + "[/usr/bin/qemu-system-x86_64]"),
                // passthrough
                bad("<hostdev mode='subsystem' type='usb'/>", "<devices><hostdev> passes a host device through"),
                okWithPassthrough("<hostdev><source><address bus='1'/></source><rom file='/srv/shared/r'/></hostdev>"),
                okWithPassthrough("<hostdev><rom bar='off'/></hostdev>"),
                bad("<hostdev><rom file='/etc/r'/></hostdev>", "<devices><hostdev><rom> file /etc/r"),
                ok("<smartcard mode='passthrough' type='spicevmc'/>"),
                bad("<smartcard mode='passthrough' type='unix'><source path='/run/s'/></smartcard>",
                        "<devices><smartcard><source path='/run/s'> names a host path"),
                bad("<smartcard mode='host'/>", "<devices><smartcard> mode='host' passes a host device through"),
                okWithPassthrough("<smartcard mode='host-certificates'><database>/x</database></smartcard>"),
                ok("<input type='tablet' bus='usb'/>"),
                bad("<input type='mouse'><source evdev='/dev/input/e'/></input>", "<input><source> attribute evdev"),
                bad("<input type='passthrough'><source evdev='/dev/input/e'/></input>", "type='passthrough' passes"),
                bad("<input type='evdev'/>", "<devices><input> type='evdev' passes"),
                okWithPassthrough("<input type='evdev'><source dev='/dev/input/e'/></input>"),
                // graphics, audio
                ok("<graphics type='vnc' port='-1'><listen type='address'/></graphics>"),
                bad("<graphics type='sdl'/>", "<devices><graphics> type='sdl' is refused (only spice, vnc)"),
                bad("<graphics type='spice'><gl enable='yes' rendernode='/dev/dri/r'/></graphics>", "<gl> attribute "
                        + "rendernode"),
                ok("<audio id='1' type='none'/>"),
                bad("<audio id='1' type='file' path='/srv/shared/a'/>", "type='file' is refused (only none, spice)"),
                bad("<audio id='1' type='spice' path='/srv/shared/a'/>", "<devices><audio> attribute path"),
                // rng
                ok("<rng model='virtio'><rate bytes='1024'/><backend model='random'>/dev/random</backend></rng>"),
                ok("<rng model='virtio'><backend model='random'/></rng>"),
                ok("<rng model='virtio'><backend model='builtin'/></rng>"),
                ok("<rng model='virtio'><backend model='egd' type='tcp'><source mode='connect' host='h'/></backend>"
                        + "</rng>"),
                bad("<rng><backend model='random'>/dev/hwrng</backend></rng>", "<devices><rng><backend> /dev/hwrng is "
                        + "refused (only"),
                bad("<rng><backend model='egd' type='file'/></rng>", "<devices><rng><backend> type='file' is refused"),
                bad("<rng><backend model='builtin' file='/x'/></rng>", "<rng><backend> attribute file"),
                bad("<rng><backend model='rdrand'/></rng>", "<backend model='rdrand'> is refused"),
                bad("<rng><rate><x path='/p'/></rate></rng>", "<rng><rate><x> attribute path"),
                // tpm
                ok("<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"),
                bad("<tpm><backend type='emulator'><source type='dir' path='/x'/></backend></tpm>", "<tpm><backend>"
                        + "<source> attribute path"),
                bad("<tpm><backend type='passthrough'/></tpm>", "<backend type='passthrough'> passes"),
                okWithPassthrough("<tpm><backend type='passthrough'><device path='/dev/tpm0'/></backend></tpm>"),
                bad("<tpm><backend type='external'/></tpm>", "<devices><tpm><backend type='external'> is refused"),
                bad("<tpm><alias path='/x'/></tpm>", "<tpm><alias> attribute path"),
                // memory, lease, pstore
                ok("<memory model='nvdimm'><source><path>/srv/shared/m</path><pagesize>4</pagesize></source>"
                        + "<target><size>1</size></target></memory>"),
                bad("<memory model='nvdimm'><source><path>/etc/m</path></source></memory>", "<devices><memory><source>"
                        + "<path> /etc/m is not on shared storage"),
                bad("<memory><source><x file='/m'/></source></memory>", "<memory><source><x> attribute file"),
                bad("<memory><target><path>/m</path></target></memory>", "<memory><target><path> is refused here"),
                ok("<lease><lockspace>s</lockspace><key>k</key><target path='/srv/shared/l' offset='0'/></lease>"),
                bad("<lease><target path='/var/lib/l'/></lease>", "<devices><lease><target> path /var/lib/l"),
                bad("<lease><key path='/x'>k</key></lease>", "<lease><key> attribute path"),
                ok("<pstore backend='acpi-erst'><path>/srv/shared/p</path><size>8</size></pstore>"),
                bad("<pstore backend='acpi-erst'><path>/etc/p</path></pstore>", "<devices><pstore><path> /etc/p"),
                bad("<pstore><size file='/x'>8</size></pstore>", "<pstore><size> attribute file"),
                // plain, refused, and the devices of other classes
                ok("<controller type='usb'/><video><model type='virtio'/></video><watchdog model='itco'/><panic/>"),
                bad("<watchdog><script>/x</script></watchdog>", "<devices><watchdog><script> is refused here"),
                bad("<shmem name='x'/>", "<devices><shmem> is refused"),
                bad("<disk><source file='/etc/a'/></disk><disk><source file='/etc/b'/></disk>", "<disk> #1: <source> "
                        + "file /etc/b"),
                bad("<filesystem type='block'/>", "<devices><filesystem> type='block'"),
                bad("<interface type='ethernet'/>", "<devices><interface> type='ethernet'"),
                bad("<serial type='file'/>", "<devices><serial> type='file'"),
                bad("<parallel type='pipe'/>", "<devices><parallel> type='pipe'"),
                bad("<console type='dev'/>", "<devices><console> type='dev'"),
                bad("<channel type='stdio'/>", "<devices><channel> type='stdio'"),
                bad("<redirdev type='file'/>", "<devices><redirdev> type='file'"));
    }

    /** Each row's devices inside {@code <devices>}. */
    @Override
    Stream<Arguments> rows() {
        return devices().map(a -> Arguments.of("<devices>" + a.get()[0] + "</devices>", a.get()[1], a.get()[2]));
    }

    @Override
    void check(Problems problems, Element root) {
        new DeviceRules(problems).devices(root);
    }
}
