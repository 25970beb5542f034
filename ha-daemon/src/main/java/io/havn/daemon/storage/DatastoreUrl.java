package io.havn.daemon.storage;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * A datastore reached in user space through QEMU's own block drivers, as {@code qemu-io} takes it:
 * {@code iscsi://HOST[:PORT]/TARGET-IQN/LUN} (libiscsi, Debian's qemu-block-extra) or
 * {@code nfs://SERVER/EXPORT/PATH/FILE} (libnfs, the same package). Pure checks of its form; nothing
 * is contacted.
 */
public final class DatastoreUrl {
    private DatastoreUrl() {
    }

    /** What is wrong with {@code text} as a datastore URL, or null when nothing is. */
    public static String problem(String text) {
        URI u;
        try {
            u = new URI(text);
        } catch (URISyntaxException e) {
            return "not a URL: " + e.getMessage();
        }
        String scheme = u.getScheme();
        if (scheme == null || !(scheme.equals("iscsi") || scheme.equals("nfs"))) {
            return "must be an iscsi:// or nfs:// URL, got '" + text + "'";
        }
        if (u.getHost() == null || u.getHost().isEmpty()) {
            return "names no server: expected " + form(scheme) + ", got '" + text + "'";
        }
        if (u.getRawQuery() != null || u.getRawFragment() != null || u.getRawUserInfo() != null) {
            return "must have no user, query or fragment (" + form(scheme) + "), got '" + text + "'";
        }
        String path = u.getPath() == null ? "" : u.getPath();
        if (path.chars().anyMatch(c -> c <= ' ')) {
            return "must hold no spaces or control characters, got '" + text + "'";
        }
        if (scheme.equals("iscsi")) {
            String[] parts = path.split("/", -1);
            if (parts.length != 3 || !parts[0].isEmpty() || parts[1].isEmpty() || !parts[2].matches("[0-9]{1,5}")) {
                return "must be " + form(scheme) + " (the target's IQN, then the LUN's number), got '" + text + "'";
            }
        } else if (path.length() < 2 || path.endsWith("/")) {
            return "must be " + form(scheme) + " (the file on the export), got '" + text + "'";
        }
        return null;
    }

    private static String form(String scheme) {
        return scheme.equals("iscsi") ? "iscsi://HOST[:PORT]/TARGET-IQN/LUN" : "nfs://SERVER/EXPORT/PATH/FILE";
    }
}
