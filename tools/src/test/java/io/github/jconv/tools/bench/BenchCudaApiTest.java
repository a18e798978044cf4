package io.github.jconv.tools.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bench's --cuda-api: parsed, refused off cuda, and passed as the session's jconv.cuda.api value. */
class BenchCudaApiTest {
    @Test
    void legacyAndGraphAreTheValues() {
        assertNull(BenchCommand.cudaApi(null), "not given: the property or environment decides");
        assertEquals("graph", BenchCommand.cudaApi(" GRAPH "));
        assertEquals("legacy", BenchCommand.cudaApi("legacy"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BenchCommand.cudaApi("v8"));
        assertTrue(e.getMessage().contains("cuda-api = v8") && e.getMessage().contains("--cuda-api graph"), e.getMessage());
    }

    @Test
    void onlyTheCudaBackendTakesIt() {
        BenchCommand.checkCudaApi("graph", "cuda");
        BenchCommand.checkCudaApi(null, "opencl");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BenchCommand.checkCudaApi("graph", "cpu"));
        assertTrue(e.getMessage().contains("cuda-api = graph"), e.getMessage());
    }

    @Test
    void theApiReachesTheSessionAsAnOptionValueWithoutTouchingSystemProperties() {
        String key = BenchCommand.CUDA_API_PROPERTY;
        String before = System.getProperty(key);
        try {
            System.setProperty(key, "legacy");
            io.github.jconv.EngineOptions o = BackendAccess.sessionOptions("cpu", 1, "fp32", "benchmark", true, "graph");
            assertEquals("graph", o.get(key), "--cuda-api is the session's value");
            assertEquals("true", o.get(BackendAccess.CUDA_DETERMINISTIC_PROPERTY));
            assertEquals("legacy", System.getProperty(key), "the JVM's property is not changed");
            assertEquals("legacy", BackendAccess.sessionOptions("cpu", 1, "fp32", "benchmark", null, null).get(key),
                    "without --cuda-api the system's value stands");
            assertEquals("graph", BenchCommand.effectiveCudaApi("graph"));
            assertEquals("legacy", BenchCommand.effectiveCudaApi(null));
            System.clearProperty(key);
            // nothing set: the cuda backend's own default, the graph API
            if (System.getenv("JCONV_CUDA_API") == null) assertEquals("graph", BenchCommand.effectiveCudaApi(null));
        } finally {
            if (before == null) System.clearProperty(key);
            else System.setProperty(key, before);
        }
    }
}
