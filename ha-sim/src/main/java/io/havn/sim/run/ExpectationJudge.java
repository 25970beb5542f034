package io.havn.sim.run;

import io.havn.common.model.DesiredState;
import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.sim.scenario.Expectation;
import io.havn.sim.scenario.Fact;
import io.havn.sim.scenario.When;
import io.havn.sim.world.SimClock;
import io.havn.sim.world.SimHost;
import io.havn.sim.world.SimWorld;
import java.util.Set;

/** Judges a scenario's expectations against the simulated world, instant by instant. */
final class ExpectationJudge {
    private static final long MS = SimClock.MS;

    private final SimWorld world;
    private final long settledAt;

    ExpectationJudge(SimWorld world, long settledAt) {
        this.world = world;
        this.settledAt = settledAt;
    }

    /** Follows one expectation through a run. */
    interface Tracker {
        /** Registers any instant it must be judged at. */
        void schedule(SimClock clock);

        /** Called after every event from the settle time on. */
        void observe(long now);

        /** Called once at the end of the run. */
        void finish(long now);

        RunResult.Outcome outcome();
    }

    private final java.util.Map<String, VmId> vmIds = new java.util.HashMap<>();

    Tracker tracker(Expectation e) {
        if (e.fact() instanceof Fact.Downtime d) {
            return new DowntimeTracker(e, new VmId(d.vm()), d.maxMs());
        }
        return new FactTracker(e);
    }

    private double sec(long nanos) {
        return (nanos - settledAt) / 1e9;
    }

    /** The VM named {@code name}, made once: a fact is judged at every event, and a name is checked when made. */
    private VmId vm(String name) {
        return vmIds.computeIfAbsent(name, VmId::new);
    }

    boolean holds(Fact f) {
        if (f instanceof Fact.Running x) {
            return world.runningOn(vm(x.vm())).size() == 1;
        } else if (f instanceof Fact.RunningOn x) {
            Set<HostId> on = world.runningOn(vm(x.vm()));
            return on.size() == 1 && x.hosts().containsAll(on);
        } else if (f instanceof Fact.RunningNotOn x) {
            Set<HostId> on = world.runningOn(vm(x.vm()));
            return on.size() == 1 && on.stream().noneMatch(x.hosts()::contains);
        } else if (f instanceof Fact.Stopped x) {
            return world.runningOn(vm(x.vm())).isEmpty();
        } else if (f instanceof Fact.InError x) {
            return ScenarioRunner.phase(world, x.vm()) == VmPhase.ERROR;
        } else if (f instanceof Fact.Recovering x) {
            return ScenarioRunner.phase(world, x.vm()) == VmPhase.RECOVERING;
        } else if (f instanceof Fact.Paused x) {
            return !world.storagePausedOn(vm(x.vm())).isEmpty();
        } else if (f instanceof Fact.Boots x) {
            return world.boots(vm(x.vm())) == x.count();
        } else if (f instanceof Fact.Frozen x) {
            return ScenarioRunner.phase(world, x.vm()) == VmPhase.FROZEN;
        } else if (f instanceof Fact.Apart x) {
            Set<HostId> both = new java.util.HashSet<>(world.runningOn(vm(x.vm())));
            both.retainAll(world.runningOn(vm(x.other())));
            return both.isEmpty();
        } else if (f instanceof Fact.With x) {
            Set<HostId> a = world.runningOn(vm(x.vm()));
            return a.size() == 1 && a.equals(world.runningOn(vm(x.other())));
        } else if (f instanceof Fact.OnGroup x) {
            Set<HostId> on = world.runningOn(vm(x.vm()));
            Set<HostId> group = world.coordination.cluster().placement().groups().get(x.group());
            return on.size() == 1 && group != null && group.containsAll(on);
        } else if (f instanceof Fact.Fenced x) {
            SimHost h = world.host(x.host());
            return h != null && h.fencedCount() > 0;
        } else if (f instanceof Fact.Live x) {
            return world.hostLive(x.host());
        } else if (f instanceof Fact.InMaintenance x) {
            return world.inMaintenance(x.host());
        } else if (f instanceof Fact.Leader x) {
            return world.isLeader(x.host());
        } else if (f instanceof Fact.LeaderNot x) {
            return !world.isLeader(x.host());
        }
        throw new IllegalArgumentException("fact " + f.text() + " is judged only at the end");
    }

