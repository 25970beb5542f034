package io.havn.daemon.systemd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.havn.daemon.loop.EventLoop;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemdNotifierTest {

    private static String receiveOne(int fd) throws Exception {
        return CompletableFuture.supplyAsync(() -> UnixDatagram.receive(fd)).get(10, TimeUnit.SECONDS);
    }

    @Test
    void notificationsReachTheSocketNamedByNotifySocket(@TempDir Path dir) throws Exception {
        String path = dir.resolve("notify.sock").toString();
        int fd = UnixDatagram.bound(path);
        try {
            SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", path));
            assertTrue(n.enabled());
            n.notify("READY=1");
            assertEquals("READY=1", receiveOne(fd));
        } finally {
            UnixDatagram.close(fd);
        }
    }

    @Test
    void abstractSocketNamesWork() throws Exception {
        String name = "@havn-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        int fd = UnixDatagram.bound(name);
        try {
            SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", name)).notify("STATUS=leader, 3 hosts");
            assertEquals("STATUS=leader, 3 hosts", receiveOne(fd));
        } finally {
            UnixDatagram.close(fd);
        }
    }

    @Test
    void underWatchdogSecTheNodesLoopPets(@TempDir Path dir) throws Exception {
        String path = dir.resolve("wd.sock").toString();
        int fd = UnixDatagram.bound(path);
        try (EventLoop loop = new EventLoop("test-loop")) {
            SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", path, "WATCHDOG_USEC", "200000")).petFrom(loop);
            assertEquals("WATCHDOG=1", receiveOne(fd));
            assertEquals("WATCHDOG=1", receiveOne(fd), "and again, every half period");
        } finally {
            UnixDatagram.close(fd);
        }
    }

    @Test
    void theStatusIsSentOnlyWhenItChanges(@TempDir Path dir) throws Exception {
        String path = dir.resolve("status.sock").toString();
        int fd = UnixDatagram.bound(path);
        try {
            SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of("NOTIFY_SOCKET", path));
            n.status("joining");
            n.status("joining");
            n.status("joining");
            n.status("leader epoch 2 · 1/1 hosts live\n· 0 VMs running");
            n.status("joining");
            assertEquals("STATUS=joining", receiveOne(fd));
            assertEquals("STATUS=leader epoch 2 · 1/1 hosts live · 0 VMs running", receiveOne(fd),
                    "the repeats were not sent; a line break would end the STATUS= value, so it is not sent either");
            assertEquals("STATUS=joining", receiveOne(fd), "a change back is a change");
        } finally {
            UnixDatagram.close(fd);
        }
    }

    @Test
    void withoutNotifySocketNothingIsSentAndNothingFails() {
        SystemdNotifier n = SystemdNotifier.fromEnvironment(Map.of());
        assertFalse(n.enabled());
        n.notify("READY=1");
        n.status("joining");
        n.petFrom((delay, task) -> {
            throw new AssertionError("nothing to schedule without systemd");
        });
    }
}
