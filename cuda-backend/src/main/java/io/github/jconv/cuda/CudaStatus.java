package io.github.jconv.cuda;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The status codes of the CUDA driver API and of cuDNN 9 that this backend can meet, each with its
 * name and what it means for the session. One table per library, so mapping an error is a lookup,
 * testable without a GPU (the codes are the ones in cuda.h and cudnn_graph.h).
 */
enum CudaStatus {
    ;

    /** Which library returned the code. */
    enum Library {
        DRIVER("CUDA driver"), CUDNN("cuDNN");

        final String label;

        Library(String label) {
            this.label = label;
        }
    }

    /** What a failure means for the session that met it. */
    enum Kind {
        /** The device had too little memory: the call failed, the session stays usable. */
        OUT_OF_MEMORY,
        /** The context is corrupted (illegal address, launch failure): every later call must fail fast. */
        STICKY,
        /** The library cannot do this problem (shape, data type, architecture). */
        NOT_SUPPORTED,
        /** A parameter we passed was wrong: a bug in this backend. */
        BAD_PARAM,
        /** The driver or library is missing, too old or not initialized. */
        SETUP,
        /** Anything else. */
        OTHER
    }

    /** One row of a table. */
    record Entry(Library library, int code, String name, Kind kind) {
    }

    private static final Map<Integer, Entry> DRIVER = new LinkedHashMap<>();
    private static final Map<Integer, Entry> CUDNN = new LinkedHashMap<>();

    private static void d(int code, String name, Kind kind) {
        DRIVER.put(code, new Entry(Library.DRIVER, code, name, kind));
    }

    private static void n(int code, String name, Kind kind) {
        CUDNN.put(code, new Entry(Library.CUDNN, code, name, kind));
    }

