package io.havn.daemon.coord;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.Json;
import io.havn.common.model.VmRecord;
import io.havn.common.node.ChangeRequest;
import io.havn.daemon.coord.RecordSeal.Opened;
import io.havn.daemon.coord.RecordSeal.Refusal;
import io.havn.daemon.coord.RecordSeal.Unsigned;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

/**
 * {@code havnd --sign-records}: seals, once, the records a version before seals left unsigned,
 * so that daemons that refuse unsigned records accept them. Each record is sealed in place, by a
 * write conditional on the version it read, and only if it reads as a record of its kind named
 * like its znode. Records with a seal that does not match are left alone and listed: an operator
 * must look at them. Every record sealed is printed in full, so the operator sees what the
 * cluster will now trust.
 *
 * <p>With the previous cluster key, it also seals again, with the current key, every record
 * sealed with the previous one: the records' part of a key rotation.
 */
public final class RecordSigner {
    private static final long CONNECT_MS = 10_000;

    private final CuratorFramework client;
    private final RecordSeal seal;
    /** The seal of the previous cluster key, or null. */
    private final RecordSeal previous;
    private final PrintStream out;
    private int sealed;
    private int already;
    private int leftAlone;

    private RecordSigner(CuratorFramework client, RecordSeal seal, RecordSeal previous, PrintStream out) {
        this.client = client;
        this.seal = seal.withUnsigned(Unsigned.REFUSE);
        this.previous = previous == null ? null : previous.withUnsigned(Unsigned.REFUSE);
        this.out = out;
    }

    /**
     * Seals every unsigned record of {@code cluster}, connecting as the daemon does; prints what
     * it did. Returns the number of records it left refused (0: every record now carries a valid
     * seal). {@code previous}, if not null, is the seal of the previous cluster key; {@code tls},
     * if not null, this host's TLS identity, as the daemon connects with it.
     *
     * @throws IllegalStateException when ZooKeeper cannot be reached
     */
    public static int signAll(String connectString, int sessionTimeoutMs, ClientTls tls, String digestCredentials,
                              String cluster, HostId host, RecordSeal seal, RecordSeal previous, PrintStream out)
            throws Exception {
        CoordSettings settings = new CoordSettings(connectString, sessionTimeoutMs, tls, digestCredentials, cluster,
                host);
        CuratorFramework client = SessionFramework.build(settings,
                new OneSessionZookeeperFactory(e -> { }, () -> { }));
        try {
            client.start();
            if (!client.blockUntilConnected((int) CONNECT_MS, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("cannot reach ZooKeeper at " + connectString + " within "
                        + CONNECT_MS + " ms");
            }
            return new RecordSigner(client, seal, previous, out).run();
        } finally {
            client.close();
        }
    }

    private int run() throws Exception {
        List<String> paths = new ArrayList<>();
        paths.add(CoordPaths.EPOCH);
        if (client.checkExists().forPath(CoordPaths.CLUSTER) != null) {
            paths.add(CoordPaths.CLUSTER);
        }
        for (String dir : List.of(CoordPaths.HOSTS, CoordPaths.VMS, CoordPaths.REQUESTS)) {
            try {
                for (String name : client.getChildren().forPath(dir)) {
                    paths.add(dir + "/" + name);
                }
            } catch (KeeperException.NoNodeException e) {
                // no such records yet
            }
        }
        for (String path : paths) {
            sign(path);
        }
        out.printf("%d sealed now, %d sealed before, %d left refused%n", sealed, already, leftAlone);
        return leftAlone;
    }

    private void sign(String path) throws Exception {
        Stat stat = new Stat();
        byte[] data;
        try {
            data = client.getData().storingStatIn(stat).forPath(path);
        } catch (KeeperException.NoNodeException e) {
            return; // removed meanwhile
        }
        if (CoordPaths.EPOCH.equals(path) && stat.getVersion() == 0 && (data == null || data.length == 0)) {
            return; // as created: nothing to seal
        }
        Opened o = seal.open(path, stat.getVersion(), data);
        if (o.ok()) {
            already++;
            return;
        }
        if (o.refusal() == Refusal.BAD_SEAL && previous != null
                && previous.open(path, stat.getVersion(), data).ok()) {
            write(path, stat, previous.open(path, stat.getVersion(), data).payload(), "sealed with the new key");
            return;
        }
        if (o.refusal() == Refusal.BAD_SEAL) {
            leftAlone++;
            out.printf("%s: left alone: its seal does not match; look at it, then delete or restore it%n", path);
            return;
        }
        String problem = problem(path, data);
        if (problem != null) {
            leftAlone++;
            out.printf("%s: left alone: not a havn record (%s)%n", path, problem);
            return;
        }
        write(path, stat, data, "sealed");
    }

    /** Stores {@code payload} sealed at {@code path}, if the znode is still at the version read. */
    private void write(String path, Stat stat, byte[] payload, String what) throws Exception {
        try {
            client.setData().withVersion(stat.getVersion())
                    .forPath(path, seal.sealed(path, stat.getVersion() + 1, payload));
        } catch (KeeperException.BadVersionException | KeeperException.NoNodeException e) {
            leftAlone++;
            out.printf("%s: left alone: it changed while being sealed; run this again%n", path);
            return;
        }
        sealed++;
        out.printf("%s: %s: %s%n", path, what, new String(payload, StandardCharsets.UTF_8));
    }

    /** Why {@code data} is not a record of the kind {@code path} holds, named like it, or null. */
    static String problem(String path, byte[] data) {
        String name = CoordPaths.name(path);
        try {
            if (CoordPaths.EPOCH.equals(path)) {
                new HostId(new String(data, StandardCharsets.UTF_8));
                return null;
            } else if (CoordPaths.CLUSTER.equals(path)) {
                Json.fromJson(data, ClusterRecord.class);
                return null;
            } else if (CoordPaths.isChild(path, CoordPaths.HOSTS)) {
                return named(Json.fromJson(data, HostRecord.class).id().value(), name);
            } else if (CoordPaths.isChild(path, CoordPaths.VMS)) {
                return named(Json.fromJson(data, VmRecord.class).id().value(), name);
            }
            return named(Json.fromJson(data, ChangeRequest.class).id(), name);
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }

    private static String named(String id, String name) {
        return id.equals(name) ? null : "it names " + id + ", not " + name;
    }
}
