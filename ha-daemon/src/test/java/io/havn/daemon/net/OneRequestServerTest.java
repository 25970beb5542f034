package io.havn.daemon.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The server's budgets and slots over a real Unix socket, with a line protocol of the test's own. */
class OneRequestServerTest {
    @TempDir
    Path dir;

    /** Whether each next connection, in connect order, is privileged. */
    private final BlockingQueue<Boolean> privileged = new LinkedBlockingQueue<>();
    /** Requests that reached a worker, in order. */
    private final BlockingQueue<String> answering = new LinkedBlockingQueue<>();
    private final BlockingQueue<OneRequestServer.Cut> cuts = new LinkedBlockingQueue<>();
    /** Opened by the test to let "hold" requests be answered. */
    private final CountDownLatch release = new CountDownLatch(1);
    private final ScheduledExecutorService trickle = Executors.newSingleThreadScheduledExecutor();
    private OneRequestServer<String> server;

    private final OneRequestServer.Protocol<String> lines = new OneRequestServer.Protocol<>() {
        @Override
        public OneRequestServer.Admission<String> admit(SocketChannel peer) {
            Boolean p = privileged.poll();
            return new OneRequestServer.Admit<>("peer", p != null && p);
        }

        @Override
        public byte[] terminator() {
            return new byte[] {'\n'};
        }

        @Override
        public byte[] answer(String peer, byte[] request) {
            String r = new String(request, StandardCharsets.UTF_8);
            answering.add(r);
            if (r.equals("hold")) {
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return ("ok:" + r + "\n").getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] busy() {
            return "busy\n".getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] tooLarge() {
            return "too-large\n".getBytes(StandardCharsets.UTF_8);
        }
    };

    private void start(OneRequestServer.Limits limits) throws Exception {
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(dir.resolve("s.sock")));
        server = new OneRequestServer<>("test", ch, lines, limits);
        server.onCut(cuts::add);
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        trickle.shutdownNow();
        if (server != null) {
            server.close();
        }
    }

    private SocketChannel connect() throws Exception {
        return UnixClient.connect(dir.resolve("s.sock"));
    }

    @Test
    void whenEveryOpenSlotIsBeingAnsweredOthersAreBusyButAPrivilegedPeerGetsTheReserve() throws Exception {
        start(new OneRequestServer.Limits(Duration.ofSeconds(30), Duration.ofSeconds(5), 1024, 2, 1));
        privileged.addAll(java.util.List.of(false, false, false, true));
        try (SocketChannel a = connect(); SocketChannel b = connect()) {
            UnixClient.send(a, "hold\n");
            UnixClient.send(b, "hold\n");
            assertEquals("hold", answering.poll(10, TimeUnit.SECONDS));
            assertEquals("hold", answering.poll(10, TimeUnit.SECONDS), "both open slots are being answered");
            try (SocketChannel other = connect()) {
                assertEquals("busy\n", UnixClient.untilClosed(other), "no slot for an unprivileged newcomer");
            }
            assertEquals(OneRequestServer.Cut.BUSY, cuts.poll(10, TimeUnit.SECONDS));
            try (SocketChannel root = connect()) {
                UnixClient.send(root, "status\n");
                assertEquals("ok:status\n", UnixClient.untilClosed(root), "the reserve serves the privileged peer");
            }
            release.countDown();
            assertEquals("ok:hold\n", UnixClient.untilClosed(a));
            assertEquals("ok:hold\n", UnixClient.untilClosed(b));
        }
    }

    @Test
    void aRequestTrickledByteByByteIsCutOffAtItsTotalTimeNotRenewedByEachByte() throws Exception {
        Duration requestTime = Duration.ofMillis(400);
        start(new OneRequestServer.Limits(requestTime, Duration.ofSeconds(5), 1024, 4, 0));
        try (SocketChannel slow = connect()) {
            long connected = System.nanoTime();
            // one byte every 50 ms: far inside any idle timeout, never a whole request
            trickle.scheduleAtFixedRate(() -> {
                try {
                    UnixClient.send(slow, "x");
                } catch (Exception e) {
                    throw new IllegalStateException("closed", e);
                }
            }, 0, 50, TimeUnit.MILLISECONDS);
            OneRequestServer.Cut cut = cuts.poll(10, TimeUnit.SECONDS);
            long afterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - connected);
            assertEquals(OneRequestServer.Cut.REQUEST_TIME, cut);
            // a budget renewed by each byte would never cut this client (the poll above would time out)
            assertTrue(afterMillis >= requestTime.toMillis(),
                    "not cut off before its budget of " + requestTime.toMillis() + " ms: " + afterMillis + " ms");
            assertEquals("", UnixClient.untilClosed(slow), "closed without an answer");
            assertTrue(answering.isEmpty(), "nothing reached a worker");
        }
    }

    @Test
    void aRequestLargerThanItsBytesIsAnsweredTooLargeAndClosed() throws Exception {
        start(new OneRequestServer.Limits(Duration.ofSeconds(30), Duration.ofSeconds(5), 16, 4, 0));
        try (SocketChannel c = connect()) {
            UnixClient.send(c, "0123456789abcdef0");
            assertEquals("too-large\n", UnixClient.untilClosed(c));
            assertEquals(OneRequestServer.Cut.REQUEST_BYTES, cuts.poll(10, TimeUnit.SECONDS));
        }
        try (SocketChannel c = connect()) {
            UnixClient.send(c, "0123456789abcdef\n");
            assertEquals("ok:0123456789abcdef\n", UnixClient.untilClosed(c), "exactly the limit is fine");
        }
        assertNotNull(answering.poll(10, TimeUnit.SECONDS));
    }
}
