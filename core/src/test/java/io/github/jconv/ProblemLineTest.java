package io.github.jconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProblemLineTest {

    @Test
    void theShortFormFillsSquareAxesLikeBenchdnn() {
        ConvSpec s = ConvSpec.parse("mb8ic64ih56oc64kh3ph1");
        assertEquals(8, s.batch());
        assertArrayEquals(new int[] {56, 56}, s.input());
        assertArrayEquals(new int[] {3, 3}, s.kernel());
        assertArrayEquals(new int[] {1, 1}, s.paddingLo());
        assertArrayEquals(new int[] {1, 1}, s.paddingHi());
        assertArrayEquals(new int[] {1, 1}, s.stride());
        assertTrue(s.bias());
    }

    @Test
    void markersSelectTheOperationAndItsOptions() {
        ConvSpec t = ConvSpec.parse("tr1mb2ic4ih7oc4kh3sh2ph1oph1");
        assertEquals(ConvType.TRANSPOSED, t.type());
        assertEquals(1, t.outputPadding(1));
        ConvSpec d = ConvSpec.parse("dg2msk1mb1ic4ih6oc4kh3ph1bia0");
        assertEquals(ConvType.DEFORMABLE, d.type());
        assertEquals(2, d.offsetGroups());
        assertTrue(d.modulated());
        assertFalse(d.bias());
        ConvSpec one = ConvSpec.parse("mb1ic3iw17oc5kw4sw3pw2dw2");
        assertEquals(1, one.rank());
        ConvSpec three = ConvSpec.parse("mb1ic3id5ih6iw7oc2kd3kh1kw2");
        assertArrayEquals(new int[] {5, 6, 7}, three.input());
        assertArrayEquals(new int[] {3, 1, 2}, three.kernel());
    }

    @Test
    void highSidePaddingIsItsOwnMarker() {
        ConvSpec s = ConvSpec.parse("mb1ic1ih8iw9oc1kh3ph0pw1phr2pwr0");
        assertArrayEquals(new int[] {0, 1}, s.paddingLo());
        assertArrayEquals(new int[] {2, 0}, s.paddingHi());
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "g1mb8ic64ih56iw56oc64kh3kw3ph1pw1",
        "g8mb8ic128ih28iw28oc128kh3kw3ph1pw1",
        "g1mb1ic3iw17oc5kw4sw3pw2dw2",
        "tr1g2mb2ic4ih7iw5oc6kh3kw2sh2sw3ph1pw0oph1opw2",
        "dg2msk1g1mb1ic4ih6iw6oc4kh3kw3ph1pw1bia0",
        "g1mb2ic32id16ih56iw56oc32kd3kh3kw3pd1ph1pw1",
        "g1mb1ic1ih8iw9oc1kh3kw3ph0pw1phr2pwr0",
    })
    void formatAndParseAreInverses(String line) {
        ConvSpec s = ConvSpec.parse(line);
        assertEquals(line, s.toString());
        assertEquals(s, ConvSpec.parse(s.toString()));
    }
}
