package io.havn.daemon.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * qemu-io driven as a datastore's I/O: on a raw image through its {@code file:} protocol where
 * qemu-io is installed, and with stand-ins for a qemu-io that hangs or is missing.
 */
class QemuIoSlotsTest {
    private static final int SLOT = SlotLayout.SLOT_BYTES;

    @TempDir
    Path dir;

    private static byte[] slot(int fill) {
        byte[] b = new byte[SLOT];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    /** A stand-in for qemu-io: a shell script. */
    private Path script(String body) throws IOException {
        Path s = dir.resolve("fake-qemu-io");
        Files.writeString(s, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(s, PosixFilePermissions.fromString("rwx------"));
        return s;
    }

    @Test
    void theCommandWritesTheSlotFromItsFileWithFuaThenDumpsTheArea() throws IOException {
        QemuIoSlots io = new QemuIoSlots("lun2", Path.of("/usr/bin/qemu-io"),
                URI.create("iscsi://10.88.0.1:3260/iqn.2026-12.io.havn:e2e/7"), 1000, dir);
        Path slotFile = Path.of("/tmp/x.slot");
        assertEquals(List.of("/usr/bin/qemu-io", "-f", "raw", "-c", "write -q -f -s /tmp/x.slot 8192 4096", "-c",
                        "read -v 0 12288", "iscsi://10.88.0.1:3260/iqn.2026-12.io.havn:e2e/7"),
                io.command(List.of(QemuIoSlots.writeCommand(slotFile, 8192, SLOT), QemuIoSlots.readCommand(12288))));
        io.close();
    }

    @Test
    void twoHostsOnOneImageSeeEachOthersSlots() throws IOException {
        assumeTrue(Files.isExecutable(StorageHeartbeat.QEMU_IO), "needs " + StorageHeartbeat.QEMU_IO
                + " (Debian: qemu-utils)");
        Path image = Files.write(dir.resolve("lun.img"), new byte[3 * SLOT]);
        URI url = URI.create("file:" + image);
        try (QemuIoSlots a = new QemuIoSlots("lun2", StorageHeartbeat.QEMU_IO, url, 10_000, dir);
             QemuIoSlots b = new QemuIoSlots("lun2", StorageHeartbeat.QEMU_IO, url, 10_000, dir)) {
            assertArrayEquals(new byte[3 * SLOT], a.read(3 * SLOT), "empty");
            a.writeThenRead(0, slot(0xa1), 3 * SLOT);
            byte[] seen = b.writeThenRead(2 * SLOT, slot(0xb2), 3 * SLOT);
            assertEquals((byte) 0xa1, seen[0], "b reads a's slot");
            assertEquals((byte) 0xb2, seen[3 * SLOT - 1], "and its own");
            assertEquals(0, seen[SLOT], "the slot between is empty");
            assertEquals((byte) 0xb2, a.read(3 * SLOT)[2 * SLOT], "a reads b's slot");
        }
        byte[] onDisk = Files.readAllBytes(image);
        assertEquals((byte) 0xa1, onDisk[SLOT - 1], "written where it belongs");
    }

    @Test
    void aReadPastTheEndOfTheLunIsAnErrorWithQemuIosWords() throws IOException {
        assumeTrue(Files.isExecutable(StorageHeartbeat.QEMU_IO), "needs " + StorageHeartbeat.QEMU_IO
                + " (Debian: qemu-utils)");
        Path image = Files.write(dir.resolve("lun.img"), new byte[SLOT]);
        try (QemuIoSlots io = new QemuIoSlots("lun2", StorageHeartbeat.QEMU_IO, URI.create("file:" + image), 10_000,
                dir)) {
            IOException e = assertThrows(IOException.class, () -> io.read(3 * SLOT));
            assertEquals("qemu-io failed (exit 1): read failed: Input/output error", e.getMessage());
        }
    }

    @Test
    void aQemuIoThatDoesNotAnswerIsKilledAtTheTimeout() throws IOException {
        try (QemuIoSlots io = new QemuIoSlots("lun2", script("exec sleep 60"), URI.create("iscsi://h/iqn.x/1"), 300,
                dir)) {
            IOException e = assertThrows(IOException.class, () -> io.read(SLOT));
            assertEquals("no answer from the datastore for 300 ms (qemu-io killed)", e.getMessage());
        }
        assertEquals(0, ProcessHandle.current().descendants().filter(p -> p.info().command().orElse("")
                .endsWith("sleep")).count(), "nothing left running");
    }

    @Test
    void anAbortFromAnotherThreadEndsTheCallAtOnce() throws Exception {
        try (QemuIoSlots io = new QemuIoSlots("lun2", script("exec sleep 60"), URI.create("iscsi://h/iqn.x/1"), 60_000,
                dir)) {
            CompletableFuture<byte[]> call = CompletableFuture.supplyAsync(() -> {
                try {
                    return io.writeThenRead(0, slot(1), SLOT);
                } catch (IOException e) {
                    throw new java.util.concurrent.CompletionException(e);
                }
            });
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (ProcessHandle.current().descendants().noneMatch(p -> p.info().command().orElse("").endsWith("sleep"))
                    && System.nanoTime() < deadline) {
                Thread.onSpinWait(); // until the process runs, at most 10 s
            }
            io.abort();
            ExecutionException e = assertThrows(ExecutionException.class, () -> call.get(10, TimeUnit.SECONDS));
            assertEquals("qemu-io killed: no answer from the datastore in time", e.getCause().getMessage());
        }
    }

    @Test
    void aMissingQemuIoSaysWhatToInstall() throws IOException {
        try (QemuIoSlots io = new QemuIoSlots("lun2", dir.resolve("none"), URI.create("iscsi://h/iqn.x/1"), 1000, dir)) {
            IOException e = assertThrows(IOException.class, () -> io.read(SLOT));
            assertTrue(e.getMessage().startsWith("cannot run " + dir.resolve("none") + " (Debian: qemu-utils, and "
                    + "qemu-block-extra for iscsi:// and nfs://)"), e.getMessage());
        }
    }

    @Test
    void aFailingQemuIoIsAnErrorWithItsFirstWords() throws IOException {
        try (QemuIoSlots io = new QemuIoSlots("lun2", script("echo \"qemu-io: can't open device $5: iSCSI: Failed to "
                + "connect to LUN\" >&2; exit 1"), URI.create("iscsi://h/iqn.x/1"), 10_000, dir)) {
            IOException e = assertThrows(IOException.class, () -> io.read(SLOT));
            assertEquals("qemu-io failed (exit 1): qemu-io: can't open device iscsi://h/iqn.x/1: iSCSI: Failed to "
                    + "connect to LUN", e.getMessage());
        }
    }
}
