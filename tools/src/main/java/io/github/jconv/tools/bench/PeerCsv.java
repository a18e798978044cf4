package io.github.jconv.tools.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * The CSV that the peer script (tools/peers/torch_peer.py) prints:
 * {@code peer,device,mode,problem,pass,median_ms,gflops}. Comment lines (#) and the header are skipped.
 */
final class PeerCsv {
    static final String HEADER = "peer,device,mode,problem,pass,median_ms,gflops";

    /** One timed case of the peer. */
    record Row(String peer, String device, String mode, String problem, BenchPass pass, double medianMs, double gflops) {
    }

    private PeerCsv() {
    }

    static List<Row> parse(String text) {
        List<Row> rows = new ArrayList<>();
        String[] lines = text.split("\\R");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#") || line.equals(HEADER)) continue;
            String[] f = line.split(",", -1);
            if (f.length != 7) {
                throw new IllegalArgumentException("peer CSV line " + (i + 1) + " = \"" + line + "\": expected 7 fields ("
                        + HEADER + "), found " + f.length);
            }
            try {
                rows.add(new Row(f[0].strip(), f[1].strip(), f[2].strip(), f[3].strip(), BenchPass.fromLabel(f[4]),
                        Double.parseDouble(f[5].strip()), Double.parseDouble(f[6].strip())));
            } catch (IllegalArgumentException e) { // NumberFormatException is one too
                throw new IllegalArgumentException("peer CSV line " + (i + 1) + " = \"" + line + "\": " + e.getMessage(), e);
            }
        }
        return rows;
    }
}
