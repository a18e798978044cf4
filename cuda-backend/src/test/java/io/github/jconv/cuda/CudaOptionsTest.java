package io.github.jconv.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The session's knobs: defaults, property over environment, and bad values named with a fix. */
class CudaOptionsTest {
    @Test
    void defaultsAreFp32ExactHeuristicDeterministicWithOneGibibyteOfWorkspace() {
        CudaOptions o = CudaOptions.from(new Properties(), Map.of());
        assertEquals(CudaOptions.defaults(), o);
        assertEquals(MathMode.FP32, o.math());
        assertTrue(o.deterministic(), "bit-identical results by default, as on the other backends");
        assertEquals(CudaOptions.AlgoMode.HEURISTIC, o.algo());
        assertEquals(1L << 30, o.workspaceLimit());
    }

    @Test
    void aPropertyBeatsTheEnvironment() {
        Properties p = new Properties();
        p.setProperty("jconv.cuda.math", "TF32");
        CudaOptions o = CudaOptions.from(p, Map.of("JCONV_CUDA_MATH", "fp32", "JCONV_CUDA_DETERMINISTIC", "false",
                "JCONV_CUDA_ALGO", "benchmark", "JCONV_CUDA_WORKSPACE_LIMIT", "256m"));
        assertEquals(MathMode.TF32, o.math());
        assertTrue(!o.deterministic(), "the environment switched determinism off");
        assertEquals(CudaOptions.AlgoMode.BENCHMARK, o.algo());
        assertEquals(256L << 20, o.workspaceLimit());
    }

    @ParameterizedTest
    @CsvSource({"0,0", "65536,65536", "4k,4096", "1G,1073741824", " 3m ,3145728"})
    void workspaceLimitsReadBytesWithSuffixes(String text, long bytes) {
        assertEquals(bytes, CudaOptions.parseBytes("jconv.cuda.workspaceLimit", text));
    }

    @ParameterizedTest
    @CsvSource({"jconv.cuda.math,fp8,'must be fp32 or tf32'", "jconv.cuda.deterministic,yes,'must be true or false'",
            "jconv.cuda.algo,fastest,'must be heuristic or benchmark'", "jconv.cuda.workspaceLimit,-1,'non-negative byte count'",
            "jconv.cuda.workspaceLimit,12x,'e.g. 512m'"})
    void badValuesNameTheParameterTheValueAndAValueThatWorks(String key, String value, String rule) {
        Properties p = new Properties();
        p.setProperty(key, value);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CudaOptions.from(p, Map.of()));
        assertTrue(e.getMessage().startsWith(key + " = " + value), e.getMessage());
        assertTrue(e.getMessage().contains(rule), e.getMessage());
    }
}
