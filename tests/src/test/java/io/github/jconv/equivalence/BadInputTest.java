package io.github.jconv.equivalence;

import io.github.jconv.ConvArgs;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Shape;
import io.github.jconv.spi.ConvBackend;
import io.github.jconv.spi.ConvBackendProvider;
import io.github.jconv.DeviceBuffer;
import io.github.jconv.spi.ProbeResult;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bad-input catalogue, through every available backend's engine: each bad call throws an
 * IllegalArgumentException whose message names the parameter, and the backend's execute never runs.
 */
class BadInputTest {
    /** One bad call; {@code param} must appear in the message. */
    record Bad(String name, String param, Call call) {
    }

    interface Call {
        void run(Kit k);
    }

    /** The engine under test, a valid problem with buffers, and a second session of the same provider. */
    static final class Kit implements AutoCloseable {
        final ConvEngine engine;
        final ConvBackendProvider provider;
        final List<DeviceBuffer> open = new ArrayList<>();
        final ConvSpec conv = ConvSpec.parse("mb2ic4ih6oc4kh3ph1");
        final ConvSpec deform = ConvSpec.parse("dg2msk1mb1ic4ih5oc4kh3ph1");

        Kit(ConvEngine engine, ConvBackendProvider provider) {
            this.engine = engine;
            this.provider = provider;
        }

        DeviceBuffer buf(Shape s) {
            return buf(DType.FP32, s);
        }

        DeviceBuffer buf(DType t, Shape s) {
            DeviceBuffer b = engine.allocate(t, s);
            open.add(b);
            return b;
        }

        ConvArgs convArgs() {
            return ConvArgs.builder().x(buf(conv.inputShape())).w(buf(conv.weightShape())).b(buf(conv.biasShape()))
                    .y(buf(conv.outputShape())).build();
        }

        ConvArgs.Builder deformArgs() {
            return ConvArgs.builder().x(buf(deform.inputShape())).w(buf(deform.weightShape())).b(buf(deform.biasShape()))
                    .y(buf(deform.outputShape()));
        }

        @Override
        public void close() {
            for (DeviceBuffer c : open) c.close();
            engine.close();
        }
    }

