package io.github.jconv.tools;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.jconv.ConvEngine;
import io.github.jconv.ConvSpec;
import io.github.jconv.ConvType;
import io.github.jconv.DType;
import io.github.jconv.Pass;
import io.github.jconv.Role;
import io.github.jconv.spi.Capabilities;
import io.github.jconv.spi.ConvBackendProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProbeCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode provider(JsonNode report, String name) {
        for (JsonNode p : report.get("providers")) if (p.get("name").asText().equals(name)) return p;
        throw new AssertionError("no provider " + name + " in " + report);
    }

    private static ConvBackendProvider cpuProvider() {
        for (ConvBackendProvider p : ConvEngine.providers()) if (p.name().equals("cpu")) return p;
        throw new AssertionError("jconv-cpu is a dependency of tools, so its provider must be found");
    }

    @Test
    void jsonParsesAndListsEveryProviderWithTheCpuBackendPassingEveryFp32Cell() throws Exception {
        ToolRun r = ToolRun.of("probe", "--json");
        JsonNode report = JSON.readTree(r.out());
        Set<String> want = new HashSet<>();
        for (ConvBackendProvider p : ConvEngine.providers()) want.add(p.name());
        Set<String> got = new HashSet<>();
        for (JsonNode p : report.get("providers")) {
            got.add(p.get("name").asText());
            assertTrue(p.get("available").asBoolean() || !p.get("reason").asText().isBlank(),
                    "an unavailable provider says why: " + p);
        }
        assertEquals(want, got);
        JsonNode cpu = provider(report, "cpu");
        assertTrue(cpu.get("available").asBoolean(), cpu::toString);
        JsonNode dev = cpu.get("devices").get(0);
        assertNotNull(dev.get("name").asText());
        assertTrue(dev.get("computeUnits").asInt() > 0, dev::toString);
        int fp32 = 0;
        for (JsonNode c : dev.get("capabilities")) {
            String status = c.get("status").asText();
            assertTrue(Set.of("pass", "fail", "error", "unsupported").contains(status), c::toString);
            if (c.get("dtype").asText().equals("FP32")) {
                assertEquals("pass", status, c::toString);
                fp32++;
            }
        }
        assertEquals(7, fp32, "convolution and transposed in 1D, 2D, 3D, and deformable 2D");
        assertTrue(dev.get("passed").asBoolean(), dev::toString);
        assertEquals(report.get("passed").asBoolean() ? 0 : 1, r.exit(), r::toString);
    }

    @Test
    void textShowsTheMatrixAndAVerdictForTheCpuBackend() {
        ToolRun r = ToolRun.of("probe", "--provider", "cpu");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("provider cpu (priority 100): available"), r::toString);
        r.find("^\\s+(convolution\\s+2D\\s+ok)");
        r.find("^\\s+(deformable\\s+2D\\s+ok)");
        r.find("^(verdict: PASS)");
    }

    @Test
    void anIsolatedChildGivesTheSameMatrixAsTheProbeInProcess() throws Exception {
        JsonNode inside = provider(JSON.readTree(ToolRun.of("probe", "--json", "--provider", "cpu").out()), "cpu");
        ToolRun r = ToolRun.of("probe", "--json", "--provider", "cpu", "--isolate");
        JsonNode isolated = provider(JSON.readTree(r.out()), "cpu");
        assertTrue(isolated.get("isolated").asBoolean(), r::toString);
        assertEquals(statuses(inside), statuses(isolated));
    }

    @Test
    void aChildThatCrashesIsReportedWithItsExitInsteadOfEndingTheProbe() throws Exception {
        ToolRun r = ToolRun.of("probe", "--json", "--provider", "cpu", "--isolate", "--child-main", CrashingChild.class.getName());
        JsonNode cpu = provider(JSON.readTree(r.out()), "cpu");
        assertFalse(cpu.get("available").asBoolean());
        String reason = cpu.get("reason").asText();
        assertTrue(reason.contains("exited with code 134") && reason.contains("SIGABRT"), reason);
        assertFalse(cpu.get("fix").asText().isBlank());
        assertEquals(1, r.exit(), "no device passed, so the probe fails");
    }

    @Test
    void anUnknownProviderIsRefusedWithTheKnownNames() {
        ToolRun r = ToolRun.of("probe", "--provider", "tpu");
        assertEquals(2, r.exit(), r::toString);
        assertTrue(r.err().contains("tpu") && r.err().contains("cpu"), r::toString);
    }

    private static List<String> statuses(JsonNode provider) {
        List<String> out = new ArrayList<>();
        for (JsonNode c : provider.get("devices").get(0).get("capabilities")) {
            out.add(c.get("operation").asText() + c.get("dims").asInt() + c.get("dtype").asText() + "=" + c.get("status").asText());
        }
        return out;
    }

    /** Known answers counted by hand on the representative problems (input 5, kernel 3, padding 1, 2 channels per group). */
    @ParameterizedTest(name = "{0} {1}D {2} at {3} = {4}")
    @CsvSource(delimiter = ';', value = {
            "CONVOLUTION; 2; Y; 0 0 0 0; 8.5",     // corner: 2x2 valid taps · 2 channels + 0.5
            "CONVOLUTION; 2; Y; 1 3 2 2; 18.5",    // centre: 9 taps · 2 + 0.5
            "CONVOLUTION; 1; DX; 0 0 0; 4",        // input 0 is reached by outputs 0, 1: 2 pairs · 2 output channels
            "CONVOLUTION; 1; DW; 0 0 0; 8",        // tap 0 is valid for outputs 1..4: 4 · batch 2
            "CONVOLUTION; 3; DB; 0; 250",          // batch 2 · 5³
            "TRANSPOSED; 1; Y; 0 0 0; 2.5",        // o = 2i - 1 + t: o 0 from (0,1) only
            "TRANSPOSED; 1; Y; 0 0 1; 4.5",        // o 1 from (0,2) and (1,0)
            "TRANSPOSED; 1; Y; 0 0 9; 2.5",        // o 9 from (4,2); output 2·4 - 2 + 3 + 1 = 10
            "TRANSPOSED; 1; DX; 0 0 0; 4",         // input 0 reaches o 0 and 1 (t = 1, 2): 2 · 2 output channels
            "DEFORMABLE; 2; Y; 0 0 0 0; 16.5",     // corner: 4 taps · 4 channels (one weight group) + 0.5
            "DEFORMABLE; 2; DMASK; 0 0 0 0; 0",    // tap (0,0) of output (0,0) samples (-1,-1): outside
            "DEFORMABLE; 2; DMASK; 0 4 0 0; 8"})   // centre tap inside: 4 output channels · 2 channels of the offset group
    void theCountedAnswersMatchHandCounts(ConvType type, int rank, Role role, String index, double want) {
        ConvSpec spec = Capabilities.representative(type, rank);
        int[] idx = Stream.of(index.split(" ")).mapToInt(Integer::parseInt).toArray();
        assertEquals(want, KnownAnswers.expected(spec, role, idx), 1e-12);
    }

    static Stream<Arguments> plantedFaults() {
        List<Arguments> out = new ArrayList<>();
        for (ConvType t : ConvType.values()) {
            for (Pass p : Pass.values()) {
                if (p == Pass.BACKWARD_OFFSET_MASK && t != ConvType.DEFORMABLE) continue;
                out.add(Arguments.of(t, p));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}: a wrong answer from {1} fails the cell")
    @MethodSource("plantedFaults")
    void aBackendThatGetsOnePassWrongFailsThatCell(ConvType type, Pass pass) {
        int rank = 2;
        try (ConvEngine plain = ConvEngine.open(cpuProvider(), 0)) {
            assertEquals("pass", KnownAnswers.check(plain, type, rank, DType.FP32).status(), "the real backend passes");
        }
        ConvBackendProvider cpu = cpuProvider();
        try (ConvEngine wrong = ConvEngine.wrap(Decorated.offByOne(cpu.open(0), pass))) {
            ProbeReport.CellReport c = KnownAnswers.check(wrong, type, rank, DType.FP32);
            assertEquals("fail", c.status(), c::toString);
            assertTrue(c.detail().startsWith(pass.name().toLowerCase(java.util.Locale.ROOT)), c::toString);
            // the offset gradient is pinned down only away from the border, so the planted error shows in the mask gradient
            if (pass == Pass.BACKWARD_OFFSET_MASK) assertTrue(c.detail().contains("dmask"), c::toString);
            // and it names the case in the conformance kit's repro form
            assertTrue(c.detail().contains(" -- repro: pass=" + pass + " dtype=FP32 "), c::toString);
        }
        try (ConvEngine broken = ConvEngine.wrap(Decorated.throwing(cpu.open(0), pass))) {
            ProbeReport.CellReport c = KnownAnswers.check(broken, type, rank, DType.FP32);
            assertEquals("error", c.status(), c::toString);
            assertTrue(c.detail().contains("planted failure"), c::toString);
            assertTrue(c.detail().contains(" -- repro: pass=" + pass + " dtype=FP32 "), c::toString);
        }
    }
}
