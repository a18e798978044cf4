package io.github.jconv.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KernelSourcesTest {
    static List<String> families() {
        return KernelSources.FAMILIES;
    }

    @ParameterizedTest
    @MethodSource("families")
    void everyFamilyLoadsFromTheJarAndDefinesKernels(String family) {
        assertTrue(KernelSources.source(family).contains("typedef REAL real;"), family + " takes its element type as a define");
        assertTrue(!KernelSources.kernelNames(family).isEmpty(), family + " defines its kernels");
    }

    @Test
    void theDeformableKernelsTheCudaBackendLaunchesKeepTheirNames() {
        assertEquals(List.of("deform_forward", "deform_col_grad", "deform_input_grad", "deform_input_grad_rows", "deform_offset_mask_grad",
                "deform_weight_grad", "deform_bias_grad", "deform_im2col"), KernelSources.kernelNames("deformable"));
    }

    @Test
    void theDeformableSourceUsesOnlyWhatACudaShimCanMap() {
        String src = KernelSources.source("deformable");
        for (String openClOnly : List.of("get_global_size", "get_num_groups", "atomic_", "vload", "vstore", "mad(",
                "float4", "double2", "convert_", "as_int", "select(", "__constant", "mem_fence")) {
            assertTrue(!src.contains(openClOnly), "deformable.cl must not use " + openClOnly);
        }
    }

    @Test
    void anUnknownFamilyIsRefusedWithTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KernelSources.source("winograd"));
        assertTrue(e.getMessage().contains("winograd") && e.getMessage().contains("conv"), e.getMessage());
    }
}