    static List<Bad> catalogue() {
        return List.of(
                // the problem itself (checked when the spec is built, before any engine call)
                new Bad("negative batch", "batch", k -> ConvSpec.convolution().batch(-1).channels(3, 4).input(8, 8).kernel(3).build()),
                new Bad("negative channel count", "in_channels", k -> ConvSpec.convolution().channels(-1, 4).input(8, 8).kernel(3).build()),
                new Bad("input size zero", "input[1]", k -> ConvSpec.convolution().channels(3, 4).input(8, 0).kernel(3).build()),
                new Bad("kernel zero", "kernel", k -> ConvSpec.parse("mb1ic3iw8oc4kw0")),
                new Bad("stride zero", "stride[0]", k -> ConvSpec.parse("mb1ic3ih8oc4kh3sh0")),
                new Bad("dilation zero", "dilation[0]", k -> ConvSpec.parse("mb1ic3ih8oc4kh3dh0")),
                new Bad("kernel larger than padded input", "kernel[0]", k -> ConvSpec.parse("mb1ic3ih4oc4kh7ph1")),
                new Bad("groups not dividing channels", "groups", k -> ConvSpec.parse("g4mb1ic6ih8oc4kh3")),
                new Bad("output_padding not below max(stride, dilation)", "output_padding[0]",
                        k -> ConvSpec.parse("tr1mb1ic3ih4oc4kh3sh2oph2opw0")),
                new Bad("output_padding on a plain convolution", "output_padding",
                        k -> ConvSpec.convolution().channels(3, 4).input(8, 8).kernel(3).outputPadding(1).build()),
                new Bad("negative padding", "padding[0]", k -> ConvSpec.convolution().channels(3, 4).input(8, 8).kernel(3).padding(-1).build()),
                new Bad("offset groups not dividing channels", "offset_groups", k -> ConvSpec.parse("dg3mb1ic4ih8oc4kh3")),
                new Bad("deformable in 3D", "input", k -> ConvSpec.parse("dg1mb1ic4id4ih8iw8oc4kd3kh3kw3")),
                new Bad("rank mismatch between input and kernel", "kernel",
                        k -> ConvSpec.convolution().channels(3, 4).input(8, 8).kernel(3, 3, 3).build()),
                new Bad("rank mismatch in a problem line", "kd3", k -> ConvSpec.parse("mb1ic3ih8oc4kd3kh3")),
                new Bad("element count over the long range", "overflows long",
                        k -> ConvSpec.convolution().batch(Integer.MAX_VALUE).channels(Integer.MAX_VALUE, 1)
                                .input(Integer.MAX_VALUE, Integer.MAX_VALUE, 8).kernel(1).build()),
                // the call (checked by the engine before the backend runs)
                new Bad("null pass", "pass", k -> k.engine.execute(null, k.conv, k.convArgs())),
                new Bad("null spec", "spec", k -> k.engine.execute(Pass.FORWARD, null, k.convArgs())),
                new Bad("null args", "args", k -> k.engine.execute(Pass.FORWARD, k.conv, null)),
                new Bad("null input buffer", "x", k -> k.engine.forward(k.conv, null, k.buf(k.conv.weightShape()), k.buf(k.conv.biasShape()))),
                new Bad("null bias of a spec with bias", "b", k -> k.engine.forward(k.conv, k.buf(k.conv.inputShape()), k.buf(k.conv.weightShape()), null)),
                new Bad("wrong input shape", "x shape", k -> k.engine.execute(Pass.FORWARD, k.conv, ConvArgs.builder()
                        .x(k.buf(Shape.of(2, 4, 6, 7))).w(k.buf(k.conv.weightShape())).b(k.buf(k.conv.biasShape()))
                        .y(k.buf(k.conv.outputShape())).build())),
                new Bad("wrong weight shape", "w shape", k -> k.engine.execute(Pass.FORWARD, k.conv, ConvArgs.builder()
                        .x(k.buf(k.conv.inputShape())).w(k.buf(Shape.of(4, 4, 3, 3, 1))).b(k.buf(k.conv.biasShape()))
                        .y(k.buf(k.conv.outputShape())).build())),
                new Bad("wrong output shape", "y shape", k -> k.engine.execute(Pass.FORWARD, k.conv, ConvArgs.builder()
                        .x(k.buf(k.conv.inputShape())).w(k.buf(k.conv.weightShape())).b(k.buf(k.conv.biasShape()))
                        .y(k.buf(Shape.of(2, 4, 6, 5))).build())),
                new Bad("wrong offset shape", "offset shape", k -> k.engine.execute(Pass.FORWARD, k.deform, k.deformArgs()
                        .offset(k.buf(Shape.of(1, 18, 5, 5))).mask(k.buf(k.deform.maskShape())).build())),
                new Bad("wrong mask shape", "mask shape", k -> k.engine.execute(Pass.FORWARD, k.deform, k.deformArgs()
                        .offset(k.buf(k.deform.offsetShape())).mask(k.buf(Shape.of(1, 9, 5, 5))).build())),
                new Bad("missing mask of a v2 problem", "mask", k -> k.engine.execute(Pass.FORWARD, k.deform, k.deformArgs()
                        .offset(k.buf(k.deform.offsetShape())).build())),
                new Bad("offset pass of a plain convolution", "pass", k -> k.engine.execute(Pass.BACKWARD_OFFSET_MASK, k.conv, k.convArgs())),
                new Bad("buffers of two dtypes in one call", "dtype", k -> k.engine.execute(Pass.FORWARD, k.conv, ConvArgs.builder()
                        .x(k.buf(DType.FP32, k.conv.inputShape())).w(k.buf(DType.FP64, k.conv.weightShape()))
                        .b(k.buf(k.conv.biasShape())).y(k.buf(k.conv.outputShape())).build())),
                new Bad("output aliasing an input", "y is the same buffer as", k -> {
                    DeviceBuffer same = k.buf(k.conv.inputShape());
                    ConvSpec sameShape = ConvSpec.parse("mb2ic4ih6oc4kh3ph1bia0");
                    k.engine.execute(Pass.FORWARD, sameShape, ConvArgs.builder().x(same).w(k.buf(sameShape.weightShape())).y(same).build());
                }),
                new Bad("a buffer of another session", "x belongs to", k -> {
                    try (ConvEngine other = ConvEngine.open(k.provider, 0);
                         DeviceBuffer foreign = other.allocate(DType.FP32, k.conv.inputShape())) {
                        k.engine.execute(Pass.FORWARD, k.conv, ConvArgs.builder().x(foreign).w(k.buf(k.conv.weightShape()))
                                .b(k.buf(k.conv.biasShape())).y(k.buf(k.conv.outputShape())).build());
                    }
                }),
                new Bad("a bias with a spec without bias", ".bias(true)", k -> {
                    ConvSpec noBias = ConvSpec.parse("mb2ic4ih6oc4kh3ph1bia0");
                    k.engine.forward(noBias, k.buf(noBias.inputShape()), k.buf(noBias.weightShape()), k.buf(noBias.biasShape()));
                }),
                new Bad("a mask with a deformable v1 spec", ".mask(true)", k -> {
                    ConvSpec v1 = ConvSpec.parse("dg2mb1ic4ih5oc4kh3ph1");
                    k.engine.forward(v1, k.buf(v1.inputShape()), k.buf(v1.offsetShape()), k.buf(k.deform.maskShape()),
                            k.buf(v1.weightShape()), k.buf(v1.biasShape()));
                }),
                new Bad("a device offset past the end", "dstOffset", k -> k.engine.upload(k.buf(Shape.of(4)), Long.MAX_VALUE, new float[4], 0, 1)),
                new Bad("a host range past the end", "length", k -> k.engine.download(k.buf(Shape.of(4)), 0, new float[4], 2, 3)),
                new Bad("a negative host offset", "srcOffset", k -> k.engine.upload(k.buf(Shape.of(4)), 0, new double[4], -1, 1)),
                new Bad("null pairs for ConvArgs", "roleBufferPairs", k -> ConvArgs.of((Object[]) null)),
                new Bad("null host array of FP64 values for FP32", "data", k -> k.engine.upload(DType.FP32, (double[]) null, Shape.of(2))),
                new Bad("host array shorter than the shape", "data.length", k -> k.engine.upload(new float[5], Shape.of(2, 3))),
                new Bad("null host array", "data", k -> k.engine.upload((float[]) null, Shape.of(2, 3))),
                new Bad("null shape", "shape", k -> k.engine.allocate(DType.FP32, null)),
                new Bad("null dtype", "dtype", k -> k.engine.allocate(null, Shape.of(2))));
    }

