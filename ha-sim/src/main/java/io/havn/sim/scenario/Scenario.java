package io.havn.sim.scenario;

import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.PlacementPolicy;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A parsed scenario file: the cluster, what happens to it, and what must hold. Times count from
 * the moment the cluster has settled. Maps keep file order; the timeline is sorted by time (stable).
 * Build one with {@link ScenarioParser}, which checks the cross-references this record does not.
 * {@code zkMaxSessionTimeoutMs}: the ensemble's maxSessionTimeout, to which every session is
 * negotiated down (0: none, every session gets the timeout it asks for). {@code placement}: the
 * placement policy the cluster record holds from the start (host groups, rules, admission control;
 * never null, {@link PlacementPolicy#EMPTY} for none).
 */
public record Scenario(String name, String description, long seed, HostId leader, Fencing fencing,
        Map<HostId, HostCapacity> hosts, Map<String, VmDecl> vms, Map<String, Object> settings,
        List<TimelineEntry> timeline, List<Expectation> expectations, long runForMs, long zkMaxSessionTimeoutMs,
        PlacementPolicy placement, List<String> datastores) {

    public static final long DEFAULT_SEED = 1;
    public static final HostCapacity DEFAULT_HOST_CAPACITY = new HostCapacity(32, 131_072);
    /** How long a run goes on after the last timeline entry when runFor is not given. */
    public static final long DEFAULT_RUN_AFTER_MS = 120_000;

    /** A scenario whose ensemble grants every session the timeout it asks for. */
    public Scenario(String name, String description, long seed, HostId leader, Fencing fencing,
            Map<HostId, HostCapacity> hosts, Map<String, VmDecl> vms, Map<String, Object> settings,
            List<TimelineEntry> timeline, List<Expectation> expectations, long runForMs) {
        this(name, description, seed, leader, fencing, hosts, vms, settings, timeline, expectations, runForMs, 0);
    }

    /** A scenario without a placement policy. */
    public Scenario(String name, String description, long seed, HostId leader, Fencing fencing,
            Map<HostId, HostCapacity> hosts, Map<String, VmDecl> vms, Map<String, Object> settings,
            List<TimelineEntry> timeline, List<Expectation> expectations, long runForMs, long zkMaxSessionTimeoutMs) {
        this(name, description, seed, leader, fencing, hosts, vms, settings, timeline, expectations, runForMs,
                zkMaxSessionTimeoutMs, PlacementPolicy.EMPTY);
    }

    /** A scenario with no shared datastore. */
    public Scenario(String name, String description, long seed, HostId leader, Fencing fencing,
            Map<HostId, HostCapacity> hosts, Map<String, VmDecl> vms, Map<String, Object> settings,
            List<TimelineEntry> timeline, List<Expectation> expectations, long runForMs, long zkMaxSessionTimeoutMs,
            PlacementPolicy placement) {
        this(name, description, seed, leader, fencing, hosts, vms, settings, timeline, expectations, runForMs,
                zkMaxSessionTimeoutMs, placement, List.of());
    }

    public Scenario {
        Objects.requireNonNull(name, "name");
        datastores = datastores == null ? List.of() : List.copyOf(datastores);
        if (zkMaxSessionTimeoutMs < 0) {
            throw new IllegalArgumentException("zkMaxSessionTimeout must be > 0, got " + zkMaxSessionTimeoutMs + " ms");
        }
        Objects.requireNonNull(fencing, "fencing");
        hosts = Collections.unmodifiableMap(new LinkedHashMap<>(Objects.requireNonNull(hosts, "hosts")));
        vms = Collections.unmodifiableMap(new LinkedHashMap<>(vms == null ? Map.of() : vms));
        settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings == null ? Map.of() : settings));
        List<TimelineEntry> sorted = new ArrayList<>(timeline == null ? List.of() : timeline);
        sorted.sort(Comparator.comparingLong(TimelineEntry::atMs)); // List.sort is stable
        timeline = Collections.unmodifiableList(sorted);
        expectations = List.copyOf(expectations == null ? List.of() : expectations);
        placement = placement == null ? PlacementPolicy.EMPTY : placement;
    }

    /** Whether the ensemble clamps sessions to a maximum timeout ({@code zkMaxSessionTimeout}). */
    public boolean clampsSessions() {
        return zkMaxSessionTimeoutMs > 0;
    }

    /** The time of the last timeline entry, 0 without a timeline. */
    public long lastTimelineMs() {
        return timeline.isEmpty() ? 0 : timeline.get(timeline.size() - 1).atMs();
    }
}
