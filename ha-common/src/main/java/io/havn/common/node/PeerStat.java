package io.havn.common.node;

import io.havn.common.model.HostId;

/**
 * What one node knows of one peer from its heartbeats, for status and metrics.
 *
 * @param host         the peer
 * @param health       rule 5's health: HEALTHY, LOST (it says it lost its coordination) or UNKNOWN
 *                     (no fresh heartbeat)
 * @param suspected    whether the failure detector suspects it now
 * @param phi          the failure detector's suspicion level now
 * @param rttMs        the echo delay of the last heartbeat: from our heartbeat that it echoes to its
 *                     arrival here, so the network round trip plus up to one heartbeat interval the
 *                     peer held it; NaN before the first echo
 * @param sinceLastMs  milliseconds since its last heartbeat arrived; -1 if none ever did
 */
public record PeerStat(HostId host, String health, boolean suspected, double phi, double rttMs, long sinceLastMs) {
}
