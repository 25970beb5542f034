package io.havn.daemon.admin;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import java.util.Set;
import java.util.TreeSet;

/**
 * Users and groups as the C library sees them (getpwnam, getgrouplist, getgrgid): through NSS, so
 * groups from LDAP or SSSD count as well as those in /etc/group, and no process is forked per
 * request (as {@code id -G} would). The JDK cannot list another user's supplementary groups.
 *
 * <p>Threading: getpwnam and getgrgid return static storage; every call here holds this object's
 * lock. The JDK itself uses the reentrant variants, so it does not race with these.
 */
final class NssAccounts implements Accounts {
    /** The few libc calls used. */
    interface LibC extends Library {
        Pointer getpwnam(String name);

        Pointer getgrgid(int gid);

        int getgrouplist(String user, int group, int[] groups, IntByReference ngroups);
    }

    /** More groups than any sane account has: the lookup stops growing its buffer here. */
    private static final int MAX_GROUPS = 65_536;

    private final LibC libc;

    NssAccounts() {
        this.libc = Native.load("c", LibC.class);
    }

    @Override
    public synchronized long uid(String user) {
        Pointer pw = libc.getpwnam(user);
        // struct passwd: pw_name, pw_passwd (pointers), then pw_uid and pw_gid (32-bit)
        return pw == null ? -1 : Integer.toUnsignedLong(pw.getInt(2L * Native.POINTER_SIZE));
    }

    @Override
    public synchronized Set<String> groups(String user) {
        Pointer pw = libc.getpwnam(user);
        if (pw == null) {
            return Set.of();
        }
        int primary = pw.getInt(2L * Native.POINTER_SIZE + 4);
        int[] gids = new int[64];
        IntByReference n = new IntByReference(gids.length);
        while (libc.getgrouplist(user, primary, gids, n) < 0) {
            int wanted = Math.max(n.getValue(), gids.length * 2);
            if (wanted > MAX_GROUPS) {
                return Set.of();
            }
            gids = new int[wanted];
            n.setValue(wanted);
        }
        Set<String> names = new TreeSet<>();
        for (int i = 0; i < n.getValue(); i++) {
            Pointer gr = libc.getgrgid(gids[i]);
            if (gr != null) {
                names.add(gr.getPointer(0).getString(0)); // struct group: gr_name first
            }
        }
        return names;
    }
}
