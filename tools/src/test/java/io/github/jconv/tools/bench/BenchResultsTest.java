package io.github.jconv.tools.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchResultsTest {
    private static JconvRunner.ProblemRound round(double fwdMedian, double fwdMin, long scratch) {
        Map<BenchPass, JconvRunner.RoundTiming> t = new EnumMap<>(BenchPass.class);
        t.put(BenchPass.FWD, new JconvRunner.RoundTiming(fwdMedian, fwdMin, 10));
        return new JconvRunner.ProblemRound(t, Map.of(), "im2col+gemm", scratch);
    }

    private static PeerCsv.Row peer(String problem, double ms) {
        return new PeerCsv.Row("torch-x", "cpu", "fp32", problem, BenchPass.FWD, ms, 0);
    }

    @Test
    void roundsReduceToTheMedianOfRoundMediansTheFastestCallAndTheSpread() {
        BenchProblem p3 = BenchProblem.parseList("P3").get(0);
        BenchResults r = new BenchResults(List.of(p3), List.of(BenchPass.FWD));
        r.addJconv(p3, round(10, 9, 100));
        r.addPeer(List.of(peer("P3", 5)));
        r.addJconv(p3, round(14, 8.5, 300));
        r.addPeer(List.of(peer("P3", 7)));
        r.addJconv(p3, round(12, 11, 200));
        r.addPeer(List.of(peer("P3", 6.5)));
        BenchResults.Row row = r.rows().get(0);
        assertEquals(12.0, row.jconvMs());
        assertEquals(8.5, row.jconvMinMs());
        assertEquals(10.0, row.jconvRoundLoMs());
        assertEquals(14.0, row.jconvRoundHiMs());
        assertEquals(30, row.jconvSamples());
        assertEquals(6.5, row.peerMs());
        assertEquals(5.0, row.peerRoundLoMs());
        assertEquals(7.0, row.peerRoundHiMs());
        assertEquals(6.5 / 12.0, row.ratio(), 1e-12);
        // 205 520 896 FLOPs in 12 ms
        assertEquals(17.126741333, row.jconvGflops(), 1e-6);
        assertEquals(300, row.peakScratchBytes());
        assertEquals("torch-x", row.peer());
    }

    @Test
    void peerRowsOfOtherModesOrUnselectedProblemsAreIgnored() {
        BenchProblem p3 = BenchProblem.parseList("P3").get(0);
        BenchResults r = new BenchResults(List.of(p3), List.of(BenchPass.FWD));
        r.addJconv(p3, round(10, 9, -1));
        r.addPeer(List.of(new PeerCsv.Row("torch-x", "cuda", "tf32", "P3", BenchPass.FWD, 1, 0), peer("P1", 2)));
        BenchResults.Row row = r.rows().get(0);
        assertTrue(Double.isNaN(row.peerMs()));
        assertTrue(Double.isNaN(row.ratio()));
    }

    @Test
    void csvHasTheHeaderAndOneLinePerCaseWithBlanksForMissingNumbers(@TempDir Path dir) throws Exception {
        BenchProblem tiny = BenchProblem.parseList("tiny=mb1ic2ih5oc3kh3ph1").get(0);
        BenchResults r = new BenchResults(List.of(tiny), List.of(BenchPass.FWD, BenchPass.FWD_BWD));
        r.addJconv(tiny, round(2, 1, -1));
        Path csv = dir.resolve("out.csv");
        BenchResults.writeCsv(csv, r.rows(), "cpu", "2", 1);
        List<String> lines = Files.readAllLines(csv);
        assertEquals(3, lines.size());
        String[] f = lines.get(1).split(",", -1);
        assertEquals(lines.get(0).split(",").length, f.length);
        assertEquals("tiny", f[0]);
        assertEquals("fwd", f[1]);
        assertEquals("2.0000", f[7]);
        assertEquals("", f[14], "no peer time");
        assertEquals("", f[19], "no scratch report");
        assertEquals("fwd+bwd", lines.get(2).split(",", -1)[1]);
        assertEquals("", lines.get(2).split(",", -1)[7], "forward+backward was not timed");
    }

    @Test
    void csvFieldsWithCommasOrQuotesAreQuoted() {
        assertEquals("\"unsupported: a, b\"", BenchResults.csvField("unsupported: a, b"));
        assertEquals("\"say \"\"x\"\"\"", BenchResults.csvField("say \"x\""));
        assertEquals("plain", BenchResults.csvField("plain"));
    }
}
