package io.github.jconv.tools;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Plain-text tables and number formats shared by the commands. */
final class Text {
    private Text() {
    }

    /** 3, 0.5, 1.25: integers without a decimal point, other values with up to three decimals. */
    static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e15) return Long.toString((long) v);
        if (Math.abs(v) < 1e-3 || Math.abs(v) >= 1e15) return String.format(Locale.ROOT, "%.3g", v); // not "0" for 1/4096
        String s = String.format(Locale.ROOT, "%.3f", v);
        return s.replaceAll("0+$", "").replaceAll("\\.$", "");
    }

    /** 36,864 */
    static String count(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }

    /** A left-aligned first column, the rest right-aligned, columns separated by two spaces. */
    static final class Table {
        private final List<String[]> rows = new ArrayList<>();
        private final boolean[] leftAligned;

        Table(String... header) {
            rows.add(header);
            leftAligned = new boolean[header.length];
        }

        Table left(int... columns) {
            for (int c : columns) leftAligned[c] = true;
            return this;
        }

        Table row(Object... cells) {
            String[] r = new String[cells.length];
            for (int i = 0; i < cells.length; i++) r[i] = String.valueOf(cells[i]);
            rows.add(r);
            return this;
        }

        String render() {
            int n = rows.get(0).length;
            int[] w = new int[n];
            for (String[] r : rows) for (int i = 0; i < n; i++) w[i] = Math.max(w[i], r[i].length());
            StringBuilder b = new StringBuilder();
            for (int ri = 0; ri < rows.size(); ri++) {
                String[] r = rows.get(ri);
                StringBuilder line = new StringBuilder();
                for (int i = 0; i < n; i++) {
                    if (i > 0) line.append("  ");
                    String pad = " ".repeat(w[i] - r[i].length());
                    line.append(leftAligned[i] ? r[i] + pad : pad + r[i]);
                }
                b.append(line.toString().stripTrailing()).append('\n');
                if (ri == 0) {
                    int total = 0;
                    for (int x : w) total += x;
                    b.append("-".repeat(total + 2 * (n - 1))).append('\n');
                }
            }
            return b.toString();
        }
    }
}
