package io.havn.sim.run;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import io.havn.common.node.AdminCommand;
import io.havn.common.node.AdminReply;
import io.havn.common.node.Decision;
import io.havn.common.node.Settings;
import io.havn.common.place.WhatIf;
import io.havn.common.port.DomainState;
import io.havn.sim.report.Mark;
import io.havn.sim.report.RunTrace;
import io.havn.sim.report.VmSpan;
import io.havn.sim.scenario.Command;
import io.havn.sim.scenario.Fencing;
import io.havn.sim.scenario.Scenario;
import io.havn.sim.scenario.ScenarioParser;
import io.havn.sim.scenario.TimelineEntry;
import io.havn.sim.scenario.VmDecl;
import io.havn.sim.world.SimClock;
import io.havn.sim.world.SimCoordination;
import io.havn.sim.world.SimHost;
import io.havn.sim.world.SimWorld;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs one scenario: builds the world, lets it settle, plays the timeline, and judges every
 * expectation and invariant. The same seed gives the same run, event for event.
 */
public final class ScenarioRunner {
    /** A run that cannot settle within this long fails. */
    public static final long SETTLE_BOUND_MS = 60_000;
    private static final long MS = SimClock.MS;

    /** One line of the timeline: when (ms after settling), which host (or null), what. */
    public record Line(long atMs, String host, String text) {
        @Override
        public String toString() {
            return String.format("%9.3fs  %-8s %s", atMs / 1000.0, host == null ? "cluster" : host, text);
        }
    }

    private final Scenario scenario;
    private final SimWorld world;
    private final List<Line> timeline = new ArrayList<>();
    private final List<VmSpan> spans = new ArrayList<>();
    private final List<Mark> marks = new ArrayList<>();
    private final Map<String, long[]> openSpans = new HashMap<>();
    private long settledAt = -1;

    public ScenarioRunner(Scenario scenario) {
        this.scenario = scenario;
        Settings settings = Settings.defaults().with(scenario.settings());
        this.world = new SimWorld(scenario.seed(), settings, scenario.zkMaxSessionTimeoutMs());
        for (Map.Entry<HostId, io.havn.common.model.HostCapacity> h : scenario.hosts().entrySet()) {
            world.addHost(h.getKey(), h.getValue(), scenario.fencing() == Fencing.DEVICE);
        }
        world.listen(new Recorder());
        for (String d : scenario.datastores()) {
            world.addDatastore(d);
        }
        for (VmDecl v : scenario.vms().values()) {
            world.addVm(ScenarioParser.spec(v), v.host());
            if (!v.agentChannel()) {
                world.noAgentChannel(new VmId(v.name()));
            }
        }
        if (!scenario.placement().isEmpty()) {
            world.seedPlacement(scenario.placement());
        }
    }

    public SimWorld world() {
        return world;
    }

    /** Plays the whole scenario and returns its result. */
    public RunResult run() {
        return runTimed(() -> { });
    }

