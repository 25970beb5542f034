package io.havn.daemon.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kernel's drop count of one of our UDP sockets, from /proc/net/udp and udp6. */
class KernelDropsTest {
    private static final int PORT = 0x1CED; // 7405

    @TempDir
    Path dir;

    /** A /proc/net with the sample tables, and a /proc/self/fd holding sockets of {@code inodes}. */
    private KernelDrops sample(long... inodes) throws IOException {
        Path proc = Files.createTempDirectory(dir, "proc");
        Path net = Files.createDirectories(proc.resolve("net"));
        for (String table : new String[] {"udp", "udp6"}) {
            try (InputStream in = KernelDropsTest.class.getResourceAsStream("/transport/" + table)) {
                Files.copy(in, net.resolve(table));
            }
        }
        Path fds = Files.createDirectories(proc.resolve("fd"));
        Files.createSymbolicLink(fds.resolve("0"), Path.of("/dev/null"));
        for (int i = 0; i < inodes.length; i++) {
            Files.createSymbolicLink(fds.resolve(String.valueOf(i + 3)), Path.of("socket:[" + inodes[i] + "]"));
        }
        return new KernelDrops(net, fds, PORT);
    }

    @Test
    void theDropsOfOurSocketOnThePortWhicheverTableItIsIn() throws IOException {
        assertEquals(1321, sample(777002).read(), "ours is the IPv6 socket on 10.0.0.11:7405");
        assertEquals(42, sample(999, 555002).read(), "ours is the IPv4 one");
    }

    @Test
    void anotherProcessOnThePortIsNeverCounted() throws IOException {
        // 777001 (0.0.0.0:7405, drops 5) is someone else's: not among our open files
        assertEquals(-1, sample(555001).read(), "our only socket is on another port");
    }

    @Test
    void withoutTheTablesTheCountIsUnknown() throws IOException {
        Path fds = Files.createDirectories(dir.resolve("fd"));
        assertEquals(-1, new KernelDrops(dir.resolve("absent"), fds, PORT).read());
    }

    @Test
    void aRealSocketWhoseBufferOverflowsShowsItsDrops() throws IOException {
        assumeTrue(Files.isReadable(Path.of("/proc/net/udp")), "no /proc/net/udp here");
        try (DatagramChannel receiver = DatagramChannel.open();
             DatagramChannel sender = DatagramChannel.open()) {
            receiver.setOption(StandardSocketOptions.SO_RCVBUF, 4096);
            receiver.bind(new InetSocketAddress("127.0.0.1", 0));
            int port = ((InetSocketAddress) receiver.getLocalAddress()).getPort();
            KernelDrops drops = new KernelDrops(port);
            assertEquals(0, drops.read(), "nothing dropped yet");
            // nobody reads: the small buffer fills and the kernel drops the rest (loopback delivers at once)
            ByteBuffer datagram = ByteBuffer.allocate(512);
            int sent = 0;
            while (drops.read() <= 0 && sent < 100_000) {
                for (int i = 0; i < 100; i++, sent++) {
                    sender.send(datagram.clear(), receiver.getLocalAddress());
                }
            }
            long dropped = drops.read();
            assertTrue(dropped > 0 && dropped < sent, dropped + " of " + sent + " datagrams dropped");
        }
    }
}
