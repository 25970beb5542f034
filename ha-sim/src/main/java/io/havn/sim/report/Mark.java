package io.havn.sim.report;

/** Something that happened at an instant: on a host's lane, or cluster-wide when host is null. */
public record Mark(long atMs, String host, Kind kind, String label) {

    /** What sort of thing happened; decides colour and symbol in the timeline. */
    public enum Kind { FAULT, FENCE, SELF_FENCE, LEADER, ADMIN, ALARM }
}
