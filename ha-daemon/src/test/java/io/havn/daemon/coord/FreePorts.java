package io.havn.daemon.coord;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;

/**
 * Distinct free ports for a test ensemble. Curator's own choice opens and closes one socket per
 * port, so the kernel may hand the same port out twice (it did: three servers were given one
 * client port). Here every socket stays open until all ports are chosen, so no two are equal.
 */
final class FreePorts {
    private FreePorts() {}

    static int[] take(int n) {
        List<ServerSocket> held = new ArrayList<>(n);
        try {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                s.setReuseAddress(true);
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find " + n + " free ports", e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // the port is still free for the caller's purpose; nothing to undo
                }
            }
        }
    }
}
