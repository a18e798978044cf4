package io.github.jconv;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * For each kind of ConvSpec message that suggests a value: trigger it, read the suggested value out of
 * the message, apply it to the same builder and check that the spec then builds.
 */
class SuggestedValuesTest {

    private static ConvSpec.Builder conv() {
        return ConvSpec.convolution().channels(2, 2);
    }

    /** The message of the failure {@code bad} raises. */
    private static String message(Supplier<ConvSpec.Builder> bad) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bad.get().build());
        return e.getMessage();
    }

    /** The value after "e.g. ..." for {@code name = value}, a number or a [list]. */
    private static int[] suggested(String message, String name) {
        int eg = message.indexOf("e.g. ");
        assertTrue(eg >= 0, () -> "no suggestion in: " + message);
        Matcher m = Pattern.compile(Pattern.quote(name) + " = (\\[[-0-9, ]+\\]|-?\\d+)").matcher(message);
        if (!m.find(eg)) fail("no '" + name + " = value' after e.g. in: " + message);
        return ints(m.group(1));
    }

    /** The arguments of a suggested builder call {@code method(a, b)}. */
    private static int[] call(String message, String method) {
        Matcher m = Pattern.compile("(?<![A-Za-z])" + Pattern.quote(method) + "\\(([-0-9, ]+)\\)").matcher(message);
        if (!m.find()) fail("no call " + method + "(...) in: " + message);
        return ints(m.group(1));
    }

    private static int[] ints(String s) {
        return Arrays.stream(s.replace("[", "").replace("]", "").split(","))
                .map(String::trim).mapToInt(Integer::parseInt).toArray();
    }

    /** Triggers {@code bad}, applies the suggestion with {@code fix} to a fresh builder, and builds. */
    private static ConvSpec check(Supplier<ConvSpec.Builder> bad, Function<String, ConvSpec.Builder> fix) {
        String m = message(bad);
        try {
            return fix.apply(m).build();
        } catch (IllegalArgumentException e) {
            throw new AssertionError("the suggestion of \"" + m + "\" does not build: " + e.getMessage(), e);
        }
    }

    @Test
    void rankMismatchSuggestionsHaveOneValidValuePerAxis() {
        // the old message suggested kernel = [3, 3, 0]: a zero kernel
        check(() -> conv().input(8, 8, 8).kernel(3, 3), m -> conv().input(8, 8, 8).kernel(suggested(m, "kernel")));
        check(() -> conv().input(8, 8, 8).kernel(3).dilation(2, 2), m -> conv().input(8, 8, 8).kernel(3).dilation(suggested(m, "dilation")));
        check(() -> conv().input(8, 8).kernel(3).stride(2, 2, 2), m -> conv().input(8, 8).kernel(3).stride(suggested(m, "stride")));
        check(() -> conv().input(8, 8).kernel(3).paddingLo(-1, -1, -1), m -> conv().input(8, 8).kernel(3).paddingLo(suggested(m, "padding_lo")));
        check(() -> conv().input(8, 8, 8).kernel(3).paddingHi(1, 2), m -> conv().input(8, 8, 8).kernel(3).paddingHi(suggested(m, "padding_hi")));
        check(() -> ConvSpec.transposed().channels(2, 2).input(8, 8, 8).kernel(3).stride(2).outputPadding(1, 1),
                m -> ConvSpec.transposed().channels(2, 2).input(8, 8, 8).kernel(3).stride(2).outputPadding(suggested(m, "output_padding")));
        check(() -> ConvSpec.transposed().channels(2, 2).input(8, 8).kernel(3).outputSize(10, 10, 10),
                m -> ConvSpec.transposed().channels(2, 2).input(8, 8).kernel(3).outputSize(suggested(m, "output_size")));
        String m = message(() -> conv().input(8, 8).kernel(3, 3, 0));
        assertEquals("[3, 3]", Arrays.toString(suggested(m, "kernel")));
    }

    @Test
    void missingAndBadlyRankedInputs() {
        check(() -> conv().kernel(3), m -> conv().kernel(3).input(call(m, "input")));
        check(() -> conv().input(8, 8, 8, 8).kernel(3), m -> conv().kernel(3).input(call(m, "input")));
        check(() -> ConvSpec.deformable().channels(2, 2).input(8, 8, 8).kernel(3),
                m -> ConvSpec.deformable().channels(2, 2).kernel(3).input(call(m, "input")));
        check(() -> conv().input(8), m -> conv().input(8).kernel(suggested(m, "kernel")));
        check(() -> ConvSpec.convolution().input(8).kernel(3), m -> {
            int[] c = call(m, "channels");
            return ConvSpec.convolution().channels(c[0], c[1]).input(8).kernel(3);
        });
    }

    @Test
    void nonPositiveAndNegativeValues() {
        check(() -> ConvSpec.convolution().channels(0, 4).input(8).kernel(3),
                m -> ConvSpec.convolution().channels(suggested(m, "in_channels")[0], 4).input(8).kernel(3));
        check(() -> conv().batch(-1).input(8).kernel(3), m -> conv().batch(suggested(m, "batch")[0]).input(8).kernel(3));
        check(() -> conv().input(8, 0).kernel(1), m -> conv().input(8, suggested(m, "input[1]")[0]).kernel(1));
        check(() -> conv().input(8).kernel(3).stride(0), m -> conv().input(8).kernel(3).stride(suggested(m, "stride")));
        check(() -> conv().input(8).kernel(3).dilation(-2), m -> conv().input(8).kernel(3).dilation(suggested(m, "dilation")));
        check(() -> conv().input(8).kernel(3).padding(-1), m -> conv().input(8).kernel(3).padding(suggested(m, "padding")));
        check(() -> conv().groups(0).input(8).kernel(3), m -> conv().groups(suggested(m, "groups")[0]).input(8).kernel(3));
    }

    @Test
    void divisorsAndKernelsThatFit() {
        check(() -> ConvSpec.convolution().channels(64, 48).groups(32).input(8).kernel(3),
                m -> ConvSpec.convolution().channels(64, 48).groups(suggested(m, "groups")[0]).input(8).kernel(3));
        check(() -> ConvSpec.deformable().channels(6, 4).offsetGroups(4).input(8, 8).kernel(3),
                m -> ConvSpec.deformable().channels(6, 4).offsetGroups(suggested(m, "offset_groups")[0]).input(8, 8).kernel(3));
        // effective kernel 7 on a 5-wide input: kernel (5−1)/3+1 = 2, or padding ⌈(7−5)/2⌉ = 1
        check(() -> conv().input(5).kernel(3).dilation(3), m -> conv().input(5).kernel(suggested(m, "kernel")).dilation(3));
        check(() -> conv().input(5).kernel(3).dilation(3), m -> conv().input(5).kernel(3).dilation(3).padding(suggested(m, "padding")));
        check(() -> conv().input(4, 4).kernel(5), m -> conv().input(4, 4).kernel(suggested(m, "kernel")));
        check(() -> conv().input(4, 4).kernel(6), m -> conv().input(4, 4).kernel(6).padding(suggested(m, "padding")));
    }

    @Test
    void transposedValues() {
        check(() -> ConvSpec.transposed().channels(2, 2).input(7).kernel(3).stride(2).outputPadding(2),
                m -> ConvSpec.transposed().channels(2, 2).input(7).kernel(3).stride(2).outputPadding(suggested(m, "output_padding")));
        check(() -> ConvSpec.transposed().channels(2, 2).input(1).kernel(1).padding(1),
                m -> ConvSpec.transposed().channels(2, 2).input(1).kernel(1).padding(suggested(m, "padding")));
        check(() -> ConvSpec.transposed().channels(2, 2).input(7).kernel(3).stride(2).outputSize(20),
                m -> ConvSpec.transposed().channels(2, 2).input(7).kernel(3).stride(2).outputSize(suggested(m, "output_size")));
        // input 1, kernel 1, padding 2: 0 − 4 + 1 = −3 is the only reachable size; the old message suggested output_size = 1
        check(() -> ConvSpec.transposed().channels(2, 2).input(1).kernel(1).padding(2).outputSize(1),
                m -> ConvSpec.transposed().channels(2, 2).input(1).kernel(1).padding(suggested(m, "padding")).outputSize(1));
    }

    @Test
    void outputsBeyondIntSuggestAStrideOrAnInput() {
        // padded 2^30 + 2·(2^31−1) = 5368709118: stride ⌈5368709117/2147483646⌉ = 3 gives 1789569706
        ConvSpec c = check(() -> conv().input(1 << 30).kernel(1).padding(Integer.MAX_VALUE),
                m -> conv().input(1 << 30).kernel(1).padding(Integer.MAX_VALUE).stride(suggested(m, "stride")));
        assertEquals(1789569706, c.output(0));
        // 4·(2^30 − 1) + 1 > 2^31 − 1; input ⌊(2^31 − 2)/4⌋ + 1 = 536870912 gives 4·536870911 + 1 = 2147483645
        ConvSpec t = check(() -> ConvSpec.transposed().channels(1, 1).input(1 << 30).kernel(1).stride(4),
                m -> ConvSpec.transposed().channels(1, 1).input(suggested(m, "input")).kernel(1).stride(4));
        assertEquals(2147483645, t.output(0));
    }

    @Test
    void sizeOverflowsSuggestAValueThatFits() {
        check(() -> ConvSpec.parse("mb1048576ic65536ih1024oc65536kh1").toBuilder(),
                m -> ConvSpec.parse("mb1ic65536ih1024oc65536kh1").toBuilder().batch(suggested(m, "batch")[0]));
        ConvSpec.Builder wide = ConvSpec.convolution().channels(1 << 16, 1 << 16).groups(1 << 16).input(1 << 17).kernel(1).stride(1 << 16);
        check(() -> wide.batch(Integer.MAX_VALUE), m -> wide.batch(suggested(m, "batch")[0]));
        check(() -> ConvSpec.deformable().channels(1, 1).input(50000, 50000).kernel(50000),
                m -> ConvSpec.deformable().channels(1, 1).input(50000, 50000).kernel(suggested(m, "kernel")));
        // 2·offset_groups·kh·kw = 2·64·2^24 > 2^31: offset_groups <= 2^31/2^25 = 63.99 -> largest divisor of 64 is 32
        check(() -> ConvSpec.deformable().channels(64, 1).offsetGroups(64).input(4096, 4096).kernel(4096),
                m -> ConvSpec.deformable().channels(64, 1).offsetGroups(suggested(m, "offset_groups")[0]).input(4096, 4096).kernel(4096));
    }

    @Test
    void paddingSameRefusalsSuggestWhatToUse() {
        check(() -> conv().input(8, 8).kernel(4).stride(2).paddingSame(),
                m -> conv().input(8, 8).kernel(4).stride(call(m, "stride")).paddingSame());
        check(() -> conv().input(8, 8).kernel(4).stride(2).paddingSame(),
                m -> conv().input(8, 8).kernel(4).stride(2).paddingLo(call(m, "paddingLo")).paddingHi(call(m, "paddingHi")));
        ConvSpec d = check(() -> ConvSpec.deformable().channels(2, 2).input(8, 9).kernel(3, 4).dilation(2, 1).paddingSame(),
                m -> ConvSpec.deformable().channels(2, 2).input(8, 9).kernel(3, 4).dilation(2, 1)
                        .paddingLo(call(m, "paddingLo")).paddingHi(call(m, "paddingHi")));
        assertEquals("[8, 9]", Arrays.toString(d.output()));
        ConvSpec t = check(() -> ConvSpec.transposed().channels(2, 2).input(5, 6).kernel(4, 1).stride(2, 3).paddingSame(),
                m -> ConvSpec.transposed().channels(2, 2).input(5, 6).kernel(4, 1).stride(2, 3)
                        .paddingLo(call(m, "paddingLo")).paddingHi(call(m, "paddingHi")).outputPadding(call(m, "outputPadding")));
        assertEquals("[10, 18]", Arrays.toString(t.output()));  // stride·input
    }
}
