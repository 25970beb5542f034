package io.havn.daemon.ctl;

/**
 * Why a havnctl command ends without success, with its exit status: 1 the daemon refused,
 * 2 bad input (nothing was sent), 3 the daemon (or, for {@code vm add}, libvirt) cannot be reached,
 * or it turned the request away unread ({@code busy}, {@code forbidden}), 4 with {@code --wait}, an
 * accepted change that failed or did not finish in time.
 */
final class Failure extends RuntimeException {
    static final int REFUSED = 1;
    static final int USAGE = 2;
    static final int UNREACHABLE = 3;
    static final int NOT_DONE = 4;

    private final int exitCode;

    private Failure(int exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    static Failure refused(String code, String message) {
        return new Failure(REFUSED, "refused (" + code + "): " + message);
    }

    static Failure usage(String message) {
        return new Failure(USAGE, message);
    }

    /** {@code --wait}: the change was accepted but failed, or did not finish in time. */
    static Failure notDone(String message) {
        return new Failure(NOT_DONE, message);
    }

    static Failure unreachable(String message) {
        return new Failure(UNREACHABLE, message);
    }

    int exitCode() {
        return exitCode;
    }
}
