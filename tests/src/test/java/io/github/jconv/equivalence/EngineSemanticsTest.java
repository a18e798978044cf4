package io.github.jconv.equivalence;

import io.github.jconv.BackendSelection;
import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.EngineOptions;
import io.github.jconv.FallbackPolicy;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.DeviceInfo;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.ThrowingConsumer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What the engine promises whatever the backend: selection, transfers with checked ranges, FP64
 * host data into any dtype, refusal of buffers the spec does not use, and batch 0 answered
 * without the backend. Run through every provider on the classpath (a required one that is
 * unavailable fails, see {@link RequiredBackends}).
 */
class EngineSemanticsTest {
    private static final Set<String> REQUIRED = RequiredBackends.fromEnvironment();

    @TestFactory
    Stream<DynamicNode> everyBackendKeepsTheEnginesPromises() {
        Map<String, ThrowingConsumer<ConvEngine>> checks = new LinkedHashMap<>();
        checks.put("FP64 host data fills an FP32 buffer, rounded to nearest", EngineSemanticsTest::doublesIntoFloats);
        checks.put("a bad transfer range is an IllegalArgumentException", EngineSemanticsTest::badRanges);
        checks.put("a buffer the spec does not use is refused", EngineSemanticsTest::unusedBuffers);
        checks.put("a buffer of another engine of the same backend is called that", EngineSemanticsTest::anotherEngine);
        checks.put("batch 0: empty outputs, zero weight and bias gradients", EngineSemanticsTest::batchZero);
        List<DynamicNode> nodes = new ArrayList<>();
        for (ConvBackendProvider p : ConvEngine.providers()) {
            ProbeResult probe = ConvEngine.probe(p);
            List<DynamicTest> tests = new ArrayList<>();
            for (Map.Entry<String, ThrowingConsumer<ConvEngine>> c : checks.entrySet()) {
                tests.add(DynamicTest.dynamicTest(c.getKey(), () -> {
                    if (!probe.available()) {
                        if (REQUIRED.contains(p.name())) fail(p.name() + " is required but unavailable: " + probe.reason());
                        Assumptions.abort(p.name() + " unavailable: " + probe.reason());
                    }
                    try (ConvEngine e = ConvEngine.open(p, 0)) {
                        c.getValue().accept(e);
                    }
                }));
            }
            nodes.add(DynamicContainer.dynamicContainer("backend " + p.name(), tests.stream()));
        }
        return nodes.stream();
    }

    static void doublesIntoFloats(ConvEngine e) {
        // expected: IEEE round-to-nearest of each double to float, which is what Java's (float) cast does
        double[] v = {0.1, 1.0 / 3.0, -2.5, 16777217.0, 1e30};
        float[] want = new float[v.length];
        for (int i = 0; i < v.length; i++) want[i] = (float) v[i];
        // 16777217 = 2^24 + 1 is halfway between floats 2^24 and 2^24 + 2: ties to even gives 2^24
        assertEquals(16777216f, want[3]);
        try (DeviceBuffer b = e.upload(DType.FP32, v, Shape.of(5))) {
            assertEquals(DType.FP32, b.dtype());
            assertArrayEquals(want, e.downloadFloats(b));
        }
        try (DeviceBuffer b = e.upload(v, Shape.of(5))) {
            assertEquals(DType.FP64, b.dtype());
            assertArrayEquals(v, e.downloadDoubles(b));
        }
    }

