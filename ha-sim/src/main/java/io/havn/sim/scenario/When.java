package io.havn.sim.scenario;

/** When an expectation must hold: at an instant, by a deadline, at the end, throughout, or never. */
public enum When { AT, BY, END, ALWAYS, NEVER }
