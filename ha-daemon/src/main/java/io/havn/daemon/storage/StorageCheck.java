package io.havn.daemon.storage;

import io.havn.daemon.config.HavnConfig;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code havnd --check-config} finds wrong with the storage heartbeat's datastores on this
 * host, beyond the file's form: a path that is not there (for a file, its directory), that this
 * user cannot write, a block device smaller than the slot area, a URL without qemu-io to reach
 * it. Each problem names its key. A datastore that is not shared among the hosts cannot be told
 * from here: the rounds show it (no other host's record ever appears).
 */
public final class StorageCheck {
    /** A block device's file type in {@code unix:mode}. */
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    private StorageCheck() {
    }

    /** The problems of {@code cfg}'s datastores on this host, each naming its key; empty when none. */
    public static List<String> problems(HavnConfig cfg, Path qemuIo) {
        List<String> out = new ArrayList<>();
        HavnConfig.Storage storage = cfg.storage();
        int areaBytes = SlotLayout.of(storage.hosts(), cfg.host().name()).areaBytes();
        for (int i = 0; i < storage.datastores().size(); i++) {
            HavnConfig.Storage.Datastore d = storage.datastores().get(i);
            String key = "storage.datastores[" + i + "]";
            String problem = d.path() != null ? pathProblem(d.path(), areaBytes) : urlProblem(qemuIo);
            if (problem != null) {
                out.add(key + (d.path() != null ? ".path" : ".url") + ": " + problem);
            }
        }
        return out;
    }

    /** What is wrong with {@code path} as a slot area of {@code areaBytes}, or null. */
    static String pathProblem(Path path, int areaBytes) {
        if (!Files.exists(path)) {
            if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
                return path + " is a link to nothing";
            }
            if (path.startsWith("/dev")) {
                return path + " does not exist (a block device every host shares, such as /dev/disk/by-id/...)";
            }
            Path dir = path.getParent();
            if (dir == null || !Files.isDirectory(dir)) {
                return path + " does not exist, nor does its directory " + dir + " (is the shared filesystem mounted?)";
            }
            if (!Files.isWritable(dir)) {
                return path + " does not exist, and this user (" + user() + ") cannot create it in " + dir;
            }
            return null; // created at the first round
        }
        if (Files.isDirectory(path)) {
            return path + " is a directory: name a file in it (it is created) or a block device";
        }
        int mode;
        try {
            mode = (Integer) Files.getAttribute(path, "unix:mode");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "cannot look at " + path + ": " + e.getMessage();
        }
        boolean block = (mode & S_IFMT) == S_IFBLK;
        if (!block && !Files.isRegularFile(path)) {
            return path + " is neither a regular file nor a block device";
        }
        if (!Files.isWritable(path) || !Files.isReadable(path)) {
            return "this user (" + user() + ") cannot read and write " + path;
        }
        if (block) {
            long size;
            try (FileChannel c = FileChannel.open(path, StandardOpenOption.READ)) {
                size = c.size();
            } catch (IOException e) {
                return "cannot open " + path + ": " + e.getMessage();
            }
            if (size < areaBytes) {
                return path + " holds " + size + " bytes; the slot area needs " + areaBytes + " ("
                        + areaBytes / SlotLayout.SLOT_BYTES + " hosts, " + SlotLayout.SLOT_BYTES + " bytes each)";
            }
        }
        return null;
    }

    private static String urlProblem(Path qemuIo) {
        if (!Files.isExecutable(qemuIo)) {
            return "a datastore by URL is reached through " + qemuIo + ", which is not there (Debian: qemu-utils, "
                    + "with qemu-block-extra for iscsi:// and nfs://)";
        }
        return null;
    }

    private static String user() {
        return System.getProperty("user.name");
    }
}
