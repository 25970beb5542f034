package io.havn.sim.world;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.NodeDriver;
import io.havn.common.node.NodeEvent;
import io.havn.common.port.DomainInfo;
import io.havn.common.port.DomainState;
import io.havn.common.port.Hypervisor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * The libvirt of one simulated host, as one daemon incarnation calls it. Each call answers in
 * the inbox after a fixed time, unless the host lost power or the daemon restarted meanwhile; the
 * domains live on the {@link SimHost} and outlive the daemon. The faults the world injects (failed
 * or lying starts, failed migrations) are taken here, and every start, resume and kill passes the
 * world's {@link Invariants} first.
 *
 * <p>As the libvirt adapter, it reports what changes behind its back ({@link SimOutside}) as
 * {@code DomainChanged}; and when the host's libvirt hangs ({@link SimHost#hangHypervisor}) every
 * operation ends in a timeout failure that says the call may still complete, and nothing follows.
 */
final class SimHypervisor implements Hypervisor {
    private final SimWorld world;
    private final SimHost h;
    private final Consumer<NodeEvent> inbox;

    SimHypervisor(SimWorld world, SimHost host, Consumer<NodeEvent> inbox) {
        this.world = world;
        this.h = host;
        this.inbox = inbox;
        host.hypervisor = this;
    }

    /** A change nobody asked this adapter for, reported as libvirt's adapter reports it. */
    void changed(VmId vm, DomainState state, boolean migratedIn, String cause) {
        later(1, () -> inbox.accept(new NodeEvent.DomainChanged(vm, state, migratedIn, cause)));
    }

    /**
     * Whether the host's libvirt hangs; if so, {@code op} on {@code vm} is reported timed out at the
     * adapter's call timeout (no report for a null {@code op}: a list or autostart change has none).
     */
    private boolean hangs(VmId vm, Op op) {
        long ms = h.hypervisorHangsMs;
        if (ms <= 0) {
            return false;
        }
        if (op != null) {
            later(ms, () -> inbox.accept(new NodeEvent.HypervisorDone(vm, op, false, "timed out after " + ms
                    + " ms waiting for libvirt (" + op.name().toLowerCase(Locale.ROOT) + ")", true)));
        }
        return true;
    }

    /** Runs {@code r} after {@code ms}, if the host kept its power and its daemon until then. */
    private void later(long ms, Runnable r) {
        int inc = h.incarnation;
        world.clock.schedule(ms * SimWorld.MS, () -> {
            if (h.powered && h.incarnation == inc) {
                r.run();
            }
        });
    }

    private void done(VmId vm, Op op, boolean ok, String error) {
        inbox.accept(new NodeEvent.HypervisorDone(vm, op, ok, error));
    }

    @Override
    public void list() {
        if (hangs(null, null)) {
            return;
        }
        later(SimWorld.LIST_MS, () -> {
            List<DomainInfo> out = new ArrayList<>();
            h.domains.forEach((v, s) -> out.add(new DomainInfo(v, v.value(), s, h.autostart.contains(v))));
            Set<VmId> off = new TreeSet<>(h.autostart);
            off.addAll(h.defined);
            for (VmId v : off) {
                if (!h.domains.containsKey(v)) {
                    out.add(new DomainInfo(v, v.value(), DomainState.SHUTOFF, h.autostart.contains(v)));
                }
            }
            inbox.accept(new NodeEvent.DomainsListed(out));
        });
    }

    @Override
    public void disableAutostart(VmId vm) {
        if (hangs(vm, null)) {
            return;
        }
        later(SimWorld.LIST_MS, () -> {
            if (h.autostart.remove(vm)) {
                world.note(h.id, "autostart", "autostart cleared for " + vm);
            }
        });
    }

    @Override
    public void start(VmSpec spec) {
        VmId vm = spec.id();
        world.invariants.beforeStart(h, vm, "start");
        if (hangs(vm, Op.START)) {
            return;
        }
        SimWorld.StartFault fault = world.takeStartFault(vm);
        if (fault != null && !fault.errorRuns()) {
            startLate(spec, fault);
            return;
        }
        later(SimWorld.START_MS, () -> {
            if (spec.domainXml() == null || !spec.domainXml().contains("<domain")) {
                done(vm, Op.START, false, "invalid domain XML: no <domain> element");
                return;
            }
            if (h.domains.containsKey(vm)) {
                done(vm, Op.START, false, "Requested operation is not valid: domain is already running");
                return;
            }
            if (world.failNextStart(vm)) {
                done(vm, Op.START, false, "injected start failure");
                return;
            }
            if (!world.storage.reaches(h, spec)) {
                done(vm, Op.START, false, "cannot open the disk: datastore(s) "
                        + String.join(", ", world.storage.unreached(h, spec)) + " do not answer here");
                return;
            }
            h.specs.put(vm, spec);
            h.autostart.remove(vm); // defined with autostart off
            if (fault != null) {
                world.setDomain(h, vm, DomainState.RUNNING, "started, though libvirt reported an error");
                done(vm, Op.START, false, "injected: libvirt reported an error, but the guest started");
                return;
            }
            world.setDomain(h, vm, DomainState.RUNNING, "started");
            done(vm, Op.START, true, null);
        });
    }

