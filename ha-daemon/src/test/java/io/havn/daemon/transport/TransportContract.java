package io.havn.daemon.transport;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.havn.common.model.HostId;
import io.havn.daemon.PortContract;
import io.havn.common.node.Heartbeat;
import io.havn.common.port.Transport;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Transport} adapter must do, whatever carries the datagrams: UDP, or the
 * simulated network. The node relies on it as follows: what it sends to a peer reaches that peer
 * (or nothing does: loss is allowed, duplication and misdelivery are not), a daemon that stopped
 * neither sends nor receives, and only heartbeats of this cluster, addressed to this host and not
 * seen before, come back as events.
 *
 * <p>Nothing sleeps. To know that what must NOT arrive was dropped, a test sends it first and a
 * marker last, on the same path; the marker's arrival means the earlier datagram was dealt with.
 * Where only silence can show it (a stopped receiver), the test watches the receiver for
 * {@link #QUIET}. A subject without a raw wire returns null from {@link Subject#wire()} and those
 * tests are skipped.
 */
public abstract class TransportContract extends PortContract<TransportContract.Subject> {
    /** The bound of every wait for a heartbeat that must come. */
    protected static final Duration WAIT = Duration.ofSeconds(5);
    /** How long a test watches for a heartbeat that must not come. */
    protected static final Duration QUIET = Duration.ofMillis(300);

    protected static final HostId A = new HostId("kvm-a");
    protected static final HostId B = new HostId("kvm-b");
    protected static final HostId C = new HostId("kvm-c");
    /** The hosts every subject runs a transport for; each knows the others' addresses. */
    protected static final List<HostId> HOSTS = List.of(A, B, C);

    /** One started transport per host of {@link #HOSTS}, and what each received. */
    public interface Subject extends AutoCloseable {
        /** The started transport of {@code host}. */
        Transport transport(HostId host);

        /**
         * The next heartbeat {@code host}'s transport handed to its node, waiting at most
         * {@code within}; null if none came.
         */
        Heartbeat next(HostId host, Duration within) throws InterruptedException;

        /** Stops {@code host}'s transport, as a daemon that exits or crashes stops it. */
        void stop(HostId host);

        /** Datagrams from outside any transport, or null when this subject has no wire. */
        Wire wire();

        @Override
        void close();
    }

    /**
     * One sending socket that is no transport of the cluster: it sends what a stranger, a
     * misconfigured host or an attacker could. All its datagrams take one path, in order.
     */
    public interface Wire {
        /** What {@code host}'s transport would send to {@code to}: genuine, of this cluster. */
        void genuine(HostId to, Heartbeat heartbeat) throws Exception;

        /** The same genuine datagram as the last {@link #genuine} to {@code to}, once more. */
        void replayLast(HostId to) throws Exception;

        /** A heartbeat that looks genuine but is sealed with a key that is not the cluster's. */
        void forged(HostId to, Heartbeat heartbeat) throws Exception;

        /** A genuine heartbeat addressed to {@code addressedTo}, delivered to {@code deliveredTo}. */
        void misaddressed(HostId deliveredTo, HostId addressedTo, Heartbeat heartbeat) throws Exception;

        /** Bytes that are no heartbeat at all. */
        void garbage(HostId to) throws Exception;
    }


    private long sequence;

    /** A new heartbeat of {@code from}, later than every one before it. */
    private Heartbeat beat(HostId from) {
        sequence++;
        return new Heartbeat(from, 7, sequence, 3, 1_000_000L * sequence, 500_000L * sequence, 40, false);
    }

    private Heartbeat arrives(HostId at) throws InterruptedException {
        Heartbeat h = subject().next(at, WAIT);
        assertNotNull(h, "no heartbeat reached " + at + " within " + WAIT.toMillis() + " ms");
        return h;
    }

    /** {@code marker} is the next thing {@code at} receives: what was sent there before it was dropped. */
    private void nextIs(HostId at, Heartbeat marker, String dropped) throws InterruptedException {
        assertEquals(marker, arrives(at), at + " received something before the marker: " + dropped + " was not dropped");
    }

    // ---------------------------------------------------------------- delivery

    @Test
    void aHeartbeatArrivesWholeAtTheNamedPeer() throws Exception {
        Heartbeat frozen = new Heartbeat(A, 9, 1, 12, 5_000, Heartbeat.NO_ECHO, Heartbeat.NEVER, true);
        subject().transport(A).send(B, frozen);
        assertEquals(frozen, arrives(B), "every field of the heartbeat, as sent");

        Heartbeat answer = new Heartbeat(B, 2, 1, 12, 6_000, frozen.sentNanos(), 0, false);
        subject().transport(B).send(A, answer);
        assertEquals(answer, arrives(A), "and the other way");
    }

    @Test
    void aHeartbeatWithTheLargestDigestArrivesWhole() throws Exception {
        byte[] entries = new byte[2 * HeartbeatCodec.MAX_DIGEST_HOSTS];
        for (int i = 0; i < entries.length; i++) {
            entries[i] = (byte) (i % 251);
        }
        Heartbeat big = new Heartbeat(A, 9, 1, 12, 5_000, 4_000, 0, false,
                new io.havn.common.node.HealthDigest(0x5eedL, entries));
        subject().transport(A).send(B, big);
        assertEquals(big, arrives(B), "a digest of " + HeartbeatCodec.MAX_DIGEST_HOSTS + " hosts, every byte");
    }

    @Test
    void aHeartbeatArrivesOnceAndOnlyAtTheNamedPeer() throws Exception {
        Heartbeat toB = beat(A);
        subject().transport(A).send(B, toB);
        assertEquals(toB, arrives(B));

        Heartbeat markerB = beat(A);
        Heartbeat markerC = beat(A);
        Heartbeat markerA = beat(B);
        subject().transport(A).send(B, markerB);
        subject().transport(A).send(C, markerC);
        subject().transport(B).send(A, markerA);
        nextIs(B, markerB, "a second copy of " + toB);
        nextIs(C, markerC, "a copy of " + toB + " meant for " + B);
        nextIs(A, markerA, "a copy of " + toB + " back at its sender");
    }

    @Test
    void heartbeatsToSeveralPeersEachReachTheirOwn() throws Exception {
        Heartbeat toB = beat(A);
        Heartbeat toC = beat(A);
        subject().transport(A).send(B, toB);
        subject().transport(A).send(C, toC);
        assertEquals(toB, arrives(B));
        assertEquals(toC, arrives(C));
    }

    @Test
    void aSendToAnUnknownHostIsDroppedQuietly() throws Exception {
        Heartbeat lost = beat(A);
        assertDoesNotThrow(() -> subject().transport(A).send(new HostId("kvm-nowhere"), lost));

        Heartbeat toB = beat(A);
        Heartbeat toC = beat(A);
        subject().transport(A).send(B, toB);
        subject().transport(A).send(C, toC);
        nextIs(B, toB, lost + " to an unknown host");
        nextIs(C, toC, lost + " to an unknown host");
    }

    // ---------------------------------------------------------------- stopping

    @Test
    void aStoppedTransportSendsNothingAndDoesNotThrow() throws Exception {
        subject().stop(A);
        Heartbeat late = beat(A);
        assertDoesNotThrow(() -> subject().transport(A).send(B, late), "send after stop");

        assertNull(subject().next(B, QUIET), "a stopped transport sent " + late);
        Heartbeat marker = beat(C);
        subject().transport(C).send(B, marker);
        nextIs(B, marker, late + " from a stopped transport");
    }

    @Test
    void aStoppedTransportReceivesNothing() throws Exception {
        subject().stop(B);
        subject().transport(A).send(B, beat(A));
        assertNull(subject().next(B, QUIET), "a stopped transport still hands heartbeats to its node");
    }

    @Test
    void aPeerThatStoppedDoesNotDisturbSendingToTheOthers() throws Exception {
        subject().stop(B);
        for (int i = 0; i < 5; i++) {
            subject().transport(A).send(B, beat(A));
        }
        Heartbeat toC = beat(A);
        subject().transport(A).send(C, toC);
        assertEquals(toC, arrives(C));
    }

    // ---------------------------------------------------------------- what is dropped

    @Test
    void aHeartbeatNotSealedWithTheClusterKeyIsDropped() throws Exception {
        Heartbeat forged = beat(A);
        droppedBeforeMarker("the forged " + forged, w -> w.forged(B, forged));
    }

    @Test
    void aHeartbeatAddressedToAnotherHostIsDropped() throws Exception {
        Heartbeat forC = beat(A);
        droppedBeforeMarker(forC + " addressed to " + C, w -> w.misaddressed(B, C, forC));
    }

    @Test
    void aReplayedHeartbeatIsDropped() throws Exception {
        Heartbeat once = beat(A);
        droppedBeforeMarker("the replay of " + once, w -> {
            w.genuine(B, once);
            assertEquals(once, arrives(B));
            w.replayLast(B);
        });
    }

    @Test
    void bytesThatAreNoHeartbeatAreDroppedAndReceptionGoesOn() throws Exception {
        droppedBeforeMarker("garbage", w -> w.garbage(B));
    }

    /** What {@code send} puts on the wire for B never reaches B's node; a genuine marker after it does. */
    private void droppedBeforeMarker(String what, WireStep send) throws Exception {
        Wire w = subject().wire();
        assumeTrue(w != null, "this transport has no raw wire to send from");
        send.on(w);
        Heartbeat marker = beat(A);
        w.genuine(B, marker);
        nextIs(B, marker, what);
    }

    @FunctionalInterface
    private interface WireStep {
        void on(Wire w) throws Exception;
    }
}
