package io.github.jconv.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

    @ParameterizedTest
    @MethodSource("families")
    void aProgramIsThePreludeOnceThenTheFamilysOwnFile(String family) {
        String src = KernelSources.source(family);
        assertEquals(KernelSources.prelude() + KernelSources.file(family), src, "the prelude ends with a newline and comes first");
        for (String once : List.of("typedef REAL real;", "typedef ACC acc_t;", "typedef IDX idx_t;", "#pragma OPENCL EXTENSION cl_khr_fp64",
                "#define GEOM_PARAMS", "#define GROUP_SUM")) {
            assertEquals(1, count(src, once), family + ": '" + once + "' appears once, in the prelude");
        }
    }

    /** Every name a #define or typedef introduces (function-like macros by their name). */
    static Set<String> definedNames(String text) {
        Set<String> names = new TreeSet<>();
        Matcher d = Pattern.compile("(?m)^\\s*#\\s*define\\s+(\\w+)").matcher(text);
        while (d.find()) names.add(d.group(1));
        Matcher t = Pattern.compile("\\btypedef\\s+[^;{]*?(\\w+)\\s*;").matcher(text);
        while (t.find()) names.add(t.group(1));
        Matcher f = Pattern.compile("(?m)^DEVICE_FN\\s+\\w+\\s+(\\w+)\\s*\\(").matcher(text);
        while (f.find()) names.add(f.group(1));
        return names;
    }

    @ParameterizedTest
    @MethodSource("families")
    void noFamilyDefinesAgainWhatThePreludeDefines(String family) {
        Set<String> prelude = definedNames(KernelSources.prelude());
        // the prelude's own inventory, so that the check below cannot pass on an empty set
        assertTrue(prelude.containsAll(List.of("REAL", "real", "ACC", "acc_t", "IDX", "idx_t", "store_t", "LOAD", "STORE", "STORE_IS_REAL",
                "RED_WG", "DEVICE_FN", "LOCAL_PTR", "GEOM_PARAMS", "GROUP_SUM", "source_pos", "bf16_to_float", "float_to_bf16")), prelude.toString());
        Set<String> again = definedNames(KernelSources.file(family));
        again.retainAll(prelude);
        assertEquals(Set.of(), again, family + ".cl defines again what common.cl defines");
        assertTrue(!KernelSources.file(family).contains("#pragma OPENCL EXTENSION"), family + ".cl enables no extension of its own");
    }

    @Test
    void thePreludeDeclaresNoKernelAndTheShimLoads() {
        assertTrue(!Pattern.compile("__kernel\\s+void").matcher(KernelSources.prelude()).find(), "common.cl holds no kernel");
        assertTrue(KernelSources.cudaShim().contains("#define __kernel extern \"C\" __global__"), "the CUDA shim maps __kernel");
    }

    private static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + 1)) n++;
        return n;
    }

    @Test
    void theDeformableKernelsTheCudaBackendLaunchesKeepTheirNames() {
        assertEquals(List.of("deform_forward", "deform_col_grad", "deform_input_grad", "deform_input_grad_rows", "deform_offset_mask_grad",
                "deform_weight_grad", "deform_bias_grad", "deform_im2col"), KernelSources.kernelNames("deformable"));
    }

    @Test
    void theDeformableSourceUsesOnlyWhatACudaShimCanMap() {
        String src = KernelSources.file("deformable");
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
