package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DatastoreUrlTest {
    @Test
    void iscsiAndNfsUrlsAsQemuTakesThem() {
        assertNull(DatastoreUrl.problem("iscsi://10.88.0.1:3260/iqn.2026-12.io.havn:e2e/7"));
        assertNull(DatastoreUrl.problem("iscsi://san.example/iqn.2001-05.com.example:storage.disk1/0"));
        assertNull(DatastoreUrl.problem("iscsi://[fd00::1]:3260/iqn.2026-12.io.havn:e2e/1"));
        assertNull(DatastoreUrl.problem("nfs://filer.example/export/havn/heartbeat"));
    }

    @Test
    void anythingElseIsRefusedSayingWhatIsExpected() {
        String[][] cases = {
            {"/dev/sdb", "must be an iscsi:// or nfs:// URL"},
            {"rbd://pool/image", "must be an iscsi:// or nfs:// URL"},
            {"iscsi:///iqn.2026-12.io.havn:e2e/7", "names no server"},
            {"iscsi://10.88.0.1/iqn.2026-12.io.havn:e2e", "iscsi://HOST[:PORT]/TARGET-IQN/LUN"},
            {"iscsi://10.88.0.1/iqn.2026-12.io.havn:e2e/lun7", "iscsi://HOST[:PORT]/TARGET-IQN/LUN"},
            {"iscsi://10.88.0.1/iqn/7/8", "iscsi://HOST[:PORT]/TARGET-IQN/LUN"},
            {"iscsi://user%pass@10.88.0.1/iqn/7", "not a URL"},
            {"iscsi://user@10.88.0.1/iqn/7", "must have no user, query or fragment"},
            {"nfs://filer.example/export/dir/", "nfs://SERVER/EXPORT/PATH/FILE"},
            {"nfs://filer.example", "nfs://SERVER/EXPORT/PATH/FILE"},
            {"nfs://filer.example/export/a b", "not a URL"},
        };
        for (String[] c : cases) {
            String p = DatastoreUrl.problem(c[0]);
            assertTrue(p != null && p.contains(c[1]), c[0] + " -> " + p);
        }
    }
}
