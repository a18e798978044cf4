package io.github.jconv.opencl;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.EngineOptions;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.conformance.Reference;
import io.github.jconv.spi.ConvBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static io.github.jconv.opencl.OpenClTestSupport.firstMismatch;
import static io.github.jconv.opencl.OpenClTestSupport.get;
import static io.github.jconv.opencl.OpenClTestSupport.offsets;
import static io.github.jconv.opencl.OpenClTestSupport.openOrSkip;
import static io.github.jconv.opencl.OpenClTestSupport.poisoned;
import static io.github.jconv.opencl.OpenClTestSupport.put;
import static io.github.jconv.opencl.OpenClTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The OpenCL session runs the deformable passes the one {@code DeformablePlan} chooses for its device and options,
 * and its label says which: route, scatter and chunks, with expectations derived by hand.
 */
class OpenClDeformablePlanTest {
    /**
     * 3 items, 32 -> 32 channels, 3x3 padded by 1 on 8x8, 2 offset groups, a mask: the GEMM of a group is
     * K/G = 32 by C/G*KH*KW = 288 rows (both >= 32) and the forward has 3*32*64*32*9 = 1769472 multiply-adds
     * (>= 2^20), so every pass but the bias gradient takes the columns + gemm.cl route. One item's column:
     * 32*9*64 = 18432 elements, 73728 FP32 bytes.
     */
    static final ConvSpec S = ConvSpec.deformable().batch(3).channels(32, 32).offsetGroups(2).mask(true).input(8, 8).kernel(3)
            .padding(1).build();
    /** Two FP32 items' columns: chunks of 2 and 1 item. */
    static final long TWO_ITEMS = 2 * 73728;

    static ConvBackend open(String budget, String scatter) {
        openOrSkip().close(); // skips (or fails where opencl is required) without a device
        EngineOptions.Builder b = EngineOptions.builder().set(ClSettings.COL_BUDGET_PROPERTY, budget);
        if (scatter != null) b.set(Algorithms.SCATTER_PROPERTY, scatter);
        return new OpenClBackendProvider().open(0, b.build());
    }

    @Test
    void everyPassRunsThePlannedRouteScatterAndChunksAndMatchesTheReference() {
        try (ConvBackend s = open(String.valueOf(TWO_ITEMS), null)) {
            // the plan scatters by planes on a CPU device (PoCL), by rows on any other
            String scatter = "CPU".equals(s.device().type()) ? "plane" : "row";
            Map<Pass, String> want = new EnumMap<>(Pass.class);
            want.put(Pass.FORWARD, "deformable-im2col+gemm, 2 chunk(s) of up to 2 item(s)");
            want.put(Pass.BACKWARD_DATA, "deformable-gemm+" + scatter + "-scatter, 2 chunk(s) of up to 2 item(s)");
            want.put(Pass.BACKWARD_WEIGHT, "deformable-im2col+gemm, 2 chunk(s) of up to 2 item(s)");
            want.put(Pass.BACKWARD_BIAS, "workgroup-reduce");
            want.put(Pass.BACKWARD_OFFSET_MASK, "deformable-gemm+gather, 2 chunk(s) of up to 2 item(s)");
            Map<Role, double[]> in = inputs(new Random(13));
            for (Pass p : Pass.values()) {
                Map<Role, double[]> got = run(s, DType.FP32, p, in);
                assertEquals(want.get(p), s.lastAlgorithm(), p.toString());
                Reference.run(p, S, in).forEach((role, ref) -> {
                    int bad = firstMismatch(got.get(role), ref.values(), 2e-5);
                    assertTrue(bad < 0, () -> p + " " + role.label() + "[" + bad + "] = " + got.get(role)[bad] + ", reference "
                            + ref.values()[bad]);
                });
            }
        }
    }

