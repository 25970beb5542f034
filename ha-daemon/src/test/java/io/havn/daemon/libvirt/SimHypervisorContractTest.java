package io.havn.daemon.libvirt;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.Priority;
import io.havn.common.model.VmId;
import io.havn.common.model.VmSpec;
import io.havn.common.node.NodeEvent;
import io.havn.common.node.Settings;
import io.havn.common.port.Hypervisor;
import io.havn.sim.world.SimClock;
import io.havn.sim.world.SimHost;
import io.havn.sim.world.SimOutside;
import io.havn.sim.world.SimWorld;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The simulator's hypervisor held to the same contract as the libvirt adapter, so that what the
 * simulator proves is about a hypervisor that behaves like the real one. Virtual time runs on a
 * pump thread; every call to the simulated hypervisor, every change from outside ({@link SimOutside})
 * and every step of time take one lock. The hanging subject's host has a libvirt that hangs, with
 * a call timeout of {@link #HANG_TIMEOUT_MS} of virtual time.
 */
class SimHypervisorContractTest extends HypervisorContract {
    private static final HostId HOST = new HostId("sim1");
    private static final HostId PEER = new HostId("sim2");
    private static final long HANG_TIMEOUT_MS = 2_000;
    private final AtomicInteger specs = new AtomicInteger();

    private final class SimSubject implements Subject {
        private final Object lock = new Object();
        private final SimWorld world = new SimWorld(1, Settings.defaults());
        private final BlockingQueue<NodeEvent> events = new LinkedBlockingQueue<>();
        private final AtomicBoolean closed = new AtomicBoolean();
        private final Hypervisor hv;
        private final Outside outside;
        private final Thread pump;

        SimSubject(boolean hangs) {
            SimHost host = world.addHost(HOST, new HostCapacity(32, 131072), false);
            world.addHost(PEER, new HostCapacity(32, 131072), false);
            if (hangs) {
                host.hangHypervisor(HANG_TIMEOUT_MS);
            }
            outside = new LockedOutside(new SimOutside(world, host));
            Hypervisor inner = world.hypervisor(HOST, events::add);
            hv = new Hypervisor() {
                @Override
                public void list() {
                    locked(() -> inner.list());
                }

                @Override
                public void disableAutostart(VmId vm) {
                    locked(() -> inner.disableAutostart(vm));
                }

                @Override
                public void start(VmSpec spec) {
                    locked(() -> inner.start(spec));
                }

                @Override
                public void resume(VmId vm) {
                    locked(() -> inner.resume(vm));
                }

                @Override
                public void shutdown(VmId vm, long timeoutMs) {
                    locked(() -> inner.shutdown(vm, timeoutMs));
                }

                @Override
                public void destroy(VmId vm) {
                    locked(() -> inner.destroy(vm));
                }

                @Override
                public void migrate(VmId vm, HostId target) {
                    locked(() -> inner.migrate(vm, target));
                }

                @Override
                public void pingAgent(VmId vm) {
                    locked(() -> inner.pingAgent(vm));
                }

                @Override
                public void reset(VmId vm) {
                    locked(() -> inner.reset(vm));
                }

            };
            // virtual time advances a millisecond per step, as fast as the machine goes
            pump = new Thread(() -> {
                while (!closed.get()) {
                    locked(() -> world.runUntil(world.clock.nanos() + SimClock.MS));
                    Thread.yield();
                }
            }, "sim-pump");
            pump.setDaemon(true);
            pump.start();
        }

        @Override
        public Hypervisor hypervisor() {
            return hv;
        }

        @Override
        public BlockingQueue<NodeEvent> events() {
            return events;
        }

        @Override
        public VmSpec newSpec() {
            String name = "simvm" + specs.incrementAndGet();
            return new VmSpec(new VmId(name), name, 1, 256, Priority.MEDIUM, true,
                    "<domain type='kvm'><name>" + name + "</name></domain>");
        }

        @Override
        public VmSpec invalidSpec() {
            String name = "badvm" + specs.incrementAndGet();
            return new VmSpec(new VmId(name), name, 1, 256, Priority.MEDIUM, true, "not xml");
        }

        @Override
        public HostId peer() {
            return PEER;
        }

        @Override
        public Outside outside() {
            return outside;
        }

        /** Runs {@code r} under the lock that virtual time takes too. */
        private void locked(Runnable r) {
            synchronized (lock) {
                r.run();
            }
        }

        /** The outside party, taking the lock as every call does. */
        private final class LockedOutside implements Outside {
            private final SimOutside o;

            LockedOutside(SimOutside o) {
                this.o = o;
            }

            @Override
            public void pause(VmId vm) {
                locked(() -> o.pause(vm));
            }

            @Override
            public void destroy(VmId vm) {
                locked(() -> o.destroy(vm));
            }

            @Override
            public void appearPaused(VmSpec spec) {
                locked(() -> o.appearPaused(spec));
            }

            @Override
            public void startBehindHavnsBack(VmSpec spec) {
                locked(() -> o.start(spec));
            }

            @Override
            public void defineWithAutostart(VmSpec spec) {
                locked(() -> o.defineWithAutostart(spec));
            }
        }

        @Override
        public void close() {
            closed.set(true);
            try {
                pump.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    protected Subject newSubject() {
        return new SimSubject(false);
    }

    @Override
    protected Subject newSubjectWithOutside() {
        return new SimSubject(false);
    }

    @Override
    protected Subject newHangingSubject() {
        return new SimSubject(true);
    }
}
