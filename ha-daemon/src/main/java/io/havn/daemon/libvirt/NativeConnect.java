package io.havn.daemon.libvirt;

import org.libvirt.Connect;
import org.libvirt.LibvirtException;
import org.libvirt.jna.ConnectionPointer;

/**
 * libvirt-java's {@link Connect} with its native pointer reachable, for the one call libvirt-java
 * 0.5.2 lacks ({@code virDomainGetState}, see {@link StateReasons}). {@code vcp} is protected
 * there for subclasses; it becomes null once the connection is closed.
 */
final class NativeConnect extends Connect {
    NativeConnect(String uri) throws LibvirtException {
        super(uri);
    }

    ConnectionPointer pointer() {
        return vcp;
    }
}
