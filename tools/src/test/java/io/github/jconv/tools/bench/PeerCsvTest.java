package io.github.jconv.tools.bench;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PeerCsvTest {
    // printed by torch_bench.py --device cpu --threads 2 --problems P4,P3 --reps 3 on this machine
    private static final String TORCH_OUTPUT = """
            peer,device,mode,problem,pass,median_ms,gflops
            torch-1.13.0a0,cpu,fp32,P4,fwd,4.5887,6.3
            torch-1.13.0a0,cpu,fp32,P4,fwd+bwd,13.4466,6.4
            torch-1.13.0a0,cpu,fp32,P3,fwd,0.7413,277.2
            torch-1.13.0a0,cpu,fp32,P3,fwd+bwd,2.5489,241.9
            """;

    @Test
    void readsEveryRowOfThePeerScriptsOutput() {
        List<PeerCsv.Row> rows = PeerCsv.parse(TORCH_OUTPUT);
        assertEquals(4, rows.size());
        PeerCsv.Row r = rows.get(1);
        assertEquals("torch-1.13.0a0", r.peer());
        assertEquals("cpu", r.device());
        assertEquals("fp32", r.mode());
        assertEquals("P4", r.problem());
        assertEquals(BenchPass.FWD_BWD, r.pass());
        assertEquals(13.4466, r.medianMs());
        assertEquals(6.4, r.gflops());
        assertEquals(BenchPass.FWD, rows.get(2).pass());
    }

    @Test
    void skipsCommentsBlankLinesAndWindowsLineEnds() {
        String text = "# D1: torchvision missing\r\npeer,device,mode,problem,pass,median_ms,gflops\r\n\r\n"
                + "torch-2.1,cuda,tf32,P1,fwd,0.25,7398.8\r\n";
        List<PeerCsv.Row> rows = PeerCsv.parse(text);
        assertEquals(1, rows.size());
        assertEquals("tf32", rows.get(0).mode());
        assertEquals(0.25, rows.get(0).medianMs());
    }

    @Test
    void aLineWithMissingFieldsIsRefusedNamingItsLineNumber() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PeerCsv.parse("peer,device,mode,problem,pass,median_ms,gflops\ntorch,cpu,fp32,P1,fwd,1.0\n"));
        assertTrue(e.getMessage().contains("line 2") && e.getMessage().contains("expected 7 fields"), e.getMessage());
    }

    @Test
    void aTimeThatIsNotANumberIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PeerCsv.parse("torch,cpu,fp32,P1,fwd,fast,1.0\n"));
        assertTrue(e.getMessage().contains("fast"), e.getMessage());
    }

    @Test
    void anUnknownPassIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> PeerCsv.parse("torch,cpu,fp32,P1,bwd,1.0,1.0\n"));
    }
}
