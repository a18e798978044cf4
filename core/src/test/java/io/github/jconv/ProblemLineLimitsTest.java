package io.github.jconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The problem line is read in linear time, has a length limit, quotes little and refuses what it cannot honour. */
class ProblemLineLimitsTest {

    private static IllegalArgumentException refused(String line, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConvSpec.parse(line));
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), () -> "message lacks '" + f + "': " + e.getMessage());
        }
        return e;
    }

    /** Lines that made the old regular-expression reader backtrack: each took seconds to minutes. */
    private static String[] hostileLines(int length) {
        return new String[] {
            "a".repeat(length),                              // letters and never a digit
            "mb8" + "x".repeat(length - 3),                  // a good token, then letters
            "mb8ic64ih56oc64kh3" + "z".repeat(length - 19) + " ",
            "1".repeat(length),                              // digits and never a marker
            "mb8ic64".repeat(length / 7),                    // repeated markers
        };
    }

    @Test
    void aHundredThousandCharacterLineIsRefusedWellWithinASecond() {
        // The old reader took 69 s for 100,000 characters (quadratic); 2 s is a generous bound for a linear one.
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            for (String line : hostileLines(100_000)) {
                IllegalArgumentException e = refused(line, line.length() + " characters", "limit of " + ProblemLine.MAX_LENGTH);
                assertTrue(e.getMessage().length() < 400, () -> "message of " + e.getMessage().length() + " characters");
            }
        });
    }

    @Test
    void aLineAtTheLengthLimitIsReadInOnePass() {
        // 1000 characters of hostile text: refused for what it contains, fast, with a short message.
        assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
            for (int rep = 0; rep < 200; rep++) {
                for (String line : hostileLines(ProblemLine.MAX_LENGTH)) {
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConvSpec.parse(line));
                    assertTrue(e.getMessage().length() < 400, () -> "message of " + e.getMessage().length() + " characters");
                }
            }
        });
    }

    @Test
    void messagesQuoteAtMostAboutEightyCharactersOfTheLine() {
        String tail = "q".repeat(500);
        for (String line : new String[] {
            "mb8ic64ih56oc64kh3" + tail,                          // unknown marker 'qqq...'
            "mb8ic64ih56oc64kh3ph1mb8" + "1".repeat(300),         // a number beyond int
            "mb8ic64ih56oc64kh3" + "ph1".repeat(200),             // a marker given again
            "mb8ic64ih56oc64kh3 " + tail,                         // unreadable
        }) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ConvSpec.parse(line));
            String m = e.getMessage();
            assertFalse(m.contains(tail.substring(0, 100)), () -> "quotes the whole line: " + m);
            assertFalse(m.contains("1".repeat(100)), () -> "quotes the whole number: " + m);
            // the old messages held the line twice: at least 2 x 500 characters
            assertTrue(m.length() < 400, () -> "message of " + m.length() + " characters: " + m);
            assertTrue(m.contains("characters)"), () -> "a cut quote says how long the line is: " + m);
        }
    }

    @Test
    void aMarkerWithoutANumberIsNamed() {
        refused("mb8ic64ih56oc64kh", "cannot read from position 15", "marker 'kh' has no number");
        refused("mb8ic64ih56oc64kh3-1", "cannot read from position 18");
    }

    @ParameterizedTest(name = "{0}: {1}")
    @CsvSource(delimiter = '|', value = {
        // output padding without tr1 was silently dropped
        "mb1ic1ih8oc1kh3oph1            | oph1 given without tr1",
        "tr0mb1ic1ih8oc1kh3opw1         | opw1 given without tr1",
        // tr2 ran as a plain convolution, bia7 as bias on, msk5 as v1
        "tr2mb1ic1ih8oc1kh3             | tr = 2: a flag is 0 or 1",
        "mb1ic1ih8oc1kh3bia7            | bia = 7: a flag is 0 or 1",
        "dg1msk5mb1ic1ih8oc1kh3         | msk = 5: a flag is 0 or 1",
        // the mask without deformable was silently dropped
        "msk1mb1ic1ih8oc1kh3            | msk1 given without dg",
        // an axis the input does not have was silently dropped
        "mb1ic1ih8oc1kh3ph1pdr1         | pdr1 given but the input has rank 2",
        "mb1ic1iw8oc1kw3phr1            | phr1 given but the input has rank 1",
        "mb1ic1ih8oc1kh3opd1tr1         | opd1 given but the input has rank 2",
        "mb1ic1iw8oc1kw3sh2             | sh2 given but the input has rank 1",
    })
    void markersThatWouldBeIgnoredOrMisreadAreRefused(String line, String fragment) {
        refused(line.strip(), fragment.strip());
    }

    @Test
    void flagsTakeZeroOrOne() {
        assertEquals(ConvType.CONVOLUTION, ConvSpec.parse("tr0mb1ic1ih8oc1kh3").type());
        assertTrue(ConvSpec.parse("mb1ic1ih8oc1kh3bia1").bias());
        assertFalse(ConvSpec.parse("mb1ic1ih8oc1kh3bia0").bias());
        ConvSpec v1 = ConvSpec.parse("dg1msk0mb1ic1ih8oc1kh3");
        assertEquals(ConvType.DEFORMABLE, v1.type());
        assertFalse(v1.modulated());
    }

    @Test
    void aNumberBeyondIntIsNamed() {
        refused("mb1ic99999999999ih8oc1kh3", "ic = 99999999999", "does not fit in an int", "e.g. ic1");
    }
}
