package io.github.jconv.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The FP64 kernels are the FP32 kernels with the element type changed, so one algorithm has one source: the build
 * (maven-antrun-plugin in cpu-fallback/pom.xml, at generate-sources) writes each Double* twin from its Float* file
 * into target/generated-sources/double-twins. This test checks that rule against the files the build wrote, and
 * that no hand-kept twin is left in src/main.
 */
class DoubleSourcesTest {
    private static final Path SRC = Path.of("src/main/java/io/github/jconv/cpu");
    private static final Path GENERATED = Path.of("target/generated-sources/double-twins/io/github/jconv/cpu");

    /** The build's rule: float -> double, Float -> Double, FP32 -> FP64, in that order. */
    static String retype(String floatSource) {
        return floatSource.replace("float", "double").replace("Float", "Double").replace("FP32", "FP64");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Gemm", "VectorGemm", "VectorKernels", "Columns", "Passes", "ConvPasses", "DepthwisePasses", "PhasePasses", "ImplicitGemm", "ImplicitWeights", "DeformablePasses", "Depthwise"})
    void theBuildWritesEachDoubleTwinAsTheFloatSourceRetyped(String name) throws IOException {
        String src = Files.readString(SRC.resolve("Float" + name + ".java"), StandardCharsets.UTF_8);
        Path twin = GENERATED.resolve("Double" + name + ".java");
        assertTrue(Files.isRegularFile(twin), twin + " was not generated: the build's generate-sources step did not run");
        assertEquals(retype(src), Files.readString(twin, StandardCharsets.UTF_8), "Double" + name + ".java");
        assertFalse(Files.exists(SRC.resolve("Double" + name + ".java")), "a hand-kept Double" + name + ".java in src/main would clash");
    }

    @Test
    void retypingChangesEveryFloatTypeName() {
        assertEquals("double[] a = new double[3]; DoubleGemm.gemm(); // FP64",
                retype("float[] a = new float[3]; FloatGemm.gemm(); // FP32"));
    }
}
