package io.github.jconv;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one-line text form of a problem, in the spirit of oneDNN's benchdnn: a run of
 * {@code marker value} tokens, e.g. {@code mb8ic64ih56oc64kh3ph1}. The same line drives tests,
 * benchmarks and failure messages, so anyone can repeat a problem.
 *
 * <pre>
 * tr1          transposed convolution          dg&lt;G&gt;   deformable, G offset groups
 * msk1         deformable v2 (modulation mask)  bia0     no bias (default: bias)
 * g  mb ic oc  groups, batch, channels in, channels out
 * id ih iw     input depth, height, width (rank = 3 with id, 2 with ih, else 1)
 * kd kh kw     kernel          sd sh sw     stride (default 1)
 * pd ph pw     padding, both sides unless the high side is given by pdr phr pwr (default 0)
 * dd dh dw     dilation, 1 = dense as in PyTorch (benchdnn's 0)   (default 1)
 * opd oph opw  output_padding of a transposed convolution (default 0)
 * </pre>
 * An axis left out takes the value of the first given axis of its family (ih56 alone means 56×56),
 * as benchdnn does. {@link #format} prints a canonical line that {@link #parse} reads back to an equal spec.
 */
public final class ProblemLine {
    private static final Pattern TOKEN = Pattern.compile("([a-z]+)(\\d+)");
    private static final String[] AXES = {"d", "h", "w"};
    private static final java.util.Set<String> KNOWN = java.util.Set.of(
            "tr", "dg", "msk", "bia", "g", "mb", "ic", "oc",
            "id", "ih", "iw", "kd", "kh", "kw", "sd", "sh", "sw", "pd", "ph", "pw", "pdr", "phr", "pwr",
            "dd", "dh", "dw", "opd", "oph", "opw");

    private ProblemLine() {
    }

    public static String format(ConvSpec s) {
        StringBuilder b = new StringBuilder();
        if (s.type() == ConvType.TRANSPOSED) b.append("tr1");
        if (s.type() == ConvType.DEFORMABLE) {
            b.append("dg").append(s.offsetGroups());
            if (s.modulated()) b.append("msk1");
        }
        b.append('g').append(s.groups()).append("mb").append(s.batch()).append("ic").append(s.inChannels());
        int rank = s.rank();
        axes(b, "i", "", s.input(), rank);
        b.append("oc").append(s.outChannels());
        axes(b, "k", "", s.kernel(), rank);
        if (!all(s.stride(), 1)) axes(b, "s", "", s.stride(), rank);
        if (!all(s.paddingLo(), 0) || !all(s.paddingHi(), 0)) axes(b, "p", "", s.paddingLo(), rank);
        if (!java.util.Arrays.equals(s.paddingLo(), s.paddingHi())) axes(b, "p", "r", s.paddingHi(), rank);
        if (!all(s.dilation(), 1)) axes(b, "d", "", s.dilation(), rank);
        if (!all(s.outputPadding(), 0)) axes(b, "op", "", s.outputPadding(), rank);
        if (!s.bias()) b.append("bia0");
        return b.toString();
    }

    public static ConvSpec parse(String line) {
        if (line == null) throw new IllegalArgumentException("problem line = null: give a line such as mb8ic64ih56oc64kh3ph1");
        String text = line.strip();
        Matcher m = TOKEN.matcher(text);
        Map<String, Integer> t = new LinkedHashMap<>();
        int at = 0;
        while (at < text.length()) {
            if (!m.find(at) || m.start() != at) {
                throw new IllegalArgumentException("problem line = \"" + line + "\": cannot read from position " + at
                        + " (\"" + text.substring(at) + "\"); tokens are a marker and a number, e.g. mb8ic64ih56oc64kh3ph1");
            }
            String key = m.group(1);
            if (!KNOWN.contains(key)) {
                throw new IllegalArgumentException("problem line = \"" + line + "\": unknown marker '" + key
                        + "'; known markers: " + new java.util.TreeSet<>(KNOWN));
            }
            int value;
            try {
                value = Integer.parseInt(m.group(2));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("problem line = \"" + line + "\": " + key + " = " + m.group(2)
                        + " does not fit in an int");
            }
            if (t.put(key, value) != null) {
                throw new IllegalArgumentException("problem line = \"" + line + "\": marker '" + key
                        + "' appears twice; give it once");
            }
            at = m.end();
        }
        int rank = t.containsKey("id") ? 3 : t.containsKey("ih") ? 2 : 1;
        boolean transposed = t.getOrDefault("tr", 0) == 1;
        boolean deformable = t.containsKey("dg");
        if (transposed && deformable) {
            throw new IllegalArgumentException("problem line = \"" + line + "\": tr1 and dg mark different operations; keep one");
        }
        ConvType type = transposed ? ConvType.TRANSPOSED : deformable ? ConvType.DEFORMABLE : ConvType.CONVOLUTION;
        require(t, line, "ic");
        require(t, line, "oc");
        ConvSpec.Builder b = ConvSpec.builder(type)
                .batch(t.getOrDefault("mb", 1))
                .channels(t.get("ic"), t.get("oc"))
                .groups(t.getOrDefault("g", 1))
                .input(family(t, "i", "", rank, null, line))
                .kernel(family(t, "k", "", rank, null, line))
                .stride(family(t, "s", "", rank, 1, line))
                .dilation(family(t, "d", "", rank, 1, line))
                .bias(t.getOrDefault("bia", 1) != 0);
        int[] lo = family(t, "p", "", rank, 0, line);
        b.paddingLo(lo);
        boolean anyHi = false;
        for (int a = 3 - rank; a < 3; a++) anyHi |= t.containsKey("p" + AXES[a] + "r");
        b.paddingHi(anyHi ? family(t, "p", "r", rank, 0, line) : lo);
        if (transposed) b.outputPadding(family(t, "op", "", rank, 0, line));
        if (deformable) b.offsetGroups(t.get("dg")).mask(t.getOrDefault("msk", 0) == 1);
        return b.build();
    }

    private static void require(Map<String, Integer> t, String line, String key) {
        if (!t.containsKey(key)) {
            throw new IllegalArgumentException("problem line = \"" + line + "\": marker '" + key
                    + "' is required; e.g. mb8ic64ih56oc64kh3ph1");
        }
    }

    private static int[] family(Map<String, Integer> t, String prefix, String suffix, int rank, Integer dflt, String line) {
        int[] r = new int[rank];
        Integer first = null;
        for (int a = 3 - rank; a < 3; a++) {
            Integer v = t.get(prefix + AXES[a] + suffix);
            if (v != null && first == null) first = v;
        }
        if (first == null) first = dflt;
        if (first == null) {
            throw new IllegalArgumentException("problem line = \"" + line + "\": no " + prefix + AXES[3 - rank] + suffix
                    + " given; e.g. " + prefix + "h3");
        }
        for (int a = 3 - rank, i = 0; a < 3; a++, i++) {
            Integer v = t.get(prefix + AXES[a] + suffix);
            r[i] = v != null ? v : first;
        }
        for (int a = 0; a < 3 - rank; a++) {
            if (t.containsKey(prefix + AXES[a] + suffix)) {
                throw new IllegalArgumentException("problem line = \"" + line + "\": " + prefix + AXES[a] + suffix
                        + " given but the input has rank " + rank + " (from its i* markers); rank mismatch");
            }
        }
        return r;
    }

    private static void axes(StringBuilder b, String prefix, String suffix, int[] v, int rank) {
        for (int a = 3 - rank, i = 0; a < 3; a++, i++) b.append(prefix).append(AXES[a]).append(suffix).append(v[i]);
    }

    private static boolean all(int[] v, int x) {
        for (int e : v) if (e != x) return false;
        return true;
    }
}
