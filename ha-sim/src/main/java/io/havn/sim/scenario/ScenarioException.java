package io.havn.sim.scenario;

/** A scenario file that cannot be used. The message reads {@code <source>: <where>: <what is wrong>}. */
public final class ScenarioException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String source;
    private final String where;
    private final String problem;

    public ScenarioException(String source, String where, String problem) {
        this(source, where, problem, null);
    }

    public ScenarioException(String source, String where, String problem, Throwable cause) {
        super(source + ": " + where + ": " + problem, cause);
        this.source = source;
        this.where = where;
        this.problem = problem;
    }

    /** The file (or other source) the scenario came from. */
    public String source() {
        return source;
    }

    /** The place in the file, e.g. {@code timeline[2].do} or {@code vms.web1.host}. */
    public String where() {
        return where;
    }

    /** What is wrong. */
    public String problem() {
        return problem;
    }
}
