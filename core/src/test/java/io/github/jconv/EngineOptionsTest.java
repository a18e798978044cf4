package io.github.jconv;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Options are values: read from the system in one place, or built without it. */
class EngineOptionsTest {
    @Test
    void aBuiltValueSeesNoSystemProperty() {
        String before = System.getProperty("jconv.leakReportSeconds");
        System.setProperty("jconv.leakReportSeconds", "77");
        try {
            assertNull(EngineOptions.builder().build().get("jconv.leakReportSeconds"));
            assertEquals("77", EngineOptions.fromSystem().get("jconv.leakReportSeconds"));
            assertEquals("77", EngineOptions.defaults().get("jconv.leakReportSeconds"), "defaults() keeps the -D settings, as before");
            EngineOptions own = EngineOptions.builder().set("jconv.leakReportSeconds", "5").build();
            assertEquals(5, own.number("jconv.leakReportSeconds", 10));
        } finally {
            if (before == null) System.clearProperty("jconv.leakReportSeconds");
            else System.setProperty("jconv.leakReportSeconds", before);
        }
    }

    @Test
    void aPropertyBeatsItsVariableAndTheVariableIsFoundByTheTable() {
        Properties p = new Properties();
        p.setProperty("jconv.cuda.math", "tf32");
        p.setProperty("user.home", "/home/u"); // not a jconv option: not kept
        EngineOptions o = EngineOptions.from(p, Map.of("JCONV_CUDA_MATH", "fp32", "JCONV_CUDA_ALGO", "benchmark", "PATH", "/bin"));
        assertEquals("tf32", o.get("jconv.cuda.math"));
        assertEquals("benchmark", o.get("jconv.cuda.algo"));
        assertNull(o.get("jconv.cpu.threads"));
        assertEquals("4", o.get("jconv.cpu.threads", "4"));
        assertFalse(o.properties().containsKey("user.home"));
        assertFalse(o.environment().containsKey("PATH"));
        // unsetting in a builder removes the variable too
        assertNull(o.toBuilder().set("jconv.cuda.algo", null).build().get("jconv.cuda.algo"));
    }

    @Test
    void numbersAndFlagsReadAsTheOlderGetLongAndGetBoolean() {
        EngineOptions o = EngineOptions.builder().set("jconv.memoryLimitBytes", "lots").set("jconv.trackAllocations", "TRUE").build();
        assertEquals(0, o.number("jconv.memoryLimitBytes", 0), "Long.getLong gives the default for a non-number");
        assertTrue(o.flag("jconv.trackAllocations", false), "Boolean.getBoolean ignores case");
        assertFalse(EngineOptions.builder().set("jconv.trackAllocations", "yes").build().flag("jconv.trackAllocations", true));
    }

    @Test
    void typedBackendOptionsAreKeptByClass() {
        record Knob(int n) {
        }
        EngineOptions o = EngineOptions.builder().backendOptions(new Knob(3)).build();
        assertEquals(3, o.backendOptions(Knob.class).orElseThrow().n());
        assertTrue(EngineOptions.builder().build().backendOptions(Knob.class).isEmpty());
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.builder().backendOptions(null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EngineOptions.builder().set("cpu.threads", "2"));
        assertTrue(e.getMessage().contains("cpu.threads") && e.getMessage().contains("jconv.cpu.threads"), e.getMessage());
    }

    @Test
    void theSelectionIsReadAsBefore() {
        EngineOptions o = EngineOptions.builder().backend(" CPU ").fallback(FallbackPolicy.FAIL).device(0).build();
        assertEquals("cpu", o.backend());
        assertEquals(FallbackPolicy.FAIL, o.fallback());
        assertNull(EngineOptions.builder().backend("auto").build().backend());
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.builder().device(-1).build());
        assertThrows(IllegalArgumentException.class, () -> EngineOptions.builder().fallback(null).build());
    }

    /** docs/options.md has one row per option of {@link EngineOptions#KNOWN}, with its variable and default. */
    @Test
    void theDocsTableListsEveryOption() throws Exception {
        Path doc = Path.of("..", "docs", "options.md");
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        for (EngineOptions.Option o : EngineOptions.KNOWN) {
            String row = "| `" + o.property() + "` | " + (o.environment() == null ? "—" : "`" + o.environment() + "`") + " | "
                    + o.defaultValue() + " | " + o.backend() + " |";
            assertTrue(text.contains(row), "docs/options.md lacks the row " + row);
        }
    }
}
