package io.github.jconv;

import io.github.jconv.analysis.LayerCost;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.time.Duration;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Overflows anywhere in a spec are IllegalArgumentExceptions that name the parameter or tensor. */
class SpecSizesTest {

    private static IllegalArgumentException rejects(Executable e, String... fragments) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        for (String f : fragments) {
            assertTrue(ex.getMessage().contains(f), () -> "message lacks '" + f + "': " + ex.getMessage());
        }
        return ex;
    }

    @Test
    void tooManyOffsetChannelsAreNamedNotAnArithmeticException() {
        // 2·offset_groups·kh·kw = 2·1·50000·50000 = 5,000,000,000 > 2^31−1. The largest square side with
        // 2·side² <= 2147483647 is 32767 (32768² = 2^30 = 1073741824 > 1073741823).
        rejects(() -> ConvSpec.parse("dg1ic1oc1ih50000iw50000kh50000kw50000"),
                "kernel = [50000, 50000]", "offset_groups = 1", "offset tensor", "5000000000", "e.g. kernel = [32767, 32767]");
        ConvSpec fixed = ConvSpec.parse("dg1ic1oc1ih50000iw50000kh32767kw32767");
        // output 50000 − 32767 + 1 = 17234; offset channels 2·32767² = 2147352578
        assertEquals(Shape.of(1, 2147352578, 17234, 17234), fixed.offsetShape());
        assertEquals(Shape.of(1, 1073676289, 17234, 17234), fixed.maskShape());
    }

    @Test
    void forwardFlopsThatWouldWrapAreRefusedWithABatchThatFits() {
        // one sample: 2·C_out·(o_h·o_w)·(C_in/g)·k = 2·2^16·2^20·2^16·1 = 2^53; three passes 3·2^53.
        // batch <= (2^63−1) / (3·2^53) = 1023.99.../3 -> 341 (3·341 = 1023 <= 1024). The old code returned
        // 2·2^20·2^53 = 2^74 wrapped to 0.
        rejects(() -> ConvSpec.parse("mb1048576ic65536ih1024oc65536kh1"),
                "batch = 1048576", "forward FLOPs", "e.g. batch = 341");
        ConvSpec fits = ConvSpec.parse("mb341ic65536ih1024oc65536kh1");
        assertEquals(2L * 341 * (1L << 52), fits.forwardFlops());
        assertEquals(3L * 2 * 341 * (1L << 52), LayerCost.of(fits).trainingFlops());
    }

    @Test
    void aBatchBeyondTheInputsElementCountNamesTheInputAndABatchThatFits() {
        // input per sample 2^16·2^17 = 2^33 elements; batch <= (2^63−1)/2^33 = 2^30 − 1 = 1073741823.
        // FLOPs (stride 2^16 leaves 2 outputs) are far smaller: 6·2^16·2·1·1 per sample.
        ConvSpec.Builder b = ConvSpec.convolution().channels(1 << 16, 1 << 16).groups(1 << 16)
                .input(1 << 17).kernel(1).stride(1 << 16);
        rejects(() -> b.batch(1 << 30).build(),
                "batch = 1073741824", "input shape [1073741824, 65536, 131072]", "overflows long", "e.g. batch = 1073741823");
        ConvSpec fits = b.batch(1073741823).build();
        assertEquals(1073741823L << 33, fits.inputShape().elementCount());
    }

    @Test
    void eachTensorThatOverflowsIsNamed() {
        // weight [65536, 65536, 2^20, 2^20] = 2^72 elements
        rejects(() -> ConvSpec.convolution().channels(65536, 65536).input(1 << 20, 1 << 20).kernel(1 << 20).build(),
                "weight shape [65536, 65536, 1048576, 1048576]", "overflows long");
        // transposed output per axis 2^10·(2^20 − 1) + 1 = 1073740801; 64·1073740801² ≈ 7.4e19 > 9.2e18
        rejects(() -> ConvSpec.transposed().channels(1, 64).input(1 << 20, 1 << 20).kernel(1).stride(1 << 10).build(),
                "output shape [1, 64, 1073740801, 1073740801]", "overflows long");
        // offsets: 2·2^20·9 = 18874368 channels of (2^20 − 2)² = 1048574² positions ≈ 2.1e19 elements
        rejects(() -> ConvSpec.deformable().channels(1 << 20, 1).offsetGroups(1 << 20).input(1 << 20, 1 << 20)
                .kernel(3).build(), "offset shape [1, 18874368, 1048574, 1048574]", "overflows long");
        rejects(() -> ConvSpec.convolution().batch(Integer.MAX_VALUE).channels(Integer.MAX_VALUE, 1)
                .input(Integer.MAX_VALUE, 4).kernel(1).build(), "input shape", "overflows long");
    }

    @Test
    void theDenseCounterpartOfAHugeGroupedLayerIsRefusedByLayerCost() {
        // depthwise 65536 channels, 65536×65536 kernel: weights 2^16·2^32 = 2^48 fit, but the dense layer
        // would have 2^16·2^16·2^32 = 2^64 (the old code wrapped it to 0 and reported an infinite saving).
        ConvSpec s = ConvSpec.convolution().channels(65536, 65536).groups(65536).input(65536, 65536).kernel(65536).build();
        assertEquals(1L << 48, s.weightShape().elementCount());
        rejects(() -> LayerCost.of(s), "groups = 1", "in_channels·out_channels·kernel", "more than a long holds");
    }

    @Test
    void divisorSuggestionsForHugeChannelCountsAreQuick() {
        // 2^31 − 1 is prime: the only divisor below it is 1. The old search counted down from the limit.
        assertTimeoutPreemptively(Duration.ofSeconds(1), () -> {
            rejects(() -> ConvSpec.convolution().channels(Integer.MAX_VALUE, Integer.MAX_VALUE).groups(Integer.MAX_VALUE - 1)
                    .input(1).kernel(1).build(), "groups = 2147483646", "e.g. groups = 1");
            rejects(() -> ConvSpec.deformable().channels(Integer.MAX_VALUE, 1).offsetGroups(Integer.MAX_VALUE - 1)
                    .input(1, 1).kernel(1).build(), "offset_groups = 2147483646", "e.g. offset_groups = 1");
        });
        // 2147483646 = 2·3²·7·11·31·151·331: the largest divisor below 2147483645 is 1073741823
        assertEquals(1073741823, ConvSpec.largestDivisorAtMost(2147483646, 2147483645));
        assertEquals(16, ConvSpec.largestDivisorAtMost(48, 20));
        assertEquals(1, ConvSpec.largestDivisorAtMost(1, 5));
    }

    /**
     * Extreme values for every parameter: a spec either builds with all its counts representable, or is
     * refused with an IllegalArgumentException; nothing else escapes.
     */
    @Test
    void extremeValuesNeverEscapeAsAnotherException() {
        int[] pool = {0, 1, 2, 3, 7, 1 << 10, 1 << 15, 1 << 16, 50000, 1 << 20, 1 << 30, Integer.MAX_VALUE - 1, Integer.MAX_VALUE};
        Random r = new Random(20261130);
        int built = 0;
        for (int i = 0; i < 10000; i++) {
            ConvType type = ConvType.values()[r.nextInt(3)];
            int rank = type == ConvType.DEFORMABLE ? 2 : 1 + r.nextInt(3);
            ConvSpec.Builder b = ConvSpec.builder(type).batch(pick(r, pool)).channels(pick(r, pool), pick(r, pool))
                    .groups(r.nextBoolean() ? 1 : pick(r, pool))
                    .input(vec(r, pool, rank)).kernel(vec(r, pool, rank)).stride(vec(r, pool, rank))
                    .dilation(r.nextBoolean() ? new int[] {1} : vec(r, pool, rank));
            if (r.nextBoolean()) b.paddingLo(vec(r, pool, rank)).paddingHi(vec(r, pool, rank));
            if (r.nextInt(4) == 0) b.paddingSame();
            if (type == ConvType.TRANSPOSED && r.nextBoolean()) b.outputPadding(vec(r, pool, rank));
            if (type == ConvType.DEFORMABLE) b.offsetGroups(r.nextBoolean() ? 1 : pick(r, pool)).mask(r.nextBoolean());
            ConvSpec s;
            try {
                s = b.build();
            } catch (IllegalArgumentException expected) {
                continue;
            }
            built++;
            Math.multiplyExact(3, s.forwardFlops());
            assertTrue(s.forwardFlops() >= 0 && s.parameterCount() > 0, s::toString);
            assertTrue(s.inputShape().elementCount() >= 0 && s.outputShape().elementCount() >= 0, s::toString);
            if (type == ConvType.DEFORMABLE) {
                assertTrue(s.offsetShape().elementCount() >= 0 && s.maskShape().elementCount() >= 0, s::toString);
            }
            assertEquals(s, ConvSpec.parse(s.toString()));
        }
        assertTrue(built > 100, "only " + built + " specs built: the sample misses the valid region");
    }

    private static int pick(Random r, int[] pool) {
        return r.nextInt(3) == 0 ? 1 + r.nextInt(9) : pool[r.nextInt(pool.length)];
    }

    private static int[] vec(Random r, int[] pool, int rank) {
        int[] v = new int[rank];
        for (int a = 0; a < rank; a++) v[a] = pick(r, pool);
        return v;
    }
}
