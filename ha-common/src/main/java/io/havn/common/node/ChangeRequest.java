package io.havn.common.node;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.havn.common.model.HostId;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * An operator's change on its way to the leader (znode {@code requests/<id>}). The host that took
 * the request writes it PENDING; the leader, which alone acts on the cluster, checks it against its
 * own view and writes its verdict together with the change itself, in one atomic write under its
 * epoch; the origin answers the operator with that verdict and removes the request. Going through
 * the coordination service, a request outlives a change of leader and is never carried out twice.
 *
 * @param id             the znode name: origin, session and a sequence number
 * @param origin         the host that took the request and answers the operator
 * @param originSession  the origin's session: a request whose origin session is gone has nobody to
 *                       answer and is dropped unexecuted
 * @param command        what the operator asked
 * @param heldByOrigin   for {@code vm-add}: the VM runs (or is paused) on the origin now
 * @param verdict        PENDING until the leader decides
 * @param code           for REFUSED: a stable error code
 * @param message        the leader's answer, in words
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChangeRequest(String id, HostId origin, long originSession, AdminCommand command, boolean heldByOrigin,
                            Verdict verdict, String code, String message) {
    public enum Verdict { PENDING, ACCEPTED, REFUSED }

    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    public ChangeRequest {
        checkId(id);
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(command, "command");
        Objects.requireNonNull(verdict, "verdict");
        if (command instanceof AdminCommand.Status) {
            throw new IllegalArgumentException("status is answered by the host that takes it, not the leader");
        }
        if (verdict == Verdict.REFUSED && code == null) {
            throw new IllegalArgumentException("a refused request needs an error code");
        }
    }

    /** {@code id} if it is a valid request id (it names a znode), else an exception saying why not. */
    public static String checkId(String id) {
        Objects.requireNonNull(id, "request id");
        if (!ID.matcher(id).matches()) {
            throw new IllegalArgumentException("invalid request id '" + id + "'");
        }
        return id;
    }

    public static ChangeRequest pending(String id, HostId origin, long session, AdminCommand command,
                                        boolean heldByOrigin) {
        return new ChangeRequest(id, origin, session, command, heldByOrigin, Verdict.PENDING, null, null);
    }

    public ChangeRequest accepted(String why) {
        return new ChangeRequest(id, origin, originSession, command, heldByOrigin, Verdict.ACCEPTED, null, why);
    }

    public ChangeRequest refused(String errorCode, String why) {
        return new ChangeRequest(id, origin, originSession, command, heldByOrigin, Verdict.REFUSED, errorCode, why);
    }

    public boolean pending() {
        return verdict == Verdict.PENDING;
    }
}
