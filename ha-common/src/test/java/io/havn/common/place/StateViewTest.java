package io.havn.common.place;

import static io.havn.common.place.StateBuilder.hid;
import static io.havn.common.place.StateBuilder.spec;
import static io.havn.common.place.StateBuilder.vm;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.havn.common.model.ClusterState;
import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Priority;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** {@link StateView}: a snapshot read as the leader's round reads its view. */
class StateViewTest {
    private static final HostCapacity CAP = new HostCapacity(16, 32_768);

    private static HostRecord record(String name) {
        return new HostRecord(hid(name), CAP, null, null, HostAdminState.ACTIVE, false);
    }

    @Test
    void eligibleHostsAreLiveActiveNotOffAndNotShuttingDown() {
        StateBuilder b = new StateBuilder().host("ok", 16, 32_768)
                .host(record("dead"), false)
                .host(record("maint").withAdmin(HostAdminState.MAINTENANCE), true)
                .host(record("off").withOffConfirmed(true), true)
                .host(record("stale-shutdown"), true);
        b.host(record("leaving"), true);
        b.host(record("leaving").withShutdown(b.session(hid("leaving")), ShutdownPolicy.MIGRATE), true);
        // a shutdown announced by an older session says nothing of the newest
        b.host(record("stale-shutdown").withShutdown(1, ShutdownPolicy.MIGRATE), true);
        StateView v = StateView.of(b.build());
        assertEquals(Set.of(hid("ok"), hid("stale-shutdown")), v.eligible());
        assertEquals(List.of(hid("ok"), hid("stale-shutdown")), v.eligibleFree().stream().map(Placement.Host::id).toList());
    }

    @Test
    void freeCapacityCountsWhatHoldsItAndAMigrationOnBothEnds() {
        StateBuilder b = new StateBuilder().host("h1", 16, 32_768).host("h2", 16, 32_768).host("h3", 16, 32_768);
        ClusterState s = b.vm("a", "h1", 2, 4_096)
                .vm(VmRecord.running(spec("m", 4, 8_192, Priority.MEDIUM), hid("h1"), b.session(hid("h1")))
                        .migratingTo(hid("h2"), b.session(hid("h2"))))
                .vm(VmRecord.running(spec("gone", 8, 16_384, Priority.MEDIUM), hid("h3"), b.session(hid("h3")))
                        .unowned(VmPhase.RECOVERING, "no room"))
                .vm(VmRecord.running(spec("plain", 1, 1_024, Priority.MEDIUM).withHa(false), hid("h3"),
                        b.session(hid("h3"))))
                .build();
        StateView v = StateView.of(s);
        assertEquals(Map.of(hid("h1"), new HostCapacity(10, 20_480), hid("h2"), new HostCapacity(12, 24_576),
                hid("h3"), new HostCapacity(15, 31_744)), v.free(List.of(hid("h1"), hid("h2"), hid("h3"), hid("nosuch"))),
                "a recovering VM holds nothing; a non-HA one holds its host; a migrating one both ends");
        assertEquals(List.of(hid("h1"), hid("h2")), v.locator().hostsOf(vm("m")));
        assertEquals(List.of(), v.locator().hostsOf(vm("gone")));
        assertEquals(List.of("a", "m"), v.haVmsOf(List.of(hid("h1"))).stream().map(r -> r.id().value()).toList());
        assertEquals(List.of("m"), v.haVmsOf(List.of(hid("h2"))).stream().map(r -> r.id().value()).toList(),
                "migrating to h2");
        assertEquals(List.of(), v.haVmsOf(List.of(hid("h3"))), "not the non-HA one, not the recovering one");
    }
}