    /** Like {@link #run()}, calling {@code onSettled} the moment the cluster has settled (for timing). */
    public RunResult runTimed(Runnable onSettled) {
        List<HostId> order = new ArrayList<>(scenario.hosts().keySet());
        if (scenario.leader() != null) {
            order.remove(scenario.leader());
            order.add(0, scenario.leader());
        }
        long at = 0;
        for (HostId h : order) {
            world.clock.scheduleAt(at, () -> world.bootDaemon(h));
            at += h.equals(order.get(0)) ? 300 * MS : MS; // the chosen leader joins the election first
        }
        long[] lastCheck = {-SETTLE_BOUND_MS * MS};
        world.runUntil(SETTLE_BOUND_MS * MS, () -> {
            // checked at most every 10 ms of virtual time: it looks at every host and VM
            if (world.clock.nanos() - lastCheck[0] < 10 * MS) {
                return false;
            }
            lastCheck[0] = world.clock.nanos();
            return settled();
        });
        List<ExpectationJudge.Tracker> trackers = new ArrayList<>();
        if (world.violation() != null || !settled()) {
            String why = world.violation() != null ? "invariant violated while settling: " + world.violation()
                    : "the cluster did not settle within " + SETTLE_BOUND_MS / 1000 + " s";
            return finish(trackers, why);
        }
        settledAt = world.clock.nanos();
        onSettled.run();
        line(null, "settled: leader elected, every host live, every VM running on its host");
        ExpectationJudge ex = new ExpectationJudge(world, settledAt);
        for (var e : scenario.expectations()) {
            trackers.add(ex.tracker(e));
        }
        for (TimelineEntry entry : scenario.timeline()) {
            world.clock.scheduleAt(settledAt + entry.atMs() * MS, () -> {
                for (Command c : entry.commands()) {
                    execute(c);
                }
            });
        }
        for (ExpectationJudge.Tracker t : trackers) {
            t.schedule(world.clock);
        }
        long end = settledAt + scenario.runForMs() * MS;
        for (ExpectationJudge.Tracker t : trackers) {
            t.observe(world.clock.nanos());
        }
        while (world.violation() == null && world.clock.runNext(end)) {
            long now = world.clock.nanos();
            for (ExpectationJudge.Tracker t : trackers) {
                t.observe(now);
            }
        }
        world.clock.advanceTo(end);
        for (ExpectationJudge.Tracker t : trackers) {
            t.finish(world.clock.nanos());
        }
        return finish(trackers, null);
    }

    private RunResult finish(List<ExpectationJudge.Tracker> trackers, String settleFailure) {
        long endNanos = world.clock.nanos();
        for (Map.Entry<String, long[]> e : openSpans.entrySet()) {
            String[] k = e.getKey().split("@", 2);
            spans.add(new VmSpan(k[0], k[1], e.getValue()[0], endNanos, e.getValue()[1] == 1));
        }
        openSpans.clear();
        long endMs = toMs(endNanos);
        spans.replaceAll(v -> new VmSpan(v.vm(), v.host(), toMs(v.fromMs()), toMs(v.toMs()), v.paused()));
        marks.replaceAll(m -> new Mark(toMs(m.atMs()), m.host(), m.kind(), m.label()));
        timeline.replaceAll(l -> new Line(toMs(l.atMs()), l.host(), l.text()));
        List<RunResult.Outcome> outcomes = new ArrayList<>();
        for (ExpectationJudge.Tracker t : trackers) {
            outcomes.add(t.outcome());
        }
        boolean passed = settleFailure == null && world.violation() == null
                && outcomes.stream().allMatch(RunResult.Outcome::passed);
        List<io.havn.sim.report.ExpectationResult> results = new ArrayList<>();
        for (RunResult.Outcome o : outcomes) {
            results.add(new io.havn.sim.report.ExpectationResult(o.text(), o.passed(), o.detail()));
        }
        List<String> violations = new ArrayList<>();
        if (world.violation() != null) {
            violations.add(world.violation());
        }
        if (settleFailure != null) {
            violations.add(settleFailure);
        }
        List<String> hostNames = new ArrayList<>();
        scenario.hosts().keySet().forEach(h -> hostNames.add(h.value()));
        RunTrace trace = new RunTrace(scenario.name(), scenario.description(), scenario.seed(), endMs, hostNames,
                spans, marks, results, violations, passed);
        return new RunResult(scenario, passed, outcomes, world.violation(),
                world.violation() == null ? List.of() : world.trail(), settleFailure, timeline, trace,
                world.clock.executed());
    }

