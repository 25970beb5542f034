package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * What a {@link CuratorCoordinator} connects with; checked when built, with a message naming the
 * field at fault.
 *
 * @param connectString      ZooKeeper's "host:port,host:port" list
 * @param sessionTimeoutMs   the session timeout T asked for (the ensemble may bound it)
 * @param tls                TLS and this host's certificate, whose subject every znode's ACL names; or null
 *                           for plain TCP
 * @param digestCredentials  "user:password" for a digest ACL on every znode, or null for none
 * @param cluster            the cluster's name: its state lives under {@code /havn/<cluster>}
 * @param host               this host
 */
record CoordSettings(String connectString, int sessionTimeoutMs, ClientTls tls, String digestCredentials,
                     String cluster, HostId host) {
    private static final Pattern CLUSTER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,62}");

    CoordSettings {
        if (connectString == null || connectString.isBlank()) {
            throw new IllegalArgumentException("connectString: empty; give ZooKeeper's host:port list");
        }
        if (sessionTimeoutMs <= 0) {
            throw new IllegalArgumentException("sessionTimeoutMs: " + sessionTimeoutMs + " is not positive");
        }
        if (digestCredentials != null) {
            int colon = digestCredentials.indexOf(':');
            if (colon <= 0 || colon == digestCredentials.length() - 1) {
                throw new IllegalArgumentException("digestCredentials: expected user:password");
            }
        }
        if (cluster == null || !CLUSTER.matcher(cluster).matches()) {
            throw new IllegalArgumentException("cluster: invalid name '" + cluster
                    + "': use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        Objects.requireNonNull(host, "host");
    }

    /** Curator's namespace: the chroot without its leading slash. */
    String namespace() {
        return "havn/" + cluster;
    }

    @Override
    public String toString() {
        // never print the password
        java.util.List<String> acl = new java.util.ArrayList<>();
        if (tls != null) {
            acl.add("x509");
        }
        if (digestCredentials != null) {
            acl.add("digest");
        }
        return "CoordSettings[" + connectString + ", " + sessionTimeoutMs + " ms, " + (tls == null ? "plain TCP" : tls)
                + ", acl=" + (acl.isEmpty() ? "none" : String.join("+", acl)) + ", /havn/" + cluster + ", " + host + "]";
    }
}
