package io.havn.daemon.libvirt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havn.common.model.VmId;
import io.havn.common.node.NodeEvent.DomainChanged;
import io.havn.common.port.DomainState;
import io.havn.daemon.libvirt.DomainWatch.Effect;
import io.havn.daemon.libvirt.DomainWatch.Observation;
import io.havn.daemon.libvirt.DomainWatch.Seen;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DomainWatchTest {
    private static final VmId A = VmId.of("aaaaaaaa-0000-0000-0000-000000000001");
    private static final VmId B = VmId.of("bbbbbbbb-0000-0000-0000-000000000002");
    private static final Seen RUNNING = Seen.active(DomainState.RUNNING);
    private static final Seen PAUSED = Seen.active(DomainState.PAUSED);
    private static final Seen DESTROYED = Seen.stopped(DomainState.SHUTOFF, "destroyed outside havn");
    private static final Seen IO_ERROR = Seen.paused(DomainState.PAUSED_STORAGE, "paused on a disk I/O error");

    private final DomainWatch watch = new DomainWatch();

    private List<DomainChanged> poll(Map<VmId, Seen> seen) {
        return watch.apply(new Observation(watch.seq(), seen));
    }

    @Test
    void theFirstPollOnlyLearnsWhatExists() {
        assertEquals(List.of(), poll(Map.of(A, RUNNING, B, PAUSED)), "what ran before the adapter is no change");
        assertEquals(List.of(), poll(Map.of(A, RUNNING, B, PAUSED)));
    }

    @Test
    void aKnownDomainThatStopsUnaskedIsReportedOnce() {
        poll(Map.of(A, RUNNING));
        assertEquals(List.of(new DomainChanged(A, DomainState.SHUTOFF, false, "destroyed outside havn")),
                poll(Map.of(A, DESTROYED)));
        assertEquals(List.of(), poll(Map.of()), "reported once");
    }

    @Test
    void aCrashThatLibvirtKeepsIsReportedAsCrashed() {
        poll(Map.of(A, RUNNING));
        assertEquals(List.of(new DomainChanged(A, DomainState.CRASHED, false, "guest crashed")),
                poll(Map.of(A, Seen.active(DomainState.CRASHED))));
    }

    @Test
    void aStopWhileAnOperationIsInFlightIsNotReported() {
        poll(Map.of(A, RUNNING));
        watch.begin(A);
        assertEquals(List.of(), poll(Map.of(A, DESTROYED)), "in flight");
        watch.end(A, Effect.GONE);
        assertEquals(List.of(), poll(Map.of()), "the operation said it is gone");
    }

    @Test
    void aPollThatBeganBeforeAnOperationEndedSaysNothingOfItsDomain() {
        poll(Map.of());
        watch.begin(A);
        long before = watch.seq();
        watch.end(A, Effect.RUNNING); // START ended while the poll was listing
        assertEquals(List.of(), watch.apply(new Observation(before, Map.of())), "the poll may have missed it");
        watch.begin(A);
        long during = watch.seq();
        watch.end(A, Effect.GONE); // DESTROY ended while the next poll was listing, which saw it running
        assertEquals(List.of(), watch.apply(new Observation(during, Map.of(A, RUNNING))));
        assertEquals(List.of(), poll(Map.of()), "gone, as the operation said");
    }

    @Test
    void aStartedDomainThatStopsBeforeTheFirstPollIsStillReported() {
        watch.begin(A);
        watch.end(A, Effect.RUNNING);
        assertEquals(List.of(new DomainChanged(A, DomainState.SHUTOFF, false, "destroyed outside havn")),
                poll(Map.of(A, DESTROYED)));
    }

    @Test
    void aPausedDomainThatAppearsIsAnIncomingMigrationOnceItSettles() {
        poll(Map.of());
        assertEquals(List.of(), poll(Map.of(A, Seen.unsettled())), "migration still under way");
        assertEquals(List.of(new DomainChanged(A, DomainState.PAUSED, true, DomainWatch.INCOMING)),
                poll(Map.of(A, PAUSED)));
        assertEquals(List.of(), poll(Map.of(A, PAUSED)), "reported once");
    }

    @Test
    void aKnownDomainThatPausesIsReportedOnceButIsNoIncomingMigration() {
        poll(Map.of(A, RUNNING));
        Seen user = Seen.paused(DomainState.PAUSED, "paused outside havn");
        assertEquals(List.of(new DomainChanged(A, DomainState.PAUSED, false, "paused outside havn")),
                poll(Map.of(A, user)));
        assertEquals(List.of(), poll(Map.of(A, user)), "reported once");
    }

    @Test
    void aGuestPausedOnADiskErrorIsReportedPausedOnItsStorageOnce() {
        poll(Map.of(A, RUNNING));
        assertEquals(List.of(new DomainChanged(A, DomainState.PAUSED_STORAGE, false, "paused on a disk I/O error")),
                poll(Map.of(A, IO_ERROR)));
        assertEquals(List.of(), poll(Map.of(A, IO_ERROR)), "reported once");
    }

    @Test
    void aGuestPausedByTheUserThatThenHitsADiskErrorIsReportedAgain() {
        poll(Map.of(A, RUNNING));
        poll(Map.of(A, Seen.paused(DomainState.PAUSED, "paused outside havn")));
        assertEquals(List.of(new DomainChanged(A, DomainState.PAUSED_STORAGE, false, "paused on a disk I/O error")),
                poll(Map.of(A, IO_ERROR)), "resumed and paused again between two polls, on its storage this time");
    }

    @Test
    void aGuestPausedOnItsStorageAndResumedOutsideIsReportedRunning() {
        poll(Map.of(A, IO_ERROR));
        assertEquals(List.of(new DomainChanged(A, DomainState.RUNNING, false, DomainWatch.RESUMED_OUTSIDE)),
                poll(Map.of(A, RUNNING)));
    }

    @Test
    void aResumeByHavnOfAGuestPausedOnItsStorageIsNotReportedAgain() {
        poll(Map.of(A, IO_ERROR));
        watch.begin(A);
        watch.end(A, Effect.RUNNING); // havn's RESUME, an ordinary one
        assertEquals(List.of(), poll(Map.of(A, RUNNING)), "the resume's own effect");
        assertEquals(List.of(new DomainChanged(A, DomainState.PAUSED_STORAGE, false, "paused on a disk I/O error")),
                poll(Map.of(A, IO_ERROR)), "the storage failed again");
    }

    @Test
    void aDomainThatAppearsPausedOnItsStorageIsNoIncomingMigration() {
        poll(Map.of());
        assertEquals(List.of(new DomainChanged(A, DomainState.PAUSED_STORAGE, false,
                        DomainWatch.STARTED_OUTSIDE + "; paused on a disk I/O error")),
                poll(Map.of(A, IO_ERROR)), "a migration's copy waits paused for the user, never on its storage");
    }

    @Test
    void onlyAPausedStateIsSeenPaused() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Seen.paused(DomainState.RUNNING, "x"));
    }

    @Test
    void aPausedDomainResumedOutsideIsReportedRunning() {
        poll(Map.of(A, PAUSED));
        assertEquals(List.of(new DomainChanged(A, DomainState.RUNNING, false, DomainWatch.RESUMED_OUTSIDE)),
                poll(Map.of(A, RUNNING)));
    }

    @Test
    void aRunningDomainThatAppearsIsReportedAsStartedOutsideHavn() {
        poll(Map.of());
        assertEquals(List.of(new DomainChanged(A, DomainState.RUNNING, false, DomainWatch.STARTED_OUTSIDE)),
                poll(Map.of(A, RUNNING)), "an operator's virsh start on this host");
        assertEquals(List.of(), poll(Map.of(A, RUNNING)), "reported once");
    }

    @Test
    void aDomainRunningAfterAFailedStartIsReported() {
        poll(Map.of());
        watch.begin(A);
        watch.end(A, Effect.NONE); // START reported failed, yet libvirt started the guest
        assertEquals(List.of(new DomainChanged(A, DomainState.RUNNING, false, DomainWatch.RUNNING_AFTER_FAILURE)),
                poll(Map.of(A, RUNNING)));
    }

    @Test
    void theFirstPollStillReportsADomainRunningAfterAFailedStart() {
        watch.begin(A);
        watch.end(A, Effect.NONE);
        assertEquals(List.of(new DomainChanged(A, DomainState.RUNNING, false, DomainWatch.RUNNING_AFTER_FAILURE)),
                poll(Map.of(A, RUNNING, B, RUNNING)), "B ran before the adapter started; A is havn's doing");
    }

    @Test
    void aFailureIsForgottenOnceAPollHasSeenTheDomainAbsent() {
        poll(Map.of());
        watch.begin(A);
        watch.end(A, Effect.NONE);
        assertEquals(List.of(), poll(Map.of()), "the failed start started nothing");
        assertEquals(List.of(new DomainChanged(A, DomainState.RUNNING, false, DomainWatch.STARTED_OUTSIDE)),
                poll(Map.of(A, RUNNING)), "started later, by someone else");
    }

    @Test
    void aGuestThatATimedOutStartRunsOnlyLaterIsStillNotCalledStartedOutside() {
        poll(Map.of());
        watch.begin(A);
        watch.end(A, Effect.NONE, true); // START timed out; its call still hangs in libvirt
        assertEquals(List.of(), poll(Map.of()), "nothing runs yet");
        assertEquals(List.of(new DomainChanged(A, DomainState.RUNNING, false, DomainWatch.RUNNING_AFTER_FAILURE)),
                poll(Map.of(A, RUNNING)), "the hung call did start it");
    }

    @Test
    void aLateEffectIsTakenAsSeenAndNotReportedByPolls() {
        poll(Map.of());
        watch.begin(A);
        watch.end(A, Effect.NONE, true); // START timed out
        watch.late(A, Effect.RUNNING); // and returned: the adapter reports it as HypervisorLate
        assertEquals(List.of(), poll(Map.of(A, RUNNING)));
        assertEquals(List.of(new DomainChanged(A, DomainState.SHUTOFF, false, "destroyed outside havn")),
                poll(Map.of(A, DESTROYED)), "known from then on");
    }

    @Test
    void aDomainSeenRunningBeforeItsTimedOutStartReturnsIsReportedOnce() {
        poll(Map.of());
        watch.begin(A);
        watch.end(A, Effect.NONE, true); // START timed out; the call still hangs in libvirt
        assertEquals(List.of(new DomainChanged(A, DomainState.RUNNING, false, DomainWatch.RUNNING_AFTER_FAILURE)),
                poll(Map.of(A, RUNNING)));
        watch.late(A, Effect.RUNNING);
        assertEquals(List.of(), poll(Map.of(A, RUNNING)));
    }

    @Test
    void aLateFailureLeavesTheDomainToTheNextPoll() {
        poll(Map.of(A, RUNNING));
        watch.begin(A);
        watch.end(A, Effect.NONE, true); // DESTROY timed out
        long during = watch.seq();
        watch.late(A, Effect.NONE); // and failed after all
        assertEquals(List.of(), watch.apply(new Observation(during, Map.of(A, DESTROYED))),
                "a poll that began before the late result says nothing");
        assertEquals(List.of(new DomainChanged(A, DomainState.SHUTOFF, false, "destroyed outside havn")),
                poll(Map.of(A, DESTROYED)), "still known running: its stop is a change");
    }

    @Test
    void aCrashedDomainThatIsThenStoppedIsReportedAgain() {
        poll(Map.of(A, RUNNING));
        assertEquals(List.of(new DomainChanged(A, DomainState.CRASHED, false, "guest crashed")),
                poll(Map.of(A, Seen.active(DomainState.CRASHED))));
        assertEquals(List.of(new DomainChanged(A, DomainState.SHUTOFF, false, "destroyed outside havn")),
                poll(Map.of(A, DESTROYED)));
    }

    @Test
    void anOlderPollThanOneAppliedIsIgnored() {
        poll(Map.of(A, RUNNING));
        long old = watch.seq();
        watch.begin(B);
        watch.end(B, Effect.NONE);
        poll(Map.of(A, RUNNING));
        assertEquals(List.of(), watch.apply(new Observation(old - 1, Map.of(A, DESTROYED))));
    }
}
