package io.havn.daemon.libvirt;

/** A call's failure in the adapter's own words (an unknown domain, a UUID mismatch...). */
final class CallFailed extends Exception {
    private static final long serialVersionUID = 1L;

    CallFailed(String message) {
        super(message, null, false, false);
    }
}
