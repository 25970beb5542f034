package io.havn.daemon.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostId;
import io.havn.common.model.VmId;
import io.havn.daemon.coord.CoordPaths.ElectionEntry;
import java.util.Optional;
import java.util.OptionalLong;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.junit.jupiter.api.Test;

/** The names that encode ids in znode paths, read back as written; and the framework settings that matter. */
class CoordPathsTest {
    @Test
    void electionEntriesReadBackAsWrittenWhateverTheHostName() {
        for (String host : new String[] {"node1", "kvm-a.example.org", "rack_3-host-7", "a"}) {
            for (long session : new long[] {0x1000, 0x0200005558900004L, -0x7000000000000001L}) {
                String name = CoordPaths.name(CoordPaths.electionPrefix(session, new HostId(host))) + "0000000042";
                ElectionEntry e = CoordPaths.parseElection(name).orElseThrow(() -> new AssertionError(name));
                assertEquals(new ElectionEntry(name, session, new HostId(host), 42), e, name);
            }
        }
    }

    @Test
    void namesNotWrittenByHavnAreNotEntries() {
        for (String name : new String[] {"latch-0000000001", "zz-node1-0000000001", "1000-0000000001",
                "1000-node1-000000001x", "1000-node1-", ""}) {
            assertEquals(Optional.empty(), CoordPaths.parseElection(name), name);
        }
        assertEquals(OptionalLong.empty(), CoordPaths.parseSession("not-hex"));
        assertEquals(OptionalLong.of(-1L), CoordPaths.parseSession("ffffffffffffffff"));
    }

    @Test
    void indexEntriesReadBackAsTheirVmWhateverItsName() {
        for (String vm : new String[] {"vm1", "6f1c2a8e-1b2d-4c3e-9f00-0123456789ab", "a", "x-0000000001"}) {
            String name = CoordPaths.name(CoordPaths.indexPrefix(new HostId("node1"), new VmId(vm))) + "0000000042";
            assertEquals(Optional.of(new VmId(vm)), CoordPaths.parseIndexEntry(name), name);
        }
        for (String name : new String[] {"vm1", "vm1-000000004x", "-0000000042", "0000000042", "vm 1-0000000042", ""}) {
            assertEquals(Optional.empty(), CoordPaths.parseIndexEntry(name), name);
        }
        assertEquals("/hostvms/node1/vm1-", CoordPaths.indexPrefix(new HostId("node1"), new VmId("vm1")));
    }

    @Test
    void pathsKnowWhatTheMirrorWatches() {
        assertTrue(CoordPaths.isChildrenPath("/live/node1"));
        assertTrue(CoordPaths.isChildrenPath("/leader"));
        assertTrue(CoordPaths.isChildrenPath("/hostvms/node1"));
        assertFalse(CoordPaths.isChildrenPath("/hostvms/node1/vm1-0000000001"));
        assertFalse(CoordPaths.isDataPath("/hostvms/node1/vm1-0000000001"), "entries have no data to watch");
        assertFalse(CoordPaths.isChildrenPath("/live/node1/1000"));
        assertTrue(CoordPaths.isDataPath("/vms/vm1"));
        assertTrue(CoordPaths.isDataPath("/epoch"));
        assertFalse(CoordPaths.isDataPath("/live/node1/1000"), "live nodes' data is never watched");
        assertFalse(CoordPaths.isDataPath("/vms"));
    }

    @Test
    void curatorSimulatesNoSessionExpiry() {
        CuratorFrameworkFactory.Builder b = CuratorFrameworkFactory.builder();
        assertEquals(100, b.getSimulatedSessionExpirationPercent(), "Curator's default");
        SessionFramework.withoutSimulatedExpiry(b);
        assertEquals(0, b.getSimulatedSessionExpirationPercent());
    }
}
