package io.havn.daemon.coord;

import io.havn.common.model.HostId;
import java.util.function.BooleanSupplier;

/**
 * A coordination service for {@link CoordinatorContract} to run against: three servers, clients
 * of hosts, and the faults the contract injects. Time passes only inside
 * {@link #awaitUntil}: the real harness waits on its event queue, the simulated one advances
 * virtual time.
 */
interface CoordinationHarness extends AutoCloseable {
    /** The session timeout every client asks for. */
    long sessionTimeoutMs();

    /** A new client of {@code host}; it has no session until its coordinator's openSession(). */
    Probe connect(HostId host);

    /**
     * Lets time pass, handing events to their probes, until {@code condition} holds or
     * {@code withinMs} have passed; returns whether it holds.
     */
    boolean awaitUntil(BooleanSupplier condition, long withinMs);

    /** Lets {@code ms} pass, handing events over. */
    default void pass(long ms) {
        awaitUntil(() -> false, ms);
    }

    /**
     * Ends {@code p}'s current session the way the service ends a session whose client went
     * silent. When it returns, the client may or may not have been told yet, and the other
     * clients may or may not have seen the presence go yet.
     */
    void expire(Probe p);

    /** One of the three servers crashes (the real harness picks the ensemble's leader). */
    void crashServer();

    /** The crashed server comes back. */
    void restartServer();

    /** Two of the three servers stop: no quorum. */
    void loseQuorum();

    /** They come back. */
    void regainQuorum();

    /** Closes every client and restores the service for the next test. */
    @Override
    void close();
}
