package io.havn.common.port;

import io.havn.common.model.ClusterRecord;
import io.havn.common.model.HostId;
import io.havn.common.model.HostRecord;
import io.havn.common.model.VmId;
import io.havn.common.model.VmRecord;
import io.havn.common.node.ChangeRequest;

/**
 * One operation of an atomic multi-op on the cluster state. Either every op of a write applies
 * or none does. Versions are those the coordinator reported; {@link #NEW} means "must not exist".
 */
public sealed interface CoordOp {
    int NEW = -1;

    /** Fails unless the epoch is exactly {@code epoch}: fences the writes of a deposed leader. */
    record CheckEpoch(long epoch) implements CoordOp { }

    /** Fails unless {@code session} of {@code host} is live: binds a host's claim to its session. */
    record CheckSessionLive(HostId host, long session) implements CoordOp { }

    /** Fails if {@code session} of {@code host} is still live: part of the proof of death. */
    record CheckSessionGone(HostId host, long session) implements CoordOp { }

    /** Fails unless the host record is at {@code version}. */
    record CheckHost(HostId host, int version) implements CoordOp { }

    /** Fails unless the cluster record is at {@code version} ({@link #NEW}: absent). */
    record CheckCluster(int version) implements CoordOp { }

    /** Writes the cluster record if it is at {@code expectedVersion} (or absent, for NEW). */
    record PutCluster(ClusterRecord record, int expectedVersion) implements CoordOp { }

    /** Writes a VM record if it is at {@code expectedVersion} (or absent, for NEW). */
    record PutVm(VmRecord record, int expectedVersion) implements CoordOp { }

    /** Removes a VM record at {@code expectedVersion}. */
    record DeleteVm(VmId vm, int expectedVersion) implements CoordOp { }

    /** Writes a host record if it is at {@code expectedVersion} (or absent, for NEW). */
    record PutHost(HostRecord record, int expectedVersion) implements CoordOp { }

    /** Writes an operator's change request if it is at {@code expectedVersion} (or absent, for NEW). */
    record PutRequest(ChangeRequest record, int expectedVersion) implements CoordOp { }

    /** Removes a change request at {@code expectedVersion}. */
    record DeleteRequest(String id, int expectedVersion) implements CoordOp { }
}
