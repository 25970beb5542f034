package io.havn.daemon.ctl;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.havn.common.domain.DomainPolicy;
import io.havn.common.model.ClusterRecord;
import io.havn.common.model.ClusterState;
import io.havn.common.model.GuestMonitor;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Json;
import io.havn.common.model.PlacementPolicy;
import io.havn.common.model.ShutdownPolicy;
import io.havn.common.model.VmPhase;
import io.havn.common.model.VmRecord;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;

/**
 * A status answer as an operator reads it: the leader, a table of hosts (state, heartbeat health
 * as the answering host sees it, free capacity, VMs, and what its storage heartbeat says of each
 * datastore when any host runs one), a table of VMs (with their datastores, storage error policy
 * and guest monitor when any VM has them), and what needs attention.
 * Only text comes out of here; the I/O is the caller's. The {@code from} and {@code peers} of an
 * answer are shown when the daemon sends them and left out when it does not.
 *
 * <p>A status answer with {@code partialView} comes from a host that keeps only its own VM
 * records, so the VMs listed are only that host's. Its note stands on one line above the VM table,
 * wherever the table is printed. A note in {@code message} (records refused) goes under "Needs attention".
 */
final class StatusView {
    /** Fields a newer daemon may add are skipped, not fatal: the operator still gets a view. */
    private static final ObjectReader STATE = Json.mapper().readerFor(ClusterState.class)
            .without(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    private static final Set<VmPhase> ATTENTION = Set.of(VmPhase.RECOVERING, VmPhase.ERROR);
    private static final String NONE = "-";
    /** What a partial answer cannot say of a host other than the one that sent it. */
    private static final String UNKNOWN = "?";

    private final ClusterState state;
    private final String from;
    private final JsonNode peers;
    /** What the answering daemon adds to its answer (records it refused), or null. */
    private final String note;
    /** Why the VMs listed are only the answering host's, for a partial answer; null for a whole one. */
    private final String partial;
    /**
     * The answer's {@code admission} field, the report of {@code io.havn.common.place.Admission}
     * (tolerated, wanted, strict, shortfall), or null when the daemon sends none. Read as JSON so
     * that a daemon without it still gets a view.
     */
    private final JsonNode admission;

    private StatusView(ClusterState state, String from, JsonNode peers, String note, String partial,
                       JsonNode admission) {
        this.state = state;
        this.from = from;
        this.peers = peers;
        this.note = note;
        this.partial = partial;
        this.admission = admission;
    }

    /** The view of a successful status answer; an IllegalArgumentException says what it lacks. */
    static StatusView of(JsonNode answer) {
        JsonNode s = answer.get("state");
        if (s == null || !s.isObject()) {
            throw new IllegalArgumentException("a status answer without a \"state\" object");
        }
        ClusterState state;
        try {
            state = STATE.readValue(s);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("a cluster state havnctl cannot read: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException("a cluster state havnctl cannot read: " + e.getMessage(), e);
        }
        JsonNode from = answer.get("from");
        JsonNode peers = answer.get("peers");
        JsonNode note = answer.get("message");
        JsonNode partial = answer.get("partialView");
        JsonNode admission = answer.get("admission");
        return new StatusView(state, from == null || from.isNull() ? null : from.asText(),
                peers == null || !peers.isObject() ? null : peers,
                note == null || !note.isTextual() ? null : note.asText(),
                partial == null || !partial.isTextual() ? null : partial.asText(),
                admission == null || !admission.isObject() ? null : admission);
    }

    ClusterState state() {
        return state;
    }

    /**
     * Everything: a disarmed cluster first, the leader line, the shutdown policy, both tables and the
     * attention list, in titled sections.
     */
    String render() {
        StringBuilder b = new StringBuilder();
        ClusterRecord c = state.cluster();
        if (!c.armed()) {
            b.append("CLUSTER DISARMED (").append(c.disarmed().word()).append(" watchdogs): nothing is fenced, "
                    + "self-fenced or restarted elsewhere. `havnctl arm` to end\n\n");
        }
        b.append(state.leader() == null ? "No leader" : "Leader " + state.leader()).append(", epoch ")
                .append(state.epoch());
        if (from != null) {
            b.append("; answered by ").append(from);
        }
        b.append('\n').append(shutdownPolicy());
        b.append('\n').append(DomainPolicy.printable(admission()));
        b.append('\n').append(placement());
        b.append("\n\nHosts:\n");
        b.append(state.hosts().isEmpty() ? "  none\n" : hostTable().render("  "));
        b.append("\nVMs:\n");
        if (partial != null) {
            b.append("  ").append(partialLine()).append('\n');
        }
        b.append(state.vms().isEmpty() ? "  none\n" : vmTable().render("  "));
        b.append("\nNeeds attention:\n");
        List<String> attention = attention();
        if (attention.isEmpty()) {
            b.append("  nothing\n");
        }
        attention.forEach(a -> b.append("  ").append(DomainPolicy.printable(a)).append('\n'));
        return b.toString();
    }

    /** The cluster's shutdown policy, and each host's own where it has one. */
    private String shutdownPolicy() {
        List<String> own = new ArrayList<>();
        for (HostRecord h : state.hosts().values()) {
            if (h.shutdownPolicy() != null) {
                own.add(h.id() + ": " + h.shutdownPolicy().word());
            }
        }
        return "Shutdown policy " + state.cluster().shutdownPolicyOrDefault().word()
                + (own.isEmpty() ? "" : " (" + String.join(", ", own) + ")");
    }

    /**
     * Admission control in one line: how many host failures the cluster tolerates now (when the
     * daemon says) and how many are wanted, strict or not, and the reserved failover hosts.
     */
    String admission() {
        PlacementPolicy p = state.cluster().placement();
        StringBuilder b = new StringBuilder("Admission control: ");
        int wanted = tolerated() >= 0 && admission.path("wanted").isInt() ? admission.get("wanted").asInt()
                : p.tolerate();
        if (tolerated() >= 0) {
            b.append("tolerates ").append(failures(tolerated())).append(", ").append(wanted).append(" wanted");
        } else if (wanted == 0) {
            b.append("off");
        } else {
            b.append(failures(wanted)).append(" wanted (this daemon does not say how many the cluster tolerates)");
        }
        if (wanted > 0) {
            b.append(p.strict() ? ", strict: changes that would leave fewer are refused" : ", not strict");
        }
        if (!p.reserved().isEmpty()) {
            b.append("; reserved failover hosts: ").append(String.join(", ",
                    p.reserved().stream().map(HostId::value).toList()));
        }
        return b.toString();
    }

    /** How many host failures the daemon says the cluster tolerates now, or -1 when it does not say. */
    private int tolerated() {
        return admission != null && admission.path("tolerated").isInt() ? admission.get("tolerated").asInt() : -1;
    }

    private static String failures(int n) {
        return n + (n == 1 ? " host failure" : " host failures");
    }

    /** How many placement rules and host groups the cluster has. */
    private String placement() {
        PlacementPolicy p = state.cluster().placement();
        int rules = p.rules().size();
        int groups = p.groups().size();
        return "Placement: " + (rules == 0 ? "no rules" : rules == 1 ? "1 rule" : rules + " rules") + ", "
                + (groups == 0 ? "no host groups" : groups == 1 ? "1 host group" : groups + " host groups")
                + (rules + groups == 0 ? "" : " ('havnctl rule list', 'havnctl group list')");
    }

    /** The session of {@code h} that counts: its newest live one, or 0 when it has none. */
    private long liveSession(HostId h) {
        SortedSet<Long> s = state.live().get(h);
        return s == null || s.isEmpty() ? 0 : s.last();
    }

    /** The hosts table alone. */
    String hosts() {
        return hostTable().render("");
    }

    /** The VMs table alone, under the note of a partial answer. */
    String vms() {
        return (partial == null ? "" : partialLine() + "\n") + vmTable().render("");
    }

    /** The note of a partial answer on one line, with who sent it. */
    private String partialLine() {
        return DomainPolicy.printable("PARTIAL: " + (from == null ? "" : from + ": ") + partial);
    }

    private Table hostTable() {
        List<String> headers = new ArrayList<>(List.of("HOST", "STATE", "ADMIN"));
        if (peers != null) {
            headers.add("HEARTBEAT");
        }
        headers.addAll(List.of("FREE CPUS", "FREE MEMORY", "VMS"));
        boolean storage = state.hosts().values().stream().anyMatch(h -> h.datastores() != null);
        if (storage) {
            headers.add("DATASTORES");
        }
        Table t = new Table(headers.toArray(String[]::new));
        Map<HostId, HostCapacity> used = new HashMap<>();
        Map<HostId, List<String>> names = new HashMap<>();
        for (VmRecord r : sortedVms()) {
            // a migrating VM holds capacity on both ends
            if (r.owner() != null) {
                names.computeIfAbsent(r.owner(), k -> new ArrayList<>()).add(r.spec().name());
            }
            if (r.target() != null) {
                names.computeIfAbsent(r.target(), k -> new ArrayList<>()).add(r.spec().name() + " (incoming)");
            }
            if (r.phase().holdsCapacity()) {
                for (HostId h : r.target() == null ? List.of(r.owner()) : List.of(r.owner(), r.target())) {
                    used.merge(h, new HostCapacity(r.spec().cpus(), r.spec().memoryMiB()),
                            (a, c) -> a.plus(c.cpus(), c.memoryMiB()));
                }
            }
        }
        for (HostRecord h : state.hosts().values()) {
            HostCapacity cap = h.capacity();
            HostCapacity u = used.getOrDefault(h.id(), HostCapacity.ZERO);
            HostCapacity free = cap.minus(u.cpus(), u.memoryMiB());
            List<String> cells = new ArrayList<>(List.of(h.id().value(), hostState(h), h.admin().name()
                    .toLowerCase(Locale.ROOT)));
            if (peers != null) {
                cells.add(heartbeat(h.id()));
            }
            if (partial != null && !h.id().value().equals(from)) {
                // a partial answer holds only the answering host's VMs: another host's use is not known here
                cells.add(UNKNOWN);
                cells.add(UNKNOWN);
                cells.add(UNKNOWN);
            } else {
                cells.add(free.cpus() + " of " + cap.cpus());
                cells.add(memory(free.memoryMiB(), cap.memoryMiB()));
                cells.add(names.containsKey(h.id()) ? String.join(", ", names.get(h.id())) : NONE);
            }
            if (storage) {
                cells.add(datastores(h));
            }
            t.row(cells.toArray(String[]::new));
        }
        return t;
    }

    /** What {@code h}'s storage heartbeat says of each datastore: "vmstore ok, lun2 LOST"; "-" without one. */
    static String datastores(HostRecord h) {
        if (h.datastores() == null || h.datastores().isEmpty()) {
            return NONE;
        }
        List<String> out = new ArrayList<>();
        h.datastores().forEach((d, reached) -> out.add(d + (reached ? " ok" : " LOST")));
        return String.join(", ", out);
    }

    private String hostState(HostRecord h) {
        String s = state.isLive(h.id()) ? "live" : h.offConfirmed() ? "down, off confirmed" : "down";
        return h.id().equals(state.leader()) ? s + " (leader)" : s;
    }

    private String heartbeat(HostId h) {
        if (h.value().equals(from)) {
            return "self";
        }
        JsonNode p = peers.get(h.value());
        if (p == null || !p.isObject()) {
            return NONE;
        }
        String health = p.path("health").asText("unknown").toLowerCase(Locale.ROOT);
        if (p.path("suspected").asBoolean(false) && health.equals("healthy")) {
            health = "suspected";
        }
        StringBuilder b = new StringBuilder(health);
        if (p.path("phi").isNumber()) {
            b.append(" phi ").append(p.get("phi").asText());
        }
        if (p.path("rttMs").isNumber() && health.equals("healthy")) {
            b.append(" rtt ").append(p.get("rttMs").asText()).append(" ms");
        }
        if (p.path("sinceLastMs").isNumber() && !health.equals("healthy")) {
            b.append(", last ").append(ago(p.get("sinceLastMs").asLong())).append(" ago");
        }
        return b.toString();
    }

    private Table vmTable() {
        boolean storage = state.vms().values().stream().anyMatch(r -> !r.spec().datastores().isEmpty()
                || r.spec().onStorageError() != null);
        boolean monitored = state.vms().values().stream().anyMatch(r -> r.spec().guestMonitor() != null);
        List<String> headers = new ArrayList<>(List.of("NAME", "UUID", "PHASE", "DESIRED", "HA", "PRIORITY", "OWNER"));
        if (storage) {
            headers.addAll(List.of("DATASTORES", "ON STORAGE ERROR"));
        }
        if (monitored) {
            headers.add("GUEST AGENT");
        }
        Table t = new Table(headers.toArray(String[]::new));
        for (VmRecord r : sortedVms()) {
            String owner = r.owner() == null ? NONE : r.owner().value();
            if (r.target() != null) {
                owner += " -> " + r.target();
            } else if (r.move() != null) {
                owner += " -> " + r.move().host() + " (" + (r.move().live() ? "migration" : "relocation")
                        + " requested)";
            }
            List<String> cells = new ArrayList<>(List.of(r.spec().name(), r.id().value(), phase(r.phase()),
                    r.desired().name().toLowerCase(Locale.ROOT), r.spec().ha() ? "yes" : "no",
                    r.spec().priority().name().toLowerCase(Locale.ROOT), owner));
            if (storage) {
                cells.add(r.spec().datastores().isEmpty() ? NONE : String.join(", ", r.spec().datastores()));
                cells.add(r.spec().storageErrorPolicy().word());
            }
            if (monitored) {
                cells.add(guestMonitor(r.spec().guestMonitor()));
            }
            t.row(cells.toArray(String[]::new));
        }
        return t;
    }

    /** A VM's guest monitor in a few words: "ping 10s, 3 misses, grace 2m, 3 resets/1h"; "-" without one. */
    static String guestMonitor(GuestMonitor m) {
        if (m == null) {
            return NONE;
        }
        return "ping " + Durations.format(m.intervalMs()) + ", " + m.misses() + (m.misses() == 1 ? " miss" : " misses")
                + ", grace " + Durations.format(m.graceMs()) + ", " + m.maxResets()
                + (m.maxResets() == 1 ? " reset/" : " resets/") + Durations.format(m.windowMs());
    }

    private List<VmRecord> sortedVms() {
        List<VmRecord> vms = new ArrayList<>(state.vms().values());
        vms.sort(Comparator.comparing((VmRecord r) -> r.spec().name()).thenComparing(VmRecord::id));
        return vms;
    }

    /**
     * What an operator should look at: what the answering daemon says (records it refused), a
     * disarmed cluster, no leader, hosts down or unheard, hosts that have not acknowledged the
     * current arm, hosts shutting down, VMs recovering, in error, frozen, between start attempts or
     * left on a host in maintenance.
     */
    List<String> attention() {
        List<String> out = new ArrayList<>();
        if (note != null) {
            out.add((from == null ? "" : from + ": ") + note);
        }
        ClusterRecord c = state.cluster();
        if (!c.armed()) {
            out.add("the cluster is disarmed (" + c.disarmed().word() + " watchdogs): a host that fails is not "
                    + "fenced and its VMs are not restarted elsewhere; `havnctl arm` to end");
        }
        if (state.leader() == null) {
            out.add("no leader: changes wait until a host is elected");
        }
        int tolerated = tolerated();
        if (tolerated >= 0 && admission.path("wanted").isInt() && tolerated < admission.get("wanted").asInt()) {
            JsonNode shortfall = admission.path("shortfall");
            out.add("NOT ENOUGH RESERVE: the cluster tolerates " + failures(tolerated) + ", "
                    + admission.get("wanted").asInt() + " wanted" + (shortfall.isTextual() && !shortfall.asText().isBlank()
                    ? ": " + shortfall.asText() : "; add capacity or hosts, or stop VMs"));
        }
        for (HostRecord h : state.hosts().values()) {
            long session = liveSession(h.id());
            if (!state.isLive(h.id())) {
                out.add("host " + h.id() + ": down" + (h.offConfirmed() ? " (confirmed powered off)" : ""));
                continue;
            } else if (peers != null && peers.path(h.id().value()).path("health").asText("").equals("LOST")) {
                out.add("host " + h.id() + ": live in the cluster, but its heartbeats no longer reach " + from);
            }
            if (c.armed() && !h.armedIn(c, session)) {
                out.add("host " + h.id() + ": has not acknowledged the arm: if it fails, its VMs wait for a fence or "
                        + "fence confirm");
            }
            if (h.shuttingDown(session)) {
                out.add("host " + h.id() + ": shutting down (" + h.shutdown().policy().word() + "): "
                        + shutdownMeans(h.shutdown().policy()));
            }
        }
        out.addAll(storageAttention());
        for (VmRecord r : sortedVms()) {
            if (r.phase() == VmPhase.FROZEN) {
                String owner = r.owner() == null ? "its host" : r.owner().value();
                out.add("VM " + r.spec().name() + " (" + r.id() + "): frozen on " + owner + " until it returns, or "
                        + "fence confirm " + owner);
            } else if (ATTENTION.contains(r.phase())) {
                out.add("VM " + r.spec().name() + " (" + r.id() + "): " + phase(r.phase()) + ": "
                        + (r.reason() == null ? "no reason recorded" : r.reason()));
            } else if (r.phase() == VmPhase.START_FAILED) {
                // down between start attempts: the leader waits longer after each failure, then gives up
                out.add("VM " + r.spec().name() + " (" + r.id() + "): start failed on " + r.owner() + ": "
                        + (r.reason() == null ? "no reason recorded" : r.reason())
                        + "; started again after a growing wait, in error after too many failures");
            } else if (r.phase() == VmPhase.RUNNING && r.owner() != null && state.hosts().containsKey(r.owner())
                    && state.hosts().get(r.owner()).inMaintenance()) {
                // a drain that has not moved it yet: say why, if the last attempt recorded a reason
                out.add("VM " + r.spec().name() + " (" + r.id() + "): still on " + r.owner() + ", which is in "
                        + "maintenance: " + (r.reason() == null ? "waiting for a host with room, or its turn"
                        : r.reason() + "; retried with a growing wait"));
            }
        }
        return out;
    }

    /**
     * What the hosts' storage heartbeats say needs a look: a live host that lost a datastore, and a
     * datastore no live host reaches (one a VM names counts too, once every live host runs the
     * heartbeat, since then no host can take that VM).
     */
    private List<String> storageAttention() {
        List<String> out = new ArrayList<>();
        List<HostRecord> live = state.hosts().values().stream().filter(h -> state.isLive(h.id())).toList();
        java.util.SortedSet<String> names = new java.util.TreeSet<>();
        for (HostRecord h : live) {
            if (h.datastores() == null) {
                continue;
            }
            names.addAll(h.datastores().keySet());
            List<String> lost = h.datastores().entrySet().stream().filter(e -> !e.getValue()).map(Map.Entry::getKey)
                    .toList();
            if (!lost.isEmpty()) {
                out.add("host " + h.id() + ": lost datastore" + (lost.size() == 1 ? " " : "s ") + String.join(", ", lost)
                        + " (its storage heartbeat fails there): no VM on " + (lost.size() == 1 ? "it" : "them")
                        + " is placed on " + h.id());
            }
        }
        boolean everyHostWrites = !live.isEmpty() && live.stream().allMatch(h -> h.datastores() != null);
        Map<String, List<String>> vmsOn = new java.util.TreeMap<>();
        for (VmRecord r : sortedVms()) {
            for (String d : r.spec().datastores()) {
                vmsOn.computeIfAbsent(d, k -> new ArrayList<>()).add(r.spec().name());
            }
        }
        if (everyHostWrites) {
            names.addAll(vmsOn.keySet());
        }
        for (String d : names) {
            boolean reached = live.stream().anyMatch(h -> h.datastores() != null
                    && Boolean.TRUE.equals(h.datastores().get(d)));
            if (!reached) {
                List<String> vms = vmsOn.getOrDefault(d, List.of());
                out.add("datastore " + d + ": no host reaches it" + (vms.isEmpty() ? ""
                        : "; no host can take " + (vms.size() == 1 ? "VM " : "VMs ") + String.join(", ", vms)));
            }
        }
        return out;
    }

    private static String shutdownMeans(ShutdownPolicy p) {
        return switch (p) {
            case MIGRATE -> "its HA VMs move away live; what has not moved in time fails over";
            case FREEZE -> "its HA VMs are stopped and start again there when it returns";
            case FAILOVER -> "its HA VMs are stopped and restarted elsewhere";
        };
    }

    private static String phase(VmPhase p) {
        return p.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** "12 of 16 GiB" (or MiB under a GiB); GiB with one decimal when not whole. */
    static String memory(long freeMiB, long totalMiB) {
        if (totalMiB < 1024) {
            return freeMiB + " of " + totalMiB + " MiB";
        }
        return gib(freeMiB) + " of " + gib(totalMiB) + " GiB";
    }

    private static String gib(long mib) {
        return mib % 1024 == 0 ? Long.toString(mib / 1024) : String.format(Locale.ROOT, "%.1f", mib / 1024.0);
    }

    private static String ago(long ms) {
        return ms < 1000 ? ms + " ms" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
}
