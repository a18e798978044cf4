package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.plan.DeformablePlan;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The families' pure plan steps without a GPU: the cuDNN family's route of each pass (what {@code CudnnRunner.run}
 * decided inline before the split into families), and the deformable family's plan in the compute dtype.
 */
class CudnnFamilyTest {
    static final Pass[] PASSES = {Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_BIAS};

    @Test
    void batchZeroHasNothingToComputeOnEveryPassAndDtype() {
        ConvSpec s = ConvSpec.convolution().batch(0).channels(3, 4).input(8, 8).kernel(3).build();
        for (Pass p : PASSES) {
            for (DType d : DType.values()) {
                assertEquals(CudnnFamily.Kind.EMPTY_BATCH, CudnnFamily.route(s, p, d).kind(), p + " " + d);
            }
        }
    }

    @Test
    void theTwoByteBiasGradientsRunJconvsKernelTheOthersCudnn() {
        ConvSpec s = ConvSpec.convolution().batch(2).channels(3, 4).input(8, 8).kernel(3).build();
        assertEquals(CudnnFamily.Kind.BIAS_KERNEL, CudnnFamily.route(s, Pass.BACKWARD_BIAS, DType.FP16).kind());
        assertEquals(CudnnFamily.Kind.BIAS_KERNEL, CudnnFamily.route(s, Pass.BACKWARD_BIAS, DType.BF16).kind());
        assertEquals(CudnnFamily.Kind.WHOLE, CudnnFamily.route(s, Pass.BACKWARD_BIAS, DType.FP32).kind());
        assertEquals(CudnnFamily.Kind.WHOLE, CudnnFamily.route(s, Pass.BACKWARD_BIAS, DType.FP64).kind());
        assertEquals(CudnnFamily.Kind.WHOLE, CudnnFamily.route(s, Pass.FORWARD, DType.FP16).kind(), "only the bias gradient");
    }

    @Test
    void aBatchOverCudnnsIntIndexingRunsInSlicesOfSeven() {
        // x and y of one item: 64 channels * 2048 * 2048 = 2^6 * 2^22 = 2^28 elements (3x3, padding 1 keeps 2048);
        // cuDNN's limit is 2^31 - 1, so a call takes floor((2^31 - 1) / 2^28) = 7 items: 16 items run as 7 + 7 + 2
        ConvSpec s = ConvSpec.convolution().batch(16).channels(64, 64).input(2048, 2048).kernel(3).padding(1).build();
        CudnnFamily.Route r = CudnnFamily.route(s, Pass.FORWARD, DType.FP32);
        assertEquals(CudnnFamily.Kind.BATCH_SLICES, r.kind());
        assertEquals(7, r.slice());
        ConvSpec four = s.toBuilder().batch(4).build();
        assertEquals(CudnnFamily.Kind.WHOLE, CudnnFamily.route(four, Pass.FORWARD, DType.FP32).kind(), "4 items fit in one call");
    }

    @Test
    void anItemOverCudnnsIntIndexingIsSplitSpatially() {
        // one item of 1 channel * 50000 * 50000 = 2.5e9 elements > 2^31 - 1 = 2147483647: not even one item fits
        ConvSpec s = ConvSpec.convolution().batch(2).channels(1, 1).input(50000, 50000).kernel(3).padding(1).build();
        for (Pass p : new Pass[]{Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT}) {
            assertEquals(CudnnFamily.Kind.SPATIAL_SPLIT, CudnnFamily.route(s, p, DType.FP32).kind(), p.toString());
        }
    }

    @Test
    void theFamiliesHandleDisjointTypesThatCoverEveryType() {
        CudnnFamily cudnn = new CudnnFamily(null, null);
        DeformableFamily deformable = new DeformableFamily(null, null, DeformableFamily.Mode.AUTO);
        ConvSpec conv = ConvSpec.convolution().batch(1).channels(2, 2).input(5).kernel(3).build();
        ConvSpec tr = ConvSpec.transposed().batch(1).channels(2, 2).input(5, 5).kernel(3).build();
        ConvSpec def = ConvSpec.deformable().batch(1).channels(2, 2).input(5, 5).kernel(3).build();
        assertTrue(cudnn.handles(conv) && cudnn.handles(tr) && !cudnn.handles(def));
        assertTrue(deformable.handles(def) && !deformable.handles(conv) && !deformable.handles(tr));
    }

    /**
     * FP16 and BF16 deformable storage computes in FP32 working copies, so the plan is the FP32 one: the column
     * budget counts 4-byte elements. With a budget of 1 MiB and a column of 2 * 9 * 64 = 1152 elements per item
     * (C 2, 3x3 taps, 8x8 output), FP32 chunks hold floor(2^20 / (1152 * 4)) = 227 items; planned in FP16's 2 bytes
     * they would hold 455.
     */
    @Test
    void deformableHalfStorageIsPlannedInItsFp32ComputeType() {
        ConvSpec s = ConvSpec.deformable().batch(1000).channels(2, 4).input(8, 8).kernel(3).padding(1).build();
        CudaOptions o = new CudaOptions(MathMode.FP32, true, CudaOptions.AlgoMode.HEURISTIC, 1L << 20);
        DeformablePlan f32 = DeformableFamily.plan(s, Pass.FORWARD, DType.FP32, o, DeformableFamily.Mode.AUTO);
        for (DType half : new DType[]{DType.FP16, DType.BF16}) {
            DeformablePlan p = DeformableFamily.plan(s, Pass.FORWARD, half, o, DeformableFamily.Mode.AUTO);
            assertEquals(f32.route(), p.route(), half.toString());
            assertEquals(f32.chunkItems(), p.chunkItems(), half.toString());
        }
        assertEquals(227, f32.chunkItems());
        assertFalse(DeformableFamily.plan(s, Pass.FORWARD, DType.FP64, o, DeformableFamily.Mode.AUTO).chunkItems() == 227,
                "FP64 plans in its own 8 bytes");
    }
}
