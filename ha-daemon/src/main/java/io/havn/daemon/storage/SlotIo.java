package io.havn.daemon.storage;

import java.io.IOException;

/**
 * The I/O of one datastore's slot area: blocking calls, made on the datastore's own thread, one at
 * a time. Each call sees what other hosts wrote before it began (no cache of this host's hides
 * their writes), and a write is on the storage when the call returns.
 */
interface SlotIo extends AutoCloseable {
    /** The first {@code bytes} of the area; an IOException says why they could not be read. */
    byte[] read(int bytes) throws IOException;

    /**
     * Writes {@code slot} at {@code offset}, then reads the first {@code bytes} of the area, the slot
     * written included.
     */
    byte[] writeThenRead(long offset, byte[] slot, int bytes) throws IOException;

    /**
     * From another thread: ends a call that hangs, where that can be done (a process is killed); a
     * call the kernel holds (a read of a hung NFS mount) goes on until the kernel lets it go.
     */
    void abort();

    @Override
    void close();
}