    /** Whether {@code f} depends on nothing but where VMs run (and its own constant hosts). */
    private static boolean onlyWhereVmsRun(Fact f) {
        return f instanceof Fact.Running || f instanceof Fact.RunningOn || f instanceof Fact.RunningNotOn
                || f instanceof Fact.Stopped || f instanceof Fact.Apart || f instanceof Fact.With;
    }

    private final class FactTracker implements Tracker {
        private final Expectation e;
        private Boolean verdict;
        private String detail = "";
        private long holdsSince = Long.MIN_VALUE;
        /** {@link SimWorld#domainChanges} at the last look, for a fact that depends on where VMs run alone. */
        private long seenChanges = -1;

        FactTracker(Expectation e) {
            this.e = e;
        }

        @Override
        public void schedule(SimClock clock) {
            if (e.when() == When.AT) {
                clock.scheduleAt(settledAt + e.atMs() * MS, () -> {
                    boolean h = holds(e.fact());
                    verdict = h;
                    detail = (h ? "held" : "did not hold") + String.format(" at %.3fs", sec(clock.nanos()));
                });
            }
        }

        @Override
        public void observe(long now) {
            if (onlyWhereVmsRun(e.fact())) {
                long changes = world.domainChanges();
                if (changes == seenChanges) {
                    return; // no domain changed since the last look: the fact says what it said then
                }
                seenChanges = changes;
            }
            switch (e.when()) {
                case BY -> {
                    boolean h = holds(e.fact());
                    if (!h) {
                        holdsSince = Long.MIN_VALUE;
                    } else if (holdsSince == Long.MIN_VALUE) {
                        holdsSince = now;
                    }
                }
                case ALWAYS -> {
                    if (verdict == null && !holds(e.fact())) {
                        verdict = false;
                        detail = String.format("did not hold at %.3fs", sec(now));
                    }
                }
                case NEVER -> {
                    if (verdict == null && holds(e.fact())) {
                        verdict = false;
                        detail = String.format("held at %.3fs", sec(now));
                    }
                }
                default -> { }
            }
        }

        @Override
        public void finish(long now) {
            switch (e.when()) {
                case BY -> {
                    observe(now);
                    long deadline = settledAt + e.atMs() * MS;
                    verdict = holdsSince != Long.MIN_VALUE && holdsSince <= deadline;
                    detail = holdsSince == Long.MIN_VALUE ? "did not hold at the end"
                            : String.format("held from %.3fs on", sec(holdsSince));
                }
                case END -> {
                    verdict = holds(e.fact());
                    detail = verdict ? "held at the end" : "did not hold at the end";
                }
                case ALWAYS, NEVER -> {
                    if (verdict == null) {
                        verdict = true;
                        detail = "held throughout";
                    }
                }
                case AT -> {
                    if (verdict == null) {
                        verdict = false;
                        detail = "the run ended before " + e.atMs() / 1000.0 + "s";
                    }
                }
            }
        }

        @Override
        public RunResult.Outcome outcome() {
            return new RunResult.Outcome(e.text(), Boolean.TRUE.equals(verdict), detail);
        }
    }

    /** "V downtime <= D": total time after settling V ran nowhere while it was meant to run. */
    private final class DowntimeTracker implements Tracker {
        private final Expectation e;
        private final VmId vm;
        private final long maxMs;
        private long downSince = Long.MIN_VALUE;
        private long downNanos;
        private boolean done;

        DowntimeTracker(Expectation e, VmId vm, long maxMs) {
            this.e = e;
            this.vm = vm;
            this.maxMs = maxMs;
        }

        @Override
        public void schedule(SimClock clock) {
        }

        private boolean down() {
            VmRecord r = world.record(vm);
            boolean wanted = r == null || (r.desired() == DesiredState.RUNNING && r.spec().ha());
            return wanted && world.runningOn(vm).isEmpty();
        }

        @Override
        public void observe(long now) {
            boolean d = down();
            if (d && downSince == Long.MIN_VALUE) {
                downSince = now;
            } else if (!d && downSince != Long.MIN_VALUE) {
                downNanos += now - downSince;
                downSince = Long.MIN_VALUE;
            }
        }

        @Override
        public void finish(long now) {
            if (downSince != Long.MIN_VALUE) {
                downNanos += now - downSince;
                downSince = Long.MIN_VALUE;
            }
            done = true;
        }

        @Override
        public RunResult.Outcome outcome() {
            long ms = downNanos / MS;
            return new RunResult.Outcome(e.text(), done && ms <= maxMs, "down " + ms + " ms in all");
        }
    }
}
