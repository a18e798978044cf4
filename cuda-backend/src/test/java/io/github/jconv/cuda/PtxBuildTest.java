package io.github.jconv.cuda;

import io.github.jconv.ConvSpec;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The committed PTX: built from the current kernel sources (checked everywhere by their hashes,
 * and where nvcc exists by building again and comparing), and launched with argument lists that
 * match the kernels' PTX signatures (checked without a GPU).
 */
class PtxBuildTest {
    /** This module's folder: the working directory under Maven, cuda-backend/ from the repository root (GPU bundle). */
    static final Path MODULE = Files.isDirectory(Path.of("src/main/cuda")) ? Path.of("").toAbsolutePath()
            : Path.of("cuda-backend").toAbsolutePath();
    static final Path CUDA_SRC = MODULE.resolve("src/main/cuda");
    /** kernels-cl's sources the deformable PTX is compiled from: the CUDA shim, the prelude and deformable.cl. */
    static final Path KERNELS = MODULE.resolve("../kernels-cl/src/main/resources/io/github/jconv/kernels").normalize();
    static final Path CL_SRC = KERNELS.resolve("deformable.cl");
    static final Path COMMITTED = MODULE.resolve("src/main/resources/io/github/jconv/cuda/ptx");
    static final Path NVCC = Path.of(System.getenv().getOrDefault("NVCC", "/usr/local/cuda/bin/nvcc"));
    static final String FIX = "; run cuda-backend/src/main/cuda/build-ptx.sh and commit cuda-backend/src/main/resources/io/github/jconv/cuda/ptx";

