package io.havn.daemon.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.node.Caller;
import io.havn.common.node.Role;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class AccessTest {
    /** A user database: uids and groups by user name. */
    private record Table(Map<String, Long> uids, Map<String, Set<String>> groups) implements Accounts {
        @Override
        public long uid(String user) {
            return uids.getOrDefault(user, -1L);
        }

        @Override
        public Set<String> groups(String user) {
            return groups.getOrDefault(user, Set.of());
        }
    }

    private static final Table HOST = new Table(
            Map.of("root", 0L, "toor", 0L, "alice", 1001L, "bob", 1002L, "carol", 1003L, "mallory", 1004L),
            Map.of("alice", Set.of("alice"), "bob", Set.of("bob", "havn-admins"),
                    "carol", Set.of("carol", "havn-ro", "havn-ops"), "mallory", Set.of("mallory", "users")));
    private static final Access ACCESS = new Access(Map.of("alice", Role.OPERATOR, "carol", Role.READ_ONLY),
            Map.of("havn-admins", Role.ADMIN, "havn-ops", Role.OPERATOR, "havn-ro", Role.READ_ONLY), HOST);

    @Test
    void rootIsAlwaysAdminAndAnyoneElseHasTheHighestRoleOfUserAndGroups() {
        assertEquals(Optional.of(new Caller("root", 0, Role.ADMIN)), ACCESS.caller("root"));
        assertEquals(Optional.of(new Caller("toor", 0, Role.ADMIN)), ACCESS.caller("toor"), "uid 0 is root");
        assertEquals(Optional.of(new Caller("alice", 1001, Role.OPERATOR)), ACCESS.caller("alice"), "by user");
        assertEquals(Optional.of(new Caller("bob", 1002, Role.ADMIN)), ACCESS.caller("bob"), "by group");
        assertEquals(Optional.of(new Caller("carol", 1003, Role.OPERATOR)), ACCESS.caller("carol"),
                "the highest of her own role and her groups'");
        assertEquals(Optional.empty(), ACCESS.caller("mallory"), "no role, no access");
        assertEquals(Optional.empty(), ACCESS.caller("1234"), "an unknown uid has no name to map");
    }

    @Test
    void theHostsUserDatabaseGivesUidsAndEveryGroupAsIdDoes() throws Exception {
        NssAccounts nss = new NssAccounts();
        assertEquals(0, nss.uid("root"));
        assertEquals(-1, nss.uid("no-such-user-here"));
        assertEquals(Set.of(), nss.groups("no-such-user-here"));
        for (String user : new String[] {"root", "daemon", "nobody"}) {
            if (nss.uid(user) < 0) {
                continue; // not on this host
            }
            assertEquals(Long.parseLong(id("-u", user)), nss.uid(user), user);
            assertEquals(new TreeSet<>(Arrays.asList(id("-Gn", user).split(" "))), nss.groups(user), user);
        }
        assertTrue(nss.groups("root").contains("root"), "the primary group counts");
    }

    private static String id(String option, String user) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("id", option, user).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.waitFor(), out);
        return out;
    }
}
