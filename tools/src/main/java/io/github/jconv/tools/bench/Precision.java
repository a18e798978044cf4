package io.github.jconv.tools.bench;

import io.github.jconv.DType;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The precision both sides of bench run in: the buffers' dtype and, for FP32, the math (exact FP32 or
 * TF32 tensor cores). Checked against the backend before anything is timed.
 */
record Precision(DType dtype, String math) {
    /** What each backend takes (cpu: FP32, FP64; opencl: FP32, FP64, FP16; cuda: all four). */
    static final Map<String, List<DType>> SUPPORTED = Map.of(
            "cpu", List.of(DType.FP32, DType.FP64),
            "opencl", List.of(DType.FP32, DType.FP64, DType.FP16),
            "cuda", List.of(DType.FP32, DType.FP64, DType.FP16, DType.BF16));

    static Precision parse(String dtypeText, String mathText) {
        String d = dtypeText == null ? "" : dtypeText.strip().toLowerCase(Locale.ROOT);
        DType t = switch (d) {
            case "fp32", "float32" -> DType.FP32;
            case "fp64", "float64" -> DType.FP64;
            case "fp16", "float16" -> DType.FP16;
            case "bf16", "bfloat16" -> DType.BF16;
            default -> throw new IllegalArgumentException("dtype = " + dtypeText + ": must be fp32, fp64, fp16 or bf16; e.g. --dtype fp32");
        };
        String m = mathText == null ? "" : mathText.strip().toLowerCase(Locale.ROOT);
        if (!m.equals("fp32") && !m.equals("tf32")) {
            throw new IllegalArgumentException("math = " + mathText + ": must be fp32 or tf32; e.g. --math fp32");
        }
        if (m.equals("tf32") && t != DType.FP32) {
            throw new IllegalArgumentException("math = tf32 with dtype = " + dtypeName(t) + ": TF32 is a mode of FP32 convolutions; "
                    + "use --dtype fp32 --math tf32, or --math fp32");
        }
        return new Precision(t, m);
    }

    static String dtypeName(DType t) {
        return t.name().toLowerCase(Locale.ROOT);
    }

    String dtypeName() {
        return dtypeName(dtype);
    }

    /** fp32, tf32, fp64, fp16 or bf16: the peer script's mode column and bench's precision column. */
    String label() {
        return math.equals("tf32") ? "tf32" : dtypeName();
    }

    /** Refuses a dtype or math that this backend (cpu, opencl, cuda) does not run; unknown backends are not checked here. */
    void checkBackend(String backendName) {
        List<DType> ok = SUPPORTED.get(backendName);
        if (ok == null) return;
        if (!ok.contains(dtype)) {
            throw new IllegalArgumentException("dtype = " + dtypeName() + ": the " + backendName + " backend supports "
                    + String.join(", ", ok.stream().map(Precision::dtypeName).toList()) + "; e.g. --dtype fp32");
        }
        if (math.equals("tf32") && !backendName.equals("cuda")) {
            throw new IllegalArgumentException("math = tf32: only the cuda backend has TF32 math; the " + backendName
                    + " backend supports fp32; e.g. --math fp32");
        }
    }
}