    static Properties manifest() throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(COMMITTED.resolve("manifest.properties"))) {
            p.load(in);
        }
        return p;
    }

    static String sha256(Path f) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
    }

    @Test
    void committedPtxWasBuiltFromTheCurrentSources() throws Exception {
        assumeTrue(Files.isDirectory(CUDA_SRC), "the cuda-backend sources are not in the working directory (" + MODULE + ")");
        assumeTrue(Files.exists(CL_SRC), "kernels-cl sources are not beside this module (" + CL_SRC + ")");
        Properties m = manifest();
        assertEquals(m.getProperty("deformable.cl"), sha256(CL_SRC), "deformable.cl changed since the PTX was built" + FIX);
        assertEquals(m.getProperty("common.cl"), sha256(KERNELS.resolve("common.cl")), "common.cl (the kernel prelude) changed" + FIX);
        assertEquals(m.getProperty("opencl_to_cuda.h"), sha256(KERNELS.resolve("opencl_to_cuda.h")), "opencl_to_cuda.h changed" + FIX);
        assertEquals(m.getProperty("window.cu"), sha256(CUDA_SRC.resolve("window.cu")), "window.cu changed" + FIX);
        assertEquals(m.getProperty("deformable_scatter.cu"), sha256(CUDA_SRC.resolve("deformable_scatter.cu")),
                "deformable_scatter.cu changed" + FIX);
        assertEquals(Integer.toString(DeformableSteps.RED_WG), m.getProperty("red_wg"), "the runner launches RED_WG items per group");
        assertEquals(m.getProperty("bias_grad.cu"), sha256(CUDA_SRC.resolve("bias_grad.cu")), "bias_grad.cu changed" + FIX);
        assertEquals(Integer.toString(BiasGradKernel.WG), m.getProperty("bias_wg"), "the bias kernel launches BiasGradKernel.WG threads per block");
        assertEquals(m.getProperty("sgd.cu"), sha256(CUDA_SRC.resolve("sgd.cu")), "sgd.cu changed" + FIX);
        assertEquals(m.getProperty("convert.cu"), sha256(CUDA_SRC.resolve("convert.cu")), "convert.cu changed" + FIX);
    }

    @Test
    void nvccBuildsExactlyTheCommittedPtx() throws Exception {
        assumeTrue(Files.isExecutable(NVCC), "no nvcc at " + NVCC + ": the committed PTX is used as it is");
        assumeTrue(Files.isDirectory(CUDA_SRC), "the cuda-backend sources are not in the working directory (" + MODULE + ")");
        assumeTrue(Files.exists(CL_SRC), "kernels-cl sources are not beside this module");
        String version = run(NVCC.toString(), "--version").lines().reduce((a, b) -> b).orElse("");
        assumeTrue(version.equals(manifest().getProperty("nvcc")),
                "nvcc here is '" + version + "', the PTX was built by '" + manifest().getProperty("nvcc") + "': outputs may differ legitimately");
        Path out = MODULE.resolve("target/ptx-check");
        if (!Files.exists(out.resolve("manifest.properties"))) { // the nvcc profile builds it in generate-test-resources
            run("bash", CUDA_SRC.resolve("build-ptx.sh").toString(), out.toString());
        }
        for (String f : List.of("deformable_f32.ptx", "deformable_f64.ptx", "window.ptx", "bias_grad.ptx", "sgd.ptx", "convert.ptx", "manifest.properties")) {
            assertArrayEquals(Files.readAllBytes(COMMITTED.resolve(f)), Files.readAllBytes(out.resolve(f)), f + " differs from a fresh build" + FIX);
        }
    }

    @Test
    void everyCommittedPtxModuleAssemblesForHopper() throws Exception {
        Path ptxas = NVCC.resolveSibling("ptxas");
        assumeTrue(Files.isExecutable(ptxas), "no ptxas beside " + NVCC + ": the driver's JIT is the first to assemble the PTX");
        Path dir = Files.createTempDirectory("jconv-ptxas");
        try {
            for (String f : List.of("deformable_f32.ptx", "deformable_f64.ptx", "window.ptx", "bias_grad.ptx", "sgd.ptx", "convert.ptx")) {
                run(ptxas.toString(), "-arch=sm_90", COMMITTED.resolve(f).toString(), "-o", dir.resolve("m.cubin").toString());
            }
        } finally {
            try (var l = Files.list(dir)) {
                for (Path f : l.toList()) Files.delete(f);
            }
            Files.delete(dir);
        }
    }

    @Test
    void theSgdLaunchMatchesItsKernelsPtxSignature() throws Exception {
        // CudaBackend.sgdStep passes (param pointer, grad pointer, lr as float or double, n as long)
        assertEquals(List.of("u64", "u64", "f32", "u64"), signature("sgd.ptx", "sgd_f32"));
        assertEquals(List.of("u64", "u64", "f64", "u64"), signature("sgd.ptx", "sgd_f64"));
    }

    private static String run(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", cmd) + " timed out");
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + text);
        return text.strip();
    }

    // ---- launches against the PTX signatures ----

    /** The parameter types of one kernel entry: u64 (pointer or long) or u32 (int). */
    static List<String> signature(String ptxResource, String kernel) throws IOException {
        String ptx = new String(DeviceContext.readResource("ptx/" + ptxResource), StandardCharsets.US_ASCII);
        Matcher m = Pattern.compile("\\.visible \\.entry " + Pattern.quote(kernel) + "\\(([^)]*)\\)").matcher(ptx);
        assertTrue(m.find(), kernel + " is not an entry of " + ptxResource);
        List<String> types = new ArrayList<>();
        Matcher p = Pattern.compile("\\.param \\.(\\w+) ").matcher(m.group(1));
        while (p.find()) types.add(p.group(1));
        return types;
    }

    static List<String> types(Object[] args) {
        List<String> t = new ArrayList<>();
        for (Object a : args) t.add(a instanceof Integer ? "u32" : "u64"); // Long and device pointers are 64-bit
        return t;
    }

    static List<ConvSpec> deformables() {
        return List.of(
                ConvSpec.deformable().batch(2).channels(4, 6).groups(2).input(7, 6).kernel(3).padding(1).offsetGroups(2).mask(true).build(),
                ConvSpec.deformable().batch(1).channels(3, 2).input(5, 5).kernel(3, 2).stride(2).dilation(1, 2).bias(false).build());
    }

    /** Every route and scatter the plan can choose: GEMM or direct, deterministic or not, GPU rows or CPU planes. */
    static List<io.github.jconv.plan.DeformablePlan.Target> targets() {
        var gpu = io.github.jconv.plan.DeformablePlan.DeviceKind.GPU;
        var cpu = io.github.jconv.plan.DeformablePlan.DeviceKind.CPU;
        return List.of(
                new io.github.jconv.plan.DeformablePlan.Target(gpu, true, true, 1 << 20, Integer.MAX_VALUE),
                new io.github.jconv.plan.DeformablePlan.Target(gpu, false, true, 1 << 20, Integer.MAX_VALUE),
                new io.github.jconv.plan.DeformablePlan.Target(gpu, true, false, 1 << 20, Integer.MAX_VALUE),
                new io.github.jconv.plan.DeformablePlan.Target(gpu, false, false, 1 << 20, Integer.MAX_VALUE),
                new io.github.jconv.plan.DeformablePlan.Target(cpu, true, false, 1 << 20, Integer.MAX_VALUE));
    }

    @TestFactory
    Stream<DynamicTest> everyDeformableLaunchMatchesItsKernelsPtxSignature() {
        List<DynamicTest> out = new ArrayList<>();
        java.util.Set<String> kernels = new java.util.TreeSet<>();
        for (ConvSpec s : deformables()) {
            for (Pass p : Pass.values()) {
                for (DType dt : List.of(DType.FP32, DType.FP64)) {
                    for (io.github.jconv.plan.DeformablePlan.Target t : targets()) {
                        out.add(DynamicTest.dynamicTest(p + " " + dt + " " + t + " " + s, () -> {
                            io.github.jconv.plan.DeformablePlan plan = io.github.jconv.plan.DeformablePlan.of(s, p, dt, t);
                            List<DeformableSteps.Step> steps = DeformableSteps.steps(plan, s, 132, (r, e) -> r, "col", 0, s.batch());
                            assertTrue(!steps.isEmpty());
                            for (DeformableSteps.Step st : steps) {
                                if (!(st instanceof KernelLaunch.Launch l)) continue;
                                kernels.add(l.kernel());
                                assertEquals(signature(DeformableSteps.ptx(dt), l.kernel()), types(l.args()), l.kernel());
                                for (Object a : l.args()) assertNotNull(a, l.kernel() + " gets a null argument");
                            }
                        }));
                    }
                }
            }
        }
        out.add(DynamicTest.dynamicTest("every deformable kernel is launched by some plan", () -> assertEquals(
                new java.util.TreeSet<>(List.of("deform_bias_grad", "deform_col2im_atomic", "deform_col_grad", "deform_forward",
                        "deform_im2col", "deform_input_grad", "deform_input_grad_rows", "deform_offset_mask_grad", "deform_weight_grad")),
                kernels)));
        return out.stream();
    }

    static io.github.jconv.plan.DeformablePlan direct(ConvSpec s, Pass p) {
        return io.github.jconv.plan.DeformablePlan.of(s, p, DType.FP32, targets().get(2));
    }

    @Test
    void deformableLaunchesBindTheRolesTheirPassNeeds() {
        ConvSpec s = deformables().get(0);
        KernelLaunch.Launch f = (KernelLaunch.Launch) DeformableSteps.steps(direct(s, Pass.FORWARD), s, 132, (r, e) -> r, "col", 0, 2).get(0);
        assertEquals(List.of(Role.X, Role.OFFSET, Role.MASK, 1, Role.W, Role.B, 1, Role.Y), List.of(f.args()).subList(0, 8));
        assertEquals(List.of(2, 4, 6, 2, 2, 7, 6, 7, 6, 3, 3, 1, 1, 1, 1, 1, 1), List.of(f.args()).subList(8, 25));
        assertEquals(2L * 6 * 7 * 6, f.args()[25]);
        KernelLaunch.Launch om = (KernelLaunch.Launch) DeformableSteps.steps(direct(s, Pass.BACKWARD_OFFSET_MASK), s, 132,
                (r, e) -> r, "col", 0, 2).get(1);
        assertEquals(List.of(Role.X, Role.OFFSET, Role.MASK, 1, "col", Role.DOFFSET, Role.DMASK), List.of(om.args()).subList(0, 7));
        ConvSpec v1 = deformables().get(1);
        KernelLaunch.Launch f1 = (KernelLaunch.Launch) DeformableSteps.steps(direct(v1, Pass.FORWARD), v1, 132, (r, e) -> r, "col", 0, 1).get(0);
        assertEquals(0, f1.args()[3], "v1: has_mask = 0");
        assertEquals(0, f1.args()[6], "no bias: has_bias = 0");
    }

    @Test
    void reductionKernelsWereCompiledForTheWorkGroupSizeTheRunnerLaunches() throws IOException {
        for (DType dt : List.of(DType.FP32, DType.FP64)) {
            String ptx = new String(DeviceContext.readResource("ptx/" + DeformableSteps.ptx(dt)), StandardCharsets.US_ASCII);
            Matcher m = Pattern.compile("\\.shared \\.align \\d+ \\.b8 \\w*deform_weight_grad\\w*part\\[(\\d+)]").matcher(ptx);
            assertTrue(m.find(), "deform_weight_grad's local array");
            assertEquals(DeformableSteps.RED_WG * dt.bytes(), Integer.parseInt(m.group(1)));
        }
    }

    @Test
    void windowCopyArgumentsMatchTheWindowKernels() throws IOException {
        Object[] a = WindowKernel.args("src", new int[]{2, 3, 1, 9}, "dst", new int[]{2, 3, 1, 12}, new int[]{0, 2});
        for (DType dt : DType.values()) assertEquals(signature("window.ptx", WindowKernel.name(dt)), types(a), dt.name());
        assertEquals(List.of("src", "dst", 6L, 1, 1, 9, 1, 1, 12, 0, 0, 2), List.of(a));
        Object[] b = WindowKernel.args("s", new int[]{1, 2, 4, 5, 6}, "d", new int[]{1, 2, 3, 5, 4}, new int[]{-1, 0, -2});
        assertEquals(List.of("s", "d", 2L, 4, 5, 6, 3, 5, 4, -1, 0, -2), List.of(b));
    }

    @Test
    void biasGradLaunchesMatchTheirKernelsAndWereCompiledForTheirBlockSize() throws IOException {
        ConvSpec s = ConvSpec.convolution().batch(3).channels(2, 5).input(7, 9).kernel(3).build(); // output 5 x 7 = 35 positions
        for (DType dt : List.of(DType.FP16, DType.BF16)) {
            KernelLaunch.Launch l = BiasGradKernel.launch(s, dt, r -> r);
            assertEquals(signature(BiasGradKernel.PTX, l.kernel()), types(l.args()), l.kernel());
            assertEquals(List.of(Role.DY, Role.DB, 3, 5, 35L), List.of(l.args()));
            assertEquals(5, l.blocks(), "one block per output channel");
            assertEquals(BiasGradKernel.WG, l.threads());
        }
        assertEquals("bias_grad_f16", BiasGradKernel.kernel(DType.FP16));
        assertEquals("bias_grad_bf16", BiasGradKernel.kernel(DType.BF16));
        assertTrue(BiasGradKernel.handles(DType.BF16) && BiasGradKernel.handles(DType.FP16));
        assertTrue(!BiasGradKernel.handles(DType.FP32) && !BiasGradKernel.handles(DType.FP64), "FP32/FP64 stay with cuDNN");
        String ptx = new String(DeviceContext.readResource("ptx/" + BiasGradKernel.PTX), StandardCharsets.US_ASCII);
        Matcher m = Pattern.compile("\\.shared \\.align \\d+ \\.b8 \\w*bias_grad_bf16\\w*part\\[(\\d+)]").matcher(ptx);
        assertTrue(m.find(), "bias_grad_bf16's shared partial sums");
        assertEquals(BiasGradKernel.WG * 4, Integer.parseInt(m.group(1)), "one float per thread");
    }

    @Test
    void widenAndNarrowLaunchesMatchTheConvertKernels() throws IOException {
        for (DType dt : List.of(DType.FP16, DType.BF16)) {
            for (boolean toFloat : new boolean[]{true, false}) {
                KernelLaunch.Launch l = DeformableSteps.convert(dt, toFloat, "src", "dst", 1000, 132);
                assertEquals(signature(DeformableSteps.CONVERT_PTX, l.kernel()), types(l.args()), l.kernel());
                assertEquals(List.of("src", "dst", 1000L), List.of(l.args()));
                assertEquals(4, l.blocks(), "1000 elements in blocks of 256");
            }
        }
        assertEquals("widen_f16", DeformableSteps.convertKernel(DType.FP16, true));
        assertEquals("narrow_bf16", DeformableSteps.convertKernel(DType.BF16, false));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> DeformableSteps.convertKernel(DType.FP32, true));
        assertTrue(e.getMessage().startsWith("dtype = FP32"), e.getMessage());
    }

    @Test
    void gridStrideLaunchesCoverTheWorkWithABoundedGrid() {
        long[] small = KernelLaunch.gridFor(1000, 132);
        assertEquals(4, small[0]);
        assertEquals(1024, small[1]);
        long[] big = KernelLaunch.gridFor(1L << 40, 132);
        assertEquals(132 * 32, big[0]);
        assertEquals(132L * 32 * KernelLaunch.THREADS, big[1]);
    }
}
