package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import org.bytedeco.cuda.cudnn.cudnnBackendDescriptor_t;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Where cuDNN 9 loads, with or without a GPU: every attribute call of the graph's tensors, convolution and
 * operation is accepted and each descriptor finalizes, for every pass and dtype of 2D, 1D (lifted), 3D, grouped,
 * transposed, strided and dilated problems; the variant pack's attributes too. Without a session there is no
 * cuDNN handle, so the operation graph itself may stop at its handle attribute or its finalization (cuDNN 9.24
 * refuses the null handle where it is set); any other failure fails the test with the call, descriptor,
 * attribute and status. Engines, plans and execution need a GPU: CudaGraphGpuTest. Skips where cuDNN does not
 * load (it was run on a machine without a GPU, with cuDNN 9.24's libraries and stub driver libraries on
 * LD_LIBRARY_PATH).
 */
class GraphDescriptorsTest {
    static List<ConvSpec> specs() {
        List<ConvSpec> l = new ArrayList<>(CudnnPlanTest.specs()); // 1D, 2D, 3D, grouped, transposed, staged, dilated
        l.add(ConvSpec.convolution().batch(8).channels(64, 64).input(56, 56).kernel(3).padding(1).build()); // P1
        l.add(ConvSpec.convolution().batch(8).channels(256, 256).input(14, 14).kernel(1).build()); // P3
        return l;
    }

    @Test
    void everyDescriptorOfEveryPassFinalizes() {
        Cudnn.Status st = Cudnn.status();
        assumeTrue(st.ok(), "cuDNN 9 does not load here: " + st.reason());
        cudnnContext none = new cudnnContext(); // no handle: only the graph's own descriptors are made
        int built = 0;
        for (ConvSpec spec : specs()) {
            for (Pass pass : new Pass[]{Pass.FORWARD, Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHT}) {
                for (DType dt : DType.values()) {
                    GraphConv g = GraphConv.of(CudnnPlan.of(spec, pass), dt, 16, 16, 16, pass == Pass.BACKWARD_WEIGHT);
                    List<cudnnBackendDescriptor_t> owned = new ArrayList<>();
                    try {
                        GraphOperation.build(none, g, owned);
                        assertEquals(6, owned.size(), "three tensors, the convolution, the operation and the graph");
                    } catch (GraphCalls.BuildFailure e) {
                        // the missing handle may be refused where it is set or where the graph is finalized
                        if (!e.getMessage().startsWith("cudnnBackendSetAttribute(operation graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE)")
                                && !e.getMessage().startsWith("cudnnBackendFinalize(operation graph)")) {
                            fail(spec + " " + pass + " " + dt + ": " + e.getMessage() + " [" + g + "]");
                        }
                        assertEquals(6, owned.size(), "everything up to the graph's handle was made");
                    } finally {
                        owned.forEach(org.bytedeco.cuda.global.cudnn::cudnnBackendDestroyDescriptor);
                    }
                    built++;
                }
            }
        }
        assertTrue(built > 100, "every case ran: " + built);
    }

    @Test
    void theVariantPackTakesThreePointersTheirIdsAndAWorkspace() {
        Cudnn.Status st = Cudnn.status();
        assumeTrue(st.ok(), "cuDNN 9 does not load here: " + st.reason());
        CudnnGraph cg = new CudnnGraph(null, new cudnnContext());
        CudnnGraph.Built b = new CudnnGraph.Built();
        b.plan = new cudnnBackendDescriptor_t(); // no plan: execution itself must refuse, after the pack was finalized
        try {
            int rc = cg.execute(b, 0x7f00_0000_1000L, 0x7f00_0000_2000L, 0x7f00_0000_3000L, 0, "variant pack test");
            assertTrue(b.variantPack != null, "the pack was finalized");
            assertEquals(CudaStatus.Kind.BAD_PARAM, CudaStatus.lookup(CudaStatus.Library.CUDNN, rc).kind(),
                    "executing a null plan is refused as a bad parameter: " + rc);
        } finally {
            CudnnGraph.destroy(b);
        }
    }
}