    /**
     * A start whose call times out: the adapter reports the timeout, and the guest comes up later,
     * when the call returns, whether or not the daemon that asked still runs (libvirtd does the work).
     */
    private void startLate(VmSpec spec, SimWorld.StartFault fault) {
        int inc = h.incarnation;
        int boot = h.boots;
        VmId vm = spec.id();
        world.clock.schedule(fault.timeoutMs() * SimWorld.MS, () -> {
            if (h.powered && h.incarnation == inc) {
                inbox.accept(new NodeEvent.HypervisorDone(vm, Op.START, false,
                        "timed out after " + fault.timeoutMs() + " ms waiting for libvirt (start)", true));
            }
        });
        world.clock.schedule(fault.lateMs() * SimWorld.MS, () -> {
            if (!h.powered || h.boots != boot || h.domains.containsKey(vm)) {
                return; // the machine lost power meanwhile: the call died with libvirtd
            }
            h.specs.put(vm, spec);
            h.autostart.remove(vm);
            world.setDomain(h, vm, DomainState.RUNNING, "started late, after the call timed out");
            if (h.incarnation == inc) {
                inbox.accept(new NodeEvent.HypervisorLate(vm, Op.START, true, null));
            }
        });
    }

    @Override
    public void resume(VmId vm) {
        world.invariants.beforeStart(h, vm, "resume");
        if (hangs(vm, Op.RESUME)) {
            return;
        }
        later(SimWorld.RESUME_MS, () -> {
            DomainState s = h.domains.get(vm);
            boolean ok = s == DomainState.PAUSED || s == DomainState.PAUSED_STORAGE;
            if (ok) {
                world.setDomain(h, vm, DomainState.RUNNING, "resumed");
            }
            done(vm, Op.RESUME, ok, ok ? null : "domain is not paused");
            if (ok) {
                // a guest whose storage still fails pauses again at its next I/O
                world.clock.schedule(SimStorage.PAUSE_AFTER_MS * SimWorld.MS, () -> world.storage.pauseIfCut(h, vm));
            }
        });
    }

    @Override
    public void shutdown(VmId vm, long timeoutMs) {
        stop(vm, Op.SHUTDOWN, SimWorld.SHUTDOWN_MS, "shut down");
    }

    @Override
    public void destroy(VmId vm) {
        stop(vm, Op.DESTROY, SimWorld.DESTROY_MS, "destroyed");
    }

    private void stop(VmId vm, Op op, long ms, String cause) {
        world.invariants.beforeKill(h, vm, op == Op.SHUTDOWN ? "shutdown" : "destroy");
        if (hangs(vm, op)) {
            return;
        }
        later(ms, () -> {
            if (!h.domains.containsKey(vm)) {
                done(vm, op, false, "no domain " + vm);
                return;
            }
            world.setDomain(h, vm, null, cause);
            done(vm, op, true, null);
        });
    }

    @Override
    public void migrate(VmId vm, HostId target) {
        if (hangs(vm, Op.MIGRATE)) {
            return;
        }
        later(SimWorld.MIGRATE_MS, () -> {
            SimHost t = world.host(target);
            boolean injected = world.failNextMigration(vm);
            boolean ok = t != null && t.powered && h.domains.get(vm) == DomainState.RUNNING
                    && world.net.reachable(h.name, t.name) && !injected && !t.domains.containsKey(vm)
                    && world.storage.reaches(t, h.specs.get(vm));
            if (!ok) {
                done(vm, Op.MIGRATE, false, "live migration failed");
                return;
            }
            // the guest stops on the source and waits, paused, on the destination
            t.specs.put(vm, h.specs.get(vm));
            world.setDomain(h, vm, null, "migrated out");
            world.setDomain(t, vm, DomainState.PAUSED, "migrated in");
            done(vm, Op.MIGRATE, true, null);
            if (t.node != null) {
                int tinc = t.incarnation;
                NodeDriver tn = t.driver;
                world.clock.schedule(SimWorld.MS, () -> world.deliver(t, tinc, () -> tn.handle(
                        new NodeEvent.DomainChanged(vm, DomainState.PAUSED, true, "incoming migration complete"))));
            }
        });
    }

    @Override
    public void pingAgent(VmId vm) {
        if (hangs(null, null)) {
            later(SimWorld.AGENT_TIMEOUT_MS, () -> inbox.accept(new NodeEvent.AgentPinged(vm,
                    NodeEvent.AgentAnswer.NO_ANSWER, "timed out waiting for libvirt")));
            return;
        }
        NodeEvent.AgentAnswer now = world.agentAnswer(h, vm);
        long ms = now == NodeEvent.AgentAnswer.NO_ANSWER ? SimWorld.AGENT_TIMEOUT_MS : SimWorld.LIST_MS;
        later(ms, () -> {
            NodeEvent.AgentAnswer a = now == NodeEvent.AgentAnswer.NO_ANSWER ? now : world.agentAnswer(h, vm);
            inbox.accept(new NodeEvent.AgentPinged(vm, a, switch (a) {
                case OK -> null;
                case NO_ANSWER -> "Guest agent is not responding: QEMU guest agent is not connected";
                case NOT_CONFIGURED -> "argument unsupported: QEMU guest agent is not configured";
                case NOT_RUNNING -> "Requested operation is not valid: domain is not running";
            }));
        });
    }

    @Override
    public void reset(VmId vm) {
        if (hangs(vm, Op.RESET)) {
            return;
        }
        later(SimWorld.RESUME_MS, () -> {
            DomainState s = h.domains.get(vm);
            boolean ok = s == DomainState.RUNNING || s == DomainState.PAUSED || s == DomainState.PAUSED_STORAGE;
            if (ok) {
                world.guestReset(h, vm);
            }
            done(vm, Op.RESET, ok, ok ? null : "Requested operation is not valid: domain is not running");
        });
    }
}
