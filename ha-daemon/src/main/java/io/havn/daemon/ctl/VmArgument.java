package io.havn.daemon.ctl;

import io.havn.common.model.ClusterState;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import java.util.List;

/**
 * A VM as an operator names it on the command line, by UUID or by name, resolved against the
 * cluster state before anything is sent; an unknown or ambiguous name is bad input.
 */
final class VmArgument {
    private VmArgument() {
    }

    static VmId resolve(ClusterState state, String arg) {
        for (VmId id : state.vms().keySet()) {
            if (id.value().equalsIgnoreCase(arg)) {
                return id; // UUIDs are case-insensitive; libvirt spells them in lower case
            }
        }
        List<VmRecord> named = state.vms().values().stream().filter(r -> r.spec().name().equals(arg)).toList();
        if (named.size() == 1) {
            return named.get(0).id();
        }
        if (named.isEmpty()) {
            throw Failure.usage("no HA VM named '" + arg + "' or with that UUID ('havnctl vms' lists them)");
        }
        throw Failure.usage("the name '" + arg + "' is ambiguous: VMs " + named.stream().map(r -> r.id().value())
                .toList() + " all have it; give the UUID");
    }
}
