package io.github.jconv;

import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.spi.DeviceBuffer;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConvEngineTest {
    private final FakeProvider cpu = new FakeProvider("cpu", 100, true);
    private final FakeProvider opencl = new FakeProvider("opencl", 200, true);
    private final FakeProvider cuda = new FakeProvider("cuda", 300, false);
    private final List<ConvBackendProvider> all = List.of(cpu, cuda, opencl);

    @Test
    void withNothingRequestedTheHighestAvailablePriorityWins() {
        try (ConvEngine e = ConvEngine.open(all, EngineOptions.defaults())) {
            assertEquals("opencl", e.backendName());
            assertTrue(e.selectionReport().contains("chosen by priority"), e.selectionReport());
        }
    }

    @Test
    void withOnlyTheCpuProviderTheEngineOpensIt() {
        try (ConvEngine e = ConvEngine.open(List.of(cpu), EngineOptions.defaults())) {
            assertEquals("cpu", e.backendName());
        }
    }

    @Test
    void anExplicitChoiceBeatsPriority() {
        try (ConvEngine e = ConvEngine.open(all, EngineOptions.backend("cpu", FallbackPolicy.FAIL))) {
            assertEquals("cpu", e.backendName());
            assertTrue(e.selectionReport().contains("chosen explicitly"));
        }
    }

    @Test
    void anUnavailableRequestUnderFailThrowsWithTheProvidersReasonAndFix() {
        IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> ConvEngine.open(all, EngineOptions.backend("cuda", FallbackPolicy.FAIL)));
        assertTrue(ex.getMessage().contains("no cuda here"), ex.getMessage());
        assertTrue(ex.getMessage().contains("install cuda"), ex.getMessage());
        assertTrue(ex.getMessage().contains("policy FAIL"), ex.getMessage());
    }

    @Test
    void anUnavailableRequestUnderWarnFallsBackAndSaysSo() {
        try (ConvEngine e = ConvEngine.open(all, EngineOptions.backend("cuda", FallbackPolicy.WARN))) {
            assertEquals("opencl", e.backendName());
            assertTrue(e.selectionReport().contains("fell back to opencl (policy WARN)"), e.selectionReport());
            assertTrue(e.selectionReport().contains("no cuda here"), e.selectionReport());
        }
    }

    @Test
    void anUnknownBackendNameListsTheKnownOnes() {
        IllegalStateException ex = assertThrows(IllegalStateException.class,
                () -> ConvEngine.open(all, EngineOptions.backend("metal", FallbackPolicy.FAIL)));
        assertTrue(ex.getMessage().contains("not on the classpath"), ex.getMessage());
        assertTrue(ex.getMessage().contains("cpu"), ex.getMessage());
    }

    @Test
    void aSystemPropertyBeatsTheEnvironment() {
        Properties p = new Properties();
        p.setProperty("jconv.backend", "cpu");
        EngineOptions o = EngineOptions.from(p, Map.of("JCONV_BACKEND", "cuda", "JCONV_FALLBACK", "fail"));
        assertEquals("cpu", o.backend());
        assertEquals(FallbackPolicy.FAIL, o.fallback());
        assertEquals("cuda", EngineOptions.from(new Properties(), Map.of("JCONV_BACKEND", "CUDA")).backend());
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.from(new Properties(), Map.of("JCONV_FALLBACK", "maybe")));
    }

    @Test
    void aProbeThatThrowsDoesNotTakeTheEngineDown() {
        ConvBackendProvider broken = new FakeProvider("broken", 900, true) {
            @Override
            public io.github.jconv.spi.ProbeResult probe() {
                throw new UnsatisfiedLinkError("libbroken.so");
            }
        };
        try (ConvEngine e = ConvEngine.open(List.of(broken, cpu), EngineOptions.defaults())) {
            assertEquals("cpu", e.backendName());
        }
    }

    @Test
    void callsAreValidatedBeforeTheBackendRuns() {
        ConvSpec spec = ConvSpec.parse("mb2ic4ih8oc6kh3ph1");
        try (ConvEngine e = ConvEngine.open(List.of(cpu), EngineOptions.defaults());
             ConvEngine other = ConvEngine.open(List.of(opencl), EngineOptions.defaults())) {
            DeviceBuffer x = e.allocate(DType.FP32, spec.inputShape());
            DeviceBuffer w = e.allocate(DType.FP32, spec.weightShape());
            DeviceBuffer b = e.allocate(DType.FP32, spec.biasShape());
            DeviceBuffer y = e.allocate(DType.FP32, spec.outputShape());
            DeviceBuffer wrongW = e.allocate(DType.FP32, Shape.of(6, 4, 3, 3, 1));
            DeviceBuffer w64 = e.allocate(DType.FP64, spec.weightShape());
            DeviceBuffer foreignW = other.allocate(DType.FP32, spec.weightShape());

            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class,
                    () -> e.execute(Pass.FORWARD, spec, ConvArgs.builder().x(x).w(wrongW).b(b).y(y).build()));
            assertTrue(shape.getMessage().contains("w shape = [6, 4, 3, 3, 1]") && shape.getMessage().contains("needs [6, 4, 3, 3]"),
                    shape.getMessage());
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> e.execute(Pass.FORWARD, spec, ConvArgs.builder().x(x).w(w).y(y).build()));
            assertTrue(missing.getMessage().startsWith("b = null") && missing.getMessage().contains("bias(false)"), missing.getMessage());
            IllegalArgumentException dtype = assertThrows(IllegalArgumentException.class,
                    () -> e.execute(Pass.FORWARD, spec, ConvArgs.builder().x(x).w(w64).b(b).y(y).build()));
            assertTrue(dtype.getMessage().contains("w dtype = FP64"), dtype.getMessage());
            IllegalArgumentException foreign = assertThrows(IllegalArgumentException.class,
                    () -> e.execute(Pass.FORWARD, spec, ConvArgs.builder().x(x).w(foreignW).b(b).y(y).build()));
            assertTrue(foreign.getMessage().contains("belongs to backend session opencl"), foreign.getMessage());
            IllegalArgumentException notDeformable = assertThrows(IllegalArgumentException.class,
                    () -> e.execute(Pass.BACKWARD_OFFSET_MASK, spec, ConvArgs.builder().build()));
            assertTrue(notDeformable.getMessage().contains("only deformable"), notDeformable.getMessage());
            ConvSpec same = ConvSpec.parse("mb1ic4ih4oc4kh1");
            DeviceBuffer t = e.allocate(DType.FP32, same.inputShape());
            DeviceBuffer tw = e.allocate(DType.FP32, same.weightShape());
            DeviceBuffer tb = e.allocate(DType.FP32, same.biasShape());
            IllegalArgumentException alias = assertThrows(IllegalArgumentException.class,
                    () -> e.execute(Pass.FORWARD, same, ConvArgs.builder().x(t).w(tw).b(tb).y(t).build()));
            assertTrue(alias.getMessage().contains("y is the same buffer as x"), alias.getMessage());
            UnsupportedOperationException fp16 = assertThrows(UnsupportedOperationException.class, () -> {
                DeviceBuffer h = e.allocate(DType.FP16, same.inputShape());
                e.execute(Pass.BACKWARD_BIAS, same.toBuilder().input(4, 4).build(), ConvArgs.builder()
                        .dy(e.allocate(DType.FP16, same.outputShape())).db(e.allocate(DType.FP16, same.biasShape())).build());
                h.close();
            });
            assertTrue(fp16.getMessage().contains("fake has no FP16"), fp16.getMessage());
            assertEquals(0, cpu.executes.get(), "no invalid call reached the backend");

            e.execute(Pass.FORWARD, spec, ConvArgs.builder().x(x).w(w).b(b).y(y).build());
            assertEquals(1, cpu.executes.get());
            x.close();
            assertThrows(IllegalStateException.class,
                    () -> e.execute(Pass.FORWARD, spec, ConvArgs.builder().x(x).w(w).b(b).y(y).build()));
        }
    }
}
