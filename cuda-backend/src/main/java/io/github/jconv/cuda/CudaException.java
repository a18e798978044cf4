package io.github.jconv.cuda;

/**
 * A failed CUDA driver or cuDNN call: which call, which status, and the problem it was working on
 * (the one-line problem form, so a failure can be replayed).
 */
public class CudaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String library;
    private final int code;
    private final String status;
    private final String call;
    private final String problem;
    private final boolean sticky;

    CudaException(CudaStatus.Entry entry, String call, String problem, String detail) {
        super(message(entry, call, problem, detail));
        this.library = entry.library().label;
        this.code = entry.code();
        this.status = entry.name();
        this.call = call;
        this.problem = problem;
        this.sticky = entry.kind() == CudaStatus.Kind.STICKY;
    }

    private static String message(CudaStatus.Entry e, String call, String problem, String detail) {
        StringBuilder b = new StringBuilder();
        b.append(call).append(" failed: ").append(e.name()).append(" (").append(e.library().label).append(" status ")
                .append(e.code()).append(')');
        if (problem != null && !problem.isEmpty()) b.append(" on problem ").append(problem);
        if (detail != null && !detail.isEmpty()) b.append("; ").append(detail);
        switch (e.kind()) {
            case STICKY -> b.append("; the CUDA context is corrupted: this session is poisoned, close it and open a new engine");
            case NOT_SUPPORTED -> b.append("; cuDNN or the device cannot run this problem: try another dtype, or jconv.backend=cpu");
            case BAD_PARAM -> b.append("; this is a bug of the CUDA backend: report it with the problem line");
            case SETUP -> b.append("; check the NVIDIA driver (580+ for CUDA 13) and cuDNN 9 installation");
            default -> {
            }
        }
        return b.toString();
    }

    /** "CUDA driver" or "cuDNN". */
    public String library() {
        return library;
    }

    public int code() {
        return code;
    }

    /** The status name, e.g. CUDA_ERROR_ILLEGAL_ADDRESS. */
    public String status() {
        return status;
    }

    /** The call that failed, e.g. cudnnConvolutionForward. */
    public String call() {
        return call;
    }

    /** The problem line, or "" when the call belonged to no problem. */
    public String problem() {
        return problem == null ? "" : problem;
    }

    /** True when the context is corrupted and the session must not be used again. */
    public boolean sticky() {
        return sticky;
    }
}
