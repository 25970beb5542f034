package io.havn.daemon.coord;

import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.curator.framework.api.ACLProvider;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.data.ACL;
import org.apache.zookeeper.data.Id;
import org.apache.zookeeper.server.auth.DigestAuthenticationProvider;

/** Every znode havn creates gets one ACL: all rights to the digest identity {@code user:password}, nobody else. */
final class DigestAcl implements ACLProvider {
    private final List<ACL> acl;

    DigestAcl(String credentials) {
        try {
            // not List.of: ZooKeeper asks the list whether it contains null
            acl = Collections.unmodifiableList(new ArrayList<>(List.of(new ACL(ZooDefs.Perms.ALL,
                    new Id("digest", DigestAuthenticationProvider.generateDigest(credentials))))));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-1 for ZooKeeper's digest ACL", e);
        }
    }

    @Override
    public List<ACL> getDefaultAcl() {
        return acl;
    }

    @Override
    public List<ACL> getAclForPath(String path) {
        return acl;
    }
}
