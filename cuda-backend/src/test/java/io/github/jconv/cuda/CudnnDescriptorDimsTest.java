package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.Pass;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The descriptor dims cuDNN is given, now read from core's ConvGeometry: 1D and 2D problems keep 4-D descriptors
 * (1D as 2D with a height of 1; a 2-D problem given a unit depth would be a 5-D descriptor, and cuDNN picks other
 * kernels for those), 3D problems 5-D ones. Every expected value is derived by hand in the comments from the
 * output-size rule out = (in + padLo + padHi - dil*(k-1) - 1)/stride + 1 (transposed: (in-1)*stride - padLo - padHi
 * + dil*(k-1) + outputPadding + 1).
 */
class CudnnDescriptorDimsTest {
    @Test
    void a1dProblemIsLiftedTo4dWithAUnitHeight() {
        // N 1, C 2 -> K 2, W 9, k 3, dilation 2, padding 2 before and 0 after:
        // out = (9 + 2 + 0 - 2*2 - 1)/1 + 1 = 7. The padding is asymmetric, so xc is staged in a "big" zero-padded
        // tensor of 9 + 2 + 0 = 11 columns, ours at offset 2, and cuDNN pads nothing.
        ConvSpec s = ConvSpec.convolution().batch(1).channels(2, 2).input(9).kernel(3).dilation(2).paddingLo(2).paddingHi(0).build();
        CudnnPlan p = CudnnPlan.of(s, Pass.FORWARD);
        assertArrayEquals(new int[]{1, 2, 1, 11}, p.xcDims());
        assertArrayEquals(new int[]{1, 2, 1, 9}, p.ourXcDims());
        assertArrayEquals(new int[]{0, 2}, p.offset(), "the unit height has no offset");
        assertArrayEquals(new int[]{2, 2, 1, 3}, p.wDims(), "[K, C/g, 1, k]");
        assertArrayEquals(new int[]{1, 2, 1, 7}, p.ycDims());
        assertArrayEquals(new int[]{0, 0}, p.pad());
        assertArrayEquals(new int[]{1, 1}, p.stride());
        assertArrayEquals(new int[]{1, 2}, p.dilation(), "height 1 (neutral), width 2");
        // the bias gradient reduces dy [N, K, 1, W']
        assertArrayEquals(new int[]{1, 2, 1, 7}, CudnnPlan.of(s, Pass.BACKWARD_BIAS).ycDims());
        assertArrayEquals(new int[]{1, 2, 1, 7}, CudnnPlan.outputDims(s));
        assertArrayEquals(new int[]{1, 2, 1, 9}, CudnnPlan.inputDims(s));
    }

    @Test
    void a2dProblemStays4dNever5d() {
        // N 2, C 4 -> K 6, groups 2, 6x5, k 3x3, padding 1: out = (6 + 2 - 3) + 1 = 6 and (5 + 2 - 3) + 1 = 5
        ConvSpec s = ConvSpec.convolution().batch(2).channels(4, 6).groups(2).input(6, 5).kernel(3).padding(1).build();
        for (Pass pass : new Pass[]{Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT}) {
            CudnnPlan p = CudnnPlan.of(s, pass);
            assertArrayEquals(new int[]{2, 4, 6, 5}, p.xcDims(), pass.toString());
            assertArrayEquals(new int[]{6, 2, 3, 3}, p.wDims(), "[K, C/g, kh, kw] " + pass);
            assertArrayEquals(new int[]{2, 6, 6, 5}, p.ycDims(), pass.toString());
            assertArrayEquals(new int[]{1, 1}, p.pad());
            assertArrayEquals(new int[]{1, 1}, p.stride());
            assertArrayEquals(new int[]{1, 1}, p.dilation());
            assertEquals(2, p.groups());
            assertFalse(p.staged());
        }
        assertArrayEquals(new int[]{2, 6, 6, 5}, CudnnPlan.of(s, Pass.BACKWARD_BIAS).ycDims());
    }

    @Test
    void a2dTransposedProblemIsTheAdjointIn4d() {
        // transposed N 1, C_in 4 -> C_out 6, groups 2, input 4x3, k 3x2, stride 2, padding (1,0) before, (0,0) after,
        // output_padding (1,0): out H = 3*2 - 1 - 0 + 2 + 1 + 1 = 9, W = 2*2 - 0 - 0 + 1 + 0 + 1 = 6.
        // cuDNN's xc is our y [1, 6, 9, 6], its yc our x [1, 4, 4, 3]; the weight [4, 3, 3, 2] is read as [K=4, C/g=3, 3, 2].
        // Asymmetric H padding: the big xc is (in-1)*s + dil*(k-1) + 1 = 3*2 + 3 = 9 by 2*2 + 2 = 6, ours at offset (1, 0).
        ConvSpec s = ConvSpec.transposed().batch(1).channels(4, 6).groups(2).input(4, 3).kernel(3, 2).stride(2)
                .paddingLo(1, 0).paddingHi(0, 0).outputPadding(1, 0).build();
        CudnnPlan p = CudnnPlan.of(s, Pass.FORWARD);
        assertEquals(CudnnPlan.Op.BACKWARD_DATA, p.op());
        assertArrayEquals(new int[]{1, 6, 9, 6}, p.xcDims());
        assertArrayEquals(new int[]{1, 6, 9, 6}, p.ourXcDims());
        assertArrayEquals(new int[]{1, 0}, p.offset());
        assertArrayEquals(new int[]{4, 3, 3, 2}, p.wDims());
        assertArrayEquals(new int[]{1, 4, 4, 3}, p.ycDims());
        assertArrayEquals(new int[]{0, 0}, p.pad());
        assertArrayEquals(new int[]{2, 2}, p.stride());
        assertArrayEquals(new int[]{1, 1}, p.dilation());
        assertArrayEquals(new int[]{1, 6, 9, 6}, CudnnPlan.outputDims(s), "our y");
        assertArrayEquals(new int[]{1, 4, 4, 3}, CudnnPlan.inputDims(s), "our x");
        assertArrayEquals(new int[]{1, 6, 9, 6}, CudnnPlan.of(s, Pass.BACKWARD_BIAS).ycDims(), "dy of the transposed op");
    }

    @Test
    void a3dProblemIs5d() {
        // N 1, C 2 -> K 2, 4x5x3, k 2x3x1, padding (1,1,0): out = 4+2-2+1 = 5, 5+2-3+1 = 5, 3+0-1+1 = 3
        ConvSpec s = ConvSpec.convolution().batch(1).channels(2, 2).input(4, 5, 3).kernel(2, 3, 1).padding(1, 1, 0).build();
        CudnnPlan p = CudnnPlan.of(s, Pass.BACKWARD_WEIGHT);
        assertArrayEquals(new int[]{1, 2, 4, 5, 3}, p.xcDims());
        assertArrayEquals(new int[]{2, 2, 2, 3, 1}, p.wDims());
        assertArrayEquals(new int[]{1, 2, 5, 5, 3}, p.ycDims());
        assertArrayEquals(new int[]{1, 1, 0}, p.pad());
        assertArrayEquals(new int[]{1, 1, 1}, p.stride());
        assertArrayEquals(new int[]{1, 1, 1}, p.dilation());
        assertTrue(!p.staged());
        assertArrayEquals(new int[]{1, 2, 5, 5, 3}, CudnnPlan.outputDims(s));
    }
}
