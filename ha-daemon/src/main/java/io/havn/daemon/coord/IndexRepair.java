package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.utils.ThreadUtils;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException.Code;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Gives every VM record the index entries it lacks: one under {@code hostvms/<h>} for each host h
 * it names. Writes index a record as they make it name a host ({@link Multi}); records written
 * before the index existed (a cluster upgraded in place), or whose entry was lost, have none, and a
 * host that keeps only its own records would never find them: not a VM placed on it, nor one it
 * should be running whose domain is gone, since it follows only the domains it holds.
 *
 * <p>The session that leads the election and keeps every record runs it once: it lists each named
 * host's entries and creates the missing ones. It only ever creates, and an entry is only a hint,
 * so a race with a write or with the host deleting a spent entry costs at most a duplicate, which
 * that host reads and deletes. Best effort: a listing that fails is tried again while the session
 * lasts.
 *
 * <p>Threading: confined to the coordinator's loop thread, like its session.
 */
final class IndexRepair {
    private static final Logger log = LoggerFactory.getLogger(IndexRepair.class);
    private static final byte[] EMPTY = new byte[0];

    /** What the repair needs from its session. */
    interface Session {
        CuratorFramework client();

        /** Runs {@code task} on the loop thread, if the session still lasts then. */
        void onLoop(Runnable task);

        /** Runs {@code task} on the loop thread a little later, if the session still lasts then. */
        void later(Runnable task);
    }

    private final Session session;
    private final String host;
    /** The VMs whose records name each host, as the mirror keeps them now. */
    private final Supplier<Map<HostId, Set<VmId>>> named;
    private boolean started;

    IndexRepair(Session session, String host, Supplier<Map<HostId, Set<VmId>>> named) {
        this.session = session;
        this.host = host;
        this.named = named;
    }

    /**
     * Lists every named host's entries and makes the missing ones; once per session. The records are
     * taken as they are now: one that changes meanwhile may get an entry it no longer needs, which
     * its host deletes as spent.
     */
    void runOnce() {
        if (started) {
            return;
        }
        started = true;
        new TreeMap<>(named.get()).forEach(this::list);
    }

    private void list(HostId h, Set<VmId> vms) {
        String dir = CoordPaths.hostVmsDir(h);
        try {
            session.client().getChildren().inBackground((c, e) -> session.onLoop(() -> {
                Code code = Code.get(e.getResultCode());
                if (code == Code.OK || code == Code.NONODE) {
                    listed(h, vms, code == Code.OK ? e.getChildren() : List.of());
                } else {
                    log.debug("{}: listing {} failed ({}); trying again", host, dir, code);
                    session.later(() -> list(h, vms));
                }
            })).forPath(dir);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            session.later(() -> list(h, vms));
        }
    }

    /** The entries of {@code h} as listed: each of {@code vms}, whose records name h, that has none gets one. */
    private void listed(HostId h, Set<VmId> vms, List<String> names) {
        Set<VmId> indexed = new HashSet<>();
        for (String n : names) {
            CoordPaths.parseIndexEntry(n).ifPresent(indexed::add);
        }
        int made = 0;
        for (VmId v : vms) {
            if (!indexed.contains(v)) {
                create(h, v);
                made++;
            }
        }
        if (made > 0) {
            log.info("{}: indexing {} VM record{} under {} that had no entry there", host, made, made == 1 ? "" : "s",
                    CoordPaths.hostVmsDir(h));
        }
    }

    private void create(HostId h, VmId v) {
        String prefix = CoordPaths.indexPrefix(h, v);
        try {
            session.client().create().creatingParentsIfNeeded().withMode(CreateMode.PERSISTENT_SEQUENTIAL)
                    .inBackground((c, e) -> session.onLoop(() -> {
                        Code code = Code.get(e.getResultCode());
                        if (code == Code.CONNECTIONLOSS || code == Code.OPERATIONTIMEOUT) {
                            // it may have gone through: a second entry is only a duplicate
                            session.later(() -> create(h, v));
                        } else if (code != Code.OK) {
                            log.debug("{}: indexing {} failed ({})", host, prefix, code);
                        }
                    }))
                    .forPath(prefix, EMPTY);
        } catch (Exception e) {
            ThreadUtils.checkInterrupted(e);
            session.later(() -> create(h, v));
        }
    }
}