    static {
        d(0, "CUDA_SUCCESS", Kind.OTHER);
        d(1, "CUDA_ERROR_INVALID_VALUE", Kind.BAD_PARAM);
        d(2, "CUDA_ERROR_OUT_OF_MEMORY", Kind.OUT_OF_MEMORY);
        d(3, "CUDA_ERROR_NOT_INITIALIZED", Kind.SETUP);
        d(4, "CUDA_ERROR_DEINITIALIZED", Kind.SETUP);
        d(34, "CUDA_ERROR_STUB_LIBRARY", Kind.SETUP);
        d(46, "CUDA_ERROR_DEVICE_UNAVAILABLE", Kind.SETUP);
        d(100, "CUDA_ERROR_NO_DEVICE", Kind.SETUP);
        d(101, "CUDA_ERROR_INVALID_DEVICE", Kind.BAD_PARAM);
        d(200, "CUDA_ERROR_INVALID_IMAGE", Kind.NOT_SUPPORTED);
        d(201, "CUDA_ERROR_INVALID_CONTEXT", Kind.BAD_PARAM);
        d(209, "CUDA_ERROR_NO_BINARY_FOR_GPU", Kind.NOT_SUPPORTED);
        d(214, "CUDA_ERROR_ECC_UNCORRECTABLE", Kind.STICKY);
        d(218, "CUDA_ERROR_INVALID_PTX", Kind.NOT_SUPPORTED);
        d(222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", Kind.SETUP);
        d(400, "CUDA_ERROR_INVALID_HANDLE", Kind.BAD_PARAM);
        d(500, "CUDA_ERROR_NOT_FOUND", Kind.BAD_PARAM);
        d(600, "CUDA_ERROR_NOT_READY", Kind.OTHER);
        d(700, "CUDA_ERROR_ILLEGAL_ADDRESS", Kind.STICKY);
        d(701, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", Kind.NOT_SUPPORTED);
        d(702, "CUDA_ERROR_LAUNCH_TIMEOUT", Kind.STICKY);
        d(710, "CUDA_ERROR_ASSERT", Kind.STICKY);
        d(714, "CUDA_ERROR_HARDWARE_STACK_ERROR", Kind.STICKY);
        d(715, "CUDA_ERROR_ILLEGAL_INSTRUCTION", Kind.STICKY);
        d(716, "CUDA_ERROR_MISALIGNED_ADDRESS", Kind.STICKY);
        d(717, "CUDA_ERROR_INVALID_ADDRESS_SPACE", Kind.STICKY);
        d(718, "CUDA_ERROR_INVALID_PC", Kind.STICKY);
        d(719, "CUDA_ERROR_LAUNCH_FAILED", Kind.STICKY);
        d(999, "CUDA_ERROR_UNKNOWN", Kind.OTHER);

        n(0, "CUDNN_STATUS_SUCCESS", Kind.OTHER);
        n(1001, "CUDNN_STATUS_NOT_INITIALIZED", Kind.SETUP);
        n(1002, "CUDNN_STATUS_SUBLIBRARY_VERSION_MISMATCH", Kind.SETUP);
        n(1008, "CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED", Kind.SETUP);
        n(2000, "CUDNN_STATUS_BAD_PARAM", Kind.BAD_PARAM);
        n(2001, "CUDNN_STATUS_INVALID_VALUE", Kind.BAD_PARAM);
        n(2002, "CUDNN_STATUS_BAD_PARAM_NULL_POINTER", Kind.BAD_PARAM);
        n(2003, "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER", Kind.BAD_PARAM);
        n(2005, "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND", Kind.BAD_PARAM);
        n(2006, "CUDNN_STATUS_BAD_PARAM_SIZE_INSUFFICIENT", Kind.BAD_PARAM);
        n(2008, "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH", Kind.BAD_PARAM);
        n(3000, "CUDNN_STATUS_NOT_SUPPORTED", Kind.NOT_SUPPORTED);
        n(3002, "CUDNN_STATUS_NOT_SUPPORTED_SHAPE", Kind.NOT_SUPPORTED);
        n(3003, "CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE", Kind.NOT_SUPPORTED);
        n(3004, "CUDNN_STATUS_NOT_SUPPORTED_LAYOUT", Kind.NOT_SUPPORTED);
        n(3005, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER", Kind.SETUP);
        n(3006, "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART", Kind.SETUP);
        n(3007, "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH", Kind.NOT_SUPPORTED);
        n(3008, "CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING", Kind.SETUP);
        n(3010, "CUDNN_STATUS_NOT_SUPPORTED_SHARED_MEMORY_INSUFFICIENT", Kind.NOT_SUPPORTED);
        n(3011, "CUDNN_STATUS_NOT_SUPPORTED_PADDING", Kind.NOT_SUPPORTED);
        n(4000, "CUDNN_STATUS_INTERNAL_ERROR", Kind.OTHER);
        n(4003, "CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED", Kind.OUT_OF_MEMORY);
        n(4004, "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED", Kind.OUT_OF_MEMORY);
        n(5000, "CUDNN_STATUS_EXECUTION_FAILED", Kind.STICKY);
        n(5001, "CUDNN_STATUS_EXECUTION_FAILED_CUDA_DRIVER", Kind.STICKY);
        n(5002, "CUDNN_STATUS_EXECUTION_FAILED_CUBLAS", Kind.STICKY);
        n(5003, "CUDNN_STATUS_EXECUTION_FAILED_CUDART", Kind.STICKY);
    }

    /**
     * The row for {@code code}. A code missing from the table still gets a row: cuDNN codes fall
     * into their thousand's family (2xxx bad parameter, 3xxx not supported...), driver codes to OTHER.
     */
    static Entry lookup(Library library, int code) {
        Entry e = (library == Library.DRIVER ? DRIVER : CUDNN).get(code);
        if (e != null) return e;
        if (library == Library.CUDNN) {
            Kind k = switch (code / 1000) {
                case 1 -> Kind.SETUP;
                case 2 -> Kind.BAD_PARAM;
                case 3 -> Kind.NOT_SUPPORTED;
                case 5 -> Kind.STICKY;
                default -> Kind.OTHER;
            };
            return new Entry(library, code, "CUDNN_STATUS_" + code, k);
        }
        return new Entry(library, code, "CUDA_ERROR_" + code, Kind.OTHER);
    }

    /** The table of one library, in code order (tests check it against the bindings' constants). */
    static Map<Integer, Entry> table(Library library) {
        return java.util.Collections.unmodifiableMap(library == Library.DRIVER ? DRIVER : CUDNN);
    }
}
