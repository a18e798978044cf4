package io.github.jconv;

import io.github.jconv.spi.ConvBackendProvider;
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
            assertTrue(e.selectionReport().contains("chosen by rank"), e.selectionReport());
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
    void anUnknownBackendNameIsRejectedWhateverThePolicyListingTheKnownOnes() {
        for (FallbackPolicy policy : FallbackPolicy.values()) {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class,
                    () -> ConvEngine.open(all, EngineOptions.backend("cpuu", policy)), policy.name());
            assertTrue(ex.getMessage().startsWith("jconv.backend = cpuu: no backend of that name"), ex.getMessage());
            assertTrue(ex.getMessage().contains("known: cuda, opencl, cpu"), ex.getMessage());
            assertTrue(ex.getMessage().contains("e.g. jconv.backend=cpu"), ex.getMessage());
        }
        assertEquals(0, cpu.probes.get() + opencl.probes.get() + cuda.probes.get(), "a typo is rejected before any probe");
    }

    @Test
    void aBufferOfAnotherEngineOfTheSameBackendIsCalledThat() {
        ConvSpec spec = ConvSpec.parse("mb1ic2ih4oc2kh1");
        try (ConvEngine e = ConvEngine.open(List.of(cpu), EngineOptions.defaults());
             ConvEngine other = ConvEngine.open(List.of(cpu), EngineOptions.defaults());
             DeviceBuffer x = other.allocate(DType.FP32, spec.inputShape());
             DeviceBuffer w = e.allocate(DType.FP32, spec.weightShape());
             DeviceBuffer b = e.allocate(DType.FP32, spec.biasShape())) {
            IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> e.forward(spec, x, w, b));
            assertTrue(ex.getMessage().startsWith("x belongs to another engine (another cpu session on cpu-device)"), ex.getMessage());
            assertTrue(!ex.getMessage().contains("not to this engine's"), ex.getMessage());
        }
    }

    @Test
    void aBufferTheSpecDoesNotUseIsRefusedNamingTheSettingThatWouldUseIt() {
        ConvSpec noBias = ConvSpec.parse("mb1ic2ih4oc2kh1bia0");
        ConvSpec v1 = ConvSpec.parse("dg1mb1ic2ih4oc2kh3ph1");
        ConvSpec plain = ConvSpec.parse("mb1ic2ih4oc2kh1");
        try (ConvEngine e = ConvEngine.open(List.of(cpu), EngineOptions.defaults())) {
            DeviceBuffer x = e.allocate(DType.FP32, noBias.inputShape());
            DeviceBuffer w = e.allocate(DType.FP32, noBias.weightShape());
            DeviceBuffer b = e.allocate(DType.FP32, Shape.of(2));
            IllegalArgumentException bias = assertThrows(IllegalArgumentException.class, () -> e.forward(noBias, x, w, b));
            assertTrue(bias.getMessage().startsWith("b is given") && bias.getMessage().contains(".bias(true)"), bias.getMessage());

            DeviceBuffer dx = e.allocate(DType.FP32, v1.inputShape());
            DeviceBuffer dw = e.allocate(DType.FP32, v1.weightShape());
            DeviceBuffer db = e.allocate(DType.FP32, v1.biasShape());
            DeviceBuffer off = e.allocate(DType.FP32, v1.offsetShape());
            DeviceBuffer mask = e.allocate(DType.FP32, Shape.of(1, 9, 4, 4));
            IllegalArgumentException m = assertThrows(IllegalArgumentException.class, () -> e.forward(v1, dx, off, mask, dw, db));
            assertTrue(m.getMessage().startsWith("mask is given") && m.getMessage().contains(".mask(true)"), m.getMessage());

            DeviceBuffer y = e.allocate(DType.FP32, plain.outputShape());
            IllegalArgumentException o = assertThrows(IllegalArgumentException.class, () -> e.execute(Pass.FORWARD, plain,
                    ConvArgs.builder().x(x).w(w).b(b).y(y).offset(off).build()));
            assertTrue(o.getMessage().startsWith("offset is given") && o.getMessage().contains("ConvSpec.deformable()"), o.getMessage());
            assertEquals(0, cpu.executes.get());
        }
    }

    @Test
    void theShortcutsValidateEverythingBeforeAllocatingTheOutput() {
        ConvSpec spec = ConvSpec.parse("mb1ic2ih4oc2kh3ph1");
        try (ConvEngine e = ConvEngine.open(List.of(cpu), EngineOptions.defaults());
             ConvEngine other = ConvEngine.open(List.of(opencl), EngineOptions.defaults())) {
            DeviceBuffer x = e.allocate(DType.FP32, spec.inputShape());
            DeviceBuffer w = e.allocate(DType.FP32, spec.weightShape());
            DeviceBuffer b = e.allocate(DType.FP32, spec.biasShape());
            DeviceBuffer dy = e.allocate(DType.FP32, spec.outputShape());
            DeviceBuffer badW = e.allocate(DType.FP32, Shape.of(2, 2, 3, 1));
            DeviceBuffer w64 = e.allocate(DType.FP64, spec.weightShape());
            DeviceBuffer foreignDy = other.allocate(DType.FP32, spec.outputShape());
            int before = cpu.allocations.get();
            assertThrows(IllegalArgumentException.class, () -> e.forward(spec, x, badW, b));
            assertThrows(IllegalArgumentException.class, () -> e.forward(spec, x, w64, b));
            assertThrows(IllegalArgumentException.class, () -> e.backwardData(spec, foreignDy, w));
            assertThrows(IllegalArgumentException.class, () -> e.backwardData(spec, dy, badW));
            assertThrows(IllegalArgumentException.class, () -> e.backwardWeight(spec, x, foreignDy));
            assertThrows(IllegalArgumentException.class, () -> e.backwardBias(spec, foreignDy));
            assertEquals(0, cpu.allocations.get() - before, "no output may be allocated for a call that is refused");
            try (DeviceBuffer y = e.forward(spec, x, w, b)) {
                assertEquals(1, cpu.allocations.get() - before);
                assertEquals(spec.outputShape(), y.shape());
            }
        }
    }

    @Test
    void rangedTransfersAreCheckedBeforeTheBackendSeesThem() {
        try (ConvEngine e = ConvEngine.open(List.of(cpu), EngineOptions.defaults())) {
            DeviceBuffer buf = e.allocate(DType.FP32, Shape.of(2, 3));
            float[] six = new float[6];
            IllegalArgumentException far = assertThrows(IllegalArgumentException.class, () -> e.upload(buf, Long.MAX_VALUE, six, 0, 1));
            assertTrue(far.getMessage().startsWith("dstOffset = " + Long.MAX_VALUE + ": must be in 0..6") && far.getMessage().contains("e.g. dstOffset = 0"),
                    far.getMessage());
            IllegalArgumentException neg = assertThrows(IllegalArgumentException.class, () -> e.upload(buf, 0, six, -1, 1));
            assertTrue(neg.getMessage().startsWith("srcOffset = -1"), neg.getMessage());
            IllegalArgumentException longer = assertThrows(IllegalArgumentException.class, () -> e.upload(buf, 4, six, 0, 3));
            assertTrue(longer.getMessage().startsWith("length = 3") && longer.getMessage().contains("use length <= 2"), longer.getMessage());
            IllegalArgumentException host = assertThrows(IllegalArgumentException.class, () -> e.download(buf, 0, new double[2], 1, 2));
            assertTrue(host.getMessage().startsWith("length = 2") && host.getMessage().contains("use length <= 1"), host.getMessage());
            IllegalArgumentException nul = assertThrows(IllegalArgumentException.class, () -> e.download(buf, 0, (float[]) null, 0, 1));
            assertTrue(nul.getMessage().startsWith("dst = null"), nul.getMessage());
            IllegalArgumentException negLen = assertThrows(IllegalArgumentException.class, () -> e.download(buf, 0, six, 0, -1));
            assertTrue(negLen.getMessage().startsWith("length = -1"), negLen.getMessage());
            IllegalArgumentException nobuf = assertThrows(IllegalArgumentException.class, () -> e.upload(null, 0, six, 0, 1));
            assertTrue(nobuf.getMessage().startsWith("dst = null"), nobuf.getMessage());
            assertEquals(0, cpu.transfers.get(), "no bad range reached the backend");
            e.upload(buf, 4, six, 4, 2);
            e.download(buf, 0, six, 0, 6);
            assertEquals(2, cpu.transfers.get());
        }
    }

    @Test
    void probingNullIsAnIllegalArgument() {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> ConvEngine.probe(null));
        assertTrue(ex.getMessage().startsWith("provider = null"), ex.getMessage());
    }

    @Test
    void nullPairsForConvArgsAreAnIllegalArgument() {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> ConvArgs.of((Object[]) null));
        assertTrue(ex.getMessage().startsWith("roleBufferPairs = null"), ex.getMessage());
        assertEquals(0, ConvArgs.of().asMap().size());
    }

    @Test
    void doubleHostDataFillsABufferOfAnyDtype() {
        try (ConvEngine e = ConvEngine.open(List.of(cpu), EngineOptions.defaults());
             DeviceBuffer b = e.upload(DType.FP32, new double[] {0.5, 1.5}, Shape.of(2))) {
            assertEquals(DType.FP32, b.dtype());
            assertEquals(1, cpu.transfers.get());
            assertThrows(IllegalArgumentException.class, () -> e.upload(DType.FP32, new double[3], Shape.of(2)));
            assertThrows(IllegalArgumentException.class, () -> e.upload(null, new double[2], Shape.of(2)));
        }
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

    @Test
    void severalPassesInOneCallAreCheckedTogetherBeforeTheBackendRunsThemInPassOrder() {
        // 1×1 kernel, 4 → 4 channels, 4×4 map: x, y, dx and dy all have the shape [1, 4, 4, 4], so buffers can alias
        ConvSpec spec = ConvSpec.parse("mb1ic4ih4oc4kh1");
        try (ConvEngine e = ConvEngine.open(List.of(cpu), EngineOptions.defaults())) {
            DeviceBuffer x = e.allocate(DType.FP32, spec.inputShape());
            DeviceBuffer w = e.allocate(DType.FP32, spec.weightShape());
            DeviceBuffer dy = e.allocate(DType.FP32, spec.outputShape());
            DeviceBuffer dx = e.allocate(DType.FP32, spec.inputShape());
            DeviceBuffer dw = e.allocate(DType.FP32, spec.weightShape());
            DeviceBuffer db = e.allocate(DType.FP32, spec.biasShape());
            java.util.EnumSet<Pass> backward = java.util.EnumSet.of(Pass.BACKWARD_WEIGHT, Pass.BACKWARD_DATA);

            IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                    () -> e.executeAll(null, spec, ConvArgs.builder().build()));
            assertTrue(none.getMessage().startsWith("passes = null"), none.getMessage());
            IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
                    () -> e.executeAll(java.util.EnumSet.noneOf(Pass.class), spec, ConvArgs.builder().build()));
            assertTrue(empty.getMessage().startsWith("passes = []") && empty.getMessage().contains("EnumSet.of("), empty.getMessage());
            java.util.Set<Pass> withNull = new java.util.HashSet<>(java.util.Arrays.asList(Pass.BACKWARD_DATA, null));
            IllegalArgumentException nullPass = assertThrows(IllegalArgumentException.class, () -> e.executeAll(withNull, spec,
                    ConvArgs.builder().dy(dy).w(w).dx(dx).build()));
            assertTrue(nullPass.getMessage().contains("contains null"), nullPass.getMessage());
            // each pass is checked as alone: the weight gradient needs x
            IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                    () -> e.executeAll(backward, spec, ConvArgs.builder().dy(dy).w(w).dx(dx).dw(dw).build()));
            assertTrue(missing.getMessage().startsWith("x = null") && missing.getMessage().contains("BACKWARD_WEIGHT"), missing.getMessage());
            // dx = x passes each pass's own check (the data gradient does not read x) but not the call's:
            // the weight gradient would read x after the data gradient overwrote it
            IllegalArgumentException alias = assertThrows(IllegalArgumentException.class,
                    () -> e.executeAll(backward, spec, ConvArgs.builder().x(x).dy(dy).w(w).dx(x).dw(dw).build()));
            assertTrue(alias.getMessage().contains("dx is the same buffer as x"), alias.getMessage());
            assertEquals(0, cpu.executes.get(), "no invalid call reached the backend");

            e.executeAll(java.util.EnumSet.of(Pass.BACKWARD_BIAS, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_DATA), spec.toBuilder().bias(true).build(),
                    ConvArgs.builder().x(x).dy(dy).w(w).dx(dx).dw(dw).db(db).build());
            assertEquals(List.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT, Pass.BACKWARD_BIAS), cpu.passes,
                    "the default runs the passes one by one, in Pass order");
        }
    }
}
