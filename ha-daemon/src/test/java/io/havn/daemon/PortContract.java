package io.havn.daemon;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * What the port contract suites share: each test gets a fresh subject (the adapter under test and
 * what drives it), closed after the test whatever its outcome. A suite states the port's contract;
 * a subclass per adapter says how to make a subject.
 */
public abstract class PortContract<S extends AutoCloseable> {
    private S subject;

    /** A new subject, ready for one test. */
    protected abstract S newSubject() throws Exception;

    /** The subject of the running test. */
    protected final S subject() {
        return subject;
    }

    @BeforeEach
    protected final void startSubject() throws Exception {
        subject = newSubject();
    }

    @AfterEach
    protected final void closeSubject() throws Exception {
        if (subject != null) {
            subject.close();
        }
    }
}
