package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.havn.daemon.config.HavnConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StorageCheckTest {
    @TempDir
    Path dir;

    private HavnConfig config(String datastores) {
        return StorageHeartbeatTest.config(dir, "prod", "node1", "{hosts: [node1, node2, node3], datastores: ["
                + datastores + "]}");
    }

    private List<String> problems(String datastores) {
        return StorageCheck.problems(config(datastores), StorageHeartbeat.QEMU_IO);
    }

    @Test
    void aFileThatIsThereOrCanBeMadeIsFine() throws Exception {
        Files.write(dir.resolve("small"), new byte[10]); // extended at the first round
        assertEquals(List.of(), problems("{name: a, path: \"" + dir.resolve("small") + "\"}, {name: b, path: \""
                + dir.resolve("new") + "\"}"));
    }

    @Test
    void aPathThatIsNotThereOrNoFileIsNamedWithItsKey() throws Exception {
        Files.createDirectories(dir.resolve("adir"));
        Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("gone"));
        List<String> p = problems("{name: a, path: \"" + dir.resolve("unmounted/heartbeat") + "\"}, "
                + "{name: b, path: /dev/disk/by-id/havn-test-none}, {name: c, path: \"" + dir.resolve("adir") + "\"}, "
                + "{name: d, path: \"" + dir.resolve("dangling") + "\"}, {name: e, path: /dev/null}");
        assertEquals(5, p.size(), p.toString());
        assertTrue(p.get(0).startsWith("storage.datastores[0].path: " + dir.resolve("unmounted/heartbeat")
                + " does not exist, nor does its directory"), p.get(0));
        assertTrue(p.get(1).startsWith("storage.datastores[1].path: /dev/disk/by-id/havn-test-none does not exist"),
                p.get(1));
        assertTrue(p.get(2).contains(dir.resolve("adir") + " is a directory"), p.get(2));
        assertTrue(p.get(3).contains("is a link to nothing"), p.get(3));
        assertEquals("storage.datastores[4].path: /dev/null is neither a regular file nor a block device", p.get(4));
    }

    @Test
    void aFileThisUserCannotWriteIsAProblem() throws Exception {
        assumeTrue(!"root".equals(System.getProperty("user.name")), "root writes every file: run as another user");
        Path f = Files.write(dir.resolve("ro"), new byte[0]);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("r--r--r--"));
        List<String> p = problems("{name: a, path: \"" + f + "\"}");
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).contains("cannot read and write " + f), p.get(0));
    }

    @Test
    void aBlockDeviceSmallerThanTheSlotAreaIsAProblem() throws Exception {
        assumeTrue("root".equals(System.getProperty("user.name")) && Files.isExecutable(Path.of("/usr/sbin/losetup")),
                "a loop device needs root and losetup (util-linux)");
        Path small = Files.write(dir.resolve("small.img"), new byte[2 * SlotLayout.SLOT_BYTES]);
        Path big = Files.write(dir.resolve("big.img"), new byte[3 * SlotLayout.SLOT_BYTES]);
        String smallDev = losetup(small);
        try {
            String bigDev = losetup(big);
            try {
                List<String> p = problems("{name: a, path: " + smallDev + "}, {name: b, path: " + bigDev + "}");
                assertEquals(List.of("storage.datastores[0].path: " + smallDev + " holds 8192 bytes; the slot area "
                        + "needs 12288 (3 hosts, 4096 bytes each)"), p);
            } finally {
                run("/usr/sbin/losetup", "-d", bigDev);
            }
        } finally {
            run("/usr/sbin/losetup", "-d", smallDev);
        }
    }

    @Test
    void aUrlNeedsQemuIo() {
        HavnConfig cfg = config("{name: lun2, url: \"iscsi://10.88.0.1:3260/iqn.2026-12.io.havn:e2e/7\"}");
        List<String> p = StorageCheck.problems(cfg, dir.resolve("no-qemu-io"));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.get(0).startsWith("storage.datastores[0].url: a datastore by URL is reached through "
                + dir.resolve("no-qemu-io") + ", which is not there (Debian: qemu-utils"), p.get(0));
    }

    private static String losetup(Path image) throws Exception {
        return run("/usr/sbin/losetup", "--find", "--show", image.toString()).strip();
    }

    private static String run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", command) + " did not end");
        String out = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.exitValue(), String.join(" ", command) + ": " + out);
        return out;
    }
}
