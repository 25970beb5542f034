package io.havn.common.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.w3c.dom.Element;

/**
 * A table-driven test of one rule class: each row is an XML snippet, the policy it is checked
 * against, and what the problems must name (null: there must be none).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class RuleTable {
    static final DomainPolicy SHARED = new DomainPolicy(List.of("/srv/shared"), false,
            Set.of("/usr/bin/qemu-system-x86_64"));
    static final DomainPolicy PASSTHROUGH = new DomainPolicy(List.of("/srv/shared"), true, SHARED.emulators());

    /** The rows, made with {@link #ok}, {@link #okWithPassthrough} and {@link #bad}. */
    abstract Stream<Arguments> rows();

    /** Runs the rule under test on {@code root}, adding what it finds to {@code problems}. */
    abstract void check(Problems problems, Element root);

    @ParameterizedTest(name = "{0}")
    @MethodSource("rows")
    void row(String xml, String named, DomainPolicy policy) {
        Problems problems = new Problems(policy);
        check(problems, SafeXml.root(xml));
        assertNames(named, problems.all());
    }

    /** {@code xml} passes under {@link #SHARED}. */
    static Arguments ok(String xml) {
        return Arguments.of(xml, null, SHARED);
    }

    /** {@code xml} passes when the host allows passthrough. */
    static Arguments okWithPassthrough(String xml) {
        return Arguments.of(xml, null, PASSTHROUGH);
    }

    /** {@code xml} fails under {@link #SHARED} with a problem naming {@code named}. */
    static Arguments bad(String xml, String named) {
        return Arguments.of(xml, named, SHARED);
    }

    /** {@code problems} holds one naming {@code named}, or none when it is null. */
    static void assertNames(String named, List<String> problems) {
        if (named == null) {
            assertEquals(List.of(), problems);
        } else {
            assertTrue(problems.stream().anyMatch(p -> p.contains(named)), "should name " + named + ": " + problems);
        }
    }
}
