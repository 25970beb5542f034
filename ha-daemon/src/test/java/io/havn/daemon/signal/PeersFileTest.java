package io.havn.daemon.signal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.common.model.HostAdminState;
import io.havn.common.model.HostCapacity;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeersFileTest {
    private static final HostId SELF = new HostId("kvm-a");
    private static final HostId B = new HostId("kvm-b");
    private static final HostId C = new HostId("kvm-c");

    @TempDir
    Path dir;

    private static HostRecord record(HostId id, String address) {
        return new HostRecord(id, new HostCapacity(8, 16_384), address, null, HostAdminState.ACTIVE, false, false);
    }

    private Path file() {
        return PeersFile.beside(dir.resolve("watchdog.state"));
    }

    private String text() throws IOException {
        return Files.readString(file(), StandardCharsets.US_ASCII);
    }

    @Test
    void itLivesBesideTheWatchdogState() {
        assertEquals(dir.resolve("signal.peers"), file());
    }

    @Test
    void havndListsEveryPeerButItselfSortedAndRewritesOnlyOnAChange() throws IOException {
        PeersFile.Publisher p = new PeersFile.Publisher(file(), SELF);
        p.start();
        assertFalse(Files.exists(file()), "nothing is written before a peer is known");
        p.changed(C, record(C, "10.0.0.3:7405"));
        p.changed(SELF, record(SELF, "10.0.0.1:7405"));
        p.changed(B, record(B, "kvm-b.example:7405"));
        assertEquals("kvm-b kvm-b.example:7405\nkvm-c 10.0.0.3:7405\n", text());

        Files.writeString(file(), "marker\n");
        p.changed(B, record(B, "kvm-b.example:7405")); // the same address: no rewrite
        assertEquals("marker\n", text());

        p.changed(B, record(B, "10.0.0.2:7406"));
        assertEquals("kvm-b 10.0.0.2:7406\nkvm-c 10.0.0.3:7405\n", text());
        p.changed(C, null); // removed
        assertEquals("kvm-b 10.0.0.2:7406\n", text());
        p.changed(B, record(B, null)); // a record without an address: not signalled
        assertEquals("", text());
        p.changed(C, record(C, "bad address with spaces:1"));
        assertEquals("", text());
    }

    @Test
    void onceHavndNamesItsMonitorsOnlyThoseAreListed() throws IOException {
        HostId d = new HostId("kvm-d");
        PeersFile.Publisher p = new PeersFile.Publisher(file(), SELF);
        p.start();
        p.changed(B, record(B, "10.0.0.2:7405"));
        p.changed(C, record(C, "10.0.0.3:7405"));
        p.changed(d, record(d, "10.0.0.4:7405"));
        assertEquals("kvm-b 10.0.0.2:7405\nkvm-c 10.0.0.3:7405\nkvm-d 10.0.0.4:7405\n", text(), "every peer at first");
        p.monitors(List.of(B, d));
        assertEquals("kvm-b 10.0.0.2:7405\nkvm-d 10.0.0.4:7405\n", text());
        p.changed(C, record(C, "10.0.0.33:7405")); // not a monitor: still not listed
        assertEquals("kvm-b 10.0.0.2:7405\nkvm-d 10.0.0.4:7405\n", text());
        p.monitors(List.of(C));
        assertEquals("kvm-c 10.0.0.33:7405\n", text());
    }

    @Test
    void aRestartedHavndStartsFromTheListItFindsSoTheFileNeverEmpties() throws IOException {
        Files.writeString(file(), "kvm-b 10.0.0.2:7405\nkvm-c 10.0.0.3:7405\nkvm-a 10.0.0.1:7405\nnonsense\n");
        PeersFile.Publisher p = new PeersFile.Publisher(file(), SELF);
        p.start();
        p.changed(C, record(C, "10.0.0.33:7405"));
        assertEquals("kvm-b 10.0.0.2:7405\nkvm-c 10.0.0.33:7405\n", text());
    }

    @Test
    void theSenderReadsTheListAgainWhenItChangesAndSkipsBadLines() throws IOException {
        PeersFile.Reader r = new PeersFile.Reader(file());
        assertEquals(List.of(), r.peers(), "no file: no peers yet");
        Files.writeString(file(), "kvm-b 127.0.0.2:7405\n\n  kvm-c   127.0.0.3:7406  \n");
        assertEquals(List.of(new PeersFile.Peer(B, new InetSocketAddress("127.0.0.2", 7405)),
                new PeersFile.Peer(C, new InetSocketAddress("127.0.0.3", 7406))), r.peers());

        new PeersFile.Publisher(file(), SELF).changed(C, record(C, "[::1]:7407")); // a rename: a new file
        assertEquals(List.of(new PeersFile.Peer(C, new InetSocketAddress("::1", 7407))), r.peers());
        Files.delete(file());
        assertEquals(List.of(), r.peers(), "a file removed: no peers");
    }

    @Test
    void eachBadLineIsSkippedNamingItsNumberAndWhy() {
        List<String> skipped = new ArrayList<>();
        List<PeersFile.Peer> peers = PeersFile.parse(String.join("\n",
                "kvm-b 127.0.0.2:7405",
                "kvm-c",
                "-bad 127.0.0.3:1",
                "kvm-d 127.0.0.4",
                "kvm-e 127.0.0.5:port",
                "kvm-f 127.0.0.6:70000",
                "kvm-g 127.0.0.7:1 extra",
                "kvm-h no-such-host.invalid:7405"), skipped::add);
        assertEquals(List.of(new PeersFile.Peer(B, new InetSocketAddress("127.0.0.2", 7405))), peers);
        assertEquals(7, skipped.size(), skipped.toString());
        assertTrue(skipped.get(0).startsWith("line 2 'kvm-c': not '<host> <address>:<port>'"), skipped.get(0));
        assertTrue(skipped.get(1).contains("invalid host name '-bad'"), skipped.get(1));
        assertTrue(skipped.get(2).contains("is not <ip-or-name>:<port>"), skipped.get(2));
        assertTrue(skipped.get(3).contains("port 'port' is not a number"), skipped.get(3));
        assertTrue(skipped.get(4).contains("port 70000 is not 1-65535"), skipped.get(4));
        assertTrue(skipped.get(6).contains("'no-such-host.invalid' does not resolve"), skipped.get(6));
    }

    @Test
    void aFileThatCannotBeReadLeavesTheLastGoodList() throws IOException {
        PeersFile.Reader r = new PeersFile.Reader(file());
        Files.writeString(file(), "kvm-b 127.0.0.2:7405\n");
        List<PeersFile.Peer> good = r.peers();
        assertEquals(1, good.size());
        Files.delete(file());
        Files.createDirectory(file()); // unreadable as a file
        assertEquals(good, r.peers());
        assertEquals(good, r.peers(), "and again, logged once");
        Files.delete(file());
        Files.writeString(file(), "kvm-c 127.0.0.3:7405\n");
        assertEquals(List.of(new PeersFile.Peer(C, new InetSocketAddress("127.0.0.3", 7405))), r.peers());
    }
}
