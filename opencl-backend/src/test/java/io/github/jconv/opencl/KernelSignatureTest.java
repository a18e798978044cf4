package io.github.jconv.opencl;

import io.github.jconv.ConvSpec;
import io.github.jconv.kernels.KernelSources;
import io.github.jconv.spi.ConvGeometry;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static io.github.jconv.opencl.KernelSignature.Kind.BUFFER;
import static io.github.jconv.opencl.KernelSignature.Kind.INT;
import static io.github.jconv.opencl.KernelSignature.Kind.LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Kernel signatures read from the .cl sources, and launches checked against them (no device needed). */
class KernelSignatureTest {
    private static List<KernelSignature.Kind> kinds(Object... runs) {
        List<KernelSignature.Kind> out = new ArrayList<>();
        for (int i = 0; i < runs.length; i += 2) out.addAll(Collections.nCopies((Integer) runs[i], (KernelSignature.Kind) runs[i + 1]));
        return out;
    }

    @Test
    void everyKernelOfEveryFamilyHasASignature() {
        for (String family : KernelSources.FAMILIES) {
            for (String kernel : KernelSources.kernelNames(family)) {
                assertTrue(!KernelSignature.of(family, kernel).isEmpty(), family + "/" + kernel);
            }
        }
    }

    @Test
    void objectLikeParameterMacrosAreExpanded() {
        // conv_forward(x, w, b: 3 buffers; has_bias: int; y: buffer; GEOM_PARAMS: 22 ints; total, step: 2 longs)
        assertEquals(kinds(3, BUFFER, 1, INT, 1, BUFFER, 22, INT, 2, LONG), KernelSignature.of("conv", "conv_forward"));
        // deform_col_grad(dy, w, col: 3 buffers; DGEOM_PARAMS: 17 ints; n0: int; total, step: 2 longs)
        assertEquals(kinds(3, BUFFER, 17, INT, 1, INT, 2, LONG), KernelSignature.of("deformable", "deform_col_grad"));
        // bias_backward(dy, db: 2 buffers; N, K: 2 ints; spatial: long)
        assertEquals(kinds(2, BUFFER, 2, INT, 1, LONG), KernelSignature.of("conv", "bias_backward"));
    }

    @Test
    void functionLikeOperandMacrosAreExpandedWithTokenPasting() {
        // gemm(M, N, K: 3 ints; OPERAND A, B, C: each buffer, off, sG, sR (3 longs), nsR (int), sRO, sC (2 longs), nsC (int),
        // sCO (long); bias: buffer; has_bias, accumulate: 2 ints)
        List<KernelSignature.Kind> operand = kinds(1, BUFFER, 3, LONG, 1, INT, 2, LONG, 1, INT, 1, LONG);
        List<KernelSignature.Kind> expected = new ArrayList<>(kinds(3, INT));
        for (int i = 0; i < 3; i++) expected.addAll(operand);
        expected.addAll(kinds(1, BUFFER, 2, INT));
        assertEquals(expected, KernelSignature.of("gemm", "gemm"));
    }

    @Test
    void aLaunchWithTheWrongCountIsRefusedByName() {
        KernelArgs args = new KernelArgs().i32(1).i32(2);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> args.apply(null, "bias_backward", KernelSignature.of("conv", "bias_backward")));
        assertTrue(e.getMessage().contains("bias_backward declares 5 parameters, the host passes 2"), e.getMessage());
    }

    @Test
    void aLaunchWithAnIntWhereTheKernelTakesALongIsRefused() {
        // bias_backward's fifth parameter (spatial) is a long; an int there would be read as garbage by the device.
        KernelArgs args = new KernelArgs().buf(null).buf(null).i32(1).i32(2).i32(3);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> args.apply(null, "bias_backward", KernelSignature.of("conv", "bias_backward")));
        assertTrue(e.getMessage().contains("parameter 4 is long"), e.getMessage());
    }

    @Test
    void theGeometryIntsFollowTheKernelsParameterOrder() {
        // GEOM_PARAMS is N, C, K, G, D, H, W, OD, OH, OW, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW: 22 ints,
        // the run of ints after the five leading parameters of conv_forward.
        ConvGeometry g = ConvGeometry.of(ConvSpec.convolution().batch(2).channels(3, 4).input(5, 6).kernel(3).build());
        KernelArgs args = new KernelArgs().geom(g);
        assertEquals(22, args.size());
        assertEquals(KernelSignature.of("conv", "conv_forward").subList(5, 27), kinds(22, INT));
        // DGEOM_PARAMS: 17 ints; deformable 5x6 input, kernel 3: output 3x4
        ConvGeometry d = ConvGeometry.of(ConvSpec.deformable().batch(2).channels(4, 4).offsetGroups(2).input(5, 6).kernel(3).build());
        assertEquals(java.util.List.of(2, 4, 4, 1, 2, 5, 6, 3, 4, 3, 3, 1, 1, 0, 0, 1, 1),
                java.util.Arrays.stream(KernelArgs.dgeomParams(d)).boxed().toList());
    }

    @Test
    void macrosInsideACommentDoNotCount() {
        String src = "#define P const int A, \\\n const long B\n// __kernel void ghost(int x)\n"
                + "__kernel void k(__global float* x, P, /* const int z, */ const int n) { }\n";
        assertEquals(java.util.Map.of("k", kinds(1, BUFFER, 1, INT, 1, LONG, 1, INT)), KernelSignature.parse(src));
    }
}
