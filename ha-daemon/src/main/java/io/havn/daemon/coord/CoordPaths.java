package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The znode layout under the cluster's chroot ({@code /havn/<cluster>}, Curator's namespace), and
 * the names that encode ids. Paths here are relative to the chroot.
 *
 * <pre>
 * hosts/&lt;host&gt;                 persistent, JSON HostRecord; znode version = record version
 * vms/&lt;vm&gt;                     persistent, JSON VmRecord
 * requests/&lt;id&gt;               persistent, JSON ChangeRequest: an operator's change on its way
 *                              to the leader and its verdict on the way back
 * live/&lt;host&gt;                  persistent parent, created by the host's first confirmation
 * live/&lt;host&gt;/&lt;session&gt;        ephemeral of that session, session id in lower-case hex
 * leader/&lt;session&gt;-&lt;host&gt;-&lt;seq&gt;  ephemeral sequential election entry; lowest sequence leads
 * epoch                        persistent; its znode version is the epoch, its data the leader's name
 * cluster                      persistent, JSON ClusterRecord (disarmed, shutdown policy), written by
 *                              the leader; absent until first written: the defaults hold
 * hostvms/&lt;host&gt;              persistent parent, created by the host's session before it is live
 * hostvms/&lt;host&gt;/&lt;vm&gt;-&lt;seq&gt;   persistent sequential, no data: a hint that vms/&lt;vm&gt; came to name
 *                              the host (owner or target), created in the multi that wrote it so
 * </pre>
 *
 * <p>The index {@code hostvms} lets a host that keeps only its own VM records
 * ({@link io.havn.common.port.ViewScope#OWN}) find them without reading every record. An entry is
 * only a hint: the record itself says whether it names the host, and only the host itself deletes
 * its entries, once a read of the record shows it names the host no more. Sequential names mean a
 * create never collides with an entry not yet deleted, so the multi that carries it cannot fail on it.
 */
final class CoordPaths {
    static final String HOSTS = "/hosts";
    static final String VMS = "/vms";
    static final String REQUESTS = "/requests";
    static final String LIVE = "/live";
    static final String LEADER = "/leader";
    static final String EPOCH = "/epoch";
    /** The cluster record: not a base node, since "absent" is a state of its own (the defaults, version NEW). */
    static final String CLUSTER = "/cluster";
    /** The index of VM records by the hosts they name. */
    static final String HOSTVMS = "/hostvms";
    /** The nodes every session makes sure exist before it reads the state. */
    static final List<String> BASE = List.of(HOSTS, VMS, REQUESTS, LIVE, LEADER, EPOCH, HOSTVMS);

    /** ZooKeeper appends ten digits to a sequential node's name. */
    private static final int SEQUENCE_DIGITS = 10;

    private CoordPaths() {
    }

    static String host(HostId host) {
        return HOSTS + "/" + host.value();
    }

    static String vm(VmId vm) {
        return VMS + "/" + vm.value();
    }

    static String request(String id) {
        return REQUESTS + "/" + id;
    }

    static String liveDir(HostId host) {
        return LIVE + "/" + host.value();
    }

    static String live(HostId host, long session) {
        return liveDir(host) + "/" + sessionName(session);
    }

    /** The index entries of {@code host}: the parent of its {@code <vm>-<seq>} entries. */
    static String hostVmsDir(HostId host) {
        return HOSTVMS + "/" + host.value();
    }

    /** The path to create (sequentially) for an index entry saying {@code vm}'s record names {@code host}. */
    static String indexPrefix(HostId host, VmId vm) {
        return hostVmsDir(host) + "/" + vm.value() + "-";
    }

    /** The VM an index entry's name stands for, or empty for a name this adapter did not write. */
    static Optional<VmId> parseIndexEntry(String name) {
        int seqStart = name.length() - SEQUENCE_DIGITS;
        if (seqStart < 2 || name.charAt(seqStart - 1) != '-') {
            return Optional.empty();
        }
        for (int i = seqStart; i < name.length(); i++) {
            if (!Character.isDigit(name.charAt(i))) {
                return Optional.empty();
            }
        }
        try {
            return Optional.of(new VmId(name.substring(0, seqStart - 1)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    static String sessionName(long session) {
        return Long.toHexString(session);
    }

    /** The session a live node's name encodes, or empty for a name this adapter did not write. */
    static OptionalLong parseSession(String name) {
        try {
            return OptionalLong.of(Long.parseUnsignedLong(name, 16));
        } catch (NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** The path to create (sequentially) for {@code session} of {@code host} to enter the election. */
    static String electionPrefix(long session, HostId host) {
        return LEADER + "/" + sessionName(session) + "-" + host.value() + "-";
    }

    static String electionPath(ElectionEntry e) {
        return LEADER + "/" + e.name();
    }

    /** One entry of the election: who entered it, in which session, and its place in line. */
    record ElectionEntry(String name, long session, HostId host, long sequence) {
    }

    /** Reads an election node's name, or empty for a name this adapter did not write. */
    static Optional<ElectionEntry> parseElection(String name) {
        int dash = name.indexOf('-');
        int seqStart = name.length() - SEQUENCE_DIGITS;
        if (dash <= 0 || seqStart - 1 <= dash + 1 || name.charAt(seqStart - 1) != '-') {
            return Optional.empty();
        }
        OptionalLong session = parseSession(name.substring(0, dash));
        if (session.isEmpty()) {
            return Optional.empty();
        }
        try {
            long sequence = Long.parseLong(name.substring(seqStart));
            HostId host = new HostId(name.substring(dash + 1, seqStart - 1));
            return Optional.of(new ElectionEntry(name, session.getAsLong(), host, sequence));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** Whether {@code path} is the data node of a host or VM record, a request, the epoch or the cluster record. */
    static boolean isDataPath(String path) {
        return EPOCH.equals(path) || CLUSTER.equals(path) || isChild(path, HOSTS) || isChild(path, VMS) || isChild(path, REQUESTS);
    }

    /** Whether {@code path} is a node whose children the mirror watches (of the index, only its own host's). */
    static boolean isChildrenPath(String path) {
        return HOSTS.equals(path) || VMS.equals(path) || REQUESTS.equals(path) || LIVE.equals(path)
                || LEADER.equals(path)
                || isChild(path, LIVE) || isChild(path, HOSTVMS);
    }

    /** Whether {@code path} is exactly one level below {@code dir}. */
    static boolean isChild(String path, String dir) {
        return path.length() > dir.length() + 1 && path.startsWith(dir + "/")
                && path.indexOf('/', dir.length() + 1) < 0;
    }

    /** The last segment of {@code path}. */
    static String name(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }
}
