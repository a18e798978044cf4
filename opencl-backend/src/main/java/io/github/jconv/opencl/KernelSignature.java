package io.github.jconv.opencl;

import io.github.jconv.kernels.KernelSources;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parameter kinds of every {@code __kernel} of a .cl source, read once from the source text: the
 * host checks each launch's {@link KernelArgs} against them (count, and buffer / int / long / float /
 * double per position), so a drifted kernel signature fails by name instead of reading garbage.
 * Object-like and function-like {@code #define}s used in a parameter list (GEOM_PARAMS, OPERAND(A, const))
 * are expanded, {@code ##} pasting included.
 */
final class KernelSignature {
    /** What one kernel parameter takes. */
    enum Kind {
        BUFFER("buffer"), INT("int"), LONG("long"), FLOAT("float"), DOUBLE("double");

        final String word;

        Kind(String word) {
            this.word = word;
        }
    }

    private static final Pattern DEFINE = Pattern.compile("(?m)^[ \\t]*#[ \\t]*define[ \\t]+(\\w+)(\\(([^)]*)\\))?(.*)$");
    private static final Pattern KERNEL = Pattern.compile("__kernel\\s+void\\s+(\\w+)\\s*\\(");
    private static final Pattern CALL = Pattern.compile("(?s)^(\\w+)\\s*\\((.*)\\)$");
    private static final Map<String, Map<String, List<Kind>>> BY_FAMILY = new ConcurrentHashMap<>();

    private record Macro(List<String> params, String body) {
    }

    private KernelSignature() {
    }

    /** The parameter kinds of {@code kernel} in kernel family {@code family} (e.g. "conv", "conv_forward"). */
    static List<Kind> of(String family, String kernel) {
        List<Kind> k = BY_FAMILY.computeIfAbsent(family, f -> parse(KernelSources.source(f))).get(kernel);
        if (k == null) throw new IllegalStateException("kernel " + kernel + " is not declared in " + family + ".cl");
        return k;
    }

    /** Every kernel of {@code source} with its parameter kinds, in source order. */
    static Map<String, List<Kind>> parse(String source) {
        String text = stripComments(source.replace("\r\n", "\n").replace("\\\n", " "));
        Map<String, Macro> macros = new HashMap<>();
        Matcher d = DEFINE.matcher(text);
        while (d.find()) {
            List<String> params = d.group(2) == null ? null : split(d.group(3));
            macros.put(d.group(1), new Macro(params, d.group(4).trim()));
        }
        Map<String, List<Kind>> out = new LinkedHashMap<>();
        Matcher k = KERNEL.matcher(text);
        while (k.find()) {
            int open = k.end() - 1;
            int close = matching(text, open);
            List<Kind> kinds = new ArrayList<>();
            for (String p : split(text.substring(open + 1, close))) expand(p, macros, kinds, k.group(1), 0);
            out.put(k.group(1), List.copyOf(kinds));
        }
        return out;
    }

    private static void expand(String param, Map<String, Macro> macros, List<Kind> kinds, String kernel, int depth) {
        if (depth > 8) throw new IllegalStateException("kernel " + kernel + ": macro expansion too deep at " + param);
        String p = param.trim();
        if (p.isEmpty()) return;
        Macro m = macros.get(p);
        if (m != null && m.params() == null) {
            for (String q : split(m.body())) expand(q, macros, kinds, kernel, depth + 1);
            return;
        }
        Matcher call = CALL.matcher(p);
        if (call.matches() && macros.containsKey(call.group(1)) && macros.get(call.group(1)).params() != null) {
            Macro f = macros.get(call.group(1));
            List<String> actual = split(call.group(2));
            String body = f.body();
            for (int i = 0; i < f.params().size(); i++) {
                body = body.replaceAll("\\b" + Pattern.quote(f.params().get(i)) + "\\b", Matcher.quoteReplacement(i < actual.size() ? actual.get(i) : ""));
            }
            body = body.replaceAll("\\s*##\\s*", "");
            for (String q : split(body)) expand(q, macros, kinds, kernel, depth + 1);
            return;
        }
        kinds.add(kind(p, kernel));
    }

    private static Kind kind(String p, String kernel) {
        if (p.contains("*")) return Kind.BUFFER;
        String[] words = p.split("\\s+");
        for (int i = words.length - 2; i >= 0; i--) {
            switch (words[i]) {
                case "int", "uint" -> { return Kind.INT; }
                case "long", "ulong" -> { return Kind.LONG; }
                case "float" -> { return Kind.FLOAT; }
                case "double" -> { return Kind.DOUBLE; }
                default -> { }
            }
        }
        throw new IllegalStateException("kernel " + kernel + ": parameter '" + p + "' has no type the host can pass "
                + "(a __global pointer, int, long, float or double)");
    }

    /** Top-level comma-separated parts (commas inside parentheses stay). */
    private static List<String> split(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(') depth++;
            else if (c == ')') depth--;
            else if (c == ',' && depth == 0) {
                parts.add(s.substring(start, i).trim());
                start = i + 1;
            }
        }
        String last = s.substring(start).trim();
        if (!last.isEmpty() || !parts.isEmpty()) parts.add(last);
        return parts;
    }

    private static int matching(String text, int open) {
        int depth = 0;
        for (int i = open; i < text.length(); i++) {
            if (text.charAt(i) == '(') depth++;
            else if (text.charAt(i) == ')' && --depth == 0) return i;
        }
        throw new IllegalStateException("unbalanced parentheses after position " + open + " of a kernel source");
    }

    private static String stripComments(String s) {
        return s.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", "");
    }
}