    static void badRanges(ConvEngine e) {
        try (DeviceBuffer b = e.allocate(DType.FP32, Shape.of(4))) {
            float[] four = {1, 2, 3, 4};
            IllegalArgumentException far = assertThrows(IllegalArgumentException.class, () -> e.upload(b, Long.MAX_VALUE, four, 0, 1));
            assertTrue(far.getMessage().startsWith("dstOffset = " + Long.MAX_VALUE), far.getMessage());
            assertThrows(IllegalArgumentException.class, () -> e.upload(b, 0, four, 2, 3));
            assertThrows(IllegalArgumentException.class, () -> e.upload(b, 0, (double[]) null, 0, 1));
            assertThrows(IllegalArgumentException.class, () -> e.download(b, -1, new float[4], 0, 1));
            assertThrows(IllegalArgumentException.class, () -> e.download(b, 3, new double[4], 0, 2));
            assertThrows(IllegalArgumentException.class, () -> e.download(b, 0, new float[4], 0, Integer.MIN_VALUE));
            // a good range still works: elements 1..2 of b from four[2..3]
            e.upload(b, 0, new float[4], 0, 4);
            e.upload(b, 1, four, 2, 2);
            assertArrayEquals(new float[] {0, 3, 4, 0}, e.downloadFloats(b));
            double[] got = new double[3];
            e.download(b, 1, got, 1, 2);
            assertArrayEquals(new double[] {0, 3, 4}, got);
        }
    }

    static void unusedBuffers(ConvEngine e) {
        ConvSpec noBias = ConvSpec.parse("mb1ic2ih4oc2kh1bia0");
        ConvSpec v1 = ConvSpec.parse("dg1mb1ic2ih4oc2kh3ph1");
        try (DeviceBuffer x = e.allocate(DType.FP32, noBias.inputShape());
             DeviceBuffer w = e.allocate(DType.FP32, noBias.weightShape());
             DeviceBuffer b = e.allocate(DType.FP32, Shape.of(2));
             DeviceBuffer dw = e.allocate(DType.FP32, v1.weightShape());
             DeviceBuffer off = e.allocate(DType.FP32, v1.offsetShape());
             DeviceBuffer mask = e.allocate(DType.FP32, Shape.of(1, 9, 4, 4))) {
            IllegalArgumentException bias = assertThrows(IllegalArgumentException.class, () -> e.forward(noBias, x, w, b));
            assertTrue(bias.getMessage().contains(".bias(true)"), bias.getMessage());
            IllegalArgumentException m = assertThrows(IllegalArgumentException.class, () -> e.forward(v1, x, off, mask, dw, b));
            assertTrue(m.getMessage().startsWith("mask is given") && m.getMessage().contains(".mask(true)"), m.getMessage());
        }
    }

