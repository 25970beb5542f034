package io.havn.daemon.coord;

import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the CuratorFramework of one session, set up to decide nothing about the session:
 * <ul>
 *   <li>no retries: a write retried after a connection loss could report a conflict for a write
 *       that went through; the node retries, and FAILED tells it the outcome is unknown;</li>
 *   <li>no simulated expiry: the ensemble, not a client-side timer, says when a session expired,
 *       and a session outlives a quorum outage;</li>
 *   <li>no ensemble tracking, no container parents, one ZooKeeper handle
 *       ({@link OneSessionZookeeperFactory});</li>
 *   <li>operations wait at most {@link CuratorCoordinator#REQUEST_TIMEOUT_MS} for a connection;</li>
 *   <li>with TLS, ZooKeeper's Netty client over TLS presenting this host's certificate; with
 *       digest credentials, digest authentication; with either, an ACL granting those identities
 *       alone every right on every znode it creates, the namespace {@code /havn/<cluster>} included
 *       ({@link MembersAcl}).</li>
 * </ul>
 */
final class SessionFramework {
    private static final Logger log = LoggerFactory.getLogger(SessionFramework.class);

    private SessionFramework() {
    }

    static CuratorFramework build(CoordSettings s, OneSessionZookeeperFactory factory) {
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder()
                .connectString(s.connectString())
                .sessionTimeoutMs(s.sessionTimeoutMs())
                .connectionTimeoutMs((int) CuratorCoordinator.REQUEST_TIMEOUT_MS)
                .retryPolicy(new RetryNTimes(0, 0))
                .namespace(s.namespace())
                .zookeeperFactory(factory)
                .ensembleTracker(false)
                .dontUseContainerParents()
                .threadFactory(CuratorCoordinator.threads("havn-curator-" + s.host()));
        if (s.tls() != null) {
            b.zkClientConfig(s.tls().clientConfig());
        }
        if (s.digestCredentials() != null) {
            b.authorization("digest", s.digestCredentials().getBytes(StandardCharsets.UTF_8));
        }
        MembersAcl acl = MembersAcl.of(s);
        if (acl != null) {
            b.aclProvider(acl);
        }
        withoutSimulatedExpiry(b);
        return b.build();
    }

    /**
     * Turns off Curator's simulated expiry. Its javadoc and ConnectionStateManager define 0 as
     * "never simulate", but Builder.simulatedSessionExpirationPercent rejects 0 (Curator 5.9), so
     * the field is set directly. Left on, Curator would declare the session expired T after a
     * disconnection (and reset the handle after 2T) although a session outlives a quorum outage.
     */
    static void withoutSimulatedExpiry(CuratorFrameworkFactory.Builder b) {
        try {
            Field f = CuratorFrameworkFactory.Builder.class.getDeclaredField("simulatedSessionExpirationPercent");
            f.setAccessible(true);
            f.setInt(b, 0);
        } catch (ReflectiveOperationException | RuntimeException e) {
            log.warn("cannot turn off Curator's simulated session expiry ({})", e.toString());
        }
        if (b.getSimulatedSessionExpirationPercent() != 0) {
            log.warn("Curator's simulated session expiry is on: a disconnection longer than the session timeout "
                    + "will end the session on this side, although the ensemble may keep it");
        }
    }
}
