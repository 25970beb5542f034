package io.havn.daemon.demo;

import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * One of the demo's HA VMs: a domain of libvirt's test driver that runs at first on {@code host}.
 * Its uuid derives from its name, so that two runs show the same VMs.
 */
record DemoVm(String name, VmId id, int memoryMiB, Priority priority, String host) {

    /** {@code perHost} VMs on each of {@code hosts}, named vm1, vm2... in host order; sizes 256 and 128 MiB by turns. */
    static List<DemoVm> plan(List<String> hosts, int perHost) {
        List<DemoVm> vms = new ArrayList<>();
        for (String h : hosts) {
            for (int i = 0; i < perHost; i++) {
                int n = vms.size() + 1;
                String name = "vm" + n;
                UUID uuid = UUID.nameUUIDFromBytes(("havn-demo/" + name).getBytes(StandardCharsets.UTF_8));
                vms.add(new DemoVm(name, new VmId(uuid.toString()), n % 2 == 1 ? 256 : 128,
                        n % 2 == 1 ? Priority.HIGH : Priority.MEDIUM, h));
            }
        }
        return vms;
    }

    /** Its libvirt domain: the same XML on the host that runs it first and on any host that restarts it. */
    String domainXml() {
        return """
                <domain type='test'>
                  <name>%s</name>
                  <uuid>%s</uuid>
                  <memory unit='MiB'>%d</memory>
                  <vcpu>1</vcpu>
                  <os><type>hvm</type></os>
                </domain>
                """.formatted(name, id, memoryMiB);
    }

    /** What {@code vm-add} puts under HA. */
    VmSpec spec() {
        return new VmSpec(id, name, 1, memoryMiB, priority, true, domainXml());
    }
}
