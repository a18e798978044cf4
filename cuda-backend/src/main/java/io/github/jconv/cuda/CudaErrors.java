package io.github.jconv.cuda;

import java.util.function.LongSupplier;

/** Turns status codes into exceptions (pure: the table lookup and the message, no native call). */
final class CudaErrors {
    private CudaErrors() {
    }

    /** The exception for a failed call; {@code freeBytes} is asked only for out-of-memory. */
    static CudaException map(CudaStatus.Library library, int code, String call, String problem,
                             long requestedBytes, LongSupplier freeBytes) {
        CudaStatus.Entry e = CudaStatus.lookup(library, code);
        if (e.kind() == CudaStatus.Kind.OUT_OF_MEMORY) {
            long free;
            try {
                free = freeBytes == null ? -1 : freeBytes.getAsLong();
            } catch (RuntimeException ex) { // the free-memory query must not hide the real failure
                free = -1;
            }
            return new CudaOutOfMemoryException(e, call, problem, requestedBytes, free);
        }
        return new CudaException(e, call, problem, "");
    }

    /** Throws when {@code code} is not success. */
    static void check(CudaStatus.Library library, int code, String call, String problem) {
        if (code != 0) throw map(library, code, call, problem, 0, null);
    }

    static void checkDriver(int code, String call, String problem) {
        check(CudaStatus.Library.DRIVER, code, call, problem);
    }

    static void checkCudnn(int code, String call, String problem) {
        check(CudaStatus.Library.CUDNN, code, call, problem);
    }
}
