package io.github.jconv.tools.bench;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** bench's --cuda-api: parsed, refused off cuda, and set as jconv.cuda.api for the session's opening only. */
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
    void thePropertyIsSetWhileTheSessionOpensAndRestoredAfter() {
        String key = BenchCommand.CUDA_API_PROPERTY;
        String before = System.getProperty(key);
        try {
            System.setProperty(key, "legacy");
            String[] seen = new String[1];
            BenchCommand.openWithApi("graph", () -> {
                seen[0] = System.getProperty(key);
                return null;
            });
            assertEquals("graph", seen[0]);
            assertEquals("legacy", System.getProperty(key), "the caller's value is back");
            BenchCommand.openWithApi(null, () -> {
                seen[0] = System.getProperty(key);
                return null;
            });
            assertEquals("legacy", seen[0], "without --cuda-api nothing is changed");
            assertEquals("graph", BenchCommand.effectiveCudaApi("graph"));
            assertEquals("legacy", BenchCommand.effectiveCudaApi(null));
            System.clearProperty(key);
            // nothing set: the cuda backend's own default, the graph API
            if (System.getenv("JCONV_CUDA_API") == null) assertEquals("graph", BenchCommand.effectiveCudaApi(null));
            assertThrows(IllegalStateException.class, () -> BenchCommand.openWithApi("graph", () -> {
                throw new IllegalStateException("open failed");
            }));
            assertNull(System.getProperty(key), "restored after a failed open too");
        } finally {
            if (before == null) System.clearProperty(key);
            else System.setProperty(key, before);
        }
    }
}