    /** Counts execute calls that reach the backend. */
    static final class Recording extends ForwardingBackend {
        final AtomicInteger executed = new AtomicInteger();

        Recording(ConvBackend inner) {
            super(inner, inner.name());
        }

        @Override
        protected void run(Pass pass, ConvSpec spec, ConvArgs a) {
            executed.incrementAndGet();
            super.run(pass, spec, a);
        }
    }

    @TestFactory
    Stream<DynamicNode> everyBadInputIsRejectedByEveryBackendsEngineNamingTheParameter() {
        List<DynamicNode> nodes = new ArrayList<>();
        for (ConvBackendProvider p : ConvEngine.providers()) {
            ProbeResult probe = p.probe();
            List<DynamicTest> tests = new ArrayList<>();
            for (Bad bad : catalogue()) {
                tests.add(DynamicTest.dynamicTest(bad.name(), () -> {
                    Assumptions.assumeTrue(probe.available(), () -> p.name() + " unavailable: " + probe.reason());
                    Recording rec = new Recording(p.open(0));
                    try (Kit k = new Kit(ConvEngine.wrap(rec), p)) {
                        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bad.call().run(k),
                                p.name() + ": " + bad.name());
                        assertTrue(e.getMessage() != null && e.getMessage().contains(bad.param()),
                                p.name() + ": " + bad.name() + ": the message should name " + bad.param() + ": " + e.getMessage());
                        assertEquals(0, rec.executed.get(), p.name() + ": " + bad.name() + " reached the backend's execute");
                    }
                }));
            }
            nodes.add(DynamicContainer.dynamicContainer("backend " + p.name(), tests.stream()));
        }
        if (nodes.isEmpty()) nodes.add(DynamicTest.dynamicTest("no provider", () -> Assertions.fail("no ConvBackendProvider on the classpath")));
        return nodes.stream();
    }
}