    static void anotherEngine(ConvEngine e) {
        ConvSpec s = ConvSpec.parse("mb1ic2ih4oc2kh1bia0");
        ConvBackendProvider p = ConvEngine.providers().stream().filter(q -> q.name().equals(e.backendName())).findFirst().orElseThrow();
        try (ConvEngine other = ConvEngine.open(p, 0);
             DeviceBuffer x = other.allocate(DType.FP32, s.inputShape());
             DeviceBuffer w = e.allocate(DType.FP32, s.weightShape())) {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> e.forward(s, x, w, null));
            assertTrue(ex.getMessage().startsWith("x belongs to another engine"), ex.getMessage());
        }
    }

    /** Batch 0 as PyTorch: empty y and dx; dw and db are sums over no samples, so zeros. */
    static void batchZero(ConvEngine e) {
        ConvSpec s = batchZeroSpec("mb0ic4ih6oc3kh3ph1");
        float[] ones = new float[(int) s.weightShape().elementCount()];
        Arrays.fill(ones, 1f);
        try (DeviceBuffer x = e.upload(new float[0], s.inputShape());
             DeviceBuffer w = e.upload(ones, s.weightShape());
             DeviceBuffer b = e.upload(new float[] {1, 2, 3}, s.biasShape());
             DeviceBuffer dy = e.allocate(DType.FP32, s.outputShape());
             DeviceBuffer y = e.forward(s, x, w, b);
             DeviceBuffer dx = e.backwardData(s, dy, w);
             DeviceBuffer dw = e.upload(ones, s.weightShape());
             DeviceBuffer db = e.upload(new float[] {7, 8, 9}, s.biasShape())) {
            assertEquals(Shape.of(0, 3, 6, 6).toString(), y.shape().toString());
            assertEquals(0, e.downloadFloats(y).length);
            assertEquals(0, e.downloadFloats(dx).length);
            // the outputs are overwritten: prefilled with ones / 7, 8, 9, they must come back zero
            e.execute(Pass.BACKWARD_WEIGHT, s, ConvArgs.builder().x(x).dy(dy).dw(dw).build());
            e.execute(Pass.BACKWARD_BIAS, s, ConvArgs.builder().dy(dy).db(db).build());
            assertArrayEquals(new float[ones.length], e.downloadFloats(dw));
            assertArrayEquals(new float[3], e.downloadFloats(db));
            assertTrue(e.lastAlgorithm().contains("batch 0"), e.lastAlgorithm());
        }
        ConvSpec d = batchZeroSpec("dg1msk1mb0ic2ih4oc2kh3ph1");
        try (DeviceBuffer x = e.allocate(DType.FP32, d.inputShape());
             DeviceBuffer w = e.allocate(DType.FP32, d.weightShape());
             DeviceBuffer dy = e.allocate(DType.FP32, d.outputShape());
             DeviceBuffer off = e.allocate(DType.FP32, d.offsetShape());
             DeviceBuffer mask = e.allocate(DType.FP32, d.maskShape());
             DeviceBuffer doff = e.allocate(DType.FP32, d.offsetShape());
             DeviceBuffer dmask = e.allocate(DType.FP32, d.maskShape())) {
            e.execute(Pass.BACKWARD_OFFSET_MASK, d, ConvArgs.builder().x(x).w(w).dy(dy).offset(off).mask(mask)
                    .dOffset(doff).dMask(dmask).build());
            assertEquals(0, e.downloadFloats(doff).length);
        }
    }

    /** A batch-0 spec, or this test is skipped while ConvSpec still refuses batch 0 (the spec helper's change). */
    private static ConvSpec batchZeroSpec(String line) {
        try {
            return ConvSpec.parse(line);
        } catch (IllegalArgumentException refused) {
            Assumptions.abort("ConvSpec refuses batch 0 on this branch: " + refused.getMessage());
            return null;
        }
    }

    @Test
    void anOpenclThatOffersOnlyCpuDevicesRanksBelowThePureJavaBackend() {
        ConvBackendProvider opencl = ConvEngine.providers().stream().filter(p -> p.name().equals("opencl")).findFirst().orElse(null);
        Assumptions.assumeTrue(opencl != null, "opencl is not on the classpath");
        ProbeResult r = ConvEngine.probe(opencl);
        if (!r.available() && REQUIRED.contains("opencl")) fail("opencl is required but unavailable: " + r.reason());
        Assumptions.assumeTrue(r.available(), () -> "opencl unavailable: " + r.reason());
        Assumptions.assumeTrue(r.devices().stream().map(DeviceInfo::type).allMatch(BackendSelection::isCpuKind),
                "this OpenCL platform has a GPU or accelerator: it rightly ranks above cpu");
        try (ConvEngine e = ConvEngine.open(ConvEngine.providers(), EngineOptions.defaults())) {
            assertEquals("cpu", e.backendName(), e.selectionReport());
            assertTrue(e.selectionReport().contains("opencl rank -800"), e.selectionReport());
        }
        // named, it is still honoured
        try (ConvEngine e = ConvEngine.open(ConvEngine.providers(), EngineOptions.backend("opencl", FallbackPolicy.FAIL))) {
            assertEquals("opencl", e.backendName());
        }
    }

    @Test
    void aMisspelledBackendNameIsRejected() {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                () -> ConvEngine.open(ConvEngine.providers(), EngineOptions.backend("cpuu", FallbackPolicy.WARN)));
        assertTrue(ex.getMessage().startsWith("jconv.backend = cpuu") && ex.getMessage().contains("cpu"), ex.getMessage());
    }
}
