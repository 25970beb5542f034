package io.havn.daemon.libvirt;

/**
 * One piece of blocking work against libvirt, run on a worker thread with the adapter's connection.
 * It may throw {@link org.libvirt.LibvirtException} (its message becomes the failure text),
 * {@link CallFailed} (a failure the adapter words itself) or anything else (reported as is).
 */
@FunctionalInterface
interface LibvirtCall<T> {
    T call(NativeConnect conn) throws Exception;
}
