package io.havn.common.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Rule 5's majority: voters, the coordination service's vote in even clusters, unknown hosts. */
class QuorumTest {
    /** H healthy, L lost, U unknown; one letter per host that votes ("-": none). */
    private static List<Peers.Health> votes(String letters) {
        List<Peers.Health> out = new ArrayList<>();
        for (char c : letters.replace("-", "").toCharArray()) {
            out.add(switch (c) {
                case 'H' -> Peers.Health.HEALTHY;
                case 'L' -> Peers.Health.LOST;
                case 'U' -> Peers.Health.UNKNOWN;
                default -> throw new IllegalArgumentException("no health '" + c + "'");
            });
        }
        return out;
    }

    @ParameterizedTest(name = "{0} hosts, votes {1}: {2} voters, healthy majority {3}, lost majority {4}")
    @CsvSource(delimiter = '|', textBlock = """
            0 | -      | 1 | false | false
            1 | -      | 1 | false | false
            1 | H      | 1 | true  | false
            1 | L      | 1 | false | true
            2 | HU     | 3 | true  | false
            2 | HL     | 3 | true  | false
            2 | LU     | 3 | false | false
            2 | LL     | 3 | false | true
            2 | UU     | 3 | false | false
            3 | HHL    | 3 | true  | false
            3 | HLL    | 3 | false | true
            3 | HLU    | 3 | false | false
            3 | LLU    | 3 | false | true
            3 | UUU    | 3 | false | false
            4 | HHLL   | 5 | true  | false
            4 | HHUU   | 5 | true  | false
            4 | HUUU   | 5 | false | false
            4 | HLLL   | 5 | false | true
            4 | LLUU   | 5 | false | false
            4 | LLLU   | 5 | false | true
            4 | LLLL   | 5 | false | true
            5 | HHHLL  | 5 | true  | false
            5 | HHLLL  | 5 | false | true
            5 | HHLLU  | 5 | false | false
            6 | HHHLLL | 7 | true  | false
            6 | HHLLLU | 7 | false | false
            6 | LLLLLL | 7 | false | true
            """)
    void aStrictMajorityOfVoters(int hosts, String letters, int voters, boolean healthy, boolean lost) {
        Quorum q = Quorum.of(hosts, votes(letters));
        assertEquals(voters, q.voters(), "voters");
        assertEquals(healthy, q.majorityHealthy(), "a strict majority healthy: " + q);
        assertEquals(lost, q.majorityLost(), "a strict majority freshly lost: " + q);
    }

    @Test
    void inA2To2SplitTheCoordinationServicesVoteGoesToTheHalfWithValidLeases() {
        Quorum q = Quorum.of(4, votes("HHLL"));
        assertEquals(true, q.majorityHealthy(), "the half that holds leases counts the vote: 3 of 5");
        assertEquals(false, q.majorityLost(), "the lost half does not freeze: 2 of 5, so it self-fences");
    }

    @Test
    void unknownHostsCountAsNeither() {
        Quorum q = Quorum.of(5, votes("HULUU"));
        assertEquals(new Quorum(5, 1, 1), q);
    }

    @Test
    void negativeCountsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Quorum(3, -1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Quorum(-1, 0, 0));
    }
}
