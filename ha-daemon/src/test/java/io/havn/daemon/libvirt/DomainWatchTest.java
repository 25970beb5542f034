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
    void aKnownDomainThatPausesIsNoIncomingMigration() {
        poll(Map.of(A, RUNNING));
        assertEquals(List.of(), poll(Map.of(A, PAUSED)));
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
