package io.github.jconv;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each rule violation is an IllegalArgumentException naming the parameter, its value, the rule and a fix. */
class BadInputTest {

    private static void rejects(Executable e, String... fragments) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        for (String f : fragments) {
            assertTrue(ex.getMessage().contains(f), () -> "message lacks '" + f + "': " + ex.getMessage());
        }
    }

    @Test
    void nonPositiveSizesAreRejected() {
        rejects(() -> ConvSpec.convolution().channels(0, 4).input(8).kernel(3).build(), "in_channels = 0", "positive", "e.g.");
        rejects(() -> ConvSpec.convolution().batch(-1).channels(1, 4).input(8).kernel(3).build(), "batch = -1", "non-negative", "e.g. batch = 1");
        rejects(() -> ConvSpec.convolution().channels(1, 4).input(8, 0).kernel(3).build(), "input[1] = 0", "positive");
        rejects(() -> ConvSpec.convolution().channels(1, 4).input(8).kernel(3).stride(0).build(), "stride = 0", "positive");
        rejects(() -> ConvSpec.convolution().channels(1, 4).input(8).kernel(3).dilation(0).build(), "dilation = 0", "positive");
    }

    @Test
    void aKernelLargerThanThePaddedInputIsRejected() {
        rejects(() -> ConvSpec.convolution().channels(1, 1).input(4, 4).kernel(5).build(),
                "kernel[0] = 5", "exceeds padded input", "e.g. kernel = 4");
        rejects(() -> ConvSpec.convolution().channels(1, 1).input(5).kernel(3).dilation(3).build(),
                "effective kernel", "= 7", "padded input");
    }

    @Test
    void groupsThatDoNotDivideTheChannelsAreRejected() {
        rejects(() -> ConvSpec.convolution().channels(64, 64).groups(3).input(8).kernel(3).build(),
                "groups = 3", "must divide in_channels (64) and out_channels (64)", "e.g. groups = 2");
        rejects(() -> ConvSpec.convolution().channels(64, 48).groups(32).input(8).kernel(3).build(),
                "groups = 32", "e.g. groups = 16");
    }

    @Test
    void outputPaddingMustBeBelowTheLargerOfStrideAndDilation() {
        rejects(() -> ConvSpec.transposed().channels(4, 4).input(7).kernel(3).stride(2).outputPadding(2).build(),
                "output_padding = 2", "max(stride, dilation) = 2", "stride*(input-1)", "valid range 0..1");
        rejects(() -> ConvSpec.convolution().channels(4, 4).input(7).kernel(3).outputPadding(1).build(),
                "output_padding", "transposed convolution only");
        rejects(() -> ConvSpec.transposed().channels(4, 4).input(7).kernel(3).stride(2).outputSize(20).build(),
                "output_size = 20", "15..16");
    }

    @Test
    void negativePaddingIsRejected() {
        rejects(() -> ConvSpec.convolution().channels(1, 1).input(8).kernel(3).padding(-1).build(),
                "padding = (-1, -1)", "non-negative", "e.g. padding = 0");
    }

    @Test
    void rankMismatchesAreRejected() {
        rejects(() -> ConvSpec.convolution().channels(1, 1).input(8, 8).kernel(3, 3, 3).build(),
                "kernel = [3, 3, 3]", "rank mismatch", "2 spatial");
        rejects(() -> ConvSpec.deformable().channels(1, 1).input(8, 8, 8).kernel(3).build(),
                "deformable convolution is 2D only");
        rejects(() -> ConvSpec.parse("mb1ic3ih8oc4kh3kd3"), "kd3", "rank mismatch");
    }

    @Test
    void deformableOptionsNeedADeformableSpec() {
        rejects(() -> ConvSpec.convolution().channels(4, 4).input(8, 8).kernel(3).mask(true).build(),
                "deformable convolution only");
        rejects(() -> ConvSpec.deformable().channels(6, 4).offsetGroups(4).input(8, 8).kernel(3).build(),
                "offset_groups = 4", "must divide in_channels (6)", "e.g. offset_groups = 3");
    }

    @Test
    void elementCountsBeyondLongAreRejected() {
        rejects(() -> Shape.of(Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE),
                "overflows long");
        rejects(() -> ConvSpec.convolution().batch(Integer.MAX_VALUE).channels(Integer.MAX_VALUE, 1)
                .input(Integer.MAX_VALUE, 4).kernel(1).build(), "overflows long");
    }

    @Test
    void nullArgumentsAreRejectedByName() {
        rejects(() -> ConvSpec.convolution().channels(1, 1).kernel(3).build(), "input = null");
        rejects(() -> ConvSpec.convolution().channels(1, 1).input(8).build(), "kernel = null");
        rejects(() -> ConvSpec.convolution().channels(1, 1).input((int[]) null), "input = null");
        rejects(() -> ConvSpec.parse(null), "problem line = null");
        rejects(() -> Shape.of((int[]) null), "dims is null");
    }

    @Test
    void unreadableProblemLinesNameTheTrouble() {
        rejects(() -> ConvSpec.parse("mb8ic64ih56oc64kh3zz1"), "unknown marker 'zz'");
        rejects(() -> ConvSpec.parse("mb8ic64ih56ic3oc64kh3"), "'ic' appears twice");
        rejects(() -> ConvSpec.parse("mb8ih56oc64kh3"), "'ic' is required");
        rejects(() -> ConvSpec.parse("mb8ic64ih56oc64kh3 ph1"), "cannot read from position");
    }
}
