package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.ConvBackend;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import static io.github.jconv.opencl.OpenClTestSupport.*;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The index width changes only the type of offsets, never a value: every pass of a small problem gives the same bits
 * from programs built with -DIDX=int (the choice for a small problem) and -DIDX=long, on the direct kernels
 * (conv.cl, deformable.cl) and the column routes (im2col.cl, deformable_im2col, then gemm.cl); and the session
 * keeps one program per (family, index width).
 */
class OpenClIndexWidthTest {
    static Stream<Arguments> cases() {
        ConvSpec conv = ConvSpec.convolution().batch(2).channels(4, 6).groups(2).input(7, 9).kernel(3).stride(2).padding(1).build();
        ConvSpec conv3d = ConvSpec.convolution().batch(2).channels(3, 4).input(4, 5, 6).kernel(2, 3, 3).dilation(1, 2, 1).padding(1).build();
        ConvSpec transposed = ConvSpec.transposed().batch(2).channels(4, 6).input(5, 6).kernel(3).stride(2).padding(1).build();
        ConvSpec deform = ConvSpec.deformable().batch(2).channels(4, 6).groups(2).offsetGroups(2).input(6, 7).kernel(3).padding(1)
                .mask(true).build();
        return Stream.of(
                Arguments.of("direct", conv, List.of("conv")),
                Arguments.of("direct", conv3d, List.of("conv")),
                Arguments.of("gemm", conv, List.of("conv", "im2col")),
                Arguments.of("gemm", transposed, List.of("conv", "im2col")),
                Arguments.of("direct", deform, List.of("deformable")),
                Arguments.of("gemm", deform, List.of("deformable")));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void intAndLongIndicesGiveTheSameBitsAndTwoPrograms(String mode, ConvSpec spec, List<String> families) {
        ConvBackend b = open(mode);
        try {
            OpenClSession s = (OpenClSession) b;
            // a small problem: every buffer far below 2^31 elements, so each pass chooses int by itself
            Map<Pass, double[][]> asChosen = runAll(b, spec, mode);
            assertEquals(named(families, "int"), s.programs().familyPrograms(DType.FP32), "programs built as chosen");
            int cached = s.programCache().size();
            s.programs().forceIndexWidth(IndexWidth.LONG);
            Map<Pass, double[][]> asLong = runAll(b, spec, mode);
            Set<String> both = named(families, "int");
            both.addAll(named(families, "long"));
            assertEquals(both, s.programs().familyPrograms(DType.FP32), "one program per family and index width");
            assertEquals(cached + families.size(), s.programCache().size(), "the long builds are programs of their own");
            for (Pass p : asChosen.keySet()) {
                double[][] a = asChosen.get(p), l = asLong.get(p);
                for (int i = 0; i < a.length; i++) {
                    assertArrayEquals(bits(a[i]), bits(l[i]), spec + " " + p + " output " + i + ": int and long indices differ");
                }
            }
            // forcing int again reuses the int programs: nothing new is built
            s.programs().forceIndexWidth(IndexWidth.INT);
            runAll(b, spec, mode);
            assertEquals(cached + families.size(), s.programCache().size());
        } finally {
            b.close();
        }
    }

    private static Set<String> named(List<String> families, String type) {
        Set<String> s = new TreeSet<>();
        for (String f : families) s.add(f + "/" + type);
        return s;
    }

    private static long[] bits(double[] v) {
        long[] r = new long[v.length];
        for (int i = 0; i < v.length; i++) r[i] = Double.doubleToRawLongBits(v[i]);
        return r;
    }

    /**
     * Every pass of {@code spec} in FP32 on fixed random data ({@code mode}: the session's algorithm mode, checked
     * against each pass's route); per pass its outputs in Pass.outputs order.
     */
    private static Map<Pass, double[][]> runAll(ConvBackend b, ConvSpec spec, String mode) {
        Map<Pass, double[][]> out = new EnumMap<>(Pass.class);
        boolean deform = spec.type() == io.github.jconv.ConvType.DEFORMABLE;
        for (Pass p : Pass.values()) {
            if (p == Pass.BACKWARD_OFFSET_MASK && !deform) continue;
            Random rnd = new Random(42);
            List<DeviceBuffer> bufs = new ArrayList<>();
            try {
                List<Object> pairs = new ArrayList<>();
                for (Role r : p.inputs(spec)) {
                    long n = r.shapeFor(spec).elementCount();
                    double[] v = r == Role.OFFSET ? offsets(rnd, n, 2) : r == Role.MASK ? random(rnd, n, 0, 1) : random(rnd, n, -1, 1);
                    DeviceBuffer d = put(b, DType.FP32, r.shapeFor(spec), v);
                    bufs.add(d);
                    pairs.add(r);
                    pairs.add(d);
                }
                List<DeviceBuffer> outs = new ArrayList<>();
                for (Role r : p.outputs(spec)) {
                    DeviceBuffer d = poisoned(b, DType.FP32, r.shapeFor(spec));
                    bufs.add(d);
                    outs.add(d);
                    pairs.add(r);
                    pairs.add(d);
                }
                b.execute(p, spec, ConvArgs.of(pairs.toArray()));
                // the route the case is about: the column routes in gemm mode (the bias reduction has no other)
                String algo = b.lastAlgorithm();
                assertEquals(mode.equals("gemm") && p != Pass.BACKWARD_BIAS, algo.contains("gemm"), p + ": " + algo);
                double[][] got = new double[outs.size()][];
                for (int i = 0; i < got.length; i++) got[i] = get(b, outs.get(i));
                out.put(p, got);
            } finally {
                for (DeviceBuffer d : bufs) d.close();
            }
        }
        return out;
    }

    private static ConvBackend open(String mode) {
        String saved = System.getProperty(Algorithms.MODE_PROPERTY);
        System.setProperty(Algorithms.MODE_PROPERTY, mode);
        try {
            return openOrSkip();
        } finally {
            if (saved == null) System.clearProperty(Algorithms.MODE_PROPERTY);
            else System.setProperty(Algorithms.MODE_PROPERTY, saved);
        }
    }
}
