package io.github.jconv;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The one-line text form of a problem, in the spirit of oneDNN's benchdnn: a run of
 * {@code marker value} tokens, e.g. {@code mb8ic64ih56oc64kh3ph1}. The same line drives tests,
 * benchmarks and failure messages, so anyone can repeat a problem.
 *
 * <pre>
 * tr1          transposed convolution (tr0: not transposed, the default)
 * dg&lt;G&gt;        deformable convolution with G offset groups (G &gt;= 1)
 * msk1         deformable v2 (modulation mask); msk0 = v1, the default; only with dg
 * bia0         no bias (bia1, the default: bias)
 * g  mb ic oc  groups, batch (0 allowed: an empty batch), channels in, channels out
 * id ih iw     input depth, height, width (rank = 3 with id, 2 with ih, else 1)
 * kd kh kw     kernel          sd sh sw     stride (default 1)
 * pd ph pw     padding, both sides unless the high side is given by pdr phr pwr (default 0)
 * dd dh dw     dilation, 1 = dense as in PyTorch (benchdnn's 0)   (default 1)
 * opd oph opw  output_padding; only with tr1 (default 0)
 * </pre>
 * An axis left out takes the value of the first given axis of its family (ih56 alone means 56×56),
 * as benchdnn does. Every marker is read or refused: an unknown marker, a marker given twice, a
 * flag other than 0 or 1, an axis the input's rank does not have, {@code op*} without {@code tr1} and
 * {@code msk} without {@code dg} are errors. A line is at most {@value #MAX_LENGTH} characters and is
 * read in one linear pass. {@link #format} prints a canonical line that {@link #parse} reads back to
 * an equal spec.
 */
public final class ProblemLine {
    /** The longest line {@link #parse} reads; the longest canonical line is well under 400 characters. */
    public static final int MAX_LENGTH = 1000;
    /** At most this many characters of a line are quoted in a message. */
    static final int QUOTE_LENGTH = 80;

    private static final String[] AXES = {"d", "h", "w"};
    private static final List<String> FAMILIES = List.of("i", "k", "s", "p", "d", "op");
    private static final Set<String> FLAGS = Set.of("tr", "msk", "bia");
    private static final Set<String> KNOWN = Set.of(
            "tr", "dg", "msk", "bia", "g", "mb", "ic", "oc",
            "id", "ih", "iw", "kd", "kh", "kw", "sd", "sh", "sw", "pd", "ph", "pw", "pdr", "phr", "pwr",
            "dd", "dh", "dw", "opd", "oph", "opw");
    private static final String EXAMPLE = "mb8ic64ih56oc64kh3ph1";

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
        if (!Arrays.equals(s.paddingLo(), s.paddingHi())) axes(b, "p", "r", s.paddingHi(), rank);
        if (!all(s.dilation(), 1)) axes(b, "d", "", s.dilation(), rank);
        if (!all(s.outputPadding(), 0)) axes(b, "op", "", s.outputPadding(), rank);
        if (!s.bias()) b.append("bia0");
        return b.toString();
    }

    public static ConvSpec parse(String line) {
        if (line == null) throw new IllegalArgumentException("problem line = null: give a line such as " + EXAMPLE);
        if (line.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("problem line = " + quote(line) + ": " + line.length()
                    + " characters, more than the limit of " + MAX_LENGTH + "; a line names each marker once, e.g. "
                    + EXAMPLE);
        }
        String text = line.strip();
        Map<String, Integer> t = tokens(line, text);
        int rank = t.containsKey("id") ? 3 : t.containsKey("ih") ? 2 : 1;
        for (String flag : FLAGS) {
            Integer v = t.get(flag);
            if (v != null && v != 0 && v != 1) {
                throw new IllegalArgumentException("problem line = " + quote(line) + ": " + flag + " = " + v
                        + ": a flag is 0 or 1; e.g. " + flag + (flag.equals("bia") ? "0" : "1"));
            }
        }
        boolean transposed = t.getOrDefault("tr", 0) == 1;
        boolean deformable = t.containsKey("dg");
        if (transposed && deformable) {
            throw new IllegalArgumentException("problem line = " + quote(line)
                    + ": tr1 and dg mark different operations; keep one, e.g. drop tr1");
        }
        if (t.containsKey("msk") && !deformable) {
            throw new IllegalArgumentException("problem line = " + quote(line) + ": msk" + t.get("msk")
                    + " given without dg: the mask belongs to deformable convolution; add dg1 (e.g. dg1msk1...) or drop msk");
        }
        for (String a : AXES) {
            String key = "op" + a;
            if (t.containsKey(key) && !transposed) {
                throw new IllegalArgumentException("problem line = " + quote(line) + ": " + key + t.get(key)
                        + " given without tr1: output padding belongs to transposed convolution; add tr1 or drop " + key);
            }
        }
        // every axis marker must belong to the input's rank
        for (String f : FAMILIES) {
            for (String suffix : f.equals("p") ? new String[] {"", "r"} : new String[] {""}) {
                for (int a = 0; a < 3 - rank; a++) {
                    String key = f + AXES[a] + suffix;
                    if (t.containsKey(key)) {
                        throw new IllegalArgumentException("problem line = " + quote(line) + ": " + key + t.get(key)
                                + " given but the input has rank " + rank + " (from its i* markers: "
                                + keys("i", "", rank) + "); rank mismatch: use " + keys(f, suffix, rank)
                                + (rank < 3 ? " or give id for a 3D input" : "") + "; e.g. " + EXAMPLE);
                    }
                }
            }
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

    /** One linear pass over {@code text}: lowercase ASCII letters, then ASCII digits, repeated. */
    private static Map<String, Integer> tokens(String line, String text) {
        Map<String, Integer> t = new LinkedHashMap<>();
        int n = text.length();
        int at = 0;
        while (at < n) {
            int keyStart = at;
            while (at < n && text.charAt(at) >= 'a' && text.charAt(at) <= 'z') at++;
            int numStart = at;
            while (at < n && text.charAt(at) >= '0' && text.charAt(at) <= '9') at++;
            if (numStart == keyStart) {
                throw new IllegalArgumentException("problem line = " + quote(line) + ": cannot read from position "
                        + keyStart + " (" + quote(text.substring(keyStart, Math.min(n, keyStart + 20)))
                        + "); a token is a lowercase marker and a number, e.g. " + EXAMPLE);
            }
            if (at == numStart) {
                throw new IllegalArgumentException("problem line = " + quote(line) + ": cannot read from position "
                        + keyStart + ": marker " + quote(text.substring(keyStart, numStart), '\'')
                        + " has no number; a token is a marker and a number, e.g. " + EXAMPLE);
            }
            String key = text.substring(keyStart, numStart);
            if (!KNOWN.contains(key)) {
                throw new IllegalArgumentException("problem line = " + quote(line) + ": unknown marker " + quote(key, '\'')
                        + " at position " + keyStart + "; known markers: " + new TreeSet<>(KNOWN));
            }
            String digits = text.substring(numStart, at);
            int value;
            try {
                value = Integer.parseInt(digits);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("problem line = " + quote(line) + ": " + key + " = " + quote(digits, '\0')
                        + " does not fit in an int (max " + Integer.MAX_VALUE + "); e.g. " + key + "1");
            }
            if (t.put(key, value) != null) {
                throw new IllegalArgumentException("problem line = " + quote(line) + ": marker '" + key
                        + "' appears twice; give it once");
            }
        }
        return t;
    }

    /** {@code s} in double quotes, cut to about {@value #QUOTE_LENGTH} characters with its full length noted. */
    static String quote(String s) {
        return quote(s, '"');
    }

    private static String quote(String s, char q) {
        String body = s.length() <= QUOTE_LENGTH ? s
                : s.substring(0, QUOTE_LENGTH - 20) + "... (" + s.length() + " characters)";
        return q == '\0' ? body : q + body + q;
    }

    private static String keys(String prefix, String suffix, int rank) {
        StringBuilder b = new StringBuilder();
        for (int a = 3 - rank; a < 3; a++) b.append(b.length() == 0 ? "" : "/").append(prefix).append(AXES[a]).append(suffix);
        return b.toString();
    }

    private static void require(Map<String, Integer> t, String line, String key) {
        if (!t.containsKey(key)) {
            throw new IllegalArgumentException("problem line = " + quote(line) + ": marker '" + key
                    + "' is required; e.g. " + EXAMPLE);
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
            throw new IllegalArgumentException("problem line = " + quote(line) + ": no " + prefix + AXES[3 - rank] + suffix
                    + " given; e.g. " + prefix + AXES[3 - rank] + "3");
        }
        for (int a = 3 - rank, i = 0; a < 3; a++, i++) {
            Integer v = t.get(prefix + AXES[a] + suffix);
            r[i] = v != null ? v : first;
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
