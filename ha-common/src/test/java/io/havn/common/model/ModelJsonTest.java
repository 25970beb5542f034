package io.havn.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class ModelJsonTest {
    private static final HostId H1 = HostId.of("hv-01.rack1");
    private static final HostId H2 = HostId.of("hv-02");
    private static final HostId H3 = HostId.of("hv_03");
    private static final HostId H4 = HostId.of("hv-04");
    /** Quotes, markup, a newline and a non-ASCII character, all of which must survive. */
    private static final String RUNNING_XML =
            "<domain type='kvm'>\n  <name>web \"1\" &amp; co</name>\n  <uuid>ü</uuid>\n</domain>";

    private static VmSpec spec(String id, Priority priority, boolean ha, String xml) {
        return new VmSpec(VmId.of(id), "name of " + id, 2, 2048, priority, ha, xml);
    }

    /** A cluster with hosts and VMs in every interesting shape. */
    private static ClusterState fullState() {
        Map<HostId, HostRecord> hosts = new TreeMap<>();
        hosts.put(H1, new HostRecord(H1, new HostCapacity(32, 262_144), "10.0.0.1:7400", "ipmi-hv-01",
                HostAdminState.ACTIVE, false));
        hosts.put(H2, new HostRecord(H2, new HostCapacity(16, 131_072), "10.0.0.2:7400", null,
                HostAdminState.MAINTENANCE, false));
        hosts.put(H3, new HostRecord(H3, new HostCapacity(8, 65_536), null, null,
                HostAdminState.ACTIVE, true));
        hosts.put(H4, new HostRecord(H4, HostCapacity.ZERO, "[fd00::4]:7400", "redfish-hv-04",
                HostAdminState.ACTIVE, false));

        Map<HostId, Set<Long>> live = new TreeMap<>();
        live.put(H1, Set.of(0x1000_0000_0000_0001L, 0x1000_0000_0000_0002L)); // a restarted daemon
        live.put(H2, Set.of(42L));
        live.put(H4, Set.of(7L));

        VmSpec placedSpec = spec("0b5c3a4e-7d7a-4c1e-9a55-1f0e6b1c2d3e", Priority.MEDIUM, true, null);
        VmSpec runningSpec = spec("vm-running", Priority.HIGH, true, RUNNING_XML);
        VmSpec migratingSpec = spec("vm-migrating", Priority.LOW, true, "<domain/>");
        VmSpec errorSpec = spec("vm-error", Priority.HIGH, true, null);
        VmSpec moveSpec = spec("vm.move_1", Priority.MEDIUM, true, null);
        VmSpec failedSpec = spec("vm-start-failed", Priority.LOW, true, null);
        VmSpec stoppedSpec = spec("vm-stopped", Priority.LOW, false, null);
        VmSpec recoveringSpec = spec("vm-recovering", Priority.HIGH, true, null);

        List<VmRecord> records = List.of(
                new VmRecord(placedSpec, DesiredState.RUNNING, VmPhase.PLACED, H1, 0x1000_0000_0000_0001L, 3,
                        null, 0, null, 0, List.of(), null),
                VmRecord.running(runningSpec, H1, 0x1000_0000_0000_0002L),
                VmRecord.running(migratingSpec, H1, 0x1000_0000_0000_0002L).migratingTo(H4, 7L),
                new VmRecord(errorSpec, DesiredState.RUNNING, VmPhase.ERROR, null, 0, 9, null, 0, null, 3,
                        List.of(H4, H1, H3), "start failed on every host it tried: hv-04, hv-01.rack1, hv_03"),
                VmRecord.running(moveSpec, H4, 7L).withMove(new MoveRequest(H1, true)),
                new VmRecord(failedSpec, DesiredState.RUNNING, VmPhase.START_FAILED, H4, 7L, 2, null, 0,
                        new MoveRequest(H2, false), 1, List.of(H1), "qemu: could not open disk"),
                VmRecord.running(stoppedSpec, H1, 0x1000_0000_0000_0001L).withDesired(DesiredState.STOPPED)
                        .unowned(VmPhase.STOPPED, null),
                VmRecord.running(recoveringSpec, H1, 0x1000_0000_0000_0001L)
                        .unowned(VmPhase.RECOVERING, "fits on no eligible host"),
                VmRecord.running(spec("vm-not-running", Priority.MEDIUM, true, null), H4, 7L)
                        .withPhase(VmPhase.NOT_RUNNING, "crashed 3 times"),
                VmRecord.running(spec("vm-released", Priority.MEDIUM, true, null), H4, 7L)
                        .withPhase(VmPhase.RELEASED, null));
        Map<VmId, VmRecord> vms = new TreeMap<>();
        records.forEach(r -> vms.put(r.id(), r));

        return new ClusterState(17, H1, new TreeMap<>(hosts), toSortedLive(live), new TreeMap<>(vms));
    }

    private static TreeMap<HostId, SortedSet<Long>> toSortedLive(Map<HostId, Set<Long>> live) {
        TreeMap<HostId, SortedSet<Long>> out = new TreeMap<>();
        live.forEach((h, s) -> out.put(h, new TreeSet<>(s)));
        return out;
    }

    private static JsonNode tree(String json) throws Exception {
        return Json.mapper().readTree(json);
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }

    // ---- round trips ----

    @Test
    void fullClusterStateRoundTripsThroughStringAndBytes() {
        ClusterState state = fullState();
        assertEquals(4, state.hosts().size());
        assertEquals(10, state.vms().size());

        String json = Json.toJson(state);
        ClusterState back = Json.fromJson(json, ClusterState.class);
        assertEquals(state, back);
        assertEquals(json, Json.toJson(back), "the JSON is stable across a round trip");

        assertEquals(state, Json.fromJson(Json.toBytes(state), ClusterState.class));
    }

    @Test
    void roundTripKeepsTheDetailsThatMatter() {
        ClusterState back = Json.fromJson(Json.toJson(fullState()), ClusterState.class);

        assertEquals(H1, back.leader());
        assertEquals(17, back.epoch());
        assertTrue(back.hosts().get(H2).inMaintenance());
        assertTrue(back.hosts().get(H3).offConfirmed());
        assertEquals("ipmi-hv-01", back.hosts().get(H1).fenceDevice());
        assertEquals(List.of(0x1000_0000_0000_0001L, 0x1000_0000_0000_0002L), new ArrayList<>(back.live().get(H1)));

        VmRecord migrating = back.vms().get(VmId.of("vm-migrating"));
        assertEquals(VmPhase.MIGRATING, migrating.phase());
        assertEquals(H4, migrating.target());
        assertEquals(7L, migrating.targetSession());
        assertTrue(migrating.names(H4, 7L));

        VmRecord error = back.vms().get(VmId.of("vm-error"));
        assertEquals(List.of(H4, H1, H3), error.failedHosts(), "failed hosts keep their order");
        assertEquals("start failed on every host it tried: hv-04, hv-01.rack1, hv_03", error.reason());

        assertEquals(new MoveRequest(H1, true), back.vms().get(VmId.of("vm.move_1")).move());
        assertEquals(RUNNING_XML, back.vms().get(VmId.of("vm-running")).spec().domainXml());
        assertFalse(back.vms().get(VmId.of("vm-stopped")).spec().ha());
    }

    @Test
    void everyModelTypeRoundTripsOnItsOwn() {
        ClusterState state = fullState();
        for (HostRecord h : state.hosts().values()) {
            assertEquals(h, Json.fromJson(Json.toJson(h), HostRecord.class));
            assertEquals(h.capacity(), Json.fromJson(Json.toJson(h.capacity()), HostCapacity.class));
        }
        for (VmRecord r : state.vms().values()) {
            assertEquals(r, Json.fromJson(Json.toJson(r), VmRecord.class));
            assertEquals(r.spec(), Json.fromJson(Json.toJson(r.spec()), VmSpec.class));
        }
        assertEquals(new MoveRequest(H2, false), Json.fromJson("{\"host\":\"hv-02\",\"live\":false}", MoveRequest.class));
        for (VmPhase p : VmPhase.values()) {
            assertEquals(p, Json.fromJson(Json.toJson(p), VmPhase.class));
        }
        for (Priority p : Priority.values()) {
            assertEquals(p, Json.fromJson(Json.toJson(p), Priority.class));
        }
        assertEquals(H1, Json.fromJson("\"hv-01.rack1\"", HostId.class));
        assertEquals(VmId.of("vm-error"), Json.fromJson("\"vm-error\"", VmId.class));
    }

    @Test
    void changeRequestsRoundTripWithEveryCommand() {
        ClusterState state = fullState();
        VmSpec spec = state.vms().values().iterator().next().spec();
        VmId vm = spec.id();
        List<io.havn.common.node.AdminCommand> commands = List.of(
                new io.havn.common.node.AdminCommand.Migrate(vm, H2),
                new io.havn.common.node.AdminCommand.Relocate(vm, H2),
                new io.havn.common.node.AdminCommand.Maintenance(H1, true),
                new io.havn.common.node.AdminCommand.FenceConfirm(H2),
                new io.havn.common.node.AdminCommand.VmStop(vm),
                new io.havn.common.node.AdminCommand.VmStart(vm),
                new io.havn.common.node.AdminCommand.VmEnable(vm),
                new io.havn.common.node.AdminCommand.VmDisable(vm),
                new io.havn.common.node.AdminCommand.VmAdd(spec));
        for (io.havn.common.node.AdminCommand c : commands) {
            io.havn.common.node.ChangeRequest pending = io.havn.common.node.ChangeRequest.pending("hv-01.1f.7", H1,
                    0x1f, c, c instanceof io.havn.common.node.AdminCommand.VmAdd);
            for (io.havn.common.node.ChangeRequest r : List.of(pending, pending.accepted("done"),
                    pending.refused("unknown-vm", "no HA VM"))) {
                assertEquals(r, Json.fromJson(Json.toJson(r), io.havn.common.node.ChangeRequest.class));
            }
        }
        String json = Json.toJson(io.havn.common.node.ChangeRequest.pending("hv-01.1f.8", H1, 0x1f, commands.get(0),
                false));
        assertTrue(json.contains("\"command\":\"migrate\""), json);
        assertThrows(IllegalArgumentException.class, () -> io.havn.common.node.ChangeRequest.pending("../x", H1, 1,
                commands.get(0), false));
        assertThrows(IllegalArgumentException.class, () -> io.havn.common.node.ChangeRequest.pending("a", H1, 1,
                new io.havn.common.node.AdminCommand.Status(), false));
    }

    @Test
    void aHostIsLiveWhileItHasASession() {
        ClusterState state = fullState();
        assertTrue(state.isLive(H1), "two sessions");
        assertTrue(state.isLive(H2));
        assertFalse(state.isLive(H3), "registered, no session");
        assertFalse(state.isLive(HostId.of("hv-99")), "not even registered");
        ClusterState emptySessions = new ClusterState(1, null, state.hosts(),
                new TreeMap<>(Map.of(H1, new TreeSet<Long>())), state.vms());
        assertFalse(emptySessions.isLive(H1), "an empty set of sessions is no session");
    }

    @Test
    void anEmptyClusterRoundTripsAndOmitsTheMissingLeader() throws Exception {
        ClusterState empty = new ClusterState(0, null, null, null, null);
        String json = Json.toJson(empty);
        assertEquals(empty, Json.fromJson(json, ClusterState.class));
        // the cluster record is always there: the defaults (generation 0, armed) while none is written
        assertEquals(List.of("epoch", "hosts", "live", "vms", "cluster"), fieldNames(tree(json)));
        assertEquals(ClusterRecord.DEFAULT, empty.cluster());
        // absent collections are read as empty ones
        assertEquals(empty, Json.fromJson("{\"epoch\":0}", ClusterState.class));
    }

    // ---- the JSON shape ----

    @Test
    void enumsAreWrittenInLowerCase() throws Exception {
        JsonNode root = tree(Json.toJson(fullState()));
        JsonNode vms = root.get("vms");
        assertEquals("running", vms.get("vm-running").get("phase").asText());
        assertEquals("running", vms.get("vm-running").get("desired").asText());
        assertEquals("high", vms.get("vm-running").get("spec").get("priority").asText());
        assertEquals("low", vms.get("vm-stopped").get("spec").get("priority").asText());
        assertEquals("medium", vms.get("vm-released").get("spec").get("priority").asText());
        assertEquals("start-failed", vms.get("vm-start-failed").get("phase").asText());
        assertEquals("not-running", vms.get("vm-not-running").get("phase").asText());
        assertEquals("migrating", vms.get("vm-migrating").get("phase").asText());
        assertEquals("error", vms.get("vm-error").get("phase").asText());
        assertEquals("stopped", vms.get("vm-stopped").get("desired").asText());
        assertEquals("maintenance", root.get("hosts").get("hv-02").get("admin").asText());
        assertEquals("active", root.get("hosts").get("hv-01.rack1").get("admin").asText());

        for (VmPhase p : VmPhase.values()) {
            String text = Json.toJson(p);
            assertEquals(text.toLowerCase(Locale.ROOT), text);
            assertEquals("\"" + p.name().toLowerCase(Locale.ROOT).replace('_', '-') + "\"", text);
        }
    }

    @Test
    void mapKeysAndIdsArePlainNames() throws Exception {
        JsonNode root = tree(Json.toJson(fullState()));
        assertEquals(List.of("hv-01.rack1", "hv-02", "hv-04", "hv_03"), fieldNames(root.get("hosts")),
                "host names as keys, sorted");
        assertEquals(List.of("hv-01.rack1", "hv-02", "hv-04"), fieldNames(root.get("live")));
        assertTrue(fieldNames(root.get("vms")).contains("0b5c3a4e-7d7a-4c1e-9a55-1f0e6b1c2d3e"));
        assertTrue(fieldNames(root.get("vms")).contains("vm.move_1"));
        assertEquals(10, root.get("vms").size());

        assertEquals("hv-01.rack1", root.get("leader").asText());
        assertEquals("hv-01.rack1", root.get("hosts").get("hv-01.rack1").get("id").asText());
        JsonNode migrating = root.get("vms").get("vm-migrating");
        assertEquals("vm-migrating", migrating.get("spec").get("id").asText());
        assertEquals("hv-01.rack1", migrating.get("owner").asText());
        assertEquals("hv-04", migrating.get("target").asText());
        assertEquals("hv-01.rack1", root.get("vms").get("vm.move_1").get("move").get("host").asText());
        JsonNode failed = root.get("vms").get("vm-error").get("failedHosts");
        assertTrue(failed.isArray());
        assertEquals("hv-04", failed.get(0).asText());

        JsonNode sessions = root.get("live").get("hv-01.rack1");
        assertTrue(sessions.isArray());
        assertEquals(2, sessions.size());
        assertEquals(0x1000_0000_0000_0001L, sessions.get(0).asLong(), "64-bit session ids survive as numbers");
    }

    @Test
    void nullFieldsAreOmitted() throws Exception {
        String json = Json.toJson(fullState());
        assertFalse(json.contains("null"), json);
        JsonNode root = tree(json);

        JsonNode h3 = root.get("hosts").get("hv_03");
        assertFalse(h3.has("address"));
        assertFalse(h3.has("fenceDevice"));
        assertTrue(h3.get("offConfirmed").asBoolean());
        assertFalse(root.get("hosts").get("hv-02").has("fenceDevice"));
        assertTrue(root.get("hosts").get("hv-02").has("address"));

        JsonNode running = root.get("vms").get("vm-running");
        for (String absent : List.of("target", "move", "reason")) {
            assertFalse(running.has(absent), "running VM has no " + absent);
        }
        assertTrue(running.get("spec").has("domainXml"));
        assertFalse(root.get("vms").get("vm-error").has("owner"));
        assertFalse(root.get("vms").get("vm-error").get("spec").has("domainXml"));
        assertTrue(root.get("vms").get("vm-error").has("reason"));

        // derived accessors are not properties
        assertFalse(running.has("id"));
        assertFalse(root.get("hosts").get("hv-02").has("inMaintenance"));
    }

    // ---- bad input ----

    private static IllegalArgumentException rejected(String json, Class<?> type) {
        return assertThrows(IllegalArgumentException.class, () -> Json.fromJson(json, type));
    }

    private static void assertMentions(IllegalArgumentException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "'" + e.getMessage() + "' should mention '" + part + "'");
        }
    }

    @Test
    void anInvalidHostNameIsRejectedWhereverItAppears() {
        String cap = "{\"cpus\":4,\"memoryMiB\":1024}";
        assertMentions(rejected("{\"id\":\"bad host!\",\"capacity\":" + cap + ",\"admin\":\"active\"}", HostRecord.class),
                "invalid HostRecord JSON", "invalid host name", "bad host!");
        assertMentions(rejected("{\"epoch\":1,\"leader\":\"bad host!\"}", ClusterState.class),
                "invalid ClusterState JSON", "invalid host name", "bad host!");
        assertMentions(rejected("{\"epoch\":1,\"live\":{\"bad host!\":[1]}}", ClusterState.class),
                "invalid host name", "bad host!");
        assertMentions(rejected("{\"host\":\"\",\"live\":true}", MoveRequest.class), "invalid host name");
        assertMentions(rejected("\"" + "h".repeat(64) + "\"", HostId.class), "invalid host name");
    }

    @Test
    void anUnknownPriorityIsRejected() {
        IllegalArgumentException e = rejected(
                "{\"id\":\"vm1\",\"name\":\"web\",\"cpus\":1,\"memoryMiB\":512,\"priority\":\"urgent\",\"ha\":true}",
                VmSpec.class);
        assertMentions(e, "invalid VmSpec JSON", "urgent", "Priority");
        // upper case is not the JSON spelling either
        assertMentions(rejected("\"HIGH\"", Priority.class), "HIGH");
    }

    @Test
    void anUnknownPropertyIsRejected() {
        assertMentions(rejected("{\"cpus\":4,\"memoryMiB\":1024,\"colour\":\"red\"}", HostCapacity.class),
                "invalid HostCapacity JSON", "colour");
        assertMentions(rejected("{\"epoch\":1,\"leaders\":[]}", ClusterState.class), "leaders");
    }

    @Test
    void malformedJsonIsRejected() {
        assertMentions(rejected("{\"cpus\":4,", HostCapacity.class), "invalid HostCapacity JSON", "end-of-input");
        assertMentions(rejected("{cpus:4}", HostCapacity.class), "invalid HostCapacity JSON", "Unexpected character");
        assertMentions(rejected("", ClusterState.class), "invalid ClusterState JSON");
        assertMentions(rejected("[1,2]", VmSpec.class), "invalid VmSpec JSON");
    }

    @Test
    void negativeCpusAreRejected() {
        assertMentions(rejected("{\"cpus\":-1,\"memoryMiB\":1024}", HostCapacity.class),
                "invalid HostCapacity JSON", "cpus must be >= 0, got -1");
        assertMentions(rejected("{\"cpus\":4,\"memoryMiB\":-1}", HostCapacity.class), "memoryMiB must be >= 0");
        assertMentions(rejected(
                "{\"id\":\"vm1\",\"name\":\"web\",\"cpus\":-2,\"memoryMiB\":512,\"priority\":\"low\",\"ha\":true}",
                VmSpec.class), "invalid VmSpec JSON", "cpus must be >= 1, got -2");
    }

    @Test
    void inconsistentOrIncompleteRecordsAreRejected() {
        String spec = "{\"id\":\"vm1\",\"name\":\"web\",\"cpus\":1,\"memoryMiB\":512,\"priority\":\"low\",\"ha\":true}";
        String counters = "\"ownerSession\":1,\"generation\":1,\"targetSession\":0,\"startFailures\":0";
        String ok = "{\"spec\":" + spec + ",\"desired\":\"running\",\"phase\":\"running\",\"owner\":\"hv-01\","
                + counters + "}";
        assertEquals(VmRecord.running(new VmSpec(VmId.of("vm1"), "web", 1, 512, Priority.LOW, true, null),
                HostId.of("hv-01"), 1), Json.fromJson(ok, VmRecord.class), "the well-formed variant is accepted");

        assertMentions(rejected(ok.replace("\"running\",\"owner", "\"migrating\",\"owner"), VmRecord.class),
                "invalid VmRecord JSON", "migrating needs a target");
        assertMentions(rejected(ok.replace("\"owner\":\"hv-01\",", ""), VmRecord.class), "needs an owner");
        assertMentions(rejected(ok.replace("\"phase\":\"running\",", ""), VmRecord.class), "phase");
        assertMentions(rejected(ok.replace("\"phase\":\"running\"", "\"phase\":\"placd\""), VmRecord.class),
                "placd");
        assertMentions(rejected(ok.replace("\"desired\":\"running\"", "\"desired\":\"paused\""), VmRecord.class),
                "paused");
        // primitives have no default: a record without them is rejected, not read as zero
        assertMentions(rejected(ok.replace(",\"startFailures\":0", ""), VmRecord.class), "invalid VmRecord JSON");
        assertMentions(rejected("{\"id\":\"bad vm\",\"name\":\"web\",\"cpus\":1,\"memoryMiB\":512,"
                + "\"priority\":\"low\",\"ha\":true}", VmSpec.class), "invalid VM id", "bad vm");
    }
}
