package io.havn.common.domain;

import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.w3c.dom.Element;

/** The rules of disks, their backing chains and sources, and filesystems. */
class StorageRulesTest extends RuleTable {
    /** A filesystem, or a disk as the fourth of its domain. */
    @Override
    void check(Problems problems, Element root) {
        StorageRules rules = new StorageRules(problems);
        switch (root.getLocalName()) {
            case "filesystem" -> rules.filesystem(root);
            default -> rules.disk(root, 3);
        }
    }

    @Override
    Stream<Arguments> rows() {
        return Stream.of(
                ok("<disk type='file'><driver name='qemu' type='qcow2'/><source file='/srv/shared/a'/>"
                        + "<target dev='vda'/><iotune><total_bytes_sec>1</total_bytes_sec></iotune><readonly/></disk>"),
                ok("<disk type='block'><source dev='/srv/shared/dev'/></disk>"),
                ok("<disk type='dir'><source dir='/srv/shared/d'/></disk>"),
                bad("<disk><source file='/etc/x'/><target dev='vdb'/></disk>", "<disk> vdb: <source> file /etc/x is "
                        + "not on shared storage"),
                bad("<disk type='block'><source dev='/dev/sda'/></disk>", "<disk> #3: <source> dev /dev/sda"),
                bad("<disk type='dir'><source dir='/root'/><target dev=''/></disk>", "<disk> #3: <source> dir /root"),
                bad("<disk type='block' device='lun'><source dev='/srv/shared/l'/></disk>", "<disk> #3: device='lun' "
                        + "passes a host device through"),
                okWithPassthrough("<disk type='block' device='lun'><source dev='/srv/shared/l'/></disk>"),
                bad("<disk type='nvme'><source type='pci' managed='yes' namespace='1'/></disk>", "type='nvme' passes"),
                okWithPassthrough("<disk type='nvme'><source type='pci' managed='yes' namespace='1'/></disk>"),
                bad("<disk type='volume'><source pool='p' volume='v'/></disk>", "a storage pool volume: where it lies"),
                bad("<disk type='vhostuser'/>", "type='vhostuser' is refused (only file, block, dir and network)"),
                bad("<disk type='file'><blockjob/></disk>", "<disk> #3: <blockjob> is refused"),
                bad("<disk type='file'><driver><x path='/p'/></driver></disk>", "<driver><x> attribute path"),
                // backing chain
                ok("<disk type='file'><source file='/srv/shared/a'/><backingStore type='block'><format type='raw'/>"
                        + "<source dev='/srv/shared/b'/><backingStore/></backingStore></disk>"),
                ok("<disk type='file'><backingStore><source file='/srv/shared/b'/></backingStore></disk>"),
                bad("<disk type='file'><backingStore type='dir'/></disk>", "<backingStore type='dir'> is refused"),
                bad("<disk type='file'><backingStore><backingStore><source file='/etc/x'/></backingStore>"
                        + "</backingStore></disk>", "<backingStore><backingStore><source> file /etc/x"),
                bad("<disk type='file'><backingStore><driver/></backingStore></disk>", "<backingStore><driver> is "
                        + "refused"),
                bad("<disk type='file'><backingStore type='network'><source protocol='http'/></backingStore></disk>",
                        "<backingStore><source> protocol 'http'"),
                bad("<disk type='file'><format path='/x'/></disk>", "<format> attribute path"),
                // network disks
                ok("<disk type='network'><source protocol='rbd' name='p/i'><host name='c' port='6789'/>"
                        + "<config file='/srv/shared/ceph.conf'/><auth username='u'/></source></disk>"),
                ok("<disk type='network'><source protocol='iscsi' name='t/1'><host name='h' transport='tcp'/>"
                        + "<initiator><iqn name='x'/></initiator></source></disk>"),
                ok("<disk type='network'><source protocol='gluster' name='v/i'><host name='h' transport='rdma'/>"
                        + "</source></disk>"),
                ok("<disk type='network'><source protocol='nbd'><host name='h'/></source></disk>"),
                bad("<disk type='network'><source protocol='https' name='/x'/></disk>", "<source> protocol 'https' is "
                        + "refused (only gluster, iscsi, nbd, rbd)"),
                bad("<disk type='network'><source name='x'/></disk>", "protocol '' is refused"),
                bad("<disk type='network'><source protocol='rbd'><config file='/etc/ceph/ceph.conf'/></source></disk>",
                        "<source><config> file /etc/ceph/ceph.conf"),
                bad("<disk type='network'><source protocol='nbd'><host transport='unix' socket='/run/s'/></source>"
                        + "</disk>", "<source><host transport='unix'> is refused: only tcp and rdma"),
                bad("<disk type='network'><source protocol='nbd'><host socket='/run/s'/></source></disk>",
                        "<source><host> attribute socket"),
                bad("<disk type='file'><source file='/srv/shared/a'><reservations managed='no'/></source></disk>",
                        "<source><reservations> is refused"),
                bad("<disk type='file'><source file='/srv/shared/a'><dataStore type='file'/></source></disk>",
                        "<source><dataStore> is refused"),
                // filesystems
                ok("<filesystem type='mount'><driver type='virtiofs'/><source dir='/srv/shared/d'/><readonly/>"
                        + "<alias name='fs0'/></filesystem>"),
                ok("<filesystem><source file='/srv/shared/f' dev='/srv/shared/dev'/></filesystem>"),
                bad("<filesystem type='block'><source dev='/srv/shared/b'/></filesystem>", "<devices><filesystem> "
                        + "type='block' is refused (only mount"),
                bad("<filesystem><source dir='/root'/></filesystem>", "<devices><filesystem><source> dir /root"),
                bad("<filesystem><source file='/etc/f'/></filesystem>", "<source> file /etc/f"),
                bad("<filesystem><source dev='/dev/sda'/></filesystem>", "<source> dev /dev/sda"),
                bad("<filesystem><source socket='/run/vfsd.sock'/></filesystem>", "<source> socket names a host socket"),
                bad("<filesystem><binary path='/bin/sh'/></filesystem>", "<devices><filesystem><binary> is refused"),
                bad("<filesystem><alias name='a' path='/x'/></filesystem>", "<alias> attribute path"));
    }
}
