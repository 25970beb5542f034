package io.havn.sim.world;

import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.port.DomainState;

/**
 * Another party acting on one simulated host's libvirt, behind havn's back: an operator, the
 * guest, a peer migrating in. Unlike {@link SimWorld#outsideStart}, which models an adapter that
 * missed the change, each change here is seen and reported by the host's hypervisor adapter as
 * libvirt's adapter reports it ({@code DomainChanged}, a millisecond later). Nothing in the world
 * uses it unless a test does.
 */
public final class SimOutside {
    private final SimWorld world;
    private final SimHost h;

    public SimOutside(SimWorld world, SimHost host) {
        this.world = world;
        this.h = host;
    }

    /** The guest is paused (an operator's {@code virsh suspend}, a storage error). */
    public void pause(VmId vm) {
        if (h.domains.get(vm) == DomainState.RUNNING) {
            change(vm, DomainState.PAUSED, false, "paused outside havn");
        }
    }

    /** The guest is stopped (an operator's {@code virsh destroy}). */
    public void destroy(VmId vm) {
        if (h.domains.containsKey(vm)) {
            change(vm, null, false, "destroyed outside havn");
        }
    }

    /** A paused copy of the VM appears, as a finished incoming migration leaves it. */
    public void appearPaused(VmSpec spec) {
        if (!h.domains.containsKey(spec.id())) {
            h.specs.put(spec.id(), spec);
            change(spec.id(), DomainState.PAUSED, true, "incoming migration complete");
        }
    }

    /** An operator defines and starts the VM by hand ({@code virsh start}). */
    public void start(VmSpec spec) {
        if (!h.domains.containsKey(spec.id())) {
            h.specs.put(spec.id(), spec);
            world.invariants.outsideStart(h, spec.id());
            change(spec.id(), DomainState.RUNNING, false, "started outside havn");
        }
    }

    /** The VM is defined, not started, with autostart on: a definition left from before havn. */
    public void defineWithAutostart(VmSpec spec) {
        h.specs.put(spec.id(), spec);
        h.autostart.add(spec.id());
        h.defined.add(spec.id());
    }

    private void change(VmId vm, DomainState state, boolean migratedIn, String cause) {
        world.setDomain(h, vm, state, cause);
        if (h.hypervisor != null) {
            h.hypervisor.changed(vm, state == null ? DomainState.SHUTOFF : state, migratedIn, cause);
        }
    }
}
