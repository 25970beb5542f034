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

/**
 * Every znode havn creates gets one ACL: all rights to the cluster's members, nobody else. A member
 * is who this host authenticates as: {@code x509:<subject>} over TLS, and the digest identity
 * {@code user} when digest credentials are given.
 */
final class MembersAcl implements ACLProvider {
    private final List<ACL> acl;

    private MembersAcl(List<Id> members) {
        List<ACL> a = new ArrayList<>();
        for (Id m : members) {
            a.add(new ACL(ZooDefs.Perms.ALL, m));
        }
        // not List.of: ZooKeeper asks the list whether it contains null
        acl = Collections.unmodifiableList(a);
    }

    /** The ACL of {@code s}'s identities, or null when it has none (an open cluster: ZooKeeper's default ACL). */
    static MembersAcl of(CoordSettings s) {
        List<Id> members = new ArrayList<>();
        if (s.tls() != null) {
            members.add(new Id("x509", s.tls().subject()));
        }
        if (s.digestCredentials() != null) {
            members.add(digest(s.digestCredentials()));
        }
        return members.isEmpty() ? null : new MembersAcl(members);
    }

    private static Id digest(String credentials) {
        try {
            return new Id("digest", DigestAuthenticationProvider.generateDigest(credentials));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-1 for ZooKeeper's digest ACL", e);
        }
    }

    /** As zkCli.sh's setAcl takes it: {@code scheme:id:cdrwa,...}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (ACL a : acl) {
            b.append(b.length() == 0 ? "" : ",").append(a.getId().getScheme()).append(':').append(a.getId().getId())
                    .append(":cdrwa");
        }
        return b.toString();
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
