package io.havn.common.port;

import io.havn.common.node.Decision;

/** Where the node reports each decision it takes: the log, metrics, the simulator's timeline. */
@FunctionalInterface
public interface DecisionLog {
    void record(Decision decision);
}
