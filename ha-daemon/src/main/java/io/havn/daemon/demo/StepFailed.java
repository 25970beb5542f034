package io.havn.daemon.demo;

/** A step of the demo did not happen, or not in time; the message says which and what was seen. */
final class StepFailed extends Exception {
    StepFailed(String message) {
        super(message);
    }
}
