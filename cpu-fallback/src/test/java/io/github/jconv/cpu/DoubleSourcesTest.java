package io.github.jconv.cpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * The FP64 kernels are the FP32 kernels with the element type changed, so one algorithm has one
 * source. Run with {@code -Djconv.cpu.regenerate=true} after editing a Float* file to rewrite the
 * Double* twin; otherwise this test fails when the twins drift apart.
 */
class DoubleSourcesTest {
    private static final Path DIR = Path.of("src/main/java/io/github/jconv/cpu");

    static String retype(String floatSource) {
        return "// Generated from the Float twin by DoubleSourcesTest (retype float -> double); edit the Float file.\n"
                + floatSource.replace("float", "double").replace("Float", "Double").replace("FP32", "FP64");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Gemm", "VectorGemm", "Columns", "Passes", "Depthwise"})
    void doubleTwinIsTheFloatSourceRetyped(String name) throws IOException {
        String src = Files.readString(DIR.resolve("Float" + name + ".java"), StandardCharsets.UTF_8);
        String want = retype(src);
        Path twin = DIR.resolve("Double" + name + ".java");
        if (Boolean.getBoolean("jconv.cpu.regenerate")) Files.writeString(twin, want, StandardCharsets.UTF_8);
        assertEquals(want, Files.readString(twin, StandardCharsets.UTF_8),
                "Double" + name + ".java is out of date: run mvn -pl cpu-fallback test -Dtest=DoubleSourcesTest -Djconv.cpu.regenerate=true");
    }

    @Test
    void retypingChangesEveryFloatTypeName() {
        assertEquals("double[] a = new double[3]; DoubleGemm.gemm(); // FP64",
                retype("float[] a = new float[3]; FloatGemm.gemm(); // FP32").lines().skip(1).findFirst().orElseThrow());
        assertNotEquals(retype("float"), retype("double") + "x");
    }
}