    @Test
    void aForcedScatterIsThePlansChoiceAndRowsAndPlanesGiveTheSameBits() {
        Map<Role, double[]> in = inputs(new Random(21));
        double[] rows;
        double[] planes;
        try (ConvBackend r = open(String.valueOf(TWO_ITEMS), "rows")) {
            rows = run(r, DType.FP32, Pass.BACKWARD_DATA, in).get(Role.DX);
            assertEquals("deformable-gemm+row-scatter, 2 chunk(s) of up to 2 item(s)", r.lastAlgorithm());
        }
        try (ConvBackend p = open(String.valueOf(TWO_ITEMS), "plane")) {
            planes = run(p, DType.FP32, Pass.BACKWARD_DATA, in).get(Role.DX);
            assertEquals("deformable-gemm+plane-scatter, 2 chunk(s) of up to 2 item(s)", p.lastAlgorithm());
        }
        assertArrayEquals(planes, rows, "the same column gradient summed in the same order per input element");
    }

    @Test
    void theColumnBudgetCountsTheDtypesBytes() {
        try (ConvBackend s = open(String.valueOf(TWO_ITEMS), null)) {
            assumeTrue(s.supports(S, Pass.FORWARD, DType.FP64).supported(), () -> s.supports(S, Pass.FORWARD, DType.FP64).reason());
            // FP64: 147456 bytes per item, so the budget of two FP32 items holds one: 3 chunks of 1
            run(s, DType.FP64, Pass.FORWARD, inputs(new Random(3)));
            assertEquals("deformable-im2col+gemm, 3 chunk(s) of up to 1 item(s)", s.lastAlgorithm());
        }
    }

    @Test
    void theDirectOptionRunsTheDirectKernelsAndTheLabelSaysWhy() {
        openOrSkip().close();
        try (ConvBackend s = new OpenClBackendProvider().open(0, EngineOptions.builder().set(Algorithms.MODE_PROPERTY, "direct").build())) {
            run(s, DType.FP32, Pass.FORWARD, inputs(new Random(4)));
            assertEquals("deformable-direct [direct kernels: the backend has no GEMM]", s.lastAlgorithm());
            run(s, DType.FP32, Pass.BACKWARD_OFFSET_MASK, inputs(new Random(4)));
            // the column gradient still fills a column: 3 items fit the default 256 MiB
            assertTrue(s.lastAlgorithm().startsWith("deformable-colgrad+gather, 1 chunk(s) of up to 3 item(s) [direct kernels"),
                    s.lastAlgorithm());
        }
    }

    static Map<Role, double[]> inputs(Random rnd) {
        Map<Role, double[]> in = new EnumMap<>(Role.class);
        in.put(Role.X, random(rnd, S.inputShape().elementCount(), -1, 1));
        in.put(Role.W, random(rnd, S.weightShape().elementCount(), -0.2, 0.2));
        in.put(Role.B, random(rnd, S.outChannels(), -1, 1));
        in.put(Role.DY, random(rnd, S.outputShape().elementCount(), -1, 1));
        in.put(Role.OFFSET, offsets(rnd, S.offsetShape().elementCount(), 2));
        in.put(Role.MASK, random(rnd, S.maskShape().elementCount(), 0, 1));
        return in;
    }

    /** One pass of S on {@code s}: its outputs (buffers poisoned with NaN first, so an unwritten element shows). */
    static Map<Role, double[]> run(ConvBackend s, DType dt, Pass p, Map<Role, double[]> in) {
        List<DeviceBuffer> live = new ArrayList<>();
        try {
            ConvArgs.Builder args = ConvArgs.builder();
            for (Role r : p.inputs(S)) {
                DeviceBuffer b = put(s, dt, r.shapeFor(S), in.get(r));
                live.add(b);
                args.put(r, b);
            }
            Map<Role, DeviceBuffer> outs = new EnumMap<>(Role.class);
            for (Role r : p.outputs(S)) {
                DeviceBuffer b = poisoned(s, dt, r.shapeFor(S));
                live.add(b);
                outs.put(r, b);
                args.put(r, b);
            }
            s.execute(p, S, args.build());
            Map<Role, double[]> got = new EnumMap<>(Role.class);
            outs.forEach((r, b) -> got.put(r, get(s, b)));
            return got;
        } finally {
            live.forEach(DeviceBuffer::close);
        }
    }
}
