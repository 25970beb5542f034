package io.havn.daemon.ctl;

import io.havn.common.model.ClusterState;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.VmId;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@code --wait} watches for after a change was accepted: whether it is done, failed (and
 * why), or still under way, judged from the cluster state a status answer carries. The leader
 * accepts a move by writing it into the VM's record, then starts it or gives it up with a reason;
 * so a verdict is given only once the record shows the move taken up, or a reason other than the
 * one it had before the request (an answering host's view may lag the leader's for a moment).
 */
sealed interface Outcome {
    /** Done: {@code what} happened. */
    record Done(String what) implements Outcome { }

    /** It cannot happen as asked, for {@code why}. */
    record Failed(String why) implements Outcome { }

    /** Still under way: {@code where} it stands. */
    record Pending(String where) implements Outcome { }

    /** Judges one state; keeps what it must remember between states. */
    interface Watch {
        Outcome judge(ClusterState state);
    }

    /** A live migration ({@code live}) or a cold relocation of {@code vm} to {@code host}. */
    static Watch move(VmId vm, HostId host, boolean live, ClusterState before) {
        VmRecord was = before.vms().get(vm);
        String reasonBefore = was == null ? null : was.reason();
        String verb = live ? "migrat" : "relocat";
        return new Watch() {
            private boolean takenUp;

            @Override
            public Outcome judge(ClusterState state) {
                VmRecord r = state.vms().get(vm);
                if (r == null) {
                    return new Failed("VM " + vm + " is no longer in the cluster");
                }
                boolean moving = r.move() != null || r.target() != null || r.phase() == VmPhase.MIGRATING
                        || r.phase() == VmPhase.RELOCATING || r.phase() == VmPhase.RELEASED
                        || r.phase() == VmPhase.PLACED;
                takenUp |= moving;
                if (!moving && r.phase() == VmPhase.RUNNING && host.equals(r.owner())) {
                    return new Done(r.spec().name() + " runs on " + host);
                }
                if (r.phase() == VmPhase.ERROR || r.phase() == VmPhase.RECOVERING) {
                    return new Failed(r.spec().name() + " is " + phase(r) + ": " + reason(r));
                }
                boolean newReason = r.reason() != null && !Objects.equals(r.reason(), reasonBefore);
                if (!moving && (takenUp || newReason)) {
                    return new Failed(r.spec().name() + " was not " + verb + "ed to " + host + "; it "
                            + (r.owner() == null ? "is " + phase(r) : "runs on " + r.owner()) + ": " + reason(r));
                }
                return new Pending(r.spec().name() + " is " + phase(r) + (r.target() != null ? " to " + r.target() : "")
                        + (r.owner() != null ? " on " + r.owner() : ""));
            }
        };
    }

    /** Maintenance on {@code host}: done once no HA VM is on it or on its way to it. */
    static Watch drained(HostId host) {
        return state -> {
            HostRecord h = state.hosts().get(host);
            if (h == null) {
                return new Failed("host " + host + " is no longer in the cluster");
            }
            if (!h.inMaintenance()) {
                return new Failed("host " + host + " is no longer in maintenance");
            }
            List<String> left = new ArrayList<>();
            for (VmRecord r : state.vms().values()) {
                if (r.spec().ha() && (host.equals(r.owner()) || host.equals(r.target()))) {
                    left.add(r.spec().name() + " (" + phase(r) + (r.reason() == null ? "" : ": " + r.reason()) + ")");
                }
            }
            return left.isEmpty() ? new Done(host + " is drained: no HA VM runs on it")
                    : new Pending("still on " + host + ": " + String.join(", ", left));
        };
    }

    private static String phase(VmRecord r) {
        return r.phase().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    private static String reason(VmRecord r) {
        return r.reason() == null ? "no reason recorded" : r.reason();
    }
}
