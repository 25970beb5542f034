package io.havn.daemon.net;

import java.io.ByteArrayOutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A test's client end of a real Unix socket; every wait is bounded. */
public final class UnixClient {
    private UnixClient() {
    }

    public static SocketChannel connect(Path socket) throws Exception {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(socket));
        return c;
    }

    public static void send(SocketChannel c, String text) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            c.write(b);
        }
    }

    /** Everything the server sends until it closes, waiting at most 10 s for the close. */
    public static String untilClosed(SocketChannel c) throws Exception {
        return CompletableFuture.supplyAsync(() -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteBuffer b = ByteBuffer.allocate(64 * 1024);
            try {
                while (c.read(b.clear()) >= 0) {
                    out.write(b.array(), 0, b.position());
                }
            } catch (Exception e) {
                // reset: what came is the answer
            }
            return out.toString(StandardCharsets.UTF_8);
        }).get(10, TimeUnit.SECONDS);
    }
}