    /** Leader elected, every host live, every VM running where the scenario put it, every daemon ready. */
    private boolean settled() {
        boolean leader = false;
        for (SimHost h : world.hosts()) {
            if (!world.hostLive(h.id()) || h.node() == null || !h.node().isReady()) {
                return false;
            }
            leader |= h.node().isLeader();
        }
        if (!leader) {
            return false;
        }
        for (VmDecl v : scenario.vms().values()) {
            var on = world.runningOn(new VmId(v.name()));
            if (on.size() != 1 || !on.contains(v.host())) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------- commands

    private void execute(Command c) {
        line(null, "! " + c.text());
        if (c instanceof Command.Crash x) {
            world.crash(x.host());
        } else if (c instanceof Command.PowerOn x) {
            world.powerOn(x.host());
        } else if (c instanceof Command.Isolate x) {
            world.isolate(x.host());
        } else if (c instanceof Command.Reconnect x) {
            world.reconnect(x.host());
        } else if (c instanceof Command.Partition x) {
            world.net.partition(x.groups());
            world.noteCluster(c.text());
        } else if (c instanceof Command.Heal) {
            world.net.heal();
            world.noteCluster("heal");
        } else if (c instanceof Command.ZkDown) {
            world.coordination.allDown();
            world.noteCluster("every coordination server stops");
        } else if (c instanceof Command.ZkUp) {
            world.coordination.allUp();
            world.noteCluster("every coordination server starts");
        } else if (c instanceof Command.ZkCrash x) {
            world.coordination.serverDown(x.server() - 1);
            world.noteCluster(SimCoordination.SERVERS[x.server() - 1] + " crashes");
        } else if (c instanceof Command.ZkStart x) {
            world.coordination.serverUp(x.server() - 1);
            world.noteCluster(SimCoordination.SERVERS[x.server() - 1] + " starts");
        } else if (c instanceof Command.DaemonCrash x) {
            world.daemonCrash(x.host());
        } else if (c instanceof Command.DaemonStart x) {
            world.daemonStart(x.host());
        } else if (c instanceof Command.DaemonStop x) {
            world.daemonStop(x.host());
        } else if (c instanceof Command.DaemonRestart x) {
            world.daemonStop(x.host());
            world.clock.schedule(x.afterMs() * 1_000_000L, () -> world.daemonStart(x.host()));
        } else if (c instanceof Command.Pause x) {
            world.pause(x.host(), x.durationMs());
        } else if (c instanceof Command.Loss x) {
            world.net.setLoss(x.percent() / 100.0);
            world.noteCluster(c.text());
        } else if (c instanceof Command.Delay x) {
            world.net.setDelay(x.delayMs() * MS);
            world.noteCluster(c.text());
        } else if (c instanceof Command.VmCrash x) {
            world.vmCrash(new VmId(x.vm()));
        } else if (c instanceof Command.VmFailStart x) {
            world.failStarts(new VmId(x.vm()), x.times());
        } else if (c instanceof Command.VmFailMigrate x) {
            world.failMigrations(new VmId(x.vm()), x.times());
        } else if (c instanceof Command.FenceFail x) {
            world.breakFence(x.host());
        } else if (c instanceof Command.VmStartLate x) {
            world.startLate(new VmId(x.vm()), x.timeoutMs(), x.lateMs());
        } else if (c instanceof Command.VmStartErrorRuns x) {
            world.startErrorRuns(new VmId(x.vm()));
        } else if (c instanceof Command.VmOutsideStart x) {
            world.outsideStart(new VmId(x.vm()), x.host());
        } else if (c instanceof Command.Autostart x) {
            world.autostart(new VmId(x.vm()), x.host());
        } else if (c instanceof Command.Cut x) {
            world.cut(x.from(), x.to(), x.oneWay());
        } else if (c instanceof Command.ClockStep x) {
            world.clockStep(x.host(), x.deltaMs());
        } else if (c instanceof Command.Signal x) {
            world.signal(x.host(), x.on());
        } else if (c instanceof Command.Shutdown x) {
            world.shutdown(x.host(), x.backAfterMs());
        } else if (c instanceof Command.StoragePath x) {
            world.storagePath(x.host(), x.datastore(), x.lost());
        } else if (c instanceof Command.Datastore x) {
            world.datastore(x.datastore(), x.down());
        } else if (c instanceof Command.GuestHang x) {
            world.guestHang(new VmId(x.vm()), x.forever());
        } else if (c instanceof Command.GuestUnhang x) {
            world.guestUnhang(new VmId(x.vm()));
        } else {
            admin(c);
        }
    }

    private void admin(Command c) {
        AdminCommand cmd;
        if (c instanceof Command.Migrate x) {
            cmd = new AdminCommand.Migrate(new VmId(x.vm()), x.host());
        } else if (c instanceof Command.Relocate x) {
            cmd = new AdminCommand.Relocate(new VmId(x.vm()), x.host());
        } else if (c instanceof Command.Maintenance x) {
            cmd = new AdminCommand.Maintenance(x.host(), x.on());
        } else if (c instanceof Command.FenceConfirm x) {
            cmd = new AdminCommand.FenceConfirm(x.host());
        } else if (c instanceof Command.Disarm x) {
            cmd = new AdminCommand.Disarm(x.watchdogs());
        } else if (c instanceof Command.Arm) {
            cmd = new AdminCommand.Arm();
        } else if (c instanceof Command.SetShutdownPolicy x) {
            cmd = new AdminCommand.SetShutdownPolicy(x.host(), x.policy());
        } else if (c instanceof Command.VmStop x) {
            cmd = new AdminCommand.VmStop(new VmId(x.vm()));
        } else if (c instanceof Command.VmStart x) {
            cmd = new AdminCommand.VmStart(new VmId(x.vm()));
        } else if (c instanceof Command.VmDisable x) {
            cmd = new AdminCommand.VmDisable(new VmId(x.vm()));
        } else if (c instanceof Command.VmEnable x) {
            cmd = new AdminCommand.VmEnable(new VmId(x.vm()));
        } else if (c instanceof Command.RuleAdd x) {
            cmd = new AdminCommand.RuleAdd(x.rule());
        } else if (c instanceof Command.RuleRemove x) {
            cmd = new AdminCommand.RuleRemove(x.id());
        } else if (c instanceof Command.GroupSet x) {
            cmd = new AdminCommand.GroupSet(x.name(), x.hosts());
        } else if (c instanceof Command.GroupRemove x) {
            cmd = new AdminCommand.GroupRemove(x.name());
        } else if (c instanceof Command.SetAdmission x) {
            cmd = new AdminCommand.SetAdmission(x.tolerate(), x.strict(), x.reserved());
        } else if (c instanceof Command.WhatIf x) {
            cmd = new AdminCommand.WhatIf(x.hosts());
        } else {
            throw new IllegalStateException("unhandled command " + c);
        }
        marks.add(new Mark(rel(world.clock.nanos()), null, Mark.Kind.ADMIN, c.text()));
        long id = world.admin(cmd);
        if (id < 0) {
            line(null, "admin request refused: no daemon is ready to take it");
            return;
        }
        // a what-if is answered at once, from the answering host's view: written down as soon as it is in
        world.clock.schedule((c instanceof Command.WhatIf ? 1_000 : 5_000) * MS, () -> {
            var reply = world.reply(id);
            if (reply == null) {
                line(null, "admin request '" + c.text() + "' got no answer within 5 s");
            } else if (!reply.ok()) {
                line(null, "admin request '" + c.text() + "' refused: " + reply.code() + ": " + reply.message());
            } else if (c instanceof Command.WhatIf) {
                whatIf(c, reply);
            }
        });
    }

    /** A what-if answer, a line for the whole and one for each VM it would restart or not. */
    private void whatIf(Command c, AdminReply reply) {
        WhatIf.Report w = reply.whatIf();
        if (w == null) {
            line(null, "admin request '" + c.text() + "' answered: " + io.havn.common.model.Json.toJson(reply));
            return;
        }
        line(null, c.text() + " (answered by " + reply.from() + "): " + w.entries().size() + " VMs to restart"
                + (w.expectedRecoveryMs() > 0 ? ", the last running again " + w.expectedRecoveryMs() + " ms after the "
                + "failure" : "") + (w.basis() == null ? "" : " (" + w.basis() + ")"));
        for (WhatIf.Entry e : w.entries()) {
            StringBuilder b = new StringBuilder("  what-if: ").append(e.vm()).append(" from ").append(e.from());
            if (e.to() == null) {
                b.append(": not restarted: ").append(e.why());
            } else {
                b.append(" -> ").append(e.to()).append(" (wave ").append(e.wave());
                if (e.upAfterMs() != null) {
                    b.append(", running after ").append(e.upAfterMs()).append(" ms");
                }
                if (!e.rules().isEmpty()) {
                    b.append("; rules ").append(String.join(", ", e.rules()));
                }
                if (!e.waits().isEmpty()) {
                    b.append("; waits ").append(String.join(", ", e.waits()));
                }
                b.append(')');
            }
            line(null, b.toString());
        }
    }

    // ---------------------------------------------------------------- recording

    /** Times are kept as raw virtual nanoseconds while running and made relative to settling at the end. */
    private long rel(long nanos) {
        return nanos;
    }

    private long toMs(long nanos) {
        return Math.floorDiv(nanos - Math.max(0, settledAt), MS);
    }

    private void line(String host, String text) {
        timeline.add(new Line(rel(world.clock.nanos()), host, text));
    }

    private final class Recorder implements SimWorld.Listener {
        @Override
        public void decision(Decision d) {
            StringBuilder b = new StringBuilder(d.kind().name().toLowerCase().replace('_', '-'));
            if (d.vm() != null) {
                b.append(' ').append(d.vm());
            }
            if (d.subject() != null) {
                b.append(" -> ").append(d.subject());
            }
            b.append(" (epoch ").append(d.epoch()).append(')');
            if (d.detail() != null) {
                b.append(": ").append(d.detail());
            }
            line(d.host().value(), b.toString());
            long at = rel(world.clock.nanos());
            switch (d.kind()) {
                case SELF_FENCE -> marks.add(new Mark(at, d.host().value(), Mark.Kind.SELF_FENCE, "self-fence: "
                        + d.detail()));
                case LEADER_ELECTED -> marks.add(new Mark(at, d.host().value(), Mark.Kind.LEADER, "leader, "
                        + d.detail()));
                case FENCE_OFF -> marks.add(new Mark(at, d.subject().value(), Mark.Kind.FENCE, "fenced by "
                        + d.host()));
                case ALARM -> marks.add(new Mark(at, d.host().value(), Mark.Kind.ALARM, String.valueOf(d.detail())));
                default -> { }
            }
        }

        @Override
        public void domain(HostId host, VmId vm, DomainState before, DomainState after, String cause) {
            long at = rel(world.clock.nanos());
            String key = vm.value() + "@" + host.value();
            long[] open = openSpans.remove(key);
            if (open != null) {
                spans.add(new VmSpan(vm.value(), host.value(), open[0], at, open[1] == 1));
            }
            if (after == DomainState.RUNNING || after == DomainState.PAUSED) {
                openSpans.put(key, new long[] {at, after == DomainState.PAUSED ? 1 : 0});
            }
            if (settledAt >= 0) {
                line(host.value(), "domain " + vm + ": " + (before == null ? "none" : before.name().toLowerCase())
                        + " -> " + (after == null ? "none" : after.name().toLowerCase()) + " (" + cause + ")");
            }
        }

        @Override
        public void note(HostId host, String kind, String text) {
            long at = rel(world.clock.nanos());
            if (settledAt >= 0 && host != null) {
                line(host.value(), text);
            }
            Mark.Kind k = switch (kind) {
                case "fence" -> Mark.Kind.FENCE;
                case "fault", "power" -> Mark.Kind.FAULT;
                default -> null;
            };
            if (k != null && settledAt >= 0) {
                marks.add(new Mark(at, host == null ? null : host.value(), k, text));
            }
        }
    }

    /** The phase of a VM's record, or null. */
    static VmPhase phase(SimWorld world, String vm) {
        VmRecord r = world.record(new VmId(vm));
        return r == null ? null : r.phase();
    }
}
