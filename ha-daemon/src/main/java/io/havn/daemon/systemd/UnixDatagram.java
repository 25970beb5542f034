package io.havn.daemon.systemd;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Structure;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Unix-domain datagram sockets through libc (Java 17 has none): enough to send to systemd's
 * notification socket, and, for tests, to receive on one.
 */
final class UnixDatagram {
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int MSG_NOSIGNAL = 0x4000;
    /** Linux: fail with EAGAIN instead of waiting when the receiver's queue is full. */
    private static final int MSG_DONTWAIT = 0x40;

    interface LibC extends Library {
        LibC INSTANCE = Native.load("c", LibC.class);

        int socket(int domain, int type, int protocol) throws LastErrorException;

        int bind(int fd, SockaddrUn addr, int len) throws LastErrorException;

        long sendto(int fd, byte[] buf, long len, int flags, SockaddrUn addr, int addrLen) throws LastErrorException;

        long recv(int fd, byte[] buf, long len, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    /** {@code struct sockaddr_un}. */
    public static final class SockaddrUn extends Structure {
        public short sun_family = AF_UNIX;
        public byte[] sun_path = new byte[108];

        @Override
        protected List<String> getFieldOrder() {
            return List.of("sun_family", "sun_path");
        }
    }

    private UnixDatagram() {
    }

    /**
     * The address of {@code name}: a path, or an abstract name when it starts with '@' (as
     * {@code $NOTIFY_SOCKET} may). Returns the structure and its length in {@code len[0]}.
     */
    static SockaddrUn address(String name, int[] len) {
        byte[] bytes = name.getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > 107) {
            throw new IllegalArgumentException("unix socket name must be 1-107 bytes: '" + name + "'");
        }
        SockaddrUn a = new SockaddrUn();
        System.arraycopy(bytes, 0, a.sun_path, 0, bytes.length);
        if (bytes[0] == '@') {
            a.sun_path[0] = 0; // abstract namespace: no trailing NUL counts
            len[0] = 2 + bytes.length;
        } else {
            len[0] = 2 + bytes.length + 1;
        }
        return a;
    }

    /**
     * Sends one datagram to {@code name}; throws LastErrorException on failure. Never waits: the
     * node's thread sends (WATCHDOG=1, STATUS=, READY=1), and a service manager that does not read
     * its socket must not stall it (a datagram it would not take is a failure, as systemd's own
     * notification is lost then).
     */
    static void send(String name, byte[] message) {
        int[] len = new int[1];
        SockaddrUn to = address(name, len);
        int fd = LibC.INSTANCE.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        try {
            LibC.INSTANCE.sendto(fd, message, message.length, MSG_NOSIGNAL | MSG_DONTWAIT, to, len[0]);
        } finally {
            LibC.INSTANCE.close(fd);
        }
    }

    /** A bound receiving socket (tests). */
    static int bound(String name) {
        int[] len = new int[1];
        SockaddrUn at = address(name, len);
        int fd = LibC.INSTANCE.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        LibC.INSTANCE.bind(fd, at, len[0]);
        return fd;
    }

    /** Receives one datagram on {@code fd} (blocking). */
    static String receive(int fd) {
        byte[] buf = new byte[4096];
        long n = LibC.INSTANCE.recv(fd, buf, buf.length, 0);
        return new String(buf, 0, (int) n, StandardCharsets.UTF_8);
    }

    static void close(int fd) {
        LibC.INSTANCE.close(fd);
    }
}
